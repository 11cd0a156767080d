// Host-callable launchers of the CUDA kernels (kernels/*.cu). Every launcher enqueues its work on
// `stream` and returns the launch status (cudaGetLastError); nothing synchronizes. Strides are in
// bytes; activations are F32. The KV cache layout is backend.h's paged contract.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "engine/quant/types.h"
#include "kernels/packed_unit.h"

namespace hearth::kern {

// Programmatic dependent launch on `device` for the generation kernels (common.cuh's pdl_wait);
// the backend turns it on for sm_90+ under HEARTH_CUDA_PDL=1.
void set_programmatic_launch(int device, bool on);

// ---- matrix products (matvec.cu, gemm_prep.cu)
bool is_quantized_weight(GgmlType t);  // the unit types of quant_unit.h
bool is_float_weight(GgmlType t);      // F32, F16, BF16
// Activations quantized to 8 bits for matvec_quant, in one scratch of q8_bytes(rows, cols): the
// int8 quants of every row (rows × cols), then per 32-value block its scale d (rows × cols/32 floats)
// and d·sum(q) (the same), so a block of threads stages quants and scales with 16-byte loads.
struct Q8View {
    int8_t* q = nullptr;
    float* d = nullptr;
    float* s = nullptr;
};
inline size_t q8_bytes(int64_t rows, int64_t cols) { return size_t(rows) * size_t(cols) + size_t(rows) * size_t(cols / 32) * 8; }
inline Q8View q8_view(void* scratch, int64_t rows, int64_t cols) {
    Q8View v;
    v.q = static_cast<int8_t*>(scratch);
    v.d = reinterpret_cast<float*>(v.q + size_t(rows) * size_t(cols));  // cols % 32 == 0: 4-byte aligned
    v.s = v.d + size_t(rows) * size_t(cols / 32);
    return v;
}
// x (rows × cols F32, cols % 32 == 0) → 8-bit quants and block scales.
cudaError_t quantize_q8(const float* x, size_t x_stride, int64_t rows, int64_t cols, Q8View out, cudaStream_t s);
// One weight's product in a matvec_quant launch (of several: q/k/v, gate/up read one input).
struct MatvecOut {
    const void* w = nullptr;
    size_t w_stride = 0;
    int64_t rows = 0;
    float* y = nullptr;
    size_t y_stride = 0;
    const float* bias = nullptr;
};
constexpr int kMatvecMaxParts = 3;
// For each of 1..kMatvecMaxParts weights of type t and row length cols, in one launch per 8 tokens
// (each part's blocks after the previous part's): y[t][r] = w[r] · x[t] (+ bias[r]) for t < n_tok
// (any n_tok), or y[t][r] += that (accumulate: the residual add in the epilogue). Quantized weights
// must be in the packed layout (packed_unit.h; repack_rows below).
cudaError_t matvec_quant(GgmlType t, const MatvecOut* parts, int n_parts, int64_t cols, Q8View xq, int n_tok, bool accumulate,
                         cudaStream_t s);
// The device's SM count, by which matvec_quant sizes its grid to what the GPU holds at once (each
// block then walks several row groups); 0 (the default) launches one block per row group.
void set_matvec_sms(int device, int sms);
// The FFN's first half in one launch (issue #17): matvec_quant of gate (part 0) and up (part 1),
// then out[t][r] = act(gate[t][r]) · up[t][r] and out's 8-bit form (as quantize_q8 makes it), which
// the down projection reads. The last block to finish each 32 rows computes them for those rows:
// `counters` (rows / 32 of them) are zero before the launch and left zero. gate and up keep their
// products; out may alias gate's y, not the input. q is not xq's scratch. Where matvec_glu_applies:
// rows % 32 == 0 and at most kMatvecGluMaxTokens tokens, the decode of one or two sequences (the
// kernels are instantiated for those only: a batch of more spreads a launch over more tokens).
constexpr int kMatvecGluMaxTokens = 2;
struct MatvecGlu {
    float* out = nullptr;
    size_t out_stride = 0;
    Q8View q;
    unsigned* counters = nullptr;
    bool gelu = false;  // GELU (tanh form) · up, else SiLU · up
};
bool matvec_glu_applies(const MatvecOut& gate, const MatvecOut& up, int n_tok);
cudaError_t matvec_quant_glu(GgmlType t, const MatvecOut& gate, const MatvecOut& up, int64_t cols, Q8View xq, int n_tok,
                             const MatvecGlu& glu, cudaStream_t s);
// Rows of quantized weights GGUF → packed layout (to_packed) or back, src and dst distinct.
cudaError_t repack_rows(GgmlType t, const void* src, void* dst, size_t stride, int64_t rows, int64_t cols, bool to_packed,
                        cudaStream_t s);
cudaError_t matvec_float(GgmlType t, const void* w, size_t w_stride, int64_t rows, int64_t cols, const float* x,
                         size_t x_stride, int n_tok, float* y, size_t y_stride, const float* bias, cudaStream_t s,
                         bool accumulate = false);
// Weights rows [0, rows) (packed layout when quantized) → contiguous F16 (rows × cols), for tensor-core GEMMs on dequantized tiles.
cudaError_t dequant_to_f16(GgmlType t, const void* w, size_t w_stride, int64_t rows, int64_t cols, void* out, cudaStream_t s);
cudaError_t f32_to_f16_rows(const float* x, size_t x_stride, int64_t rows, int64_t cols, void* out, cudaStream_t s);
cudaError_t add_bias_rows(float* y, size_t y_stride, int64_t rows, int64_t cols, const float* bias, cudaStream_t s);

// ---- element-wise and row ops (rows.cu)
// Rows ids[i] of a table of table_rows rows; an id outside [0, table_rows) gives a row of zeros.
cudaError_t get_rows(GgmlType t, const void* table, size_t table_stride, int64_t table_rows, int64_t cols, const int32_t* ids,
                     int n, float* out, size_t out_stride, cudaStream_t s);
cudaError_t rms_norm(const float* x, size_t x_stride, int64_t rows, int64_t cols, const float* w, float eps, float* y,
                     size_t y_stride, cudaStream_t s);
// rms_norm, and y (cols % 32 == 0) quantized as quantize_q8 does, in one kernel.
cudaError_t rms_norm_q8(const float* x, size_t x_stride, int64_t rows, int64_t cols, const float* w, float eps, float* y,
                        size_t y_stride, Q8View q, cudaStream_t s);
// silu_mul (gelu = false) or gelu_mul, and out (cols % 32 == 0) quantized as quantize_q8 does.
cudaError_t act_mul_q8(bool gelu, const float* g, size_t g_stride, const float* u, size_t u_stride, int64_t rows, int64_t cols,
                       float* out, size_t out_stride, Q8View q, cudaStream_t s);
cudaError_t silu_mul(const float* g, size_t g_stride, const float* u, size_t u_stride, int64_t rows, int64_t cols,
                     float* out, size_t out_stride, cudaStream_t s);
// out = gelu_tanh(g) * u (PyTorch's gelu(approximate="tanh")); out may alias g.
cudaError_t gelu_mul(const float* g, size_t g_stride, const float* u, size_t u_stride, int64_t rows, int64_t cols,
                     float* out, size_t out_stride, cudaStream_t s);
// x[i] += v for n I32 values.
cudaError_t add_i32(int32_t* x, int64_t n, int32_t v, cudaStream_t s);
// x *= sc in place.
cudaError_t scale(float* x, size_t x_stride, int64_t rows, int64_t cols, float sc, cudaStream_t s);
cudaError_t add(const float* a, size_t a_stride, const float* b, size_t b_stride, int64_t rows, int64_t cols, float* out,
                size_t out_stride, cudaStream_t s);
cudaError_t scale_add(float* y, size_t y_stride, const float* x, size_t x_stride, int64_t rows, int64_t cols, float sc,
                      cudaStream_t s);
// y[ids[r]] += w[r] * x[r] for rows r of x (ids distinct): Backend::add_rows_scaled.
cudaError_t add_rows_scaled(float* y, size_t y_stride, const float* x, size_t x_stride, const int32_t* ids, const float* w,
                            int64_t rows, int64_t cols, cudaStream_t s);
cudaError_t softmax_rows(float* x, size_t x_stride, int64_t rows, int64_t cols, cudaStream_t s);
cudaError_t copy_rows(const float* src, size_t src_stride, int64_t rows, int64_t cols, float* dst, size_t dst_stride,
                      cudaStream_t s);

// ---- the diffusion models' ops (diffusion.cu): backend.h's semantics, F32 rows.
cudaError_t mul(const float* a, size_t a_stride, const float* b, size_t b_stride, int64_t rows, int64_t cols, float* out,
                size_t out_stride, cudaStream_t s);
// out[r] = a[r] (ca values) followed by b[r] (cb values).
cudaError_t concat_cols(const float* a, size_t a_stride, int64_t ca, const float* b, size_t b_stride, int64_t cb, int64_t rows,
                        float* out, size_t out_stride, cudaStream_t s);
cudaError_t upsample_nearest(const float* x, size_t x_stride, int64_t cols, int h, int w, int out_h, int out_w, float* y,
                             size_t y_stride, cudaStream_t s);
// act: int(Activation) (0 GELU erf, 1 quick GELU, 2 SiLU); in place.
cudaError_t activate(float* x, size_t x_stride, int64_t rows, int64_t cols, int act, cudaStream_t s);
cudaError_t layer_norm(const float* x, size_t x_stride, int64_t rows, int64_t cols, const float* w, const float* b, float eps,
                       float* y, size_t y_stride, cudaStream_t s);
// cols % n_groups == 0 (else cudaErrorInvalidValue).
cudaError_t group_norm(const float* x, size_t x_stride, int64_t rows, int64_t cols, int n_groups, const float* w, const float* b,
                       float eps, float* y, size_t y_stride, cudaStream_t s);
// conv2d's im2col band: output pixels [p0, p0 + n) of an h×w×cin image → n contiguous rows of
// k·k·cin values laid [ky][kx][c] (the re-laid kernel's order), zeros outside the image.
cudaError_t im2col(const float* x, size_t x_stride, int64_t cin, int h, int w, int k, int stride, int pad, int out_w, int64_t p0,
                   int64_t n, float* col, cudaStream_t s);
// Attention over plain q/k/v rows (Backend::attention_qkv); head size d <= kAttnMaxDim.
constexpr int kAttnMaxDim = 512;  // a VAE middle block's single head of 512 channels
cudaError_t attention_qkv(const float* q, size_t q_stride, const float* k, size_t k_stride, const float* v, size_t v_stride,
                          int64_t n_q, int64_t n_kv, int n_head, int d, float scale, bool causal, float* out, size_t out_stride,
                          cudaStream_t s);

// ---- RoPE (rope.cu). Angle of pair i at position p: p * theta_i, theta_i as rope_math.h defines it.
struct RopeArgs {
    int mode_neox = 0;  // 0: pairs (2i, 2i+1); 1: pairs (i, i + n_dims/2)
    int head_dim = 0, n_dims = 0;
    float freq_base = 10000.0f, freq_scale = 1.0f, ext_factor = 0.0f;
    float corr_low = 0.0f, corr_high = 0.0f;  // YaRN ramp in pair indices (host computes them)
    float magnitude = 1.0f;                   // attn_factor × YaRN mscale
    const float* freq_factors = nullptr;      // device, n_dims/2 divisors, or null
};
cudaError_t rope(float* x, size_t x_stride, int64_t rows, int n_head, const int32_t* pos, const RopeArgs& a, cudaStream_t s);

// ---- KV cache (kv.cu). `k_layer`/`v_layer` point at one layer's blocks; elt_f16 selects F16 or F32 cells.
struct KvLayout {
    int n_kv_head = 0, head_dim = 0, n_blocks = 0;
    bool f16 = true;
    size_t layer_bytes() const { return size_t(n_blocks) * n_kv_head * 32 * head_dim * (f16 ? 2 : 4); }
};
cudaError_t kv_store(const KvLayout& L, void* k_layer, void* v_layer, const float* k, size_t k_stride, const float* v,
                     size_t v_stride, int n_tok, const int32_t* pos, cudaStream_t s);
// rope(q), rope(k) by pos, then kv_store of k and v into `cells`, in one kernel: q and k rotated in
// place, the cache gets the rotated keys (Backend::rope_kv_store). head_dim and n_dims even; q has
// n_head heads of L.head_dim.
cudaError_t rope_kv_store(const KvLayout& L, void* k_layer, void* v_layer, float* q, size_t q_stride, int n_head, float* k,
                          size_t k_stride, const float* v, size_t v_stride, int n_tok, const int32_t* pos, const int32_t* cells,
                          const RopeArgs& a, cudaStream_t s);
// Copies cells [0, n) of one layer.
cudaError_t kv_copy_layer(const KvLayout& L, const void* src_k, const void* src_v, void* dst_k, void* dst_v, int n,
                          cudaStream_t s);
// Cells [first, first + count) of one layer → scratch ([head][cell][dim], cache element type), keys
// rotated by `delta` positions (magnitude 1), then scratch → cells [first - shift, ...).
cudaError_t kv_gather_rotated(const KvLayout& L, const void* k_layer, const void* v_layer, int first, int count,
                              const RopeArgs& a, float delta, void* scratch_k, void* scratch_v, cudaStream_t s);
cudaError_t kv_scatter(const KvLayout& L, void* k_layer, void* v_layer, int first, int count, const void* scratch_k,
                       const void* scratch_v, cudaStream_t s);

// ---- attention (attention.cu)
struct AttnArgs {
    const float* q = nullptr; size_t q_stride = 0;
    float* out = nullptr; size_t out_stride = 0;
    int n_tok = 0, n_head = 0;
    const int32_t* pos = nullptr;
    int n_kv = 0;
    float scale = 1.0f;
    int window = 0;  // > 0: sliding window, a query at p sees cells max(0, p - window + 1) .. p
    // The cells a token sees: [lo, hi), hi = min(n_kv, pos + 1); the split below divides that range.
    // Flash-decoding split of the KV range into n_split blocks. cells_per_split (% 32 == 0) is the host's
    // plan from n_kv; the kernel re-divides each token's actual range [0, min(n_kv, pos + 1)) into
    // n_split pieces of a multiple of 32 cells, so only n_split matters to it.
    int n_split = 1, cells_per_split = 0;
    float* partials = nullptr;             // n_tok * n_head * n_split * (head_dim + 2) floats when n_split > 1
    // Block tables (Backend::attention_paged), or null: token t's logical cell c is physical cell
    // table[seq[t] * tab_stride + c / 32] * 32 + c % 32. The prompt-tile kernel is not used then.
    const int32_t* table = nullptr;
    const int32_t* seq = nullptr;
    int tab_stride = 0;
    // The device is sm_80+ and the tensor-core prompt kernel may serve this call (attention_mma.cu);
    // where it does not apply (attention_mma_applies) the other kernels run as without it.
    bool tensor_cores = false;
    // The decode kernel's split counters (attention_counters(L, a) of them when n_split > 1): zero
    // before the launch, and left zero by it (the last block of each group resets its counter).
    unsigned* counters = nullptr;
    // Non-null q8.q: also the output's 8-bit form (n_tok rows of n_head · head_dim, as quantize_q8
    // makes it) for the output projection. The decode kernel writes it as it writes the output
    // (head_dim % 32 == 0: a 32-value unit is one warp's part of one head); otherwise attention()
    // runs the quantizer after the kernel.
    Q8View q8;
};
size_t attention_partials_floats(const KvLayout& L, const AttnArgs& a);
size_t attention_counters(const KvLayout& L, const AttnArgs& a);
// Blocks per KV split of the kernel attention() will run, for the host's split plan (split when
// fewer than `enough` and the range is long): a prompt batch (>= 4 tokens, no block tables) with at
// least `enough` blocks of (token, head) goes unsplit to the tiled kernel; anything else that gets
// split goes to the decode kernel (blocks per token and KV head) or, for its odd head sizes, to
// k_attention (per token and head).
int attention_blocks(const KvLayout& L, int n_tok, int n_head, bool tables, int enough);
cudaError_t attention(const KvLayout& L, const void* k_layer, const void* v_layer, const AttnArgs& a, cudaStream_t s);
// The tensor-core prompt kernel (attention_mma.cu, sm_80+ only): F16 caches, head_dim 64 or 128,
// no KV split, at least 4 tokens, a GQA group of at most 64 query heads per KV head.
bool attention_mma_applies(const KvLayout& L, const AttnArgs& a);
cudaError_t attention_mma(const KvLayout& L, const void* k_layer, const void* v_layer, const AttnArgs& a, cudaStream_t s);
// attention_decode.cu: one block per (token, KV head, group of its query heads, split), the split
// merge folded in (attention() calls it for whatever the prompt-tile kernel does not take).
bool attention_decode_supported(const KvLayout& L);  // head_dim % 8 == 0, 8..256
int attention_decode_blocks(const KvLayout& L, int n_tok, int n_head);
cudaError_t attention_decode(const KvLayout& L, const void* k_layer, const void* v_layer, const AttnArgs& a, cudaStream_t s);

// ---- sampling (sample.cu): Backend::sample_top_k. For each of `rows` rows of logits, out[r] = the id
// top_k.cpp's sample_top_k_row(row, cols, k, temperature, u[r]) picks (k == 1: argmax, smaller id on
// ties; u unused and may be null). 1 <= k <= 64, rows <= 65535. `scratch` holds
// sample_top_k_scratch_bytes(rows, cols) bytes; u is device memory (rows doubles).
size_t sample_top_k_scratch_bytes(int64_t rows, int64_t cols);
cudaError_t sample_top_k(const float* logits, size_t stride, int64_t rows, int64_t cols, int k, float temperature,
                         const double* u, void* scratch, int32_t* out, cudaStream_t s);

}  // namespace hearth::kern
