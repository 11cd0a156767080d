#!/usr/bin/env bash
# Where one decode step's time goes on this GPU, kernel by kernel (issue #17), with Nsight Compute
# (ncu, part of the CUDA toolkit; nsys is not needed):
#   1. builds hearth-cli and the CUDA plugin (-DHEARTH_APP=OFF, no tests), or reuses BUILD_DIR's;
#   2. writes the Llama-8B shape with its first LAYERS layers (default 4) in each of TYPES
#      (default "Q4_K_M Q4_0") with make-model --distinct-rows 256;
#   3. per type: `ncu` over 100 launches of the decode steps (graphs off, so each kernel is its own
#      launch; ncu serializes kernels and flushes the caches between them, so its times are each
#      kernel's cold time, a little above what a replayed graph takes) → kernels-TYPE.csv, and the
#      table below printed: launches, time, DRAM bytes read and GB/s per kernel name;
#   4. per type: the stall reasons, memory and occupancy sections of the first DETAIL (default 6)
#      quantized matvec launches of a decode step → matvec-TYPE.txt.
# Usage: tests/gpu/profile-decode.sh   (env: BUILD_DIR=build-gpu, LAYERS, TYPES, DETAIL, NCU)
# Results go to $BUILD_DIR/profile, and as profile.tar.gz to $OUT (the device tool's folder) when set.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
LOGS=$BUILD/profile
rm -rf "$LOGS"
trap '[ -n "${OUT:-}" ] && [ -d "$OUT" ] && tar -C "$LOGS" -czf "$OUT/profile.tar.gz" .' EXIT
LAYERS=${LAYERS:-4}
TYPES=${TYPES:-"Q4_K_M Q4_0"}
DETAIL=${DETAIL:-6}
NCU=${NCU:-$(command -v ncu || echo /usr/local/cuda/bin/ncu)}
mkdir -p "$LOGS"
[ -x "$NCU" ] || { echo "no ncu ($NCU)"; exit 1; }
ARCH=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')}
GEN=""; command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
if [ ! -x "$BUILD/app/cli/hearth-cli" ] || [ "${REBUILD:-1}" = 1 ]; then
  cmake -S "$ROOT" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DHEARTH_APP=OFF -DHEARTH_CUDA=ON -DHEARTH_VULKAN=OFF \
    -DHEARTH_CUDA_SIM=OFF -DHEARTH_TESTS=OFF -DCMAKE_CUDA_ARCHITECTURES="${ARCH:-90}" > "$LOGS/configure.log" 2>&1 \
    || { echo "configure FAILED"; tail -20 "$LOGS/configure.log"; exit 1; }
  cmake --build "$BUILD" -j "$(nproc)" --target hearth-cli hearth-cuda > "$LOGS/build.log" 2>&1 \
    || { echo "build FAILED"; grep -E "error:" "$LOGS/build.log" | head -30; exit 1; }
fi
CLI=$BUILD/app/cli/hearth-cli
mkdir -p "$BUILD/models"
for t in $TYPES; do
  m=$BUILD/models/llama-8b-$LAYERS-layers-$t.gguf
  [ -s "$m" ] || "$CLI" make-model --shape llama-8b --type "$t" --layers "$LAYERS" --distinct-rows 256 -o "$m" > "$LOGS/make-$t.log" 2>&1 &
done
wait
# The per-kernel table of an ncu CSV (gpu__time_duration.sum and dram__bytes_read.sum per launch).
table() {
  awk -F'","' '
    function scale(u) { return u == "us" || u == "usecond" ? 1e3 : u == "ms" || u == "msecond" ? 1e6 : \
                               u == "KB" || u == "Kbyte" ? 1e3 : u == "MB" || u == "Mbyte" ? 1e6 : u == "GB" || u == "Gbyte" ? 1e9 : 1 }
    { sub(/^"/, ""); sub(/"\r?$/, "") }  # the outer quotes; fields are split at ","
    /^ID"/ { for (i = 1; i <= NF; ++i) col[$i] = i; next }
    /^[0-9]/ {
      id = $1; name = $col["Kernel Name"]; sub(/\(.*/, "", name); sub(/^void /, "", name); gsub(/hearth::|[<]?unnamed[>]::|[(]anonymous namespace[)]::/, "", name)
      v = $col["Metric Value"]; gsub(/[",]/, "", v); v *= scale($col["Metric Unit"])
      if ($col["Metric Name"] == "gpu__time_duration.sum") { t[name] += v; n[name]++; T += v }
      if ($col["Metric Name"] == "dram__bytes_read.sum") { b[name] += v; B += v }
    }
    END {
      for (k in t) printf "%9.1f us %5.1f%% %4d launches %8.1f MB %7.0f GB/s  %s\n", t[k] / 1e3, 100 * t[k] / T, n[k], b[k] / 1e6, t[k] ? b[k] / t[k] : 0, k | "sort -rn"
      close("sort -rn")
      printf "total: %.1f us, %.1f MB read, %.0f GB/s\n", T / 1e3, B / 1e6, T ? B / T : 0
    }' "$1"
}
for t in $TYPES; do
  m=$BUILD/models/llama-8b-$LAYERS-layers-$t.gguf
  [ -s "$m" ] || { echo "$t: make-model FAILED (see make-$t.log)"; continue; }
  # Load and a 16-token prompt take well under 1000 launches with 4 layers; the rest are decode steps.
  HEARTH_CUDA_GRAPHS=0 timeout 120 "$NCU" --launch-skip 1000 --launch-count 100 --csv \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,launch__grid_size,launch__block_size,launch__registers_per_thread \
    "$CLI" bench -m "$m" --backend cuda -p 16 -n 64 -r 1 > "$LOGS/kernels-$t.csv" 2> "$LOGS/kernels-$t.err"
  echo "== $t: one decode stretch (100 launches, $LAYERS layers of the 8B shape), by kernel"
  table "$LOGS/kernels-$t.csv"
  HEARTH_CUDA_GRAPHS=0 timeout 120 "$NCU" --kernel-name regex:k_matvec_packed --launch-skip 40 --launch-count "$DETAIL" \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats \
    "$CLI" bench -m "$m" --backend cuda -p 16 -n 16 -r 1 > "$LOGS/matvec-$t.txt" 2> "$LOGS/matvec-$t.err"
  echo "== $t: matvec detail in matvec-$t.txt ($(grep -c 'k_matvec_packed' "$LOGS/matvec-$t.txt") launches)"
done
