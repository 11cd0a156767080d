// Backend interface on Vulkan compute: each op validates what it needs, resolves its tensors to
// storage-buffer windows, splits work that does not fit one window (big weights, long batches)
// into pieces, and records dispatches on the device's op list (vk_device.h). Errors inside ops
// (which return void) are kept and reported by the next synchronize() / download().
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/backend/host/rope_math.h"
#include "engine/backend/vulkan/vk_device.h"
#include "engine/backend/vulkan/vk_instance.h"
#include "engine/backend/vulkan/vulkan_backend.h"

namespace hearth {

namespace {

using vk::Binding;

// Byte span a tensor view really touches (its last row need not extend to a full stride).
size_t span(const Tensor& t) {
    if (t.rows <= 0) return 0;
    return size_t(t.rows - 1) * t.row_stride + row_bytes(t.type, t.cols);
}

const char* shader_type(GgmlType t) {
    switch (t) {
        case GgmlType::F32: return "f32";
        case GgmlType::F16: return "f16";
        case GgmlType::Q8_0: return "q8_0";
        case GgmlType::Q4_0: return "q4_0";
        case GgmlType::Q4_1: return "q4_1";
        case GgmlType::Q5_0: return "q5_0";
        case GgmlType::Q5_1: return "q5_1";
        case GgmlType::Q4_K: return "q4_k";
        case GgmlType::Q5_K: return "q5_k";
        case GgmlType::Q6_K: return "q6_k";
        default: return nullptr;
    }
}

// Grid for shaders indexing rows by linear_group(): x up to 65535, the rest in y.
void grid_linear(uint64_t n, uint32_t& gx, uint32_t& gy) {
    gx = uint32_t(std::min<uint64_t>(n, 65535));
    gy = uint32_t((n + 65534) / 65535);
}
// Grid for shaders taking rows from (y + z * ny).
void grid_rows(uint64_t rows, uint32_t& gy, uint32_t& gz) {
    gy = uint32_t(std::min<uint64_t>(rows, 65535));
    gz = uint32_t((rows + 65534) / 65535);
}
uint32_t ceil_div(uint64_t a, uint64_t b) { return uint32_t((a + b - 1) / b); }

class VkKvCache final : public KvCache {
public:
    explicit VkKvCache(const KvCacheDesc& d) : KvCache(d) {}
    size_t elt() const { return desc_.type == GgmlType::F16 ? 2 : 4; }
    size_t layer_bytes() const { return size_t(desc_.n_blocks()) * desc_.n_kv_head * kKvBlockTokens * desc_.head_dim * elt(); }
    std::vector<BufferPtr> k, v;  // one buffer per layer (each well under a binding window)
};

class VulkanBackend final : public Backend {
public:
    VulkanBackend(std::shared_ptr<vk::Device> dev, DeviceInfo info) : dev_(std::move(dev)), info_(std::move(info)) {}
    ~VulkanBackend() override {
        scratch_.reset();
        q8_scratch_.reset();
        attn_scratch_.reset();
        norm_scratch_.reset();
        conv_scratch_.reset();
        (void)dev_->flush();
    }
    const DeviceInfo& device() const override { return info_; }
    vk::Device& dev() const { return *dev_; }

    Result<BufferPtr> alloc(size_t bytes, BufferUsage) override { return dev_->create_buffer(bytes); }
    Result<BufferPtr> import_host(const void* data, size_t bytes) override {
        auto b = dev_->create_buffer(bytes);
        if (!b.ok()) return b;
        HEARTH_RETURN_IF_ERROR(dev_->write(b->get(), 0, data, bytes));
        HEARTH_RETURN_IF_ERROR(dev_->flush());
        return b;
    }
    Status upload(const Tensor& dst, const void* src) override { return dev_->write(dst.buf, dst.offset, src, dst.bytes()); }
    Status download(const Tensor& src, void* dst) override { return dev_->read(src.buf, src.offset, dst, src.bytes()); }
    Status synchronize() override { return dev_->flush(); }

    Result<std::unique_ptr<KvCache>> create_kv_cache(const KvCacheDesc& desc) override {
        if (desc.type != GgmlType::F16 && desc.type != GgmlType::F32) return make_error("Vulkan: KV cache type must be F16 or F32");
        if (desc.head_dim <= 0 || desc.head_dim % 2 || desc.head_dim > 256)
            return make_error("Vulkan: head_dim " + std::to_string(desc.head_dim) + " is not supported (even, at most 256)");
        if (desc.n_layer <= 0 || desc.n_kv_head <= 0 || desc.n_ctx <= 0) return make_error("Vulkan: empty KV cache description");
        auto kv = std::make_unique<VkKvCache>(desc);
        for (int l = 0; l < desc.n_layer; ++l) {
            for (auto* list : {&kv->k, &kv->v}) {
                auto b = dev_->create_buffer(kv->layer_bytes());
                if (!b.ok()) return make_error(b.message() + " (KV cache layer " + std::to_string(l) + ")");
                dev_->fill_zero(b->get());
                list->push_back(*b);
            }
        }
        return std::unique_ptr<KvCache>(std::move(kv));
    }

    // ------------------------------------------------------------------ ops

