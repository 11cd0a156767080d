#include "engine/backend/cpu/cpu_backend.h"

#include <sys/mman.h>

#include <algorithm>
#include <type_traits>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/backend/cpu/kernels.h"
#include "engine/backend/cpu/matmul.h"
#include "engine/backend/cpu/vec_ops.h"
#include "engine/backend/host/host_buffer.h"
#include "engine/backend/host/host_kv_cache.h"
#include "engine/backend/host/rope_math.h"
#include "engine/backend/host/host_weight_types.h"
#include "engine/quant/quant.h"
#include "engine/util/cpu_cores.h"
#include "engine/util/thread_pool.h"

namespace hearth {

namespace {

uint64_t meminfo_kb(const char* key) {
    std::ifstream f("/proc/meminfo");
    std::string k;
    uint64_t v = 0;
    std::string unit;
    while (f >> k >> v >> unit)
        if (k == key) return v;
    return 0;
}

}  // namespace

DeviceInfo cpu_device_info(int n_threads) {
    DeviceInfo d;
    d.backend = "cpu";
    d.index = 0;
    const auto& f = cpu::cpu_features();
    d.name = f.brand.empty() ? "CPU" : f.brand;
    d.type = "cpu";
    d.memory_total = meminfo_kb("MemTotal:") * 1024;
    d.memory_free = meminfo_kb("MemAvailable:") * 1024;
    d.details = std::string("kernels ") + cpu::isa_name(cpu::best_isa()) + " (" + f.describe() + "), " +
                std::to_string(n_threads) + " threads";
    return d;
}

namespace {

using cpu::IsaLevel;

float* f32_row(const Tensor& t, int64_t r) { return reinterpret_cast<float*>(host_row(t, r)); }
const int32_t* i32_data(const Tensor& t) { return reinterpret_cast<const int32_t*>(host_ptr(t)); }

class CpuBackend final : public Backend {
public:
    CpuBackend(int n_threads, IsaLevel isa)
        : pool_(n_threads), isa_(isa), vo_(cpu::vec_ops(isa)), mm_(pool_, isa) {
        info_ = cpu_device_info(pool_.size());
        info_.details = std::string("kernels ") + cpu::isa_name(isa) + " (" + cpu::cpu_features().describe() + "), " +
                        std::to_string(pool_.size()) + " threads";
    }
    const DeviceInfo& device() const override { return info_; }
    uint64_t memory_free() const override { return meminfo_kb("MemAvailable:") * 1024; }  // now, not at start

    // ---- memory
    Result<BufferPtr> alloc(size_t bytes, BufferUsage) override {
        auto b = HostBuffer::allocate(bytes);
        if (bytes && !b->data()) return make_error("CPU backend: out of memory allocating " + std::to_string(bytes) + " bytes");
        return BufferPtr(b);
    }
    Result<BufferPtr> import_host(const void* data, size_t bytes) override {
        auto b = HostBuffer::borrow(data, bytes);
        // Forget buffers that are gone, and free the repacked copies of their weights (a backend
        // that outlives a model must not keep that model's weights).
        for (auto it = imports_.begin(); it != imports_.end();) it = it->second.expired() ? imports_.erase(it) : std::next(it);
        for (auto it = repacked_.begin(); it != repacked_.end();) it = (!it->second || it->second->owner.expired()) ? repacked_.erase(it) : std::next(it);
        imports_[b.get()] = b;
        return BufferPtr(b);
    }
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
        if (!kv->ok()) return make_error("CPU backend: out of memory allocating the KV cache");
        return std::unique_ptr<KvCache>(std::move(kv));
    }
    Status synchronize() override { return {}; }
    void set_cancel(const std::atomic<bool>* flag) override {
        cancel_ = flag;
        mm_.set_cancel(flag);
    }

    // ---- ops
    void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) override {
        const int32_t* id = i32_data(ids);
        for (int64_t i = 0; i < ids.cols; ++i) dequantize_row(table.type, host_row(table, id[i]), f32_row(out, i), table.cols);
    }

