// Single-file Stable Diffusion 1.x and 2.x checkpoints (one .safetensors with the original
// CompVis/LDM key names: model.diffusion_model.*, first_stage_model.*, and the text encoder as
// cond_stage_model.transformer.* (SD 1.x, OpenAI CLIP) or cond_stage_model.model.* (SD 2.x,
// OpenCLIP)), read by naming each tensor the way diffusers' single-file loader pairs the two
// layouts: the components ask for diffusers names and these maps answer with the file's.
#pragma once

#include <string>

#include "engine/diffusion/diffusion_weights.h"
#include "engine/diffusion/unet.h"
#include "engine/diffusion/vae_decoder.h"

namespace hearth::diffusion {

// diffusers UNet2DConditionModel name → model.diffusion_model.* (input_blocks / middle_block /
// output_blocks numbering from layers_per_block; which up blocks have attention from the config).
NameMap ldm_unet_names(const UNetConfig& cfg);
// diffusers AutoencoderKL name → first_stage_model.* (decoder up blocks numbered in reverse,
// encoder down blocks in order).
NameMap ldm_vae_names(const VaeConfig& cfg);
// transformers CLIPTextModel name → cond_stage_model.transformer.* (SD 1.x).
NameMap ldm_text_names();
// transformers CLIPTextModel name → OpenCLIP's cond_stage_model.model.* (SD 2.x), as diffusers'
// convert_open_clip_checkpoint pairs them: q_proj/k_proj/v_proj are the first, second and third
// thirds of the rows of attn.in_proj_weight/bias. The file's resblocks past the config's
// num_hidden_layers are never asked for (SD 2.x stores 24 and uses 23, the penultimate layer's
// output); text_projection and logit_scale are not part of CLIPTextModel.
NameMap open_clip_text_names();

// Whether a checkpoint's text encoder is OpenCLIP's (SD 2.x), as diffusers tells them apart.
bool has_open_clip_text_encoder(const safetensors::File& f);

}  // namespace hearth::diffusion
