#!/usr/bin/env bash
# Texts per second of a BERT-family embedding model, Hearth beside sentence-transformers on PyTorch
# in the same run: `hearth-cli embed --bench` on the model converted by `hearth-cli convert` (F32, so
# both compute the same thing) and tests/bench/st_embed_bench.py on the Hugging Face folder, both on
# the CPU with the same threads, over the same texts (one batch per pass), then the ratio. Python
# with torch and sentence-transformers is needed for the peer only; nothing in the build or the
# tests runs this.
# Usage: tests/bench/embed-vs-sentence-transformers.sh HF_DIR [BUILD_DIR] [THREADS] [PASSES] [PYTHON]
set -euo pipefail
HF_DIR=$1
BUILD=${2:-build}
THREADS=${3:-2}
PASSES=${4:-10}
PY=${5:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# 64 texts of 5 to 60 words: short queries and paragraph-sized chunks, as a retrieval tool sends.
for i in $(seq 1 64); do
  n=$(( 5 + (i * 37) % 56 ))
  words="The lighthouse keeper wrote in his log that the storm had passed before dawn and the ships could sail again toward"
  line=""
  for j in $(seq 1 "$n"); do set -- $words; shift $(( (i + j) % 20 )); line="$line $1"; done
  echo "Note $i:$line." >> "$WORK/texts.txt"
done
CLI="$BUILD/app/cli/hearth-cli"
"$CLI" convert "$HF_DIR" -o "$WORK/model.gguf" --type F32 > /dev/null 2>&1
mapfile -t TEXTS < "$WORK/texts.txt"
echo "== Hearth ($THREADS threads, $PASSES passes)"
hearth=$("$CLI" embed -m "$WORK/model.gguf" --bench "$PASSES" --backend cpu -t "$THREADS" "${TEXTS[@]}")
echo "$hearth"
echo "== sentence-transformers"
peer=$("$PY" "$HERE/st_embed_bench.py" "$HF_DIR" "$THREADS" "$PASSES" "$WORK/texts.txt" 2>/dev/null)
echo "$peer"
h=$(echo "$hearth" | sed -n 's/.*: \([0-9.]*\) texts\/s.*/\1/p')
p=$(echo "$peer" | awk '/^texts_per_s/ {print $2}')
awk -v h="$h" -v p="$p" 'BEGIN { printf "Hearth %.1f texts/s, sentence-transformers %.1f texts/s: Hearth at %.2fx\n", h, p, h / p }'