    void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) override {
        const char* tn = shader_type(table.type);
        if (!tn) return err("get_rows: table type " + std::string(type_name(table.type)) + " is not supported");
        if (!f32(out, "get_rows") || !aligned(ids, "get_rows ids")) return;
        const int64_t n = ids.cols;
        if (n <= 0) return;
        const size_t piece = dev_->max_piece();
        if (table.row_stride > piece) return err("get_rows: one table row is larger than a binding window");
        const int64_t per = int64_t(piece / table.row_stride);
        const Binding bi = dev_->resolve(ids.buf, ids.offset, size_t(n) * 4);
        const Binding bo = dev_->resolve(out.buf, out.offset, span(out));
        for (int64_t r0 = 0; r0 < table.rows; r0 += per) {
            const int64_t nr = std::min(per, table.rows - r0);
            const Tensor tp = table.row_range(r0, nr);
            const Binding bw = dev_->resolve(tp.buf, tp.offset, span(tp));
            const Binding b[3] = {bw, bi, bo};
            const uint32_t pc[11] = {bw.delta, uint32_t(table.row_stride), bi.delta / 4, bo.delta / 4, uint32_t(out.row_stride / 4),
                                     uint32_t(table.cols), uint32_t(n), uint32_t(r0), uint32_t(r0 + nr), uint32_t(table.rows),
                                     r0 == 0 ? 1u : 0u};
            uint32_t gx, gy;
            grid_linear(uint64_t(n), gx, gy);
            dev_->dispatch(std::string("get_rows_") + tn, 3, b, pc, sizeof pc, gx, gy, 1);
        }
    }

    void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias) override {
        const char* tn = shader_type(w.type);
        if (!tn) return err("matmul: weight type " + std::string(type_name(w.type)) + " is not supported");
        if (!f32(x, "matmul x") || !f32(y, "matmul y") || (bias && !f32(*bias, "matmul bias"))) return;
        if (x.cols != w.cols || y.cols < w.rows || y.rows != x.rows) return err("matmul: shapes do not match");
        const int64_t n = x.rows;
        if (n <= 0 || w.rows <= 0) return;
        const size_t piece = dev_->max_piece();
        if (w.row_stride > piece || x.row_stride > piece || y.row_stride > piece) return err("matmul: a row is larger than a binding window");
        const int64_t rows_per = int64_t(piece / w.row_stride);
        const int64_t tok_per = int64_t(piece / std::max(x.row_stride, y.row_stride));
        const bool mv = n <= kMaxMvTokens;  // generation: matrix-vector with subgroup reductions
        const MatmulVariant v = matmul_variant(w.type, mv);
        std::string name;
        switch (v) {
            case MatmulVariant::MvF32: name = std::string("mul_mv_") + tn + sg(); break;
            case MatmulVariant::MvDot: name = std::string("mul_mvdot_") + tn + sg(); break;
            case MatmulVariant::MvInt8: name = std::string("mul_mvi8_") + tn + sg(); break;
            case MatmulVariant::MmF32: name = std::string("mul_mm_") + tn; break;
            case MatmulVariant::MmF16: name = std::string("mul_mm_") + tn + "_f16"; break;
        }
        const bool q8 = v == MatmulVariant::MvDot || v == MatmulVariant::MvInt8;
        Binding bq{};
        uint32_t q_stride = 0;
        if (q8) {  // quantize the (at most kMaxMvTokens) activation rows to 8-bit blocks once
            q_stride = uint32_t(x.cols / 32 * 10);
            const size_t need = size_t(n) * q_stride * 4;
            if (!ensure(q8_scratch_, need, "8-bit activation scratch")) return;
            bq = dev_->resolve(q8_scratch_.get(), 0, need);
            const Binding bx = bind(x);
            const Binding b[2] = {bx, bq};
            const uint32_t pc[5] = {bx.delta / 4, uint32_t(x.row_stride / 4), 0u, uint32_t(x.cols), uint32_t(n)};
            uint32_t gx, gy;
            grid_linear(ceil_div(uint64_t(n) * uint64_t(x.cols / 32), 64), gx, gy);
            dev_->dispatch("quantize_q8", 2, b, pc, sizeof pc, gx, gy, 1);
        }
        const int64_t tstep = mv ? std::min<int64_t>(kMaxMvTokens, tok_per) : tok_per;
        for (int64_t r0 = 0; r0 < w.rows; r0 += rows_per) {
            const int64_t nr = std::min(rows_per, w.rows - r0);
            const Tensor wp = w.row_range(r0, nr);
            const Binding bw = dev_->resolve(wp.buf, wp.offset, span(wp));
            Binding bb = bw;
            if (bias) bb = dev_->resolve(bias->buf, bias->offset + size_t(r0) * 4, size_t(nr) * 4);
            for (int64_t t0 = 0; t0 < n; t0 += tstep) {
                const int64_t nt = std::min(tstep, n - t0);
                const Tensor xp = x.row_range(t0, nt);
                const Binding bx = q8 ? bq : dev_->resolve(xp.buf, xp.offset, span(xp));
                const Binding by = dev_->resolve(y.buf, y.offset + size_t(t0) * y.row_stride + size_t(r0) * 4,
                                                 size_t(nt - 1) * y.row_stride + size_t(nr) * 4);
                const Binding b[4] = {bw, bx, by, bias ? bb : bx};
                // x offset / stride in floats, or (8-bit variants) in words of quantized blocks
                const uint32_t x_off = q8 ? uint32_t(t0) * q_stride : bx.delta / 4, x_stride = q8 ? q_stride : uint32_t(x.row_stride / 4);
                const uint32_t pc[11] = {bw.delta, uint32_t(w.row_stride), x_off, x_stride, by.delta / 4,
                                         uint32_t(y.row_stride / 4), bias ? bb.delta / 4 : 0u, bias ? 1u : 0u, uint32_t(nr),
                                         uint32_t(w.cols), uint32_t(nt)};
                if (mv) {
                    uint32_t gx, gy;
                    grid_linear(ceil_div(uint64_t(nr), 4), gx, gy);  // mul_mv*.comp: 4 rows per workgroup
                    dev_->dispatch(name, 4, b, pc, sizeof pc, gx, gy, 1);
                } else {
                    dev_->dispatch(name, 4, b, pc, sizeof pc, ceil_div(uint64_t(nr), 64), ceil_div(uint64_t(nt), 64), 1);
                }
            }
        }
    }

