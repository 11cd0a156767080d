#!/usr/bin/env python3
"""Compares the tensor data of two GGUF files tensor by tensor (metadata is ignored: llama-quantize
writes its own keys). Prints per type how many tensors are byte-identical. Outside CI (needs gguf)."""
import sys
from collections import defaultdict

from gguf import GGUFReader


def main(a_path, b_path):
    a = {t.name: t for t in GGUFReader(a_path).tensors}
    b = {t.name: t for t in GGUFReader(b_path).tensors}
    same, total, diff_names = defaultdict(int), defaultdict(int), []
    for name, ta in a.items():
        tb = b.get(name)
        kind = ta.tensor_type.name
        total[kind] += 1
        if tb is not None and tb.tensor_type == ta.tensor_type and bytes(ta.data.tobytes()) == bytes(tb.data.tobytes()):
            same[kind] += 1
        else:
            diff_names.append(f"{name} ({kind} vs {tb.tensor_type.name if tb is not None else 'missing'})")
    for kind in sorted(total):
        print(f"{kind:6s} {same[kind]:4d}/{total[kind]:4d} byte-identical")
    for n in diff_names[:20]:
        print("differs:", n)
    return 0 if not diff_names else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
