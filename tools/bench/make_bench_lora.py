#!/usr/bin/env python3
"""The adapter of issue #14's speed case: a random rank-16 q/v LoRA (alpha 32) made with peft for a
TinyLlama-shape LlamaForCausalLM, and its GGUF from llama.cpp's convert_lora_to_gguf.py.

    python3 tools/bench/make_bench_lora.py /work/models/bench-lora [--llama-cpp /work/ext/llama.cpp]

Writes, under OUT (outside the repository: nothing here is committed but this script):
  base-hf/config.json   the base model's config (convert_lora_to_gguf.py reads only the config)
  qv-r16/               the PEFT adapter (adapter_config.json, adapter_model.safetensors)
  qv-r16.gguf           the same adapter in llama.cpp's GGUF form (F32)

The base weights are never needed: the model is built on the meta device (no 4 GB of random
floats), peft wraps its q/v projections, and only the LoRA matrices are given real values. PEFT
initialises B to zero (an adapter that changes nothing, which would measure a no-op's cost only in
part and hide a wrong path); both A and B are drawn at random here so the term is really computed.
The base model of the benchmark is hearth-cli make-model's random TinyLlama of the same shape.
"""
import argparse
import os
import subprocess
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM


def tinyllama_config() -> LlamaConfig:
    # TinyLlama-1.1B's shape (as hearth-cli make-model --shape tinyllama-1.1b).
    return LlamaConfig(
        vocab_size=32000,
        hidden_size=2048,
        intermediate_size=5632,
        num_hidden_layers=22,
        num_attention_heads=32,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="output folder (outside the repository)")
    ap.add_argument("--llama-cpp", default="/work/ext/llama.cpp", help="llama.cpp checkout with convert_lora_to_gguf.py")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32.0)
    args = ap.parse_args()

    base_dir = os.path.join(args.out, "base-hf")
    lora_dir = os.path.join(args.out, f"qv-r{args.rank}")
    os.makedirs(base_dir, exist_ok=True)

    cfg = tinyllama_config()
    cfg.architectures = ["LlamaForCausalLM"]
    cfg.save_pretrained(base_dir)

    torch.manual_seed(14)
    with torch.device("meta"):
        model = LlamaForCausalLM(cfg)
    lcfg = LoraConfig(r=args.rank, lora_alpha=args.alpha, target_modules=["q_proj", "v_proj"], lora_dropout=0.0,
                      bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model, lcfg)
    # Real values for the LoRA matrices only (the base stays on meta: never saved, never needed).
    n = 0
    for name, mod in model.named_modules():
        for part in ("lora_A", "lora_B"):
            d = getattr(mod, part, None)
            if d is None or not hasattr(d, "keys") or "default" not in d:
                continue
            lin = d["default"]
            w = torch.empty(lin.weight.shape, dtype=torch.float32, device="cpu")
            # Kaiming-like A (as PEFT), and a B of the size a trained adapter reaches (nonzero).
            w.normal_(0.0, (1.0 / lin.in_features) ** 0.5 if part == "lora_A" else 0.02)
            lin.weight = torch.nn.Parameter(w)
            n += 1
    model.peft_config["default"].base_model_name_or_path = os.path.abspath(base_dir)
    model.save_pretrained(lora_dir)
    print(f"{n} LoRA matrices written to {lora_dir}")

    gguf_path = os.path.join(args.out, f"qv-r{args.rank}.gguf")
    subprocess.run([sys.executable, os.path.join(args.llama_cpp, "convert_lora_to_gguf.py"), "--base", base_dir,
                    "--outtype", "f32", "--outfile", gguf_path, lora_dir], check=True)
    print(f"wrote {gguf_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
