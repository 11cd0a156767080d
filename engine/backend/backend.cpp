// Backend-independent helpers of backend.h.
#include "engine/backend/backend.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace hearth {

Tensor make_tensor(Buffer* buf, size_t offset, GgmlType type, int64_t rows, int64_t cols) {
    Tensor t;
    t.buf = buf;
    t.offset = offset;
    t.type = type;
    t.rows = rows;
    t.cols = cols;
    t.row_stride = row_bytes(type, cols);
    return t;
}

Status Backend::sample_top_k(const Tensor& logits, int k, float temperature, const std::vector<double>& u, const Tensor& out) {
    if (logits.type != GgmlType::F32 || out.type != GgmlType::I32 || out.cols < logits.rows || logits.cols <= 0)
        return make_error("sample_top_k: logits must be F32 rows and out an I32 row with one id per logits row");
    if (k < 1 || k > kMaxDeviceTopK) return make_error("sample_top_k: k must be between 1 and " + std::to_string(kMaxDeviceTopK));
    if (k > 1 && !(temperature > 0.0f)) return make_error("sample_top_k: temperature must be positive");
    if (k > 1 && u.size() < size_t(logits.rows)) return make_error("sample_top_k: one uniform number per row is needed");
    if (logits.row_stride != size_t(logits.cols) * 4) return make_error("sample_top_k: logits rows must be contiguous");
    std::vector<float> host(size_t(logits.rows) * size_t(logits.cols));
    HEARTH_RETURN_IF_ERROR(download(logits, host.data()));
    std::vector<int32_t> ids(size_t(out.cols), 0);
    for (int64_t r = 0; r < logits.rows; ++r)
        ids[size_t(r)] = sample_top_k_row(host.data() + size_t(r) * size_t(logits.cols), int(logits.cols), k, temperature,
                                          k > 1 ? u[size_t(r)] : 0.0);
    return upload(out, ids.data());
}

const char* op_name(Op op) {
    switch (op) {
        case Op::GetRows: return "get_rows";
        case Op::Matmul: return "matmul";
        case Op::RmsNorm: return "rms_norm";
        case Op::Rope: return "rope";
        case Op::KvStore: return "kv_store";
        case Op::Attention: return "attention";
        case Op::KvShift: return "kv_shift";
        case Op::KvCopy: return "kv_copy";
        case Op::SiluMul: return "silu_mul";
        case Op::Add: return "add";
        case Op::ScaleAdd: return "scale_add";
        case Op::SoftmaxRows: return "softmax_rows";
        case Op::Copy: return "copy";
        case Op::SampleTopK: return "sample_top_k";
        case Op::GeluMul: return "gelu_mul";
        case Op::Scale: return "scale";
        case Op::SlidingWindow: return "sliding-window attention";
        case Op::PagedAttention: return "attention over block tables";
        case Op::PagedKvShift: return "context shift over a block table";
        case Op::LayerNorm: return "layer_norm";
        case Op::Activate: return "activate";
        case Op::AttentionQkv: return "attention_qkv";
        case Op::Conv2d: return "conv2d";
        case Op::GroupNorm: return "group_norm";
        case Op::Upsample2x: return "upsample2x";
        case Op::Mul: return "mul";
        case Op::ConcatCols: return "concat_cols";
        case Op::MatmulAdd: return "matmul_add";
        case Op::AddRowsScaled: return "add_rows_scaled";
    }
    return "?";
}

namespace {
[[noreturn]] void unsupported(const Backend& be, Op op) {
    // Placement asks supports_op first, so reaching this is a bug in the caller, not bad input.
    std::fprintf(stderr, "hearth: backend '%s' does not implement %s\n", be.device().backend.c_str(), op_name(op));
    std::abort();
}
}  // namespace

void Backend::gelu_mul(const Tensor&, const Tensor&, const Tensor&) { unsupported(*this, Op::GeluMul); }
void Backend::matmul_parts(const Tensor& x, const MatmulPart* parts, int n) {
    for (int i = 0; i < n; ++i) matmul(parts[i].w, x, parts[i].y, parts[i].bias);
}
void Backend::matmul_glu(const Tensor& x, const MatmulPart& gate, const MatmulPart& up, bool gelu, const Tensor& out) {
    const MatmulPart parts[2] = {gate, up};
    matmul_parts(x, parts, 2);
    if (gelu) gelu_mul(gate.y, up.y, out);
    else silu_mul(gate.y, up.y, out);
}
void Backend::add_i32(const Tensor& x, int32_t v) {
    std::vector<int32_t> h(size_t(x.rows * x.cols));
    if (!download(x, h.data()).ok()) return;  // the backend's next status check reports it
    for (int32_t& e : h) e += v;
    (void)upload(x, h.data());
}
void Backend::matmul_add(const Tensor&, const Tensor&, const Tensor&, const Tensor*) { unsupported(*this, Op::MatmulAdd); }
void Backend::rope_kv_store(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& pos, const Tensor& cells,
                            const RopeParams& p, KvCache& kv, int layer) {
    rope(q, pos, p);
    rope(k, pos, p);
    kv_store(kv, layer, k, v, cells);
}
void Backend::scale(const Tensor&, float) { unsupported(*this, Op::Scale); }
void Backend::kv_shift_paged(KvCache&, const Tensor&, int, int, int, const RopeParams&) { unsupported(*this, Op::PagedKvShift); }
void Backend::attention_paged(const Tensor&, const KvCache&, int, const Tensor&, const KvTables&, int, float, const Tensor&) {
    unsupported(*this, Op::PagedAttention);
}
void Backend::layer_norm(const Tensor&, const Tensor&, const Tensor&, float, const Tensor&) { unsupported(*this, Op::LayerNorm); }
void Backend::activate(const Tensor&, Activation) { unsupported(*this, Op::Activate); }
void Backend::attention_qkv(const Tensor&, const Tensor&, const Tensor&, int, float, bool, const Tensor&) {
    unsupported(*this, Op::AttentionQkv);
}
void Backend::conv2d(const Tensor&, const Tensor&, const Tensor*, const Conv2dGeometry&, const Tensor&) { unsupported(*this, Op::Conv2d); }
void Backend::group_norm(const Tensor&, int, const Tensor&, const Tensor&, float, const Tensor&) { unsupported(*this, Op::GroupNorm); }
void Backend::upsample_nearest(const Tensor&, int, int, int, int, const Tensor&) { unsupported(*this, Op::Upsample2x); }

int64_t nearest_source(int64_t dst, int64_t in, int64_t out) {
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    const float scale = float(in) / float(out);
    return std::min(int64_t(std::floor(float(dst) * scale)), in - 1);
}
void Backend::mul(const Tensor&, const Tensor&, const Tensor&) { unsupported(*this, Op::Mul); }
void Backend::concat_cols(const Tensor&, const Tensor&, const Tensor&) { unsupported(*this, Op::ConcatCols); }
void Backend::add_rows_scaled(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { unsupported(*this, Op::AddRowsScaled); }

bool Backend::supports_op(Op op, GgmlType type) const {
    (void)type;
    switch (op) {
        case Op::GeluMul: case Op::Scale: case Op::SlidingWindow: case Op::PagedAttention: case Op::PagedKvShift:
        case Op::LayerNorm: case Op::Activate: case Op::AttentionQkv:
        case Op::Conv2d: case Op::GroupNorm: case Op::Upsample2x: case Op::Mul: case Op::ConcatCols:
        case Op::MatmulAdd: case Op::AddRowsScaled: return false;
        default: return true;
    }
}

}  // namespace hearth