    void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias) override {
        cpu::MatmulArgs a;
        a.w = host_ptr(w); a.ws = w.row_stride; a.wtype = w.type; a.rows = w.rows; a.k = w.cols;
        a.x = host_ptr(x); a.xs = x.row_stride; a.n = x.rows;
        a.y = f32_row(y, 0); a.ldy = y.row_stride / 4;
        a.bias = bias ? f32_row(*bias, 0) : nullptr;
        if (const Repacked* rp = repacked(w)) { a.wx8 = rp->bytes; a.rows_x8 = rp->rows_x8; a.xws = rp->xws; }
        if (!mm_.run(a)) {
            // Scratch could not be allocated: the only failure mode; fall back to the exact path.
            std::vector<float> tmp(size_t(w.cols));
            for (int64_t r = 0; r < w.rows; ++r) {
                dequantize_row(w.type, host_row(w, r), tmp.data(), w.cols);
                for (int64_t t = 0; t < x.rows; ++t)
                    f32_row(y, t)[r] = vo_.dot(tmp.data(), f32_row(x, t), w.cols) + (a.bias ? a.bias[r] : 0.0f);
            }
        }
    }

    void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) override {
        const float* w = f32_row(weight, 0);
        for_rows(x.rows, x.cols, [&](int64_t t) {
            const float* xr = f32_row(x, t);
            const float ss = vo_.sum_sq(xr, x.cols);
            const float inv = 1.0f / std::sqrt(ss / float(x.cols) + eps);
            vo_.scale_mul(xr, inv, w, f32_row(y, t), x.cols);
        });
    }

    void rope(const Tensor& x, const Tensor& pos, const RopeParams& p) override {
        const int32_t* ps = i32_data(pos);
        const int n = int(x.rows);
        const float* cs = rope_table(ps, n, p);
        const int half = p.n_dims / 2;
        const int64_t n_head = x.cols / p.head_dim;
        for_rows(x.rows, x.cols, [&](int64_t t) {
            const float* c = cs + size_t(t) * half * 2;
            for (int64_t h = 0; h < n_head; ++h) {
                float* v = f32_row(x, t) + h * p.head_dim;
                if (p.mode == RopeMode::Normal) {
                    for (int i = 0; i < half; ++i) {
                        const float x0 = v[2 * i], x1 = v[2 * i + 1], co = c[2 * i], si = c[2 * i + 1];
                        v[2 * i] = x0 * co - x1 * si;
                        v[2 * i + 1] = x0 * si + x1 * co;
                    }
                } else {
                    for (int i = 0; i < half; ++i) {
                        const float x0 = v[i], x1 = v[i + half], co = c[2 * i], si = c[2 * i + 1];
                        v[i] = x0 * co - x1 * si;
                        v[i + half] = x0 * si + x1 * co;
                    }
                }
            }
        });
    }

    void kv_store(KvCache& kvb, int layer, const Tensor& k, const Tensor& v, const Tensor& cells) override {
        auto& kv = static_cast<HostKvCache&>(kvb);
        const int32_t* ps = i32_data(cells);
        const int hd = kv.desc().head_dim;
        const bool f16 = kv.desc().type == GgmlType::F16;
        for (int64_t t = 0; t < k.rows; ++t)
            for (int h = 0; h < kv.desc().n_kv_head; ++h) {
                const size_t off = kv.offset(layer, ps[t], h);
                const float* ks = f32_row(k, t) + size_t(h) * hd;
                const float* vs = f32_row(v, t) + size_t(h) * hd;
                if (f16) {
                    vo_.to_f16(ks, reinterpret_cast<f16_t*>(kv.k() + off), hd);
                    vo_.to_f16(vs, reinterpret_cast<f16_t*>(kv.v() + off), hd);
                } else {
                    std::memcpy(kv.k() + off, ks, size_t(hd) * 4);
                    std::memcpy(kv.v() + off, vs, size_t(hd) * 4);
                }
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
        for_rows(gate.rows, gate.cols, [&](int64_t t) { vo_.silu_mul(f32_row(gate, t), f32_row(up, t), f32_row(out, t), gate.cols); });
    }
    void gelu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) override {
        for_rows(gate.rows, gate.cols, [&](int64_t t) { vo_.gelu_mul(f32_row(gate, t), f32_row(up, t), f32_row(out, t), gate.cols); });
    }
    void scale(const Tensor& x, float s) override {
        for_rows(x.rows, x.cols, [&](int64_t t) { vo_.scale(f32_row(x, t), s, x.cols); });
    }
    void add(const Tensor& a, const Tensor& b, const Tensor& out) override {
        for_rows(a.rows, a.cols, [&](int64_t t) { vo_.add(f32_row(a, t), f32_row(b, t), f32_row(out, t), a.cols); });
    }
    void scale_add(const Tensor& y, const Tensor& x, float s) override {
        for_rows(y.rows, y.cols, [&](int64_t t) { vo_.axpy(f32_row(y, t), f32_row(x, t), s, y.cols); });
    }
    void add_rows_scaled(const Tensor& y, const Tensor& x, const Tensor& ids, const Tensor& w) override {
        const int32_t* id = i32_data(ids);
        const float* wt = f32_row(w, 0);
        for_rows(x.rows, x.cols, [&](int64_t i) { vo_.axpy(f32_row(y, id[i]), f32_row(x, i), wt[i], x.cols); });
    }
    void softmax_rows(const Tensor& x) override {
        for_rows(x.rows, x.cols, [&](int64_t t) {
            float* r = f32_row(x, t);
            float mx = -INFINITY;
            for (int64_t c = 0; c < x.cols; ++c) mx = std::max(mx, r[c]);
            const float inv = 1.0f / vo_.exp_sub_sum(r, mx, x.cols);
            for (int64_t c = 0; c < x.cols; ++c) r[c] *= inv;
        });
    }
    void copy(const Tensor& src, const Tensor& dst) override {
        for (int64_t t = 0; t < src.rows; ++t) std::memcpy(host_row(dst, t), host_row(src, t), size_t(src.cols) * 4);
    }

    void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        const float *w = f32_row(weight, 0), *b = f32_row(bias, 0);
        for_rows(x.rows, x.cols, [&](int64_t t) {
            const float* xr = f32_row(x, t);
            float* yr = f32_row(y, t);
            float mean = 0;
            for (int64_t c = 0; c < x.cols; ++c) mean += xr[c];
            mean /= float(x.cols);
            float var = 0;  // two passes: the one-pass E[x²]-E[x]² loses digits on large means
            for (int64_t c = 0; c < x.cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
            const float inv = 1.0f / std::sqrt(var / float(x.cols) + eps);
            for (int64_t c = 0; c < x.cols; ++c) yr[c] = (xr[c] - mean) * inv * w[c] + b[c];
        });
    }
    void activate(const Tensor& x, Activation act) override {
        for_rows(x.rows, x.cols, [&](int64_t t) {
            float* r = f32_row(x, t);
            switch (act) {
                case Activation::Gelu:
                    vo_.gelu_erf(r, x.cols);
                    break;
                case Activation::QuickGelu:
                    for (int64_t c = 0; c < x.cols; ++c) r[c] = r[c] / (1.0f + std::exp(-1.702f * r[c]));
                    break;
                case Activation::Silu:
                    for (int64_t c = 0; c < x.cols; ++c) r[c] = r[c] / (1.0f + std::exp(-r[c]));
                    break;
            }
        });
    }
    void attention_qkv(const Tensor& q, const Tensor& k, const Tensor& v, int n_head, float scale, bool causal,
                       const Tensor& out) override {
        if (q.rows >= 16 && k.rows >= 16 && attention_qkv_gemm(q, k, v, n_head, scale, causal, out)) return;
        const int64_t d = q.cols / n_head;
        for_rows(q.rows, k.rows * q.cols, [&](int64_t t) {
            thread_local std::vector<float> p;
            p.resize(size_t(k.rows));
            const int64_t n = causal ? t + 1 : k.rows;
            for (int h = 0; h < n_head; ++h) {
                const float* qh = f32_row(q, t) + h * d;
                float mx = -INFINITY;
                for (int64_t s = 0; s < n; ++s) mx = std::max(mx, p[size_t(s)] = scale * vo_.dot(qh, f32_row(k, s) + h * d, d));
                const float inv = 1.0f / vo_.exp_sub_sum(p.data(), mx, n);
                float* o = f32_row(out, t) + h * d;
                std::fill(o, o + d, 0.0f);
                for (int64_t s = 0; s < n; ++s) vo_.axpy(o, f32_row(v, s) + h * d, p[size_t(s)] * inv, d);
            }
        });
    }

    // attention_qkv as two GEMMs per head and block of queries through the matmul engine, so the
    // UNet's self-attention over 4,096 pixels runs at GEMM speed with O(block × n_kv) scratch:
    //   S = Q·Kᵀ       K's rows are the "weights" (the work splits over keys);
    //   P = softmax(scale·S) per row, masked when causal;
    //   Oᵀ = P·V as    P's rows are the weights and Vᵀ's rows the "tokens" (the work splits over
    //                  the block's queries, not over the head's few dimensions), then scattered
    //                  into out's head slice.
    // False when scratch cannot be allocated (the caller then takes the row loop).
    bool attention_qkv_gemm(const Tensor& q, const Tensor& k, const Tensor& v, int n_head, float scale, bool causal,
                            const Tensor& out) {
        const int64_t d = q.cols / n_head, nq = q.rows, nk = k.rows;
        const int64_t bq = std::min<int64_t>(nq, 256);
        float* s = reinterpret_cast<float*>(qkv_s_.get(size_t(bq * nk) * 4));
        float* vt = reinterpret_cast<float*>(qkv_vt_.get(size_t(d * nk) * 4));
        float* ot = reinterpret_cast<float*>(qkv_ot_.get(size_t(d * bq) * 4));
        if (!s || !vt || !ot) return false;
        for (int h = 0; h < n_head; ++h) {
            pool_.parallel_for(nk, std::max<int64_t>(64, nk / (int64_t(pool_.size()) * 4)), [&](int64_t b, int64_t e, int) {
                for (int64_t j = b; j < e; ++j) {
                    const float* vr = f32_row(v, j) + h * d;
                    for (int64_t i = 0; i < d; ++i) vt[i * nk + j] = vr[i];
                }
            });
            for (int64_t t0 = 0; t0 < nq; t0 += bq) {
                if (cancel_ && cancel_->load(std::memory_order_relaxed)) return true;
                const int64_t n = std::min(bq, nq - t0);
                const int64_t cols = causal ? std::min(nk, t0 + n) : nk;  // keys any query of the block sees
                cpu::MatmulArgs sa{};
                sa.w = host_row(k, 0) + size_t(h * d) * 4; sa.ws = k.row_stride; sa.wtype = GgmlType::F32; sa.rows = cols; sa.k = d;
                sa.x = host_row(q, t0) + size_t(h * d) * 4; sa.xs = q.row_stride; sa.n = n;
                sa.y = s; sa.ldy = size_t(cols);
                if (!mm_.run(sa)) return false;
                for_rows(n, cols, [&](int64_t i) {
                    float* r = s + i * cols;
                    const int64_t m = causal ? t0 + i + 1 : cols;
                    float mx = -INFINITY;
                    for (int64_t j = 0; j < m; ++j) mx = std::max(mx, r[j] *= scale);
                    const float sum = vo_.exp_sub_sum(r, mx, m);
                    vo_.scale(r, 1.0f / sum, m);
                    std::fill(r + m, r + cols, 0.0f);
                });
                cpu::MatmulArgs pa{};
                pa.w = reinterpret_cast<const uint8_t*>(s); pa.ws = size_t(cols) * 4; pa.wtype = GgmlType::F32; pa.rows = n; pa.k = cols;
                pa.x = reinterpret_cast<const uint8_t*>(vt); pa.xs = size_t(nk) * 4; pa.n = d;
                pa.y = ot; pa.ldy = size_t(n);
                if (!mm_.run(pa)) return false;
                for_rows(n, d, [&](int64_t i) {
                    float* o = f32_row(out, t0 + i) + h * d;
                    for (int64_t c = 0; c < d; ++c) o[c] = ot[c * n + i];
                });
            }
        }
        return true;
    }

    // A 1×1 convolution is a matmul over pixel rows; a larger one gathers each output pixel's
    // receptive field into a row (im2col) and multiplies those rows by the kernel matrix, a band of
    // output pixels at a time so the gathered rows stay within ~16 MB.
    void conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, const Tensor& y) override {
        if (g.pointwise()) {
            matmul(w, x, y, bias);
            return;
        }
        const int64_t cin = x.cols, k = g.kernel, ow = g.out_width(), n_out = int64_t(g.out_height()) * ow;
        const int64_t kcols = w.cols;  // k·k·cin
        int64_t band = std::max<int64_t>(1, std::min<int64_t>(n_out, (int64_t(4) << 20) / kcols));
        while (!conv_scratch_ || conv_scratch_->size() < size_t(band * kcols) * 4) {
            conv_scratch_ = HostBuffer::allocate(size_t(band * kcols) * 4);
            if (conv_scratch_->data()) break;
            conv_scratch_.reset();
            if (band == 1) {  // not even one row of scratch: nothing sensible is left to do
                std::fprintf(stderr, "hearth: cpu conv2d: out of memory for %lld bytes of scratch\n", (long long)kcols * 4);
                std::abort();
            }
            band = std::max<int64_t>(1, band / 4);  // a smaller band is slower, not wrong
        }
        for (int64_t p0 = 0; p0 < n_out; p0 += band) {
            const int64_t n = std::min(band, n_out - p0);
            const Tensor cols = make_tensor(conv_scratch_.get(), 0, GgmlType::F32, n, kcols);
            for_rows(n, kcols, [&](int64_t r) {
                const int64_t p = p0 + r, py = p / ow, px = p % ow;
                float* dst = f32_row(cols, r);
                for (int64_t ky = 0; ky < k; ++ky) {
                    const int64_t iy = py * g.stride + ky - g.pad;
                    for (int64_t kx = 0; kx < k; ++kx, dst += cin) {
                        const int64_t ix = px * g.stride + kx - g.pad;
                        if (iy < 0 || iy >= g.height || ix < 0 || ix >= g.width) std::fill(dst, dst + cin, 0.0f);
                        else std::memcpy(dst, f32_row(x, iy * g.width + ix), size_t(cin) * 4);
                    }
                }
            });
            matmul(w, cols, y.row_range(p0, n), bias);
        }
    }
    void group_norm(const Tensor& x, int n_groups, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        const int64_t per = x.cols / n_groups;
        const float *w = f32_row(weight, 0), *b = f32_row(bias, 0);
        // Statistics per group in double: a 512×512 VAE group sums a million values.
        std::vector<double> mean(size_t(n_groups), 0.0), inv(size_t(n_groups), 0.0);
        for_rows(n_groups, x.rows * per, [&](int64_t gi) {
            double s = 0, ss = 0;
            for (int64_t t = 0; t < x.rows; ++t) {
                const float* r = f32_row(x, t) + gi * per;
                for (int64_t c = 0; c < per; ++c) s += r[c];
            }
            const double m = s / double(x.rows * per);
            for (int64_t t = 0; t < x.rows; ++t) {
                const float* r = f32_row(x, t) + gi * per;
                for (int64_t c = 0; c < per; ++c) ss += (r[c] - m) * (r[c] - m);
            }
            mean[size_t(gi)] = m;
            inv[size_t(gi)] = 1.0 / std::sqrt(ss / double(x.rows * per) + eps);
        });
        for_rows(x.rows, x.cols, [&](int64_t t) {
            const float* r = f32_row(x, t);
            float* o = f32_row(y, t);
            for (int64_t c = 0; c < x.cols; ++c) {
                const size_t gi = size_t(c / per);
                o[c] = float((r[c] - mean[gi]) * inv[gi]) * w[c] + b[c];
            }
        });
    }
    void upsample_nearest(const Tensor& x, int height, int width, int out_height, int out_width, const Tensor& y) override {
        for_rows(out_height, int64_t(out_width) * x.cols, [&](int64_t oy) {
            const int64_t sy = nearest_source(oy, height, out_height);
            for (int64_t ox = 0; ox < out_width; ++ox)
                std::memcpy(f32_row(y, oy * out_width + ox), f32_row(x, sy * width + nearest_source(ox, width, out_width)), size_t(x.cols) * 4);
        });
    }

    void mul(const Tensor& a, const Tensor& b, const Tensor& out) override {
        for_rows(a.rows, a.cols, [&](int64_t t) {
            const float *x = f32_row(a, t), *y = f32_row(b, t);
            float* o = f32_row(out, t);
            for (int64_t c = 0; c < a.cols; ++c) o[c] = x[c] * y[c];
        });
    }
    void concat_cols(const Tensor& a, const Tensor& b, const Tensor& out) override {
        for_rows(a.rows, a.cols + b.cols, [&](int64_t t) {
            std::memcpy(f32_row(out, t), f32_row(a, t), size_t(a.cols) * 4);
            std::memcpy(f32_row(out, t) + a.cols, f32_row(b, t), size_t(b.cols) * 4);
        });
    }

    // Every op; matmul and get_rows take every type dequantize_row knows (matmul.cpp runs the types
    // without a kernel of their own through it).
    bool supports_op(Op op, GgmlType type) const override {
        if (op == Op::GetRows || op == Op::Matmul) return host_weight_type(type);
        if (op == Op::MatmulAdd) return false;  // the layer adds the residual after the product
        return true;
    }

