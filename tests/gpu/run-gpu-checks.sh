#!/usr/bin/env bash
# GPU checks of the CUDA backend, for a machine with an NVIDIA GPU (no Qt, no network needed):
#   1. builds the engine, hearth-cli, the CUDA plugin and the CUDA tests (-DHEARTH_APP=OFF),
#   2. runs the CUDA tests with the reference models from $HEARTH_TESTDATA,
#   3. measures the device-to-device copy bandwidth, then benchmarks generation (tg) and prompt
#      processing (pp512) with `hearth-cli bench --backend cuda` on random-weight models made by
#      `hearth-cli make-model`: TinyLlama-1.1B shape F16/Q8_0/Q4_0/Q4_K_M, Llama-8B shape Q4_0/Q4_K_M,
#      and prints generation bandwidth as a share of the copy bandwidth measured in the same run.
# Logs go to build-gpu/out; when $OUT (the device tool's result folder, which brings back at most 8
# files) is set, gpu-results.json, summary.txt and logs.tar.gz of the rest go there. Budget: < 8 min on
# an H200 including the build; later steps are skipped (and say so) when the budget runs out.
# Results: gpu-results.json beside the logs (issue #17), written on every exit after the build:
#   copy_gbps, tg_tps_8b_q4_k_m, tg_bandwidth_pct_8b_q4_k_m (bytes read per token x tok/s as a share of
#   copy_gbps), pp512_tps_8b_q4_0 in the backend's default graph mode (graphs_default), the same keys
#   with _graphs_off and _graphs_on, sd15_unet_step_s_512 (issue #15), tests {passed, failed, skipped,
#   binaries_failed}, and every benchmark run; null where a figure was not measured (dry run, budget, failure). Prompt attention
#   (issue #17 item 5): prefill_attention_test (CudaOps.PromptAttentionTensorCoresAndTiled: the
#   tensor-core kernel and the tiled one, each against the reference, on this GPU) and
#   pp512_tps_8b_q4_0_attn_tiled (pp512 with HEARTH_CUDA_PREFILL_ATTN=tiled, beside the default's).
#   Programmatic dependent launch (off by default): pdl_model_test (test_cuda_model with
#   HEARTH_CUDA_PDL=1: "passed"/"failed") and tg_tps_8b_q4_k_m_pdl (the 8B Q4_K_M generation with it).
#   A mixture of experts (Qwen3-30B-A3B's shape, 12 of its 48 layers, Q4_K_M; SKIP_MOE=1 leaves it
#   out): tg_tps_qwen3moe_12l_q4_k_m all on the GPU, and _cpu_moe with its experts in system memory.
#   Then, when ncu is there and 150 s of the budget are left, tests/gpu/profile-decode.sh on the same
#   build (per-kernel decode times and the matvec's stall reasons; profile.tar.gz in $OUT; PROFILE=0
#   leaves it out).
#
# From a session with the device tool (the reference models, 48 MB, travel gzipped in the ignored
# .testdata/: with the repository's 19 MB they no longer fit the tool's 64 MiB as they are; every
# .testdata/*.tar.gz is unpacked here first):
#   mkdir -p .testdata && tar -C ../shared/testdata -czf .testdata/ref.tar.gz reference
#   run(command="tests/gpu/run-gpu-checks.sh", carry=[".testdata"], timeout_s=480)
# (about 100 s on an H200 without the profile at the end; the figures reach $OUT before it starts)
# The diffusion tests run when .testdata/diffusion is there instead (tiny-sd15 + tiny-sd-turbo, 52 MB);
# the SD 1.5-shape UNet step (sd15_unet_step_s_512) is measured on random weights either way.
# Usage: HEARTH_TESTDATA=/path/to/testdata tests/gpu/run-gpu-checks.sh
#   env: BUILD_DIR (default build-gpu), CUDA_ARCH (default: the GPU's own, e.g. 90),
#        BUDGET_S (default 450), BENCH_REPS (default 3), SKIP_8B=1 to leave out the Llama-8B shape,
#        DRY_RUN=1 on a machine without a GPU: configure, build and run the tests (the GPU ones skip
#        with their reason), then stop before the models and benchmarks (exit 2 as without a GPU).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gpu}
LOGS=$BUILD/out
BUDGET_S=${BUDGET_S:-450}
REPS=${BENCH_REPS:-3}
START=$(date +%s)
for a in "$ROOT"/.testdata/*.tar.gz; do
  [ -f "$a" ] && tar -C "$ROOT/.testdata" -xzf "$a" && rm -f "$a"
done
rm -rf "$LOGS"
# On every exit: the results and a tarball of the logs into $OUT, within the device tool's 8 files.
deliver() {
  [ -n "${OUT:-}" ] && [ -d "$OUT" ] || return 0
  cp "$LOGS"/gpu-results.json "$LOGS"/summary.txt "$OUT"/ 2>/dev/null
  tar -C "$LOGS" -czf "$OUT/logs.tar.gz" . 2>/dev/null
  return 0
}
trap deliver EXIT
# The device tool copies only the repository: the reference models travel in the ignored .testdata/.
if [ -z "${HEARTH_TESTDATA:-}" ] && { [ -d "$ROOT/.testdata/reference" ] || [ -d "$ROOT/.testdata/diffusion" ]; }; then
  export HEARTH_TESTDATA=$ROOT/.testdata
fi
mkdir -p "$LOGS"
SUMMARY=$LOGS/summary.txt
: > "$SUMMARY"

say() { echo "$*" | tee -a "$SUMMARY"; }
elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( BUDGET_S - $(elapsed) )); }
# json_field FILE KEY → the number after "KEY": in FILE (first match), or "?"
fmt() { awk -v x="$1" 'BEGIN { if (x == "") print "?"; else printf "%.1f", x }'; }
json_field() { grep -o "\"$2\"[[:space:]]*:[[:space:]]*[-0-9.eE+]*" "$1" 2>/dev/null | head -1 | sed 's/.*:[[:space:]]*//' || true; }