    void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) override {
        if (!f32(x, "rms_norm x") || !f32(weight, "rms_norm weight") || !f32(y, "rms_norm y")) return;
        const Binding b[3] = {bind(x), bind(weight), bind(y)};
        struct { uint32_t x_off, x_stride, w_off, y_off, y_stride, ncols, nrows; float eps; } pc{
            b[0].delta / 4, uint32_t(x.row_stride / 4), b[1].delta / 4, b[2].delta / 4, uint32_t(y.row_stride / 4),
            uint32_t(x.cols), uint32_t(x.rows), eps};
        uint32_t gx, gy;
        grid_linear(uint64_t(x.rows), gx, gy);
        dev_->dispatch("rms_norm" + sg(), 3, b, &pc, sizeof pc, gx, gy, 1);
    }

    void rope(const Tensor& x, const Tensor& pos, const RopeParams& p) override {
        if (!f32(x, "rope x") || !aligned(pos, "rope pos")) return;
        if (p.head_dim <= 0 || p.n_dims <= 0 || p.n_dims > p.head_dim || p.n_dims % 2) return err("rope: bad head_dim / n_dims");
        const Binding bx = bind(x), bp = dev_->resolve(pos.buf, pos.offset, size_t(x.rows) * 4);
        Binding bf = bp;
        if (p.freq_factors) bf = dev_->resolve(p.freq_factors->buf, p.freq_factors->offset, size_t(p.n_dims / 2) * 4);
        double corr[2] = {0, 0};
        if (p.ext_factor != 0.0f) rope_math::yarn_corr_dims(p, corr);
        struct {
            uint32_t x_off, x_stride, pos_off, ff_off, has_ff, n_head, head_dim, n_dims, neox, ntok;
            float freq_base, freq_scale, ext_factor, mag, corr0, corr1;
        } pc{bx.delta / 4, uint32_t(x.row_stride / 4), bp.delta / 4, p.freq_factors ? bf.delta / 4 : 0u, p.freq_factors ? 1u : 0u,
             uint32_t(x.cols / p.head_dim), uint32_t(p.head_dim), uint32_t(p.n_dims), p.mode == RopeMode::NeoX ? 1u : 0u,
             uint32_t(x.rows), p.freq_base, p.freq_scale, p.ext_factor, float(rope_math::magnitude(p)), float(corr[0]), float(corr[1])};
        const Binding b[3] = {bx, bp, bf};
        uint32_t gy, gz;
        grid_rows(uint64_t(x.rows), gy, gz);
        dev_->dispatch("rope", 3, b, &pc, sizeof pc, ceil_div(uint64_t(pc.n_head) * (p.n_dims / 2), 64), gy, gz);
    }

    void kv_store(KvCache& kvb, int layer, const Tensor& k, const Tensor& v, const Tensor& pos) override {
        auto* kvp = dynamic_cast<VkKvCache*>(&kvb);
        if (!kvp) return err("kv_store: the KV cache belongs to another backend");
        auto& kv = *kvp;
        const auto& d = kv.desc();
        if (!f32(k, "kv_store k") || !f32(v, "kv_store v") || !aligned(pos, "kv_store pos")) return;
        if (layer < 0 || layer >= d.n_layer) return err("kv_store: layer out of range");
        const Binding b[5] = {bind(k), bind(v), dev_->resolve(pos.buf, pos.offset, size_t(k.rows) * 4), whole(kv.k[layer]),
                              whole(kv.v[layer])};
        const uint32_t pc[9] = {b[0].delta / 4, uint32_t(k.row_stride / 4), b[1].delta / 4, uint32_t(v.row_stride / 4), b[2].delta / 4,
                                uint32_t(d.n_kv_head), uint32_t(d.head_dim), uint32_t(d.n_blocks() * kKvBlockTokens), uint32_t(k.rows)};
        uint32_t gy, gz;
        grid_rows(uint64_t(k.rows), gy, gz);
        dev_->dispatch(kvname("kv_store_", kv), 5, b, pc, sizeof pc, ceil_div(uint64_t(d.n_kv_head) * d.head_dim / 2, 64), gy, gz);
    }

    void attention(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, int n_kv, float scale,
                   const Tensor& out) override {
        const auto* kvp = dynamic_cast<const VkKvCache*>(&kvb);
        if (!kvp) return err("attention: the KV cache belongs to another backend");
        const auto& kv = *kvp;
        const auto& d = kv.desc();
        if (!f32(q, "attention q") || !f32(out, "attention out") || !aligned(pos, "attention pos")) return;
        if (layer < 0 || layer >= d.n_layer) return err("attention: layer out of range");
        const int64_t n_head = q.cols / d.head_dim;
        if (n_head <= 0 || n_head % d.n_kv_head) return err("attention: n_head must be a multiple of n_kv_head");
        // n_kv is implied by the positions (cells 0..pos[t]); see attention.comp.
        const uint32_t n_cells = uint32_t(d.n_blocks() * kKvBlockTokens);
        std::string name = kvname("attention_", kv);
        if (kv.elt() == 2 && dev_->features().fp16) name += "_h";  // F16 K/V math
        // Generation over a long context: split the cells over workgroups (flash-decoding), then merge.
        // A local layer sees at most `window` cells: its splits divide those (from the window's first
        // cell), not the whole cache. Per layer, not per token, so the command buffer still replays.
        const uint32_t window = uint32_t(std::max(0, d.window_of(layer)));
        const uint32_t span_cells = window > 0 ? std::min(n_cells, window) : n_cells;
        const uint32_t chunk = attn_chunk(span_cells);
        const uint32_t n_split = ceil_div(span_cells, chunk);
        const bool split = q.rows <= kMaxMvTokens && n_split > 1;
        const Binding bo = bind(out);
        Binding b[5] = {bind(q), whole(kv.k[layer]), whole(kv.v[layer]), dev_->resolve(pos.buf, pos.offset, size_t(q.rows) * 4), bo};
        if (split) {
            const size_t need = size_t(q.rows) * size_t(n_head) * n_split * size_t(d.head_dim + 2) * 4;
            if (!ensure(attn_scratch_, need, "split attention scratch")) return;
            b[4] = dev_->resolve(attn_scratch_.get(), 0, need);
        }
        struct { uint32_t q_off, q_stride, o_off, o_stride, pos_off, n_head, n_kv_head, head_dim, n_ctx, ntok; float scale; uint32_t chunk, n_split, window; } pc{
            b[0].delta / 4, uint32_t(q.row_stride / 4), split ? 0u : bo.delta / 4, uint32_t(out.row_stride / 4), b[3].delta / 4,
            uint32_t(n_head), uint32_t(d.n_kv_head), uint32_t(d.head_dim), n_cells, uint32_t(q.rows), scale, chunk, n_split, window};
        if (!split) {
            uint32_t gy, gz;
            grid_rows(uint64_t(q.rows), gy, gz);
            dev_->dispatch(name + sg(), 5, b, &pc, sizeof pc, uint32_t(n_head), gy, gz);
            return;
        }
        dev_->dispatch(name + "_split" + sg(), 5, b, &pc, sizeof pc, uint32_t(n_head), n_split, uint32_t(q.rows));
        const Binding bm[2] = {b[4], bo};
        const uint32_t pm[6] = {bo.delta / 4, uint32_t(out.row_stride / 4), uint32_t(n_head), uint32_t(d.head_dim), n_split, uint32_t(q.rows)};
        dev_->dispatch("attention_merge", 2, bm, pm, sizeof pm, uint32_t(n_head), uint32_t(q.rows), 1);
    }

    // attention() over block tables: the same shader with PAGED (one workgroup per token and head,
    // no split: the batches this serves are many short sequences).
    void attention_paged(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, const KvTables& tables, int n_kv,
                         float scale, const Tensor& out) override {
        (void)n_kv;
        const auto* kvp = dynamic_cast<const VkKvCache*>(&kvb);
        if (!kvp) return err("attention: the KV cache belongs to another backend");
        const auto& kv = *kvp;
        const auto& d = kv.desc();
        if (!f32(q, "attention q") || !f32(out, "attention out") || !aligned(pos, "attention pos") ||
            !aligned(tables.table, "attention tables") || !aligned(tables.seq, "attention sequence ids"))
            return;
        if (layer < 0 || layer >= d.n_layer) return err("attention: layer out of range");
        const int64_t n_head = q.cols / d.head_dim;
        if (n_head <= 0 || n_head % d.n_kv_head) return err("attention: n_head must be a multiple of n_kv_head");
        std::string name = kvname("attention_", kv);
        if (kv.elt() == 2 && dev_->features().fp16) name += "_h";
        const Binding b[7] = {bind(q), whole(kv.k[layer]), whole(kv.v[layer]), dev_->resolve(pos.buf, pos.offset, size_t(q.rows) * 4),
                              bind(out), dev_->resolve(tables.table.buf, tables.table.offset, tables.table.bytes()),
                              dev_->resolve(tables.seq.buf, tables.seq.offset, size_t(q.rows) * 4)};
        struct {
            uint32_t q_off, q_stride, o_off, o_stride, pos_off, n_head, n_kv_head, head_dim, n_ctx, ntok;
            float scale;
            uint32_t chunk, n_split, window, tab_off, tab_stride, seq_off;
        } pc{b[0].delta / 4, uint32_t(q.row_stride / 4), b[4].delta / 4, uint32_t(out.row_stride / 4), b[3].delta / 4,
             uint32_t(n_head), uint32_t(d.n_kv_head), uint32_t(d.head_dim), uint32_t(d.n_blocks() * kKvBlockTokens), uint32_t(q.rows),
             scale, 0u, 1u, uint32_t(std::max(0, d.window_of(layer))), b[5].delta / 4, uint32_t(tables.table.row_stride / 4), b[6].delta / 4};
        uint32_t gy, gz;
        grid_rows(uint64_t(q.rows), gy, gz);
        dev_->dispatch(name + "_paged" + sg(), 7, b, &pc, sizeof pc, uint32_t(n_head), gy, gz);
    }

    void kv_shift_paged(KvCache& kvb, const Tensor& table, int keep, int discard, int n_used, const RopeParams& p) override {
        kv_shift_impl(kvb, &table, keep, discard, n_used, p);
    }

    void kv_shift(KvCache& kvb, int keep, int discard, int n_used, const RopeParams& p) override {
        kv_shift_impl(kvb, nullptr, keep, discard, n_used, p);
    }

    void kv_shift_impl(KvCache& kvb, const Tensor* table, int keep, int discard, int n_used, const RopeParams& p) {
        auto* kvp = dynamic_cast<VkKvCache*>(&kvb);
        if (!kvp) return err("kv_shift: the KV cache belongs to another backend");
        auto& kv = *kvp;
        const auto& d = kv.desc();
        const int count = n_used - keep - discard;
        if (discard <= 0 || count <= 0) return;
        if (keep < 0 || n_used > (table ? int(table->cols) : d.n_blocks()) * kKvBlockTokens) return err("kv_shift: cells out of range");
        if (table && !aligned(*table, "kv_shift table")) return;
        const size_t need = size_t(count) * d.n_kv_head * d.head_dim * 4;
        if (!ensure(scratch_, need, "kv_shift scratch")) return;
        Binding bf = whole(scratch_);
        if (p.freq_factors) bf = dev_->resolve(p.freq_factors->buf, p.freq_factors->offset, size_t(p.n_dims / 2) * 4);
        double corr[2] = {0, 0};
        if (p.ext_factor != 0.0f) rope_math::yarn_corr_dims(p, corr);
        const Binding bs = whole(scratch_);
        uint32_t gy, gz;
        grid_rows(uint64_t(count), gy, gz);
        const uint32_t gx = ceil_div(uint64_t(d.n_kv_head) * d.head_dim / 2, 64);
        for (int l = 0; l < d.n_layer; ++l) {
            for (int which = 0; which < 2; ++which) {
                const Binding bc = whole(which == 0 ? kv.k[l] : kv.v[l]);
                const Binding b[4] = {bc, bs, bf, table ? dev_->resolve(table->buf, table->offset, table->bytes()) : bs};
                for (uint32_t dir = 0; dir < 2; ++dir) {
                    struct {
                        uint32_t dir, rotate, cell0, count, n_kv_head, head_dim, n_dims, neox, has_ff, ff_off;
                        float delta, freq_base, freq_scale, ext_factor, corr0, corr1;
                        uint32_t tab_off;  // PAGED only (not pushed otherwise)
                    } pc{dir, which == 0 ? 1u : 0u, uint32_t(dir == 0 ? keep + discard : keep), uint32_t(count), uint32_t(d.n_kv_head),
                         uint32_t(d.head_dim), uint32_t(p.n_dims), p.mode == RopeMode::NeoX ? 1u : 0u, p.freq_factors ? 1u : 0u,
                         p.freq_factors ? bf.delta / 4 : 0u, -float(discard), p.freq_base, p.freq_scale, p.ext_factor,
                         float(corr[0]), float(corr[1]), table ? b[3].delta / 4 : 0u};
                    if (table) dev_->dispatch(kvname("kv_move_", kv) + "_paged", 4, b, &pc, sizeof pc, gx, gy, gz);
                    else dev_->dispatch(kvname("kv_move_", kv), 3, b, &pc, sizeof pc - 4, gx, gy, gz);
                }
            }
        }
    }

    void kv_copy(const KvCache& srcb, KvCache& dstb, int n) override {
        const auto* srcp = dynamic_cast<const VkKvCache*>(&srcb);
        auto* dstp = dynamic_cast<VkKvCache*>(&dstb);
        if (!srcp || !dstp) return err("kv_copy: a KV cache belongs to another backend");
        const auto& src = *srcp;
        auto& dst = *dstp;
        const auto& d = src.desc();
        if (n <= 0) return;
        if (dst.desc().n_layer != d.n_layer || dst.desc().n_kv_head != d.n_kv_head || dst.desc().head_dim != d.head_dim ||
            dst.desc().n_ctx != d.n_ctx || dst.desc().type != d.type)
            return err("kv_copy: the two KV caches have different shapes");
        n = std::min(n, d.n_blocks() * kKvBlockTokens);
        const size_t cell = size_t(d.head_dim) * src.elt();
        const size_t block = cell * kKvBlockTokens * d.n_kv_head;
        const int full = n / kKvBlockTokens, rest = n % kKvBlockTokens;
        for (int l = 0; l < d.n_layer; ++l)
            for (int which = 0; which < 2; ++which) {
                const Buffer* s = (which == 0 ? src.k[l] : src.v[l]).get();
                const Buffer* t = (which == 0 ? dst.k[l] : dst.v[l]).get();
                if (full) dev_->copy(s, 0, t, 0, block * full);
                for (int h = 0; rest && h < d.n_kv_head; ++h) {  // the partial block: slots 0..rest-1 of each head
                    const size_t off = block * full + size_t(h) * kKvBlockTokens * cell;
                    dev_->copy(s, off, t, off, cell * rest);
                }
            }
    }

    void silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) override { eltwise(2, gate, &up, out, 0.0f, "silu_mul"); }
    void add(const Tensor& a, const Tensor& b, const Tensor& out) override { eltwise(1, a, &b, out, 0.0f, "add"); }
    void scale_add(const Tensor& y, const Tensor& x, float s) override { eltwise(3, y, &x, y, s, "scale_add"); }
    void add_rows_scaled(const Tensor& y, const Tensor& x, const Tensor& ids, const Tensor& w) override {
        if (!f32(y, "add_rows_scaled") || !f32(x, "add_rows_scaled") || !f32(w, "add_rows_scaled") || !aligned(ids, "add_rows_scaled ids"))
            return;
        if (x.rows <= 0 || x.cols <= 0) return;
        const Binding by = bind(y), bx = bind(x);
        const Binding bi = dev_->resolve(ids.buf, ids.offset, size_t(x.rows) * 4), bw = dev_->resolve(w.buf, w.offset, size_t(x.rows) * 4);
        const Binding binds[4] = {by, bx, bi, bw};
        const uint32_t pc[8] = {by.delta / 4, uint32_t(y.row_stride / 4), bx.delta / 4, uint32_t(x.row_stride / 4),
                                bi.delta / 4, bw.delta / 4, uint32_t(x.cols), uint32_t(x.rows)};
        uint32_t gy, gz;
        grid_rows(uint64_t(x.rows), gy, gz);
        dev_->dispatch("add_rows_scaled", 4, binds, pc, sizeof pc, ceil_div(uint64_t(x.cols), 256), gy, gz);
    }
    void copy(const Tensor& src, const Tensor& dst) override { eltwise(0, src, nullptr, dst, 0.0f, "copy"); }
    void gelu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) override { eltwise(4, gate, &up, out, 0.0f, "gelu_mul"); }
    void scale(const Tensor& x, float s) override { eltwise(5, x, nullptr, x, s, "scale"); }

    // ---- the diffusion models' ops (engine/diffusion/)
    void mul(const Tensor& a, const Tensor& b, const Tensor& out) override { eltwise(6, a, &b, out, 0.0f, "mul"); }
    void activate(const Tensor& x, Activation act) override {
        const uint32_t op = act == Activation::Gelu ? 7u : act == Activation::QuickGelu ? 8u : 9u;
        eltwise(op, x, nullptr, x, 0.0f, "activate");
    }
    // Two copies into column views of `out` (eltwise.comp takes any row stride).
    void concat_cols(const Tensor& a, const Tensor& b, const Tensor& out) override {
        if (!f32(out, "concat_cols") || a.rows != out.rows || b.rows != out.rows || a.cols + b.cols != out.cols)
            return err("concat_cols: shapes do not match");
        Tensor left = out, right = out;
        left.cols = a.cols;
        right.cols = b.cols;
        right.offset += size_t(a.cols) * 4;
        eltwise(0, a, nullptr, left, 0.0f, "concat_cols");
        eltwise(0, b, nullptr, right, 0.0f, "concat_cols");
    }

    void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        if (!f32(x, "layer_norm x") || !f32(weight, "layer_norm weight") || !f32(bias, "layer_norm bias") || !f32(y, "layer_norm y")) return;
        if (x.rows <= 0 || x.cols <= 0) return;
        const Binding b[4] = {bind(x), bind(weight), bind(bias), bind(y)};
        struct { uint32_t x_off, x_stride, w_off, b_off, y_off, y_stride, ncols, nrows; float eps; } pc{
            b[0].delta / 4, uint32_t(x.row_stride / 4), b[1].delta / 4, b[2].delta / 4, b[3].delta / 4, uint32_t(y.row_stride / 4),
            uint32_t(x.cols), uint32_t(x.rows), eps};
        uint32_t gx, gy;
        grid_linear(uint64_t(x.rows), gx, gy);
        dev_->dispatch("layer_norm" + sg(), 4, b, &pc, sizeof pc, gx, gy, 1);
    }

    // group_norm.comp twice: per-group statistics into a scratch buffer, then the normalization.
    void group_norm(const Tensor& x, int n_groups, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        if (!f32(x, "group_norm x") || !f32(weight, "group_norm weight") || !f32(bias, "group_norm bias") || !f32(y, "group_norm y")) return;
        if (n_groups <= 0 || x.cols % n_groups) return err("group_norm: channels are not a multiple of the groups");
        if (x.rows <= 0) return;
        if (!ensure(norm_scratch_, size_t(n_groups) * 8, "group_norm statistics")) return;
        const Binding b[5] = {bind(x), bind(weight), bind(bias), bind(y), whole(norm_scratch_)};
        struct { uint32_t pass, x_off, x_stride, w_off, b_off, y_off, y_stride, ncols, nrows, per; float eps; } pc{
            0u, b[0].delta / 4, uint32_t(x.row_stride / 4), b[1].delta / 4, b[2].delta / 4, b[3].delta / 4,
            uint32_t(y.row_stride / 4), uint32_t(x.cols), uint32_t(x.rows), uint32_t(x.cols / n_groups), eps};
        const std::string name = "group_norm" + sg();
        uint32_t gx, gy;
        grid_linear(uint64_t(n_groups), gx, gy);
        dev_->dispatch(name, 5, b, &pc, sizeof pc, gx, gy, 1);
        pc.pass = 1u;
        uint32_t ry, rz;
        grid_rows(uint64_t(x.rows), ry, rz);
        dev_->dispatch(name, 5, b, &pc, sizeof pc, ceil_div(uint64_t(x.cols), 256), ry, rz);
    }

    void upsample_nearest(const Tensor& x, int height, int width, int out_height, int out_width, const Tensor& y) override {
        if (!f32(x, "upsample x") || !f32(y, "upsample y")) return;
        if (height <= 0 || width <= 0 || out_height <= 0 || out_width <= 0 || x.rows != int64_t(height) * width ||
            y.rows != int64_t(out_height) * out_width || y.cols != x.cols)
            return err("upsample_nearest: shapes do not match");
        const Binding b[2] = {bind(x), bind(y)};
        // the same float scale nearest_source() computes
        struct { uint32_t x_off, x_stride, y_off, y_stride, ncols, h, w, oh, ow; float sy, sx; } pc{
            b[0].delta / 4, uint32_t(x.row_stride / 4), b[1].delta / 4, uint32_t(y.row_stride / 4), uint32_t(x.cols),
            uint32_t(height), uint32_t(width), uint32_t(out_height), uint32_t(out_width),
            float(height) / float(out_height), float(width) / float(out_width)};
        uint32_t gy, gz;
        grid_rows(uint64_t(y.rows), gy, gz);
        dev_->dispatch("upsample_nearest", 2, b, &pc, sizeof pc, ceil_div(uint64_t(x.cols), 256), gy, gz);
    }

    // A 1×1 stride-1 convolution is the matmul itself; otherwise im2col.comp unrolls bands of output
    // pixels into a scratch matrix and the matmul path (mul_mm / mul_mv, F32 or F16 kernel) multiplies
    // the kernel by it. Bands keep the scratch within one binding piece (and at most 64 MiB).
    void conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, const Tensor& y) override {
        if (!f32(x, "conv2d x") || !f32(y, "conv2d y") || (bias && !f32(*bias, "conv2d bias"))) return;
        if (w.type != GgmlType::F32 && w.type != GgmlType::F16) return err("conv2d: the kernel must be F32 or F16");
        const int64_t kc = int64_t(g.kernel) * g.kernel * x.cols, n_out = int64_t(g.out_height()) * g.out_width();
        if (g.kernel <= 0 || g.stride <= 0 || g.pad < 0 || g.out_height() <= 0 || g.out_width() <= 0 ||
            x.rows != int64_t(g.height) * g.width || w.cols != kc || y.rows != n_out || y.cols != w.rows)
            return err("conv2d: shapes do not match");
        if (g.pointwise()) return matmul(w, x, y, bias);
        const size_t budget = std::min<size_t>(dev_->max_piece(), size_t(64) << 20);
        const size_t row = size_t(kc) * 4;
        if (row > budget) return err("conv2d: one unrolled pixel is larger than a binding window");
        const int64_t band = std::min<int64_t>(n_out, int64_t(budget / row));
        if (!ensure(conv_scratch_, size_t(band) * row, "conv2d scratch")) return;
        const Binding bx = bind(x), bc = dev_->resolve(conv_scratch_.get(), 0, size_t(band) * row);
        const Binding b[2] = {bx, bc};
        for (int64_t p0 = 0; p0 < n_out; p0 += band) {
            const int64_t np = std::min(band, n_out - p0);
            const uint32_t pc[13] = {bx.delta / 4, uint32_t(x.row_stride / 4), 0u, uint32_t(kc), uint32_t(x.cols), uint32_t(g.height),
                                     uint32_t(g.width), uint32_t(g.out_width()), uint32_t(g.kernel), uint32_t(g.stride), uint32_t(g.pad),
                                     uint32_t(p0), uint32_t(np)};
            uint32_t gy, gz;
            grid_rows(uint64_t(np), gy, gz);
            dev_->dispatch("im2col", 2, b, pc, sizeof pc, ceil_div(uint64_t(kc), 256), gy, gz);
            // every op waits for the previous one (vk_device.cpp's barriers): the next band's im2col
            // cannot overwrite the scratch before this matmul has read it
            matmul(w, make_tensor(conv_scratch_.get(), 0, GgmlType::F32, np, kc), y.row_range(p0, np), bias);
        }
    }

    void attention_qkv(const Tensor& q, const Tensor& k, const Tensor& v, int n_head, float scale, bool causal,
                       const Tensor& out) override {
        if (!f32(q, "attention_qkv q") || !f32(k, "attention_qkv k") || !f32(v, "attention_qkv v") || !f32(out, "attention_qkv out")) return;
        if (n_head <= 0 || q.cols % n_head || k.cols != q.cols || v.cols != q.cols || out.cols != q.cols || v.rows != k.rows ||
            out.rows != q.rows || (causal && q.rows != k.rows))
            return err("attention_qkv: shapes do not match");
        const int64_t d = q.cols / n_head;
        if (d > 512) return err("attention_qkv: head size " + std::to_string(d) + " is over 512 (attention_qkv.comp's MAXD)");
        if (q.rows <= 0 || k.rows <= 0) return;
        const Binding b[4] = {bind(q), bind(k), bind(v), bind(out)};
        struct { uint32_t q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride, head_dim, n_q, n_kv, causal; float scale; } pc{
            b[0].delta / 4, uint32_t(q.row_stride / 4), b[1].delta / 4, uint32_t(k.row_stride / 4), b[2].delta / 4,
            uint32_t(v.row_stride / 4), b[3].delta / 4, uint32_t(out.row_stride / 4), uint32_t(d), uint32_t(q.rows), uint32_t(k.rows),
            causal ? 1u : 0u, scale};
        uint32_t gy, gz;
        grid_rows(uint64_t(q.rows), gy, gz);
        dev_->dispatch("attention_qkv" + sg(), 4, b, &pc, sizeof pc, uint32_t(n_head), gy, gz);
    }

    // Every op; get_rows and matmul for the weight types with shaders (shader_type: the same table
    // their dispatch uses, so the claim cannot drift). No BF16, Q2_K/Q3_K or Q8_1/Q8_K shaders.
    bool supports_op(Op op, GgmlType type) const override {
        if (op == Op::GetRows || op == Op::Matmul) return shader_type(type) != nullptr;
        if (op == Op::MatmulAdd) return false;  // the layer adds the residual after the product
        return true;
    }

    void softmax_rows(const Tensor& x) override {
        if (!f32(x, "softmax")) return;
        const Binding b[1] = {bind(x)};
        const uint32_t pc[4] = {b[0].delta / 4, uint32_t(x.row_stride / 4), uint32_t(x.cols), uint32_t(x.rows)};
        uint32_t gx, gy;
        grid_linear(uint64_t(x.rows), gx, gy);
        dev_->dispatch("softmax" + sg(), 1, b, pc, sizeof pc, gx, gy, 1);
    }

    uint64_t memory_free() const override { return dev_->memory_free(); }
    uint64_t max_tensor_bytes() const override { return dev_->max_piece(); }

    // Which shader family a matmul runs (public for tests through vk::matmul_variant_name).
    enum class MatmulVariant { MvF32, MvDot, MvInt8, MmF32, MmF16 };
    MatmulVariant matmul_variant(GgmlType t, bool mv) const {
        const auto& f = dev_->features();
        const bool quantized = t != GgmlType::F32 && t != GgmlType::F16;
        if (mv) {
            if (quantized && f.dot) return MatmulVariant::MvDot;    // packed 4x8-bit integer dot products
            if (quantized && f.int8) return MatmulVariant::MvInt8;  // 8-bit storage + integer arithmetic
            return MatmulVariant::MvF32;
        }
        // F16 tiles for F16 and block weights; F32 weights keep F32 math (their owner chose precision)
        return f.fp16 && t != GgmlType::F32 ? MatmulVariant::MmF16 : MatmulVariant::MmF32;
    }

