#!/usr/bin/env bash
# Seconds per UNet step at the SD 1.5 shape, Hearth beside diffusers on PyTorch in the same run
# (issue #15): `hearth-cli diffuse --bench` (random F16 weights, classifier-free guidance: two UNet
# passes per step) and tests/bench/diffusers_unet_step.py (random float32 weights from SD 1.5's
# config, one UNet call on a batch of two: how the diffusers pipeline runs guidance), both on the
# CPU with the same number of threads, then the ratio. Python with torch and diffusers is needed
# for the peer only; nothing in the build or the tests runs this.
# Usage: tests/bench/diffuse-vs-diffusers.sh [BUILD_DIR] [THREADS] [SIZE] [STEPS]
set -euo pipefail
BUILD=${1:-build}
THREADS=${2:-2}
SIZE=${3:-512}
STEPS=${4:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
echo "== Hearth ($THREADS threads, ${SIZE}×${SIZE}, $STEPS timed steps)"
hearth=$("$BUILD/app/cli/hearth-cli" diffuse --bench -W "$SIZE" -H "$SIZE" --steps "$STEPS" -t "$THREADS")
echo "$hearth"
echo "== diffusers"
peer=$(python3 "$HERE/diffusers_unet_step.py" "$SIZE" "$SIZE" "$STEPS" 7.5 "$THREADS")
echo "$peer"
h=$(echo "$hearth" | awk '/^unet_step_s/ {print $2}')
p=$(echo "$peer" | awk '/^unet_step_s/ {print $2}')
awk -v h="$h" -v p="$p" 'BEGIN { printf "UNet step at %s: Hearth %.2f s, diffusers %.2f s: Hearth takes %.2fx diffusers'"'"' time (%s)\n", "'"${SIZE}x${SIZE}"'", h, p, h / p, (h < p ? "faster" : "slower") }'