# ---- results JSON (gpu-results.json). Figures come from the bench JSONs as they are written.
RESULTS=$LOGS/gpu-results.json
num() { [ -n "${1:-}" ] && [ "$1" != "?" ] && echo "$1" || echo null; }
bench_val() { [ -s "$LOGS/bench-$1.json" ] && num "$(json_field "$LOGS/bench-$1.json" "$2")" || echo null; }
pct_of_copy() { [ "$1" != null ] && [ -n "${COPY:-}" ] && awk -v g="$1" -v c="$COPY" 'BEGIN {printf "%.2f", 100 * g / c}' || echo null; }
count_tests() {  # $1: OK|FAILED|SKIPPED → gtest result lines of that kind in every test log
  local pat='^\[       OK \]' n
  [ "$1" = FAILED ] && pat='^\[  FAILED  \] .* ms)$'
  [ "$1" = SKIPPED ] && pat='^\[  SKIPPED \] .* ms)$'
  n=$(cat "$LOGS"/test_*.log 2>/dev/null | grep -c "$pat")
  echo "${n:-0}"
}
# "passed" / "failed" for the prompt attention test in test_cuda_ops.log, null when it did not run.
prefill_attention_test() {
  local log=$LOGS/test_cuda_ops.log
  if grep -q '^\[       OK \] CudaOps.PromptAttentionTensorCoresAndTiled' "$log" 2>/dev/null; then echo '"passed"'
  elif grep -q '^\[  FAILED  \] CudaOps.PromptAttentionTensorCoresAndTiled' "$log" 2>/dev/null; then echo '"failed"'
  else echo null; fi
}
write_results() {
  # graphs_default: the backend's mode without HEARTH_CUDA_GRAPHS (cuda_backend.cpp); the plain keys
  # are that mode's runs, bench-NAME (default mode) and bench-NAME-graphs-{on,off} (forced).
  local gd=${GRAPHS_DEFAULT:-false} on off
  local tg_def pp_def tg_on tg_off pp_on pp_off gb_def gb_on gb_off
  tg_def=$(bench_val llama-8b-Q4_K_M tg_tps); gb_def=$(bench_val llama-8b-Q4_K_M tg_gbps); pp_def=$(bench_val llama-8b-Q4_0 pp_tps)
  if [ "$gd" = true ]; then on=""; off="-graphs-off"; else on="-graphs-on"; off=""; fi
  tg_on=$(bench_val "llama-8b-Q4_K_M$on" tg_tps); gb_on=$(bench_val "llama-8b-Q4_K_M$on" tg_gbps); pp_on=$(bench_val "llama-8b-Q4_0$on" pp_tps)
  tg_off=$(bench_val "llama-8b-Q4_K_M$off" tg_tps); gb_off=$(bench_val "llama-8b-Q4_K_M$off" tg_gbps); pp_off=$(bench_val "llama-8b-Q4_0$off" pp_tps)
  {
    echo "{"
    echo "  \"dry_run\": $([ "$DRY" = 1 ] && echo true || echo false),"
    echo "  \"gpu\": \"$(head -c 200 "$LOGS/gpu-name.txt" 2>/dev/null | tr -d '"\\\n')\","
    echo "  \"graphs_default\": $gd,"
    echo "  \"copy_gbps\": $(num "${COPY:-}"),"
    echo "  \"tg_tps_8b_q4_k_m\": $tg_def,"
    echo "  \"tg_bandwidth_pct_8b_q4_k_m\": $(pct_of_copy "$gb_def"),"
    echo "  \"pp512_tps_8b_q4_0\": $pp_def,"
    echo "  \"tg_tps_8b_q4_k_m_graphs_off\": $tg_off,"
    echo "  \"tg_bandwidth_pct_8b_q4_k_m_graphs_off\": $(pct_of_copy "$gb_off"),"
    echo "  \"pp512_tps_8b_q4_0_graphs_off\": $pp_off,"
    echo "  \"tg_tps_8b_q4_k_m_graphs_on\": $tg_on,"
    echo "  \"tg_bandwidth_pct_8b_q4_k_m_graphs_on\": $(pct_of_copy "$gb_on"),"
    echo "  \"pp512_tps_8b_q4_0_graphs_on\": $pp_on,"
    echo "  \"sd15_unet_step_s_512\": $(num "${SD_STEP:-}"),"
    echo "  \"pp512_tps_8b_q4_0_attn_tiled\": $(bench_val llama-8b-Q4_0-attn-tiled pp_tps),"
    echo "  \"prefill_attention_test\": $(prefill_attention_test),"
    echo "  \"pdl_model_test\": ${PDL_TEST:-null},"
    echo "  \"tg_tps_8b_q4_k_m_pdl\": $(bench_val llama-8b-Q4_K_M-pdl tg_tps),"
    echo "  \"tg_tps_qwen3moe_12l_q4_k_m\": $(bench_val qwen3-30b-a3b-12l-Q4_K_M tg_tps),"
    echo "  \"tg_tps_qwen3moe_12l_q4_k_m_cpu_moe\": $(bench_val qwen3-30b-a3b-12l-Q4_K_M-cpu-moe tg_tps),"
    echo "  \"tests\": {\"passed\": $(count_tests OK), \"failed\": $(count_tests FAILED), \"skipped\": $(count_tests SKIPPED), \"binaries_failed\": ${FAILED_BINS:-0}},"
    echo "  \"benchmarks\": ["
    local first=1 f n
    for f in "$LOGS"/bench-*.json; do
      [ -s "$f" ] || continue
      n=$(basename "$f" .json); n=${n#bench-}
      [ $first = 1 ] || echo ","
      first=0
      printf '    {"name": "%s", "pp_tps": %s, "tg_tps": %s, "tg_gbps": %s}' "$n" "$(bench_val "$n" pp_tps)" "$(bench_val "$n" tg_tps)" "$(bench_val "$n" tg_gbps)"
    done
    [ $first = 1 ] || echo
    echo "  ],"
    echo "  \"elapsed_s\": $(elapsed)"
    echo "}"
  } > "$RESULTS"
}

say "== Hearth GPU checks ($(date -u +%Y-%m-%dT%H:%M:%SZ)) =="
DRY=${DRY_RUN:-0}
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi > "$LOGS/nvidia-smi.txt" 2>&1; then
  if [ "$DRY" != 1 ]; then
    say "no NVIDIA GPU here (nvidia-smi is missing or fails: see nvidia-smi.txt): nothing to check."
    say "DRY_RUN=1 builds and runs the tests anyway (the GPU tests skip), without models or benchmarks."
    exit 2
  fi
  say "no NVIDIA GPU here: dry run (build and tests only; GPU tests will skip)"
  ARCH=${CUDA_ARCH:-90}
else
  DRY=0
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader | head -1 > "$LOGS/gpu-name.txt"
  say "GPU: $(cat "$LOGS/gpu-name.txt")"
  ARCH=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')}
fi
[ -n "$ARCH" ] || ARCH=90
if [ ! -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc >/dev/null 2>&1; then
  say "no CUDA toolkit (nvcc) here: cannot build the CUDA backend"; exit 1
fi

# ---- 1. build
GEN=""; command -v ninja >/dev/null 2>&1 && GEN="-G Ninja"
NVCC=/usr/local/cuda/bin/nvcc; command -v nvcc >/dev/null 2>&1 && NVCC=$(command -v nvcc)
say "-- build (CUDA arch $ARCH) at $(elapsed)s"
TESTS=OFF
for g in /usr/include/gtest/gtest.h /usr/local/include/gtest/gtest.h /usr/lib/*/cmake/GTest /usr/lib/cmake/GTest /usr/local/lib/cmake/GTest; do
  [ -e "$g" ] && TESTS=ON
done
[ "$TESTS" = ON ] || say "GoogleTest is not installed: building without the tests (benchmarks only)"
if ! cmake -S "$ROOT" -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DHEARTH_APP=OFF -DHEARTH_CUDA=ON -DHEARTH_VULKAN=OFF -DHEARTH_CUDA_SIM=OFF \
      -DHEARTH_TESTS=$TESTS -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="$ARCH" > "$LOGS/configure.log" 2>&1; then
  say "configure FAILED (see configure.log)"; tail -30 "$LOGS/configure.log"; exit 1
fi
TARGETS="hearth-cli hearth-cuda hearth-cuda-copybw"
CUDA_TESTS="test_cuda_loader test_cuda_quant_units test_cuda_topk_units test_cuda_ops test_cuda_model test_layer_split"
# Stable Diffusion's parts against diffusers' outputs (issue #15), on CUDA only (HEARTH_DIFFUSION_BACKENDS
# below), where the tiny pipelines came along: reference/ (48 MB) and diffusion/ (52 MB) do not fit one
# carry (64 MiB), so a second loan carries .testdata/diffusion instead (SKIP_8B=1 keeps it short).
DIFFUSION_TESTS=""
if [ -d "${HEARTH_TESTDATA:-/nonexistent}/diffusion" ]; then
  DIFFUSION_TESTS="test_clip_text_encoder test_unet test_vae_decoder test_vae_encoder test_diffusion_pipeline"
  CUDA_TESTS="$CUDA_TESTS $DIFFUSION_TESTS"
fi
[ "$TESTS" = ON ] && TARGETS="$TARGETS $CUDA_TESTS"
# Keep going past a failed file (ninja -k 0), so that one loan shows every file another compiler refuses.
KEEP_GOING=""; [ -n "$GEN" ] && KEEP_GOING="-- -k 0"
if ! cmake --build "$BUILD" -j "$(nproc)" --target $TARGETS $KEEP_GOING > "$LOGS/build.log" 2>&1; then
  say "build FAILED (see build.log)"; grep -E "error:|FAILED" "$LOGS/build.log" | head -60; exit 1
fi
CLI=$BUILD/app/cli/hearth-cli
say "built in $(elapsed)s"

# ---- models: make-model is CPU work (rows quantized on a thread pool, the random draws serial: tens
# of seconds for the 8B shape on 16 cores with every row drawn), so every model is written in the
# background while the tests run; each benchmark waits for its file. --distinct-rows 256: only 256 rows
# of each matrix are drawn and the rest repeat them (the bytes a step reads are as many and as far
# apart; only their values repeat), which takes the writing from tens of seconds to a few.
MODELS=$BUILD/models
mkdir -p "$MODELS"
CASES="tinyllama-1.1b:F16 tinyllama-1.1b:Q8_0 tinyllama-1.1b:Q4_0 tinyllama-1.1b:Q4_K_M"
[ "${SKIP_8B:-0}" = 1 ] || CASES="$CASES llama-8b:Q4_0 llama-8b:Q4_K_M"
# A mixture of experts: Qwen3-30B-A3B's shape, its first 12 of 48 layers (4.6 GiB), as the CPU figure
# in tests/bench/README.md; "-12l" in a shape's name is make-model's --layers 12.
[ "${SKIP_MOE:-0}" = 1 ] || CASES="$CASES qwen3-30b-a3b-12l:Q4_K_M"
[ "$DRY" = 1 ] && CASES=""
declare -A MAKER
for c in $CASES; do
  shape=${c%%:*}; type=${c##*:}; name="$shape-$type"
  [ -s "$MODELS/$name.gguf" ] && continue
  layers=()
  case $shape in *-12l) layers=(--layers 12); shape=${shape%-12l} ;; esac
  timeout "$(left)" "$CLI" make-model --shape "$shape" "${layers[@]}" --type "$type" --distinct-rows 256 -o "$MODELS/$name.gguf" > "$LOGS/make-$name.log" 2>&1 &
  MAKER[$name]=$!  # timeout's pid: a signal to it reaches make-model too
done

# ---- 2. tests
FAILED=0
FAILED_BINS=0
# The backend's graph mode when HEARTH_CUDA_GRAPHS is unset (read from the source, so the JSON says
# which mode the plain figures are).
GRAPHS_DEFAULT=false
grep -q 'graphs_ = true; *// default' "$ROOT/engine/backend/cuda/cuda_backend.cpp" 2>/dev/null && GRAPHS_DEFAULT=true
say "test data: ${HEARTH_TESTDATA:-(not set: the model tests will skip)}"
[ "$TESTS" = ON ] && TEST_BINS=$CUDA_TESTS || TEST_BINS=""
for t in $TEST_BINS; do
  bin=$(find "$BUILD" -name "$t" -type f -perm -u+x | head -1)
  if [ -z "$bin" ]; then say "$t: not built"; FAILED=1; FAILED_BINS=$((FAILED_BINS + 1)); continue; fi
  filter=""; case " $DIFFUSION_TESTS " in *" $t "*) filter="--gtest_filter=*Match*";; esac
  if timeout 240 env HEARTH_TESTDATA="${HEARTH_TESTDATA:-}" HEARTH_DIFFUSION_BACKENDS=cuda "$bin" $filter > "$LOGS/$t.log" 2>&1; then
    say "$t: PASSED ($(grep -c '^\[       OK \]' "$LOGS/$t.log") ok, $(grep -c '^\[  SKIPPED \] .* ms)$' "$LOGS/$t.log") skipped)"
  else
    say "$t: FAILED (see $t.log)"; FAILED=1; FAILED_BINS=$((FAILED_BINS + 1))
    grep -E "^\[  FAILED  \]|Failure|error" "$LOGS/$t.log" | head -20 | tee -a "$SUMMARY"
  fi
  grep -E "^\[ (cuda|note|logits|cuda logits|cuda greedy) \]" "$LOGS/$t.log" | head -40 >> "$SUMMARY"
  # A diffusion test whose CUDA backend did not open checked nothing: say so beside its PASSED.
  grep -m1 '^cuda: not checked here' "$LOGS/$t.log" | sed 's/^/  /' | tee -a "$SUMMARY"
  why=$(grep -A1 -m1 ': Skipped$' "$LOGS/$t.log" | tail -1)
  [ -n "$why" ] && say "  first skip reason: $why"
done
# The model tests again in the other graph mode (graphs are the default: once more with direct launches).
bin=$(find "$BUILD" -name test_cuda_model -type f -perm -u+x | head -1)
if [ "$GRAPHS_DEFAULT" = true ]; then MODE=0; else MODE=1; fi
if [ -n "$bin" ] && [ "$DRY" != 1 ] && [ "$(left)" -gt 240 ]; then
  if timeout 120 env HEARTH_CUDA_GRAPHS=$MODE HEARTH_TESTDATA="${HEARTH_TESTDATA:-}" "$bin" > "$LOGS/test_cuda_model-graphs$MODE.log" 2>&1; then
    say "test_cuda_model with HEARTH_CUDA_GRAPHS=$MODE: PASSED ($(grep -c '^\[       OK \]' "$LOGS/test_cuda_model-graphs$MODE.log") ok)"
  else
    say "test_cuda_model with HEARTH_CUDA_GRAPHS=$MODE: FAILED (see test_cuda_model-graphs$MODE.log)"; FAILED=1; FAILED_BINS=$((FAILED_BINS + 1))
    grep -E "^\[  FAILED  \]|Failure" "$LOGS/test_cuda_model-graphs$MODE.log" | head -10 | tee -a "$SUMMARY"
  fi
fi
say "prompt attention on this GPU (tensor-core and tiled kernels vs the reference): $(prefill_attention_test | tr -d '"')"
say "tests done at $(elapsed)s"
if [ "$DRY" = 1 ]; then
  write_results
  say "== dry run done in $(elapsed)s (no GPU: models and benchmarks not run); logs in $LOGS, results in $RESULTS =="
  [ "$FAILED" = 0 ] && exit 2 || exit 1
fi

# ---- 3. bandwidth reference and benchmarks
COPYBW=$BUILD/bin/hearth-cuda-copybw
measure_copy() {  # appends one copy-bandwidth figure (GB/s) to copy_runs.txt
  "$COPYBW" 2048 10 > "$LOGS/copybw.$1.json" 2> "$LOGS/copybw.$1.err" && json_field "$LOGS/copybw.$1.json" copy_gbps >> "$LOGS/copy_runs.txt"
}
: > "$LOGS/copy_runs.txt"
measure_copy 0
i=0
for c in $CASES; do
  shape=${c%%:*}; type=${c##*:}; i=$((i + 1))
  name="$shape-$type"
  need=60; [ "$shape" = llama-8b ] || [ "$shape" = qwen3-30b-a3b-12l ] && need=120
  if [ "$(left)" -lt "$need" ]; then say "$name: SKIPPED (budget: $(elapsed)s of ${BUDGET_S}s used)"; continue; fi
  file=$MODELS/$name.gguf
  pid=${MAKER[$name]:-}
  if [ -n "$pid" ]; then
    while kill -0 "$pid" 2>/dev/null && [ "$(left)" -gt "$need" ]; do sleep 2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name: SKIPPED (make-model still writing the file when the budget ran out, at $(elapsed)s)"; continue
    fi
    wait "$pid" 2>/dev/null || rm -f "$file"
  fi
  if [ ! -s "$file" ]; then say "$name: make-model FAILED (see make-$name.log)"; continue; fi
  if timeout "$(left)" "$CLI" bench -m "$file" --backend cuda -p 512 -n 128 -r "$REPS" --json > "$LOGS/bench-$name.json" 2> "$LOGS/bench-$name.err"; then
    measure_copy "$i"  # interleaved with the benchmarks, as the CPU bench does with its read bandwidth
    pp=$(json_field "$LOGS/bench-$name.json" pp_tps); tg=$(json_field "$LOGS/bench-$name.json" tg_tps)
    gbps=$(json_field "$LOGS/bench-$name.json" tg_gbps)
    say "$name: pp512 $(fmt "$pp") tok/s, tg128 $(fmt "$tg") tok/s, generation $(fmt "$gbps") GB/s"
    echo "$name ${gbps:-}" >> "$LOGS/tg_gbps.txt"
  else
    say "$name: bench FAILED (see bench-$name.err)"; tail -5 "$LOGS/bench-$name.err" | tee -a "$SUMMARY"; FAILED=1
  fi
done

# The other graph mode (HEARTH_CUDA_GRAPHS forced to the opposite of the default) on the 8B models,
# for the JSON's _graphs_on/_graphs_off pair: Q4_K_M generation first (the figure that matters), then
# Q4_0 when the budget allows; on the largest model that ran when the 8B shape was skipped.
if [ "$GRAPHS_DEFAULT" = true ]; then OTHER=0; OTHER_TAG=graphs-off; else OTHER=1; OTHER_TAG=graphs-on; fi
for name in llama-8b-Q4_K_M llama-8b-Q4_0; do
  [ -s "$LOGS/bench-$name.json" ] || continue
  reps=$REPS; [ "$name" = llama-8b-Q4_0 ] && reps=1
  if [ "$(left)" -lt 60 ]; then say "$name with HEARTH_CUDA_GRAPHS=$OTHER: SKIPPED (budget)"; continue; fi
  if timeout "$(left)" env HEARTH_CUDA_GRAPHS=$OTHER "$CLI" bench -m "$MODELS/$name.gguf" --backend cuda -p 512 -n 128 -r "$reps" --json \
       > "$LOGS/bench-$name-$OTHER_TAG.json" 2> "$LOGS/bench-$name-$OTHER_TAG.err"; then
    g=$(json_field "$LOGS/bench-$name-$OTHER_TAG.json" tg_gbps)
    say "$name with HEARTH_CUDA_GRAPHS=$OTHER: pp512 $(fmt "$(json_field "$LOGS/bench-$name-$OTHER_TAG.json" pp_tps)") tok/s, tg128 $(fmt "$(json_field "$LOGS/bench-$name-$OTHER_TAG.json" tg_tps)") tok/s, generation $(fmt "$g") GB/s"
    echo "$name-$OTHER_TAG ${g:-}" >> "$LOGS/tg_gbps.txt"
  else
    say "$name with HEARTH_CUDA_GRAPHS=$OTHER: bench FAILED (see bench-$name-$OTHER_TAG.err)"; FAILED=1
    rm -f "$LOGS/bench-$name-$OTHER_TAG.json"
  fi
done
# Prompt processing with the scalar tiled attention instead of the tensor-core kernel (sm_80+), so
# the JSON shows what the mma kernel gives at pp512 on the 8B shape (head_dim 128, GQA 4).
name=llama-8b-Q4_0
if [ -s "$LOGS/bench-$name.json" ] && [ "$(left)" -ge 60 ]; then
  if timeout "$(left)" env HEARTH_CUDA_PREFILL_ATTN=tiled "$CLI" bench -m "$MODELS/$name.gguf" --backend cuda -p 512 -n 16 -r 1 --json \
       > "$LOGS/bench-$name-attn-tiled.json" 2> "$LOGS/bench-$name-attn-tiled.err"; then
    say "$name with HEARTH_CUDA_PREFILL_ATTN=tiled: pp512 $(fmt "$(json_field "$LOGS/bench-$name-attn-tiled.json" pp_tps)") tok/s (default: $(fmt "$(json_field "$LOGS/bench-$name.json" pp_tps)"))"
  else
    say "$name with HEARTH_CUDA_PREFILL_ATTN=tiled: bench FAILED (see bench-$name-attn-tiled.err)"; FAILED=1
    rm -f "$LOGS/bench-$name-attn-tiled.json"
  fi
elif [ -s "$LOGS/bench-$name.json" ]; then
  say "$name with HEARTH_CUDA_PREFILL_ATTN=tiled: SKIPPED (budget)"
fi
# Programmatic dependent launch (HEARTH_CUDA_PDL=1, sm_90+; off by default until this shows it
# right and faster): the model tests with it, then the 8B Q4_K_M generation beside the default's.
if [ "$(left)" -ge 90 ] && [ -n "${bin:-}" ]; then
  if timeout 120 env HEARTH_CUDA_PDL=1 HEARTH_TESTDATA="${HEARTH_TESTDATA:-}" "$bin" > "$LOGS/test_cuda_model-pdl.log" 2>&1; then
    PDL_TEST='"passed"'; say "test_cuda_model with HEARTH_CUDA_PDL=1: PASSED"
  else
    PDL_TEST='"failed"'; say "test_cuda_model with HEARTH_CUDA_PDL=1: FAILED (see test_cuda_model-pdl.log)"
    grep -E "^\[  FAILED  \]|Failure" "$LOGS/test_cuda_model-pdl.log" | head -5 | tee -a "$SUMMARY"
  fi
  name=llama-8b-Q4_K_M
  if [ -s "$LOGS/bench-$name.json" ] && [ "$PDL_TEST" = '"passed"' ] &&
     timeout "$(left)" env HEARTH_CUDA_PDL=1 "$CLI" bench -m "$MODELS/$name.gguf" --backend cuda -p 16 -n 128 -r 1 --json \
       > "$LOGS/bench-$name-pdl.json" 2> "$LOGS/bench-$name-pdl.err"; then
    say "$name with HEARTH_CUDA_PDL=1: tg128 $(fmt "$(json_field "$LOGS/bench-$name-pdl.json" tg_tps)") tok/s (default: $(fmt "$(json_field "$LOGS/bench-$name.json" tg_tps)"))"
  else
    rm -f "$LOGS/bench-$name-pdl.json"
  fi
else
  say "HEARTH_CUDA_PDL=1 checks: SKIPPED (budget or no test_cuda_model)"
fi
last=$(tail -1 "$LOGS/tg_gbps.txt" 2>/dev/null | cut -d' ' -f1)
if [ ! -s "$LOGS/bench-llama-8b-Q4_K_M.json" ] && [ -n "$last" ] && [ "$(left)" -gt 60 ]; then
  if timeout "$(left)" env HEARTH_CUDA_GRAPHS=$OTHER "$CLI" bench -m "$MODELS/$last.gguf" --backend cuda -p 512 -n 128 -r "$REPS" --json \
       > "$LOGS/bench-$last-$OTHER_TAG.json" 2> "$LOGS/bench-$last-$OTHER_TAG.err"; then
    g=$(json_field "$LOGS/bench-$last-$OTHER_TAG.json" tg_gbps)
    say "$last with HEARTH_CUDA_GRAPHS=$OTHER: tg128 $(fmt "$(json_field "$LOGS/bench-$last-$OTHER_TAG.json" tg_tps)") tok/s, generation $(fmt "$g") GB/s"
    echo "$last-$OTHER_TAG ${g:-}" >> "$LOGS/tg_gbps.txt"
  else
    say "$last with HEARTH_CUDA_GRAPHS=$OTHER: bench FAILED (see bench-$last-$OTHER_TAG.err)"; FAILED=1
    rm -f "$LOGS/bench-$last-$OTHER_TAG.json"
  fi
fi

# The mixture of experts with its experts in system memory (--cpu-moe: attention on the GPU, every
# expert on the CPU's threads), beside the same file all on the GPU: a short prompt, the CPU does it.
name=qwen3-30b-a3b-12l-Q4_K_M
if [ -s "$LOGS/bench-$name.json" ] && [ "$(left)" -ge 60 ]; then
  if timeout "$(( $(left) < 120 ? $(left) : 120 ))" "$CLI" bench -m "$MODELS/$name.gguf" --backend cuda --cpu-moe -p 64 -n 32 -r 1 --json \
       > "$LOGS/bench-$name-cpu-moe.json" 2> "$LOGS/bench-$name-cpu-moe.err"; then
    say "$name with --cpu-moe: pp64 $(fmt "$(json_field "$LOGS/bench-$name-cpu-moe.json" pp_tps)") tok/s, tg32 $(fmt "$(json_field "$LOGS/bench-$name-cpu-moe.json" tg_tps)") tok/s (all on the GPU: tg128 $(fmt "$(json_field "$LOGS/bench-$name.json" tg_tps)"))"
  else
    say "$name with --cpu-moe: bench FAILED (see bench-$name-cpu-moe.err)"; tail -5 "$LOGS/bench-$name-cpu-moe.err" | tee -a "$SUMMARY"; FAILED=1
    rm -f "$LOGS/bench-$name-cpu-moe.json"
  fi
fi

# Seconds per UNet step (with guidance: two passes) of the SD 1.5 shape at 512×512, random F16
# weights (issue #15's GPU figure), after the language-model figures.
if [ "$(left)" -gt 90 ]; then
  if timeout "$(( $(left) < 180 ? $(left) : 180 ))" "$CLI" diffuse --bench --backend cuda -W 512 -H 512 --steps 3 \
       > "$LOGS/diffuse-bench.log" 2>&1; then
    SD_STEP=$(awk '/^unet_step_s /{print $2}' "$LOGS/diffuse-bench.log")
    say "SD 1.5 shape at 512x512 on CUDA: $SD_STEP s per UNet step with guidance ($(grep -m1 'VAE decode' "$LOGS/diffuse-bench.log"))"
  else
    say "diffuse --bench on CUDA: FAILED (see diffuse-bench.log)"; tail -5 "$LOGS/diffuse-bench.log" | tee -a "$SUMMARY"; FAILED=1
  fi
else
  say "diffuse --bench on CUDA: SKIPPED (budget: $(elapsed)s of ${BUDGET_S}s used)"
fi

COPY=$(sort -n "$LOGS/copy_runs.txt" | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}')
if [ -n "$COPY" ]; then
  say "device-to-device copy (median of $(wc -l < "$LOGS/copy_runs.txt") runs): $COPY GB/s"
  if [ -f "$LOGS/tg_gbps.txt" ]; then
    while read -r name gbps; do
      [ -n "$gbps" ] && say "$name: generation at $(awk -v g="$gbps" -v c="$COPY" 'BEGIN {printf "%.1f", 100 * g / c}')% of the copy bandwidth"
    done < "$LOGS/tg_gbps.txt"
  fi
else
  say "copy bandwidth: not measured (see copybw.*.err)"
fi
for pid in "${MAKER[@]}"; do kill "$pid" 2>/dev/null; done  # model writers still running past the budget
write_results
say "== done in $(elapsed)s; logs in $LOGS, results in $RESULTS =="

# Last, with what is left of the budget: where a decode step's time goes (profile-decode.sh, ncu),
# on the binaries just built; its profile.tar.gz joins the files in $OUT. PROFILE=0 leaves it out.
if [ "${PROFILE:-1}" = 1 ] && [ "${DRY_RUN:-0}" != 1 ]; then
  deliver  # the figures are in $OUT already, should the device tool's time limit stop the profile
  if [ "$(left)" -gt 150 ] && { command -v ncu >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/ncu ]; }; then
    timeout "$(( $(left) - 20 ))" env BUILD_DIR="$BUILD" REBUILD=0 "$ROOT/tests/gpu/profile-decode.sh" > "$LOGS/profile-decode.log" 2>&1
    say "profile-decode.sh: exit $? in $(elapsed)s (profile-decode.log; the tables:)"
    grep -E "^==|us .*launches|^total" "$LOGS/profile-decode.log" | head -40 | tee -a "$SUMMARY" > /dev/null
  else
    say "profile-decode.sh: SKIPPED (no ncu, or under 150 s of the budget left)"
  fi
  write_results
fi
exit $FAILED