private:
    static constexpr int64_t kMaxMvTokens = 4;  // mul_mv*.comp MAXT
    std::string sg() const { return dev_->use_subgroup() ? "" : "_nosg"; }
    // Cells per split-attention workgroup: 128 (64 splits at most, so longer contexts get longer
    // chunks), or HEARTH_VULKAN_ATTN_CHUNK.
    uint32_t attn_chunk(uint32_t n_cells) const {
        if (dev_->attn_chunk()) return uint32_t(dev_->attn_chunk());
        return std::max<uint32_t>(128, (ceil_div(n_cells, 64) + 31) / 32 * 32);
    }
    // A scratch buffer of at least `bytes` (grown, never shrunk; replacing it flushes pending work
    // that uses the old one, see Device::release).
    bool ensure(BufferPtr& buf, size_t bytes, const char* what) {
        if (buf && buf->size() >= bytes) return true;
        buf.reset();
        auto b = dev_->create_buffer(std::max<size_t>(bytes, size_t(256) << 10));
        if (!b.ok()) { err(std::string(what) + ": " + b.message()); return false; }
        buf = *b;
        return true;
    }
    static std::string kvname(const char* base, const VkKvCache& kv) { return std::string(base) + (kv.elt() == 2 ? "f16" : "f32"); }
    void err(const std::string& m) { dev_->set_error("Vulkan: " + m); }
    bool f32(const Tensor& t, const char* what) {
        if (t.type != GgmlType::F32) { err(std::string(what) + ": expected an F32 tensor"); return false; }
        return aligned(t, what);
    }
    bool aligned(const Tensor& t, const char* what) {
        if (t.offset % 4 || t.row_stride % 4) { err(std::string(what) + ": offset and row stride must be multiples of 4 bytes"); return false; }
        return true;
    }
    Binding bind(const Tensor& t) {
        Binding b = dev_->resolve(t.buf, t.offset, span(t));
        if (!b.ok && dev_->resolve(t.buf, 0, 4).ok) err("tensor of " + std::to_string(span(t)) + " bytes does not fit one binding window");
        return b;
    }
    Binding whole(const BufferPtr& b) { return dev_->resolve(b.get(), 0, b->size()); }

    void eltwise(uint32_t op, const Tensor& a, const Tensor* b, const Tensor& out, float s, const char* what) {
        if (!f32(a, what) || (b && !f32(*b, what)) || !f32(out, what)) return;
        if (a.rows <= 0 || a.cols <= 0) return;
        const Binding ba = bind(a), bo = bind(out);
        const Binding bb = b ? bind(*b) : ba;
        const Binding binds[3] = {ba, bb, bo};
        struct { uint32_t op, a_off, a_stride, b_off, b_stride, o_off, o_stride, ncols, nrows; float s; } pc{
            op, ba.delta / 4, uint32_t(a.row_stride / 4), bb.delta / 4, uint32_t((b ? b->row_stride : a.row_stride) / 4),
            bo.delta / 4, uint32_t(out.row_stride / 4), uint32_t(a.cols), uint32_t(a.rows), s};
        uint32_t gy, gz;
        grid_rows(uint64_t(a.rows), gy, gz);
        dev_->dispatch("eltwise", 3, binds, &pc, sizeof pc, ceil_div(uint64_t(a.cols), 256), gy, gz);
    }

    std::shared_ptr<vk::Device> dev_;
    DeviceInfo info_;
    BufferPtr scratch_;       // kv_shift
    BufferPtr q8_scratch_;    // 8-bit activations of the matrix-vector variants
    BufferPtr attn_scratch_;  // split attention partials
    BufferPtr norm_scratch_;  // group_norm's per-group mean and 1/std
    BufferPtr conv_scratch_;  // conv2d's unrolled pixels (one band)
};

}  // namespace

