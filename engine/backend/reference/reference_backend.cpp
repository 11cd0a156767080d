#include "engine/backend/reference/reference_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/backend/host/host_buffer.h"
#include "engine/backend/host/host_kv_cache.h"
#include "engine/backend/host/rope_math.h"
#include "engine/backend/host/host_weight_types.h"
#include "engine/quant/quant.h"

namespace hearth {

namespace {

float* f32_row(const Tensor& t, int64_t r) { return reinterpret_cast<float*>(host_row(t, r)); }
const int32_t* i32_data(const Tensor& t) { return reinterpret_cast<const int32_t*>(host_ptr(t)); }

class ReferenceBackend final : public Backend {
public:
    ReferenceBackend() {
        info_.backend = "reference";
        info_.index = 0;
        info_.name = "Reference (scalar C++)";
        info_.type = "cpu";
        info_.details = "exact dequantization, double accumulation; for tests";
    }
    const DeviceInfo& device() const override { return info_; }

    Result<BufferPtr> alloc(size_t bytes, BufferUsage) override {
        auto b = HostBuffer::allocate(bytes);
        if (bytes && !b->data()) return make_error("reference backend: out of memory allocating " + std::to_string(bytes) + " bytes");
        return BufferPtr(b);
    }
    Result<BufferPtr> import_host(const void* data, size_t bytes) override { return BufferPtr(HostBuffer::borrow(data, bytes)); }
    Status upload(const Tensor& dst, const void* src) override {
        std::memcpy(host_ptr(dst), src, dst.bytes());
        return {};
    }
    Status download(const Tensor& src, void* dst) override {
        std::memcpy(dst, host_ptr(src), src.bytes());
        return {};
    }
    Result<std::unique_ptr<KvCache>> create_kv_cache(const KvCacheDesc& desc) override {
        if (desc.type != GgmlType::F16 && desc.type != GgmlType::F32) return make_error("KV cache type must be F16 or F32");
        auto kv = std::make_unique<HostKvCache>(desc);
        if (!kv->ok()) return make_error("reference backend: out of memory allocating the KV cache");
        return std::unique_ptr<KvCache>(std::move(kv));
    }
    Status synchronize() override { return {}; }

    void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) override {
        const int32_t* id = i32_data(ids);
        for (int64_t i = 0; i < ids.cols; ++i) dequantize_row(table.type, host_row(table, id[i]), f32_row(out, i), table.cols);
    }

    void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias) override { product(w, x, y, bias, false); }
    void matmul_add(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias) override { product(w, x, y, bias, true); }