private:
    // attention and attention_paged (tables null: the identity table).
    void attend(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, const KvTables* tables, int n_kv,
                float scale, const Tensor& out);

    // ---- repacked weights (MatKernel::repack_x8): built once per imported weight matrix, at its
    // first matmul. An entry is valid while the buffer it was built from lives (weak_ptr: a new
    // buffer at the same address is not mistaken for it); imported buffers are never written.
    struct Repacked {
        std::weak_ptr<Buffer> owner;
        GgmlType type;
        int64_t rows, k, rows_x8;
        size_t ws, xws;  // file row stride, packed bytes per row
        cpu::Scratch data;
        const uint8_t* bytes = nullptr;  // data's memory
    };
    const Repacked* repacked(const Tensor& w) {
        const cpu::MatKernel* mk = cpu::mat_kernel(w.type, isa_);
        if (!repack_enabled_ || !mk || !mk->repack_x8 || w.rows < 8) return nullptr;
        const auto imp = imports_.find(w.buf);
        if (imp == imports_.end()) return nullptr;
        const std::shared_ptr<Buffer> owner = imp->second.lock();
        if (!owner || owner.get() != w.buf) return nullptr;
        const uint8_t* p = host_ptr(w);
        std::unique_ptr<Repacked>& e = repacked_[p];
        if (e && e->owner.lock() == owner && e->type == w.type && e->rows == w.rows && e->k == w.cols && e->ws == w.row_stride)
            return e.get();
        auto r = std::make_unique<Repacked>();
        r->owner = owner; r->type = w.type; r->rows = w.rows; r->k = w.cols; r->ws = w.row_stride;
        r->rows_x8 = w.rows / 8 * 8;
        r->xws = mk->repack_bytes ? mk->repack_bytes(w.cols) / 8 : w.row_stride;
        uint8_t* dst = r->data.get(size_t(r->rows_x8) * r->xws);
        if (!dst) { repacked_.erase(p); return nullptr; }  // no memory: the file layout serves
        r->bytes = dst;
        pool_.parallel_for(r->rows_x8 / 8, 16, [&](int64_t b, int64_t e2, int) {
            for (int64_t g = b; g < e2; ++g) mk->repack_x8(w.cols, p + g * 8 * w.row_stride, w.row_stride, dst + g * 8 * r->xws);
        });
        release_file_pages(p, size_t(r->rows_x8) * w.row_stride);
        e = std::move(r);
        return e.get();
    }
    // The repacked copy replaces these bytes: drop their pages from this process (a read-only file
    // mapping re-reads them from the page cache if ever touched again), so resident memory holds
    // the weights once. Never for anonymous or writable memory, where MADV_DONTNEED would lose data.
    static void release_file_pages(const uint8_t* p, size_t n) {
        const uintptr_t page = 4096, lo = (uintptr_t(p) + page - 1) & ~(page - 1), hi = (uintptr_t(p) + n) & ~(page - 1);
        if (hi <= lo) return;
        std::ifstream maps("/proc/self/maps");
        std::string line;
        while (std::getline(maps, line)) {
            unsigned long a = 0, b = 0, off = 0, inode = 0;
            char perms[8] = {};
            unsigned dev_major = 0, dev_minor = 0;
            if (std::sscanf(line.c_str(), "%lx-%lx %7s %lx %x:%x %lu", &a, &b, perms, &off, &dev_major, &dev_minor, &inode) != 7) continue;
            if (lo < a || hi > b) continue;
            if (inode != 0 && perms[1] == '-') madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
            return;
        }
    }

    // Runs fn(row) for every row; on the pool when the op is big enough to pay for the wake-up.
    template <class Fn>
    void for_rows(int64_t rows, int64_t cols, const Fn& fn) {
        if (rows < 2 || rows * cols < 32768) {
            for (int64_t t = 0; t < rows; ++t) fn(t);
            return;
        }
        pool_.parallel_for(rows, std::max<int64_t>(1, rows / (int64_t(pool_.size()) * 4)), [&](int64_t b, int64_t e, int) {
            for (int64_t t = b; t < e; ++t) fn(t);
        });
    }

    // cos/sin (times the magnitude factor) for each token's position and pair, cached across the
    // calls of one forward pass (q and k of every layer share the positions).
    const float* rope_table(const int32_t* ps, int n, const RopeParams& p) {
        const float* ff_now = nullptr;
        if (p.freq_factors) ff_now = f32_row(*p.freq_factors, 0);
        const bool same = rope_pos_.size() == size_t(n) && std::equal(ps, ps + n, rope_pos_.begin()) &&
                          rope_key_.mode == p.mode && rope_key_.head_dim == p.head_dim && rope_key_.n_dims == p.n_dims &&
                          rope_key_.freq_base == p.freq_base && rope_key_.freq_scale == p.freq_scale &&
                          rope_key_.ext_factor == p.ext_factor && rope_key_.attn_factor == p.attn_factor &&
                          rope_key_.beta_fast == p.beta_fast && rope_key_.beta_slow == p.beta_slow &&
                          rope_key_.n_ctx_orig == p.n_ctx_orig && rope_ff_ == ff_now;
        if (same) return rope_cs_.data();
        const int half = p.n_dims / 2;
        rope_pos_.assign(ps, ps + n);
        rope_key_ = p;
        rope_ff_ = ff_now;
        std::vector<double> theta(static_cast<size_t>(half));
        for (int i = 0; i < half; ++i) theta[size_t(i)] = rope_math::angle_per_pos(p, i, ff_now);
        const double mag = rope_math::magnitude(p);
        rope_cs_.resize(size_t(n) * half * 2);
        for (int t = 0; t < n; ++t)
            for (int i = 0; i < half; ++i) {
                const double th = double(ps[t]) * theta[size_t(i)];
                rope_cs_[(size_t(t) * half + i) * 2] = float(std::cos(th) * mag);
                rope_cs_[(size_t(t) * half + i) * 2 + 1] = float(std::sin(th) * mag);
            }
        return rope_cs_.data();
    }

    bool cancelled() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }

    DeviceInfo info_;
    const std::atomic<bool>* cancel_ = nullptr;  // set_cancel
    cpu::ThreadPool pool_;
    IsaLevel isa_;
    const cpu::VecOps& vo_;
    cpu::MatmulEngine mm_;
    std::vector<int32_t> rope_pos_;
    RopeParams rope_key_;
    const float* rope_ff_ = nullptr;
    std::vector<float> rope_cs_;
    std::vector<cpu::Scratch> att_scratch_;
    struct QBlock { int64_t first, n; int32_t table_row; };
    std::vector<QBlock> qblocks_;  // attend's work items (kept: no allocation per call)
    std::shared_ptr<HostBuffer> conv_scratch_;  // conv2d's im2col band
    cpu::Scratch qkv_s_, qkv_vt_, qkv_ot_;      // attention_qkv_gemm: scores, Vᵀ, Oᵀ of one head and block
    std::unordered_map<const Buffer*, std::weak_ptr<Buffer>> imports_;
    std::unordered_map<const uint8_t*, std::unique_ptr<Repacked>> repacked_;
    // HEARTH_CPU_REPACK=0 keeps every weight in the file layout (to measure what repacking gives).
    bool repack_enabled_ = [] { const char* e = std::getenv("HEARTH_CPU_REPACK"); return !(e && std::string(e) == "0"); }();
};