void list_vulkan_devices(DeviceList& out) {
    auto inst = vk::Instance::get();
    if (!inst.ok()) {
        out.notes.push_back(inst.message());
        return;
    }
    const auto& devs = (*inst)->devices();
    if (devs.empty()) out.notes.push_back("Vulkan: no device with Vulkan 1.1 compute was found");
    for (size_t i = 0; i < devs.size(); ++i) out.devices.push_back(devs[i].info(int(i)));
}

Result<std::unique_ptr<Backend>> create_vulkan_backend(int device, bool allow_cpu_implementation) {
    auto inst = vk::Instance::get();
    if (!inst.ok()) return inst.status();
    const auto& devs = (*inst)->devices();
    if (devs.empty()) return make_error("Vulkan: no device with Vulkan 1.1 compute was found");
    int pick = device;
    if (device < 0) {
        pick = 0;  // devices are sorted by preference
        if (devs[0].type == "cpu-implementation" && !allow_cpu_implementation)
            return make_error("Vulkan: only a CPU implementation (" + std::string(devs[0].props.deviceName) +
                              ") is available; ask for it with --backend vulkan");
    } else if (device >= int(devs.size())) {
        return make_error("Vulkan: no device " + std::to_string(device) + " (" + std::to_string(devs.size()) + " found; see hearth-cli devices)");
    }
    vk::PhysicalDevice pd = devs[size_t(pick)];
    pd.features = vk::apply_feature_mask(pd.hw);
    auto dev = vk::Device::create(*inst, pd);
    if (!dev.ok()) return dev.status();
    DeviceInfo info = pd.info(pick);
    info.memory_free = (*dev)->memory_free();  // with this backend's HEARTH_VULKAN_MAX_MEMORY cap
    return std::unique_ptr<Backend>(new VulkanBackend(*dev, std::move(info)));
}

vk::Enabled vk::enabled(const Backend& b) {
    Enabled e;
    if (const auto* vb = dynamic_cast<const VulkanBackend*>(&b)) {
        const auto& f = vb->dev().features();
        e = {true, f.fp16, f.int8, f.dot, f.subgroup};
    }
    return e;
}

uint64_t vk::shader_uses(const Backend& b, const std::string& shader) {
    const auto* vb = dynamic_cast<const VulkanBackend*>(&b);
    return vb ? vb->dev().shader_uses(shader) : 0;
}

vk::Stats vk::stats(const Backend& b) {
    Stats s;
    if (const auto* vb = dynamic_cast<const VulkanBackend*>(&b)) {
        s.submits = vb->dev().submits;
        s.recordings = vb->dev().recordings;
        s.replays = vb->dev().replays;
        s.allocated = vb->dev().allocated();
    }
    return s;
}

}  // namespace hearth
