// A cheap picture of Stable Diffusion latents while a run is under way: each latent pixel's four
// channels through a fixed 4×3 linear map to RGB (the approximation of the SD 1.x VAE that image
// tools commonly show), each latent pixel then drawn as an 8×8 block, the size the VAE would decode
// to (latents with more than unit spread, as mid-run ones are, are scaled back to it first). Far from the final image, but it shows the composition forming at no cost next to a UNet step.
#pragma once

#include <QImage>
#include <vector>

namespace hearth::app {

// latents: [channels][height][width] as the pipeline hands them to its progress callback (channels
// must be 4; anything else gives a null image). scale: output pixels per latent pixel.
QImage latentPreview(const std::vector<float>& latents, int latentWidth, int latentHeight, int scale = 8);

}  // namespace hearth::app