// Flash-style attention: a work item is a block of up to kQBlock query tokens and one KV head; the
// block's query heads that share the KV head (group x tokens rows) walk the cached cells in tiles
// of one KV block (32 cells), keeping a running max, running sum and running output per row
// (online softmax), so no n x n_kv score matrix exists. Each K/V tile is converted from F16 once
// per item and used by every row of it (a prompt of 128 tokens converts the cache 16x less often
// than one item per token would); the scores and the P.V update are vec_ops primitives that keep
// the tile in L1 and the output row in registers. An item of at most 4 rows (a decode token's
// query heads) reads the F16 tile directly instead, converting as it reads (the same floats), so
// a batch of decode steps does not write and re-read every tile of every sequence's cache.
//
// With block tables, a work item's tokens all belong to one sequence (a run of at most kQBlock
// consecutive tokens of the same table row), and tile c0 is read from the physical block its
// table gives. A token's arithmetic (tiles in ascending logical order, its own causal and window
// limits within each) never depends on the other tokens of its item or batch, nor on where its
// blocks lie: the batch invariance ModelContext::eval_batch promises rests on this.
void CpuBackend::attend(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, const KvTables* tables, int n_kv,
                        float scale, const Tensor& out) {
    const auto& kv = static_cast<const HostKvCache&>(kvb);
    const int hd = kv.desc().head_dim, n_kv_head = kv.desc().n_kv_head;
    const int n_head = int(q.cols / hd), group = n_head / n_kv_head;
    const bool f16 = kv.desc().type == GgmlType::F16;
    const int32_t* ps = i32_data(pos);
    // Sliding window (a local layer): token p sees cells lo(p) = p-w+1 .. p. A tile is skipped when it
    // lies below every token's window, and within a tile each token starts at its own lo.
    const int window = kv.desc().window_of(layer);
    auto lo_of = [&](int64_t t) { return window > 0 ? std::max(0, ps[t] - window + 1) : 0; };
    constexpr int kQBlock = 8;
    // Query blocks: [first token, token count, table row].
    const int32_t* seq = tables ? i32_data(tables->seq) : nullptr;
    qblocks_.clear();
    for (int64_t t = 0; t < q.rows;) {
        const int32_t s0 = seq ? seq[t] : 0;
        int64_t e = t + 1;
        while (e < q.rows && e - t < kQBlock && (!seq || seq[e] == s0)) ++e;
        qblocks_.push_back({t, e - t, s0});
        t = e;
    }
    const int64_t n_items = int64_t(qblocks_.size()) * n_kv_head;
    constexpr int B = kKvBlockTokens;
    const int rows_max = kQBlock * group;
    // per thread: K tile, V tile (B x hd floats), scores (B), running output (rows x hd), max, sum
    const size_t per_thread = (size_t(2 * B * hd + B + rows_max * hd + 2 * rows_max) * 4 + 63) & ~size_t(63);
    if (att_scratch_.size() != size_t(pool_.size())) att_scratch_ = std::vector<cpu::Scratch>(size_t(pool_.size()));
    for (auto& s : att_scratch_) s.get(per_thread);
    auto work = [&](int64_t item_begin, int64_t item_end, int ith) {
        float* base = reinterpret_cast<float*>(att_scratch_[size_t(ith)].get(per_thread));
        float* kt = base;
        float* vt = kt + B * hd;
        float* sc = vt + B * hd;
        float* acc = sc + B;
        float* mx = acc + size_t(rows_max) * hd;
        float* sum = mx + rows_max;
        for (int64_t item = item_begin; item < item_end; ++item) {
            if (cancelled()) return;  // Stop: the caller discards this evaluation
            const QBlock& qb = qblocks_[size_t(item / n_kv_head)];
            const int64_t t0 = qb.first;
            const int kh = int(item % n_kv_head);
            const int nt = int(qb.n);
            const int32_t* tab = tables ? reinterpret_cast<const int32_t*>(host_row(tables->table, qb.table_row)) : nullptr;
            int n_max = 0, lo_min = INT32_MAX;
            for (int i = 0; i < nt; ++i) {
                n_max = std::max(n_max, std::min(ps[t0 + i] + 1, n_kv));
                lo_min = std::min(lo_min, lo_of(t0 + i));
            }
            for (int r = 0; r < nt * group; ++r) { mx[r] = -INFINITY; sum[r] = 0; }
            std::fill(acc, acc + size_t(nt) * group * hd, 0.0f);
            // The item's rows over one tile (F32 cells, or F16 cells read as they are converted).
            auto rows_over_tile = [&](int c0, int cnt_max, const auto* kf, const auto* vf) {
                constexpr bool kF16 = std::is_same_v<std::remove_cv_t<std::remove_pointer_t<decltype(kf)>>, f16_t>;
                for (int i = 0; i < nt; ++i) {
                    const int end = std::min(cnt_max, std::min(ps[t0 + i] + 1, n_kv) - c0);  // causal: this token's cells
                    const int skip = std::max(0, lo_of(t0 + i) - c0);                         // window: cells below lo
                    const int cnt = end - skip;
                    if (cnt <= 0) continue;
                    const auto* kfs = kf + size_t(skip) * hd;
                    const auto* vfs = vf + size_t(skip) * hd;
                    for (int g = 0; g < group; ++g) {
                        const int r = i * group + g;
                        const float* qh = f32_row(q, t0 + i) + size_t(kh * group + g) * hd;
                        if constexpr (kF16) vo_.attn_scores_f16(qh, kfs, hd, cnt, scale, sc);
                        else vo_.attn_scores(qh, kfs, hd, cnt, scale, sc);
                        const float tmax = *std::max_element(sc, sc + cnt);
                        const float m_new = std::max(mx[r], tmax);
                        const float alpha = std::exp(mx[r] - m_new);  // 0 on the first tile (mx = -inf)
                        const float tsum = vo_.exp_sub_sum(sc, m_new, cnt);
                        sum[r] = sum[r] * alpha + tsum;
                        mx[r] = m_new;
                        if constexpr (kF16) vo_.attn_pv_f16(acc + size_t(r) * hd, alpha, sc, vfs, hd, cnt);
                        else vo_.attn_pv(acc + size_t(r) * hd, alpha, sc, vfs, hd, cnt);
                    }
                }
            };
            // Few rows (a decode token's query heads) read the F16 tile converting as they go, which
            // is bit-identical to converting it first (vec_ops.h); more rows share one conversion.
            const bool direct = f16 && nt * group <= 4 && hd % 8 == 0 && hd <= 512;
            for (int c0 = lo_min / B * B; c0 < n_max; c0 += B) {
                const int cnt_max = std::min(B, n_max - c0);
                // logical cells c0..c0+cnt-1 are contiguous in one physical block
                const size_t off = kv.offset(layer, tab ? tab[c0 / B] * B : c0, kh);
                if (direct) {
                    rows_over_tile(c0, cnt_max, reinterpret_cast<const f16_t*>(kv.k() + off), reinterpret_cast<const f16_t*>(kv.v() + off));
                } else if (f16) {
                    vo_.from_f16(reinterpret_cast<const f16_t*>(kv.k() + off), kt, int64_t(cnt_max) * hd);
                    vo_.from_f16(reinterpret_cast<const f16_t*>(kv.v() + off), vt, int64_t(cnt_max) * hd);
                    rows_over_tile(c0, cnt_max, static_cast<const float*>(kt), static_cast<const float*>(vt));
                } else {
                    rows_over_tile(c0, cnt_max, reinterpret_cast<const float*>(kv.k() + off), reinterpret_cast<const float*>(kv.v() + off));
                }
            }
            for (int i = 0; i < nt; ++i)
                for (int g = 0; g < group; ++g) {
                    const int r = i * group + g;
                    float* o = f32_row(out, t0 + i) + size_t(kh * group + g) * hd;
                    const float inv = sum[r] > 0 ? 1.0f / sum[r] : 0.0f;
                    for (int d = 0; d < hd; ++d) o[d] = acc[size_t(r) * hd + d] * inv;
                }
        }
    };
    pool_.parallel_for(n_items, 1, work);
}

}  // namespace

std::unique_ptr<Backend> create_cpu_backend(const BackendOptions& opt, cpu::IsaLevel isa) {
    int n = opt.n_threads > 0 ? opt.n_threads : cpu_physical_cores();
    n = std::clamp(n, 1, 256);
    return std::make_unique<CpuBackend>(n, isa);
}

std::unique_ptr<Backend> create_cpu_backend(const BackendOptions& opt) { return create_cpu_backend(opt, cpu::best_isa()); }

}  // namespace hearth
