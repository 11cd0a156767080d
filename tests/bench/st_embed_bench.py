#!/usr/bin/env python3
"""The peer of `hearth-cli embed --bench`: sentence-transformers (PyTorch, CPU) embedding the same
texts in one encode() call per pass, after one warm-up pass, with the same number of threads.
Prints the line embed-vs-sentence-transformers.sh reads: "texts_per_s X tokens_per_s Y".
Usage: st_embed_bench.py MODEL_DIR THREADS PASSES TEXTS_FILE (one text per line)"""
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def main():
    model_dir, threads, passes, texts_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(threads)
    texts = [line.rstrip("\n") for line in open(texts_file, encoding="utf-8") if line.strip()]
    m = SentenceTransformer(model_dir, device="cpu")
    tokens = sum(len(m.tokenizer(t)["input_ids"]) for t in texts)
    m.encode(texts, batch_size=len(texts))
    t0 = time.perf_counter()
    for _ in range(passes):
        m.encode(texts, batch_size=len(texts))
    s = time.perf_counter() - t0
    print(f"sentence-transformers {torch.__version__}: {len(texts)} texts ({tokens} tokens) x {passes} passes in {s:.3f} s")
    print(f"texts_per_s {len(texts) * passes / s:.1f} tokens_per_s {tokens * passes / s:.0f}")


if __name__ == "__main__":
    main()
