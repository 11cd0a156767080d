#!/usr/bin/env python3
"""diffusers on PyTorch (CPU) at the shape `hearth-cli diffuse --bench` times: the SD 1.5 UNet
(random weights from its config), one denoising step with classifier-free guidance as the
pipeline runs it (one UNet call on a batch of 2), and the VAE decode. Prints `unet_step_s X` and
`vae_decode_s X`. Used by tests/bench/diffuse-vs-diffusers.sh; never by the build or the tests.
Usage: diffusers_unet_step.py WIDTH HEIGHT STEPS GUIDANCE THREADS"""
import sys
import time

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

width, height, steps, guidance, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)
# stable-diffusion-v1-5's unet/config.json and vae/config.json (the fields that differ from the defaults)
unet = UNet2DConditionModel(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8).eval()
vae = AutoencoderKL(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4).eval()
h, w = height // 8, width // 8
batch = 2 if guidance > 1 else 1
latents = torch.randn(batch, 4, h, w)
context = torch.randn(batch, 77, 768)
print(f"diffusers {__import__('diffusers').__version__}, torch {torch.__version__}, {threads} threads, float32", flush=True)
with torch.inference_mode():
    t0 = time.perf_counter()
    unet(latents, 999, encoder_hidden_states=context)
    print(f"diffusers: warm-up step {time.perf_counter() - t0:.2f} s", flush=True)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        unet(latents, 999 - 50 * i, encoder_hidden_states=context)
        times.append(time.perf_counter() - t0)
        print(f"diffusers: step {i + 1} {times[-1]:.2f} s", flush=True)
    t0 = time.perf_counter()
    vae.decode(latents[:1] / 0.18215)
    vae_s = time.perf_counter() - t0
times.sort()
print(f"unet_step_s {times[len(times) // 2]:.3f}")
print(f"vae_decode_s {vae_s:.3f}")