    void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) override {
        const float* w = f32_row(weight, 0);
        for (int64_t t = 0; t < x.rows; ++t) {
            const float* xr = f32_row(x, t);
            float* yr = f32_row(y, t);
            double ss = 0;
            for (int64_t c = 0; c < x.cols; ++c) ss += double(xr[c]) * xr[c];
            const double inv = 1.0 / std::sqrt(ss / double(x.cols) + eps);
            for (int64_t c = 0; c < x.cols; ++c) yr[c] = float(xr[c] * inv * w[c]);
        }
    }

    void rope(const Tensor& x, const Tensor& pos, const RopeParams& p) override {
        const int32_t* ps = i32_data(pos);
        const float* ff = p.freq_factors ? f32_row(*p.freq_factors, 0) : nullptr;
        const double mag = rope_math::magnitude(p);
        const int64_t n_head = x.cols / p.head_dim;
        for (int64_t t = 0; t < x.rows; ++t)
            for (int64_t h = 0; h < n_head; ++h) rope_math::rotate_head(f32_row(x, t) + h * p.head_dim, p, ps[t], ff, mag);
    }

    void kv_store(KvCache& kvb, int layer, const Tensor& k, const Tensor& v, const Tensor& cells) override {
        auto& kv = static_cast<HostKvCache&>(kvb);
        const int32_t* ps = i32_data(cells);
        const int hd = kv.desc().head_dim;
        for (int64_t t = 0; t < k.rows; ++t)
            for (int h = 0; h < kv.desc().n_kv_head; ++h) {
                const size_t off = kv.offset(layer, ps[t], h);
                kv.write(kv.k(), off, f32_row(k, t) + size_t(h) * hd);
                kv.write(kv.v(), off, f32_row(v, t) + size_t(h) * hd);
            }
    }

    void attention(const Tensor& q, const KvCache& kv, int layer, const Tensor& pos, int n_kv, float scale,
                   const Tensor& out) override {
        attend(q, kv, layer, pos, nullptr, n_kv, scale, out);
    }
    void attention_paged(const Tensor& q, const KvCache& kv, int layer, const Tensor& pos, const KvTables& tables, int n_kv,
                         float scale, const Tensor& out) override {
        attend(q, kv, layer, pos, &tables, n_kv, scale, out);
    }

    void kv_shift(KvCache& kv, int keep, int discard, int n_used, const RopeParams& p) override {
        static_cast<HostKvCache&>(kv).shift(keep, discard, n_used, p);
    }
    void kv_shift_paged(KvCache& kv, const Tensor& table, int keep, int discard, int n_used, const RopeParams& p) override {
        static_cast<HostKvCache&>(kv).shift(keep, discard, n_used, p, i32_data(table));
    }

    void kv_copy(const KvCache& src, KvCache& dst, int n) override {
        static_cast<HostKvCache&>(dst).copy_from(static_cast<const HostKvCache&>(src), n);
    }

    void silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) override {
        for (int64_t t = 0; t < gate.rows; ++t) {
            const float *g = f32_row(gate, t), *u = f32_row(up, t);
            float* o = f32_row(out, t);
            for (int64_t c = 0; c < gate.cols; ++c) {
                const double gv = g[c];
                o[c] = float(gv / (1.0 + std::exp(-gv)) * u[c]);
            }
        }
    }
    void add(const Tensor& a, const Tensor& b, const Tensor& out) override {
        for (int64_t t = 0; t < a.rows; ++t) {
            const float *ar = f32_row(a, t), *br = f32_row(b, t);
            float* o = f32_row(out, t);
            for (int64_t c = 0; c < a.cols; ++c) o[c] = ar[c] + br[c];
        }
    }
    void scale_add(const Tensor& y, const Tensor& x, float s) override {
        for (int64_t t = 0; t < y.rows; ++t) {
            float* yr = f32_row(y, t);
            const float* xr = f32_row(x, t);
            for (int64_t c = 0; c < y.cols; ++c) yr[c] = float(yr[c] + double(s) * xr[c]);
        }
    }
    void add_rows_scaled(const Tensor& y, const Tensor& x, const Tensor& ids, const Tensor& w) override {
        const int32_t* id = reinterpret_cast<const int32_t*>(host_row(ids, 0));
        for (int64_t i = 0; i < x.rows; ++i) scale_add(y.row_range(id[i], 1), x.row_range(i, 1), f32_row(w, 0)[i]);
    }
    void softmax_rows(const Tensor& x) override {
        for (int64_t t = 0; t < x.rows; ++t) {
            float* r = f32_row(x, t);
            double mx = -INFINITY, sum = 0;
            for (int64_t c = 0; c < x.cols; ++c) mx = std::max(mx, double(r[c]));
            for (int64_t c = 0; c < x.cols; ++c) sum += std::exp(r[c] - mx);
            for (int64_t c = 0; c < x.cols; ++c) r[c] = float(std::exp(r[c] - mx) / sum);
        }
    }
    void copy(const Tensor& src, const Tensor& dst) override {
        for (int64_t t = 0; t < src.rows; ++t) std::memcpy(host_row(dst, t), host_row(src, t), size_t(src.cols) * 4);
    }
    void gelu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) override {
        // PyTorch's gelu(approximate="tanh"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in double.
        const double k = std::sqrt(2.0 / M_PI);
        for (int64_t t = 0; t < gate.rows; ++t) {
            const float *g = f32_row(gate, t), *u = f32_row(up, t);
            float* o = f32_row(out, t);
            for (int64_t c = 0; c < gate.cols; ++c) {
                const double x = g[c];
                o[c] = float(0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x))) * u[c]);
            }
        }
    }
    void scale(const Tensor& x, float s) override {
        for (int64_t t = 0; t < x.rows; ++t) {
            float* r = f32_row(x, t);
            for (int64_t c = 0; c < x.cols; ++c) r[c] *= s;
        }
    }

    void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        const float *w = f32_row(weight, 0), *b = f32_row(bias, 0);
        for (int64_t t = 0; t < x.rows; ++t) {
            const float* xr = f32_row(x, t);
            float* yr = f32_row(y, t);
            double mean = 0, var = 0;
            for (int64_t c = 0; c < x.cols; ++c) mean += xr[c];
            mean /= double(x.cols);
            for (int64_t c = 0; c < x.cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
            const double inv = 1.0 / std::sqrt(var / double(x.cols) + eps);
            for (int64_t c = 0; c < x.cols; ++c) yr[c] = float((xr[c] - mean) * inv * w[c] + b[c]);
        }
    }
    void activate(const Tensor& x, Activation act) override {
        for (int64_t t = 0; t < x.rows; ++t) {
            float* r = f32_row(x, t);
            for (int64_t c = 0; c < x.cols; ++c) {
                const double v = r[c];
                switch (act) {
                    case Activation::Gelu: r[c] = float(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)))); break;
                    case Activation::QuickGelu: r[c] = float(v / (1.0 + std::exp(-1.702 * v))); break;
                    case Activation::Silu: r[c] = float(v / (1.0 + std::exp(-v))); break;
                }
            }
        }
    }
    void attention_qkv(const Tensor& q, const Tensor& k, const Tensor& v, int n_head, float scale, bool causal,
                       const Tensor& out) override {
        const int64_t d = q.cols / n_head;
        std::vector<double> p(size_t(k.rows));
        for (int64_t t = 0; t < q.rows; ++t) {
            const int64_t n = causal ? t + 1 : k.rows;
            for (int h = 0; h < n_head; ++h) {
                const float* qh = f32_row(q, t) + h * d;
                double mx = -INFINITY, sum = 0;
                for (int64_t s = 0; s < n; ++s) {
                    const float* kh = f32_row(k, s) + h * d;
                    double dot = 0;
                    for (int64_t i = 0; i < d; ++i) dot += double(qh[i]) * kh[i];
                    p[size_t(s)] = dot * scale;
                    mx = std::max(mx, p[size_t(s)]);
                }
                for (int64_t s = 0; s < n; ++s) sum += (p[size_t(s)] = std::exp(p[size_t(s)] - mx));
                float* o = f32_row(out, t) + h * d;
                for (int64_t i = 0; i < d; ++i) {
                    double acc = 0;
                    for (int64_t s = 0; s < n; ++s) acc += p[size_t(s)] * f32_row(v, s)[h * d + i];
                    o[i] = float(acc / sum);
                }
            }
        }
    }

    void conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, const Tensor& y) override {
        const int64_t cin = x.cols, k = g.kernel, oh = g.out_height(), ow = g.out_width();
        std::vector<float> wrow(static_cast<size_t>(w.cols));
        for (int64_t o = 0; o < w.rows; ++o) {
            dequantize_row(w.type, host_row(w, o), wrow.data(), w.cols);
            for (int64_t py = 0; py < oh; ++py)
                for (int64_t px = 0; px < ow; ++px) {
                    double acc = bias ? f32_row(*bias, 0)[o] : 0.0;
                    for (int64_t ky = 0; ky < k; ++ky) {
                        const int64_t iy = py * g.stride + ky - g.pad;
                        if (iy < 0 || iy >= g.height) continue;
                        for (int64_t kx = 0; kx < k; ++kx) {
                            const int64_t ix = px * g.stride + kx - g.pad;
                            if (ix < 0 || ix >= g.width) continue;
                            const float* xr = f32_row(x, iy * g.width + ix);
                            const float* wr = wrow.data() + (ky * k + kx) * cin;
                            for (int64_t c = 0; c < cin; ++c) acc += double(wr[c]) * xr[c];
                        }
                    }
                    f32_row(y, py * ow + px)[o] = float(acc);
                }
        }
    }
    void group_norm(const Tensor& x, int n_groups, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        const int64_t per = x.cols / n_groups;
        const float *w = f32_row(weight, 0), *b = f32_row(bias, 0);
        for (int64_t gi = 0; gi < n_groups; ++gi) {
            double mean = 0, var = 0;
            for (int64_t t = 0; t < x.rows; ++t)
                for (int64_t c = gi * per; c < (gi + 1) * per; ++c) mean += f32_row(x, t)[c];
            mean /= double(x.rows * per);
            for (int64_t t = 0; t < x.rows; ++t)
                for (int64_t c = gi * per; c < (gi + 1) * per; ++c) var += (f32_row(x, t)[c] - mean) * (f32_row(x, t)[c] - mean);
            const double inv = 1.0 / std::sqrt(var / double(x.rows * per) + eps);
            for (int64_t t = 0; t < x.rows; ++t)
                for (int64_t c = gi * per; c < (gi + 1) * per; ++c)
                    f32_row(y, t)[c] = float((f32_row(x, t)[c] - mean) * inv * w[c] + b[c]);
        }
    }
    void upsample_nearest(const Tensor& x, int height, int width, int out_height, int out_width, const Tensor& y) override {
        for (int64_t oy = 0; oy < out_height; ++oy)
            for (int64_t ox = 0; ox < out_width; ++ox)
                std::memcpy(f32_row(y, oy * out_width + ox),
                            f32_row(x, nearest_source(oy, height, out_height) * width + nearest_source(ox, width, out_width)), size_t(x.cols) * 4);
    }

    void mul(const Tensor& a, const Tensor& b, const Tensor& out) override {
        for (int64_t t = 0; t < a.rows; ++t)
            for (int64_t c = 0; c < a.cols; ++c) f32_row(out, t)[c] = f32_row(a, t)[c] * f32_row(b, t)[c];
    }
    void concat_cols(const Tensor& a, const Tensor& b, const Tensor& out) override {
        for (int64_t t = 0; t < a.rows; ++t) {
            std::memcpy(f32_row(out, t), f32_row(a, t), size_t(a.cols) * 4);
            std::memcpy(f32_row(out, t) + a.cols, f32_row(b, t), size_t(b.cols) * 4);
        }
    }

    // Every op; tables and weights of every type dequantize_row knows.
    bool supports_op(Op op, GgmlType type) const override {
        if (op == Op::GetRows || op == Op::Matmul || op == Op::MatmulAdd) return host_weight_type(type);
        return true;
    }

