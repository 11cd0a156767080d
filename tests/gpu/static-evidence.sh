#!/usr/bin/env bash
# Static evidence of the CUDA kernels' shape, without a GPU (issue #17): compiles kernels/*.cu for
# sm_90 and sm_75 as the plugin does and prints
#   1. `ptxas -v`: registers, spill stores/loads and shared memory of every kernel (demangled);
#   2. from `cuobjdump -sass` of the matvec kernels (one token, the decode case): the global loads in
#      each kernel's code by width (LDG.E.8/16/32/64/128; the 8/16-bit ones as U8/S8/U16/S16), and
#      those loads per weight byte of a 32-weight unit. The counts are static (instructions in the
#      code, not executions): in the matvec loop one lane handles `units per lane` units per pass, so
#      the figure is loads in the kernel ÷ (units per pass × bytes per unit). It answers "how many load
#      instructions does a lane issue per byte of weights", which is what limits decode on the SM side.
#   3. the tensor-core instructions (HMMA, LDSM) in the prompt attention kernel (attention_mma.cu),
#      for sm_80 and sm_90 where it runs (sm_75 builds a trap in its place).
#   4. the same load count as 2 for the decode attention kernels (k_attention, the old one kept for head
#      sizes that are not a multiple of 8, and k_attention_decode of attention_decode.cu), per kernel
#      instance: the width of the K and V loads.
# Usage: tests/gpu/static-evidence.sh [out-dir]   (env: NVCC, ARCHS="90 80 75", KERNELS="attention
# attention_decode" to compile only those files of kernels/; the sections of absent files are left out)
#
# "Before" (main at 91c1a94, sm_90; one warp per row, each lane one GGUF block per step through
# 16-bit loads; Q8a activations a 40-byte struct; load counts include the activation loads):
#   kernel (1 token)   regs spill  LDG 8/16/32/64/128   loads/unit  unit bytes  loads per weight byte
#   Q4_0               see the table printed below; kept verbatim in tests/gpu/README.md
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
# cuobjdump ships with the full toolkit; a minimal one lacks it, so also look where pip's triton keeps
# its copy (same CUDA 13 release line). Or: pip download --no-deps nvidia-cuda-cuobjdump
# nvidia-cuda-nvdisasm, unzip both, and set CUOBJDUMP= and PATH to their bin (cuobjdump runs nvdisasm).
CUOBJDUMP=${CUOBJDUMP:-$(command -v cuobjdump || ls "$(dirname "$NVCC")"/cuobjdump \
  /root/.pyenv/versions/*/lib/python3*/site-packages/triton/backends/nvidia/bin/cuobjdump 2>/dev/null | head -1 || true)}
ARCHS=${ARCHS:-"90 80 75"}
KERNELS=${KERNELS:-}
OUTDIR=${1:-$ROOT/build/static-evidence}
mkdir -p "$OUTDIR"
command -v "$NVCC" >/dev/null 2>&1 || { echo "no nvcc ($NVCC)"; exit 1; }

[ -n "$CUOBJDUMP" ] && [ -x "$CUOBJDUMP" ] || { echo "no cuobjdump (set CUOBJDUMP=)"; exit 1; }
demangle() { if command -v c++filt >/dev/null 2>&1; then c++filt; else cat; fi; }
# SASS listing on stdin → one line per function: name, then its LDG count by width 8 16 32 64 128.
ldg_by_width() {
  awk '
    /Function : / { fn = $3 }
    /LDG/ && fn != "" {
      w = 32
      if ($0 ~ /LDG[^ ]*\.(U8|S8)/) w = 8; else if ($0 ~ /LDG[^ ]*\.(U16|S16)/) w = 16;
      else if ($0 ~ /LDG[^ ]*\.64/) w = 64; else if ($0 ~ /LDG[^ ]*\.128/) w = 128;
      n[fn, w]++; fns[fn] = 1
    }
    END { for (f in fns) printf "%s\t%d\t%d\t%d\t%d\t%d\n", f, n[f,8], n[f,16], n[f,32], n[f,64], n[f,128] }
  '
}

