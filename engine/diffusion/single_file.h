// Single-file Stable Diffusion 1.x checkpoints (one .safetensors with the original CompVis/LDM
// key names: model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.*), read by
// naming each tensor the way diffusers' conversion scripts pair the two layouts: the components
// ask for diffusers names and these maps answer with the file's.
#pragma once

#include <functional>
#include <string>

#include "engine/diffusion/unet.h"
#include "engine/diffusion/vae_decoder.h"

namespace hearth::diffusion {

using NameMap = std::function<std::string(const std::string&)>;

// diffusers UNet2DConditionModel name → model.diffusion_model.* (input_blocks / middle_block /
// output_blocks numbering from layers_per_block; which up blocks have attention from the config).
NameMap ldm_unet_names(const UNetConfig& cfg);
// diffusers AutoencoderKL name → first_stage_model.* (decoder up blocks numbered in reverse,
// encoder down blocks in order).
NameMap ldm_vae_names(const VaeConfig& cfg);
// transformers CLIPTextModel name → cond_stage_model.transformer.*
NameMap ldm_text_names();

}  // namespace hearth::diffusion