private:
    // y = w·x (+ bias), or y += that (accumulate), in double.
    void product(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias, bool accumulate) {
        std::vector<float> wrow(static_cast<size_t>(w.cols));
        const float* b = bias ? f32_row(*bias, 0) : nullptr;
        for (int64_t r = 0; r < w.rows; ++r) {
            dequantize_row(w.type, host_row(w, r), wrow.data(), w.cols);
            for (int64_t t = 0; t < x.rows; ++t) {
                const float* xr = f32_row(x, t);
                double acc = 0;
                for (int64_t c = 0; c < w.cols; ++c) acc += double(wrow[c]) * double(xr[c]);
                if (b) acc += b[r];
                float& out = f32_row(y, t)[r];
                out = float(accumulate ? double(out) + acc : acc);
            }
        }
    }

    // attention and attention_paged: logical cell c of token t's sequence is physical cell
    // table[seq[t]][c / 32] * 32 + c % 32, or c itself without tables.
    void attend(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, const KvTables* tables, int n_kv,
                float scale, const Tensor& out) {
        const auto& kv = static_cast<const HostKvCache&>(kvb);
        const int hd = kv.desc().head_dim, n_kv_head = kv.desc().n_kv_head;
        const int n_head = int(q.cols / hd), group = n_head / n_kv_head;
        const int32_t* ps = i32_data(pos);
        const int window = kv.desc().window_of(layer);
        std::vector<float> kr(static_cast<size_t>(hd)), vr(static_cast<size_t>(hd));
        std::vector<double> scores, acc(static_cast<size_t>(hd));
        for (int64_t t = 0; t < q.rows; ++t) {
            const int32_t* tab = tables ? reinterpret_cast<const int32_t*>(host_row(tables->table, i32_data(tables->seq)[t])) : nullptr;
            auto cell = [&](int c) { return tab ? tab[c / kKvBlockTokens] * kKvBlockTokens + c % kKvBlockTokens : c; };
            const int n = std::min(ps[t] + 1, n_kv);
            // A local layer (window w) sees cells p-w+1 .. p only; the cells below stay out of the softmax.
            const int lo = window > 0 ? std::max(0, ps[t] - window + 1) : 0;
            scores.assign(size_t(std::max(n, 0)), 0.0);
            for (int h = 0; h < n_head; ++h) {
                const int kh = h / group;
                const float* qh = f32_row(q, t) + size_t(h) * hd;
                double mx = -INFINITY;
                for (int c = lo; c < n; ++c) {
                    kv.read(kv.k(), kv.offset(layer, cell(c), kh), kr.data());
                    double s = 0;
                    for (int d = 0; d < hd; ++d) s += double(qh[d]) * kr[d];
                    scores[c] = s * scale;
                    mx = std::max(mx, scores[c]);
                }
                double sum = 0;
                for (int c = lo; c < n; ++c) sum += (scores[c] = std::exp(scores[c] - mx));  // stable: max subtracted
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int c = lo; c < n; ++c) {
                    kv.read(kv.v(), kv.offset(layer, cell(c), kh), vr.data());
                    for (int d = 0; d < hd; ++d) acc[d] += scores[c] * vr[d];
                }
                float* o = f32_row(out, t) + size_t(h) * hd;
                for (int d = 0; d < hd; ++d) o[d] = n > lo ? float(acc[d] / sum) : 0.0f;
            }
        }
    }

    DeviceInfo info_;
};

}  // namespace

std::unique_ptr<Backend> create_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace hearth
