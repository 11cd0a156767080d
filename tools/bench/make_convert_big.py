#!/usr/bin/env python3
"""A random-weight Llama checkpoint of about 1.1 GB (BF16, 3 shards) written with transformers'
save_pretrained, for the converter's peak-memory figure (tests/bench/README.md). Never commit it.

    python3 tools/bench/make_convert_big.py /work/models/convert-big
"""
import shutil
import sys
import pathlib

import torch
from transformers import LlamaConfig, LlamaForCausalLM

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/work/models/convert-big")
repo = pathlib.Path(__file__).resolve().parents[2]
cfg = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=9,
                  num_attention_heads=16, num_key_value_heads=4, max_position_embeddings=4096,
                  tie_word_embeddings=False, bos_token_id=0, eos_token_id=1)
torch.manual_seed(0)
torch.set_default_dtype(torch.bfloat16)  # never a float32 copy of the whole model
model = LlamaForCausalLM(cfg).eval()
out.mkdir(parents=True, exist_ok=True)
model.save_pretrained(out, max_shard_size="500MB")
# The tiny committed fixture's tokenizer: 320 tokens, padded by the converter to vocab_size 32000.
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(repo / "tests/engine/data/convert/llama-f16-mha-shards" / f, out / f)
n = sum(p.numel() for p in model.parameters())
print(f"{out}: {n / 1e6:.0f}M parameters, {sum(f.stat().st_size for f in out.glob('*.safetensors')) / 2**30:.2f} GiB")