for arch in $ARCHS; do
  echo "=== sm_$arch: ptxas -v (registers, spills, shared memory per kernel) ==="
  for cu in "$ROOT"/kernels/*.cu; do
    name=$(basename "$cu" .cu)
    if [ -n "$KERNELS" ] && [[ " $KERNELS " != *" $name "* ]]; then continue; fi
    cubin=$OUTDIR/$name.sm_$arch.cubin
    "$NVCC" -std=c++17 -O3 --expt-relaxed-constexpr -I"$ROOT" -arch=sm_$arch -cubin -Xptxas -v -o "$cubin" "$cu" > "$OUTDIR/$name.sm_$arch.ptxas" 2>&1 ||
      { echo "$name: nvcc FAILED"; cat "$OUTDIR/$name.sm_$arch.ptxas"; exit 1; }
    # ptxas prints "Compiling entry function '_Z...'" then "Used N registers ..." and "N bytes spill ...".
    awk '
      /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); fn = substr($0, RSTART + 1, RLENGTH - 2) }
      /bytes spill stores/ { split($0, a, " "); st = a[5]; ld = a[9] }
      /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); r = substr($0, RSTART + 5, RLENGTH - 15);
                                sm = 0; if (match($0, /[0-9]+ bytes smem/)) sm = substr($0, RSTART, RLENGTH - 11);
                                printf "%s\t%s\t%s\t%s\t%s\n", r, st, ld, sm, fn }
    ' "$OUTDIR/$name.sm_$arch.ptxas" > "$OUTDIR/$name.sm_$arch.regs"
  done
  printf "%5s %6s %6s %6s  %s\n" regs spillS spillL smem kernel
  cat "$OUTDIR"/*.sm_$arch.regs | demangle | awk -F'\t' '{ printf "%5s %6s %6s %6s  %s\n", $1, $2, $3, $4, substr($5, 1, 150) }' | sort -k5
  echo

  if [ -f "$OUTDIR/matvec.sm_$arch.regs" ]; then
    echo "=== sm_$arch: resident blocks per SM of the quantized matvec instances (128 threads; the grid is SMs x this) ==="
    # What cudaOccupancyMaxActiveBlocksPerMultiprocessor answers on the device (matvec.cu's
    # resident_blocks asks it), from the registers and shared memory above and the arch's limits:
    # registers per thread rounded up to 8 (256 per warp), 16K registers per SM quarter, which holds
    # one warp of each block; shared memory per SM with 1 KB reserved per block from sm_80 on; and the
    # warp and block limits. "floor" is the launch bounds' minimum (matvec_min_blocks), which the grid
    # used before and the simulator still uses.
    case "$arch" in 75) smem_sm=65536; rsv=0; maxw=32; maxb=16;; 80) smem_sm=167936; rsv=1024; maxw=64; maxb=32;;
                    86|89) smem_sm=102400; rsv=1024; maxw=48; maxb=16;; *) smem_sm=233472; rsv=1024; maxw=64; maxb=32;; esac
    demangle < "$OUTDIR/matvec.sm_$arch.regs" | awk -F'\t' -v S="$smem_sm" -v R="$rsv" -v MW="$maxw" -v MB="$maxb" '
      $5 ~ /k_matvec_packed</ {
        match($5, /GgmlType\)[0-9]+, [0-9]+/); split(substr($5, RSTART + 9, RLENGTH - 9), a, ", "); t = a[1]; nt = a[2]
        ty = t == 2 ? "Q4_0" : t == 3 ? "Q4_1" : t == 6 ? "Q5_0" : t == 7 ? "Q5_1" : t == 8 ? "Q8_0" : t == 12 ? "Q4_K" : t == 13 ? "Q5_K" : "Q6_K"
        regs = int(($1 + 7) / 8) * 8; by_regs = int(16384 / (regs * 32))
        by_smem = $4 + R > 0 ? int(S / ($4 + R)) : MB
        n = by_regs; if (by_smem < n) n = by_smem; if (int(MW / 4) < n) n = int(MW / 4); if (MB < n) n = MB
        floor_b = (nt > 2 || t == 13 || t == 14) ? 4 : 8
        match($5, /, (true|false), (true|false)>/); v = substr($5, RSTART + 2, RLENGTH - 3)
        printf "%-5s %3d  %-12s %5d %6d %6d %6d %6d\n", ty, nt, v, $1, $4, by_regs, by_smem, n, floor_b }' |
      sort -k1,1 -k2n | sed "1i\\type  tok  align,GLU     regs   smem  byReg byShm blocks  floor" | sed '1s/^/  /; 2,$s/^/  /'
    echo
  fi

  if [ "$arch" -ge 80 ] && [ -f "$OUTDIR/attention_mma.sm_$arch.cubin" ]; then
    echo "=== sm_$arch: tensor-core instructions in the prompt attention kernel (attention_mma.cu) ==="
    "$CUOBJDUMP" -sass "$OUTDIR/attention_mma.sm_$arch.cubin" > "$OUTDIR/attention_mma.sm_$arch.sass"
    awk '/Function : / { fn = $3 } /HMMA|LDSM/ { match($0, /(HMMA|LDSM)[.A-Z0-9]*/); n[substr($0, RSTART, RLENGTH) "\t" fn]++ }
         END { for (k in n) print n[k] "\t" k }' "$OUTDIR/attention_mma.sm_$arch.sass" | demangle |
      awk -F'\t' '{ printf "%5d  %-16s %s\n", $1, $2, substr($3, 1, 110) }' | sort -k3
    echo
  fi

  if [ -f "$OUTDIR/matvec.sm_$arch.cubin" ] && [ -f "$OUTDIR/matvec.sm_$arch.regs" ]; then
  echo "=== sm_$arch: global loads in the quantized matvec kernels (1 token), from cuobjdump -sass ==="
  "$CUOBJDUMP" -sass "$OUTDIR/matvec.sm_$arch.cubin" > "$OUTDIR/matvec.sm_$arch.sass"
  # Split the listing per function, count LDG by width in each quantized one-token matvec kernel.
  ldg_by_width < "$OUTDIR/matvec.sm_$arch.sass" > "$OUTDIR/matvec.sm_$arch.ldg"
  printf "%-6s %-26s %5s %5s %5s %5s %5s %7s %9s %10s\n" type kernel 8 16 32 64 128 "bytes" "unit B" "LDG/wB"
  demangle < "$OUTDIR/matvec.sm_$arch.ldg" | while IFS=$'\t' read -r fn n8 n16 n32 n64 n128; do
    # Only the one-token instances of the quantized kernels: the template arguments name the type.
    case "$fn" in *matvec*quant*|*matvec_packed*) ;; *) continue ;; esac
    nt=$(echo "$fn" | grep -o '(hearth::GgmlType)[0-9]*, [0-9]*' | head -1 | awk -F', ' '{print $2}')
    [ "${nt:-1}" = 1 ] || continue
    t=$(echo "$fn" | grep -o '(hearth::GgmlType)[0-9]*' | head -1 | grep -o '[0-9]*$')
    case "$t" in 2) ty=Q4_0; ub=18;; 3) ty=Q4_1; ub=20;; 6) ty=Q5_0; ub=22;; 7) ty=Q5_1; ub=24;; 8) ty=Q8_0; ub=34;;
                 12) ty=Q4_K; ub=18;; 13) ty=Q5_K; ub=22;; 14) ty=Q6_K; ub=26.25;; *) continue;; esac
    variant=$(echo "$fn" | sed -E 's/^void ([^<]*::)?([a-z_]+)<\(hearth::GgmlType\)[0-9]+, [0-9]+(, )?([^>]*)>.*/\2 \4/')
    # Units per lane per pass of the loop: the packed kernels say it in the name's last template
    # argument; the old kernel handles one unit per lane per pass.
    upp=${UNITS_PER_PASS:-1}
    # k_matvec_packed at 1 token: rows_per_warp (1; 2 for Q5_K and Q6_K) x passes<T> steps: 2 steps of
    # 2 units for the K-quants, 4 of 1 unit for the others (matvec.cu).
    case "$fn" in *matvec_packed*) case "$ty" in Q5_K|Q6_K) upp=8;; *) upp=4;; esac;; esac
    bytes=$(( n8 + 2 * n16 + 4 * n32 + 8 * n64 + 16 * n128 ))
    tot=$(( n8 + n16 + n32 + n64 + n128 ))
    per=$(awk -v t="$tot" -v u="$upp" -v b="$ub" 'BEGIN { printf "%.3f", t / (u * b) }')
    printf "%-6s %-26s %5d %5d %5d %5d %5d %7d %9s %10s\n" "$ty" "$(echo "$variant" | cut -c1-26)" "$n8" "$n16" "$n32" "$n64" "$n128" "$bytes" "$ub" "$per"
  done | sort
  echo
  echo "=== sm_$arch: matvec loads issued before the first barrier (the weights' fetch ahead of the activations' staging) ==="
  # Per instance: the LDG before the first BAR.SYNC (of them 128-bit), and all LDG in the kernel. Up to
  # b752a20 none came first: a lane fetched its weights only after the block had staged the activations.
  awk '/Function : / { if (fn ~ /k_matvec_packed/) print fn "\t" pre "\t" pre128 "\t" total; fn = $3; bar = 0; pre = 0; pre128 = 0; total = 0 }
       /LDG/ { total++; if (!bar) { pre++; if ($0 ~ /\.128/) pre128++ } }
       /BAR\.SYNC/ { bar = 1 }
       END { if (fn ~ /k_matvec_packed/) print fn "\t" pre "\t" pre128 "\t" total }' "$OUTDIR/matvec.sm_$arch.sass" | demangle |
    awk -F'\t' '{ printf "%5d %5d %5d  %s\n", $2, $3, $4, $1 }' | sed -E 's/\(hearth::kern::\(anonymous namespace\)::Parts.*//; s/void hearth::kern::\(anonymous namespace\)::/  /' |
    sort -k4 | sed '1i\  pre  p128   all  kernel<type, tokens, 16-byte aligned rows, GLU epilogue>'
  echo
  fi

  echo "=== sm_$arch: global loads in the decode attention kernels, from cuobjdump -sass ==="
  # k_attention<E, DPL> (one block per query head; V through 16-bit F16 loads) and
  # k_attention_decode<E, heads per block, head_dim bound> (one block per KV head; K and V 128-bit).
  printf "%5s %5s %5s %5s %5s  %s\n" 8 16 32 64 128 kernel
  for name in attention attention_decode; do
    [ -f "$OUTDIR/$name.sm_$arch.cubin" ] && [ -f "$OUTDIR/$name.sm_$arch.regs" ] || continue
    "$CUOBJDUMP" -sass "$OUTDIR/$name.sm_$arch.cubin" | ldg_by_width
  done | demangle | awk -F'\t' '$1 ~ /k_attention(_decode)?</ { printf "%5d %5d %5d %5d %5d  %s\n", $2, $3, $4, $5, $6, $1 }' |
    sed -E 's/\(hearth::kern::KvLayout.*//; s/void hearth::kern::\(anonymous namespace\)::/  /' | sort -k6
  echo
done
echo "(files: $OUTDIR; LDG/wB = load instructions in the kernel per weight byte a lane covers in one pass)"
