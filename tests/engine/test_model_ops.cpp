// Reference backend ops that the model relies on, checked against hand-computed values: RoPE
// pairings (normal / NeoX), linear scaling, rope_freqs factors, YaRN's ramp and magnitude, KV copy,
// and RoPE metadata (scaling type/factor, rope_freqs.weight) read from GGUF.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/backend/host/host_buffer.h"
#include "engine/backend/host/host_kv_cache.h"
#include "engine/backend/host/rope_math.h"
#include "engine/backend/reference/reference_backend.h"
#include "engine/model/context.h"
#include "engine/model/hparams.h"
#include "engine/model/model.h"
#include "engine/testmodels/random_model.h"
#include "engine/sampling/rng.h"
#include "tests/engine/backend_op_checks.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;

namespace {

struct Scratch {
    std::unique_ptr<Backend> be = create_reference_backend();
    Tensor f32(int rows, int cols, const std::vector<float>& v) {
        auto b = be->alloc(size_t(rows) * cols * 4, BufferUsage::Activations);
        keep.push_back(*b);
        Tensor t = make_tensor(b->get(), 0, GgmlType::F32, rows, cols);
        EXPECT_TRUE(be->upload(t, v.data()).ok());
        return t;
    }
    Tensor i32(const std::vector<int32_t>& v) {
        auto b = be->alloc(v.size() * 4, BufferUsage::Activations);
        keep.push_back(*b);
        Tensor t = make_tensor(b->get(), 0, GgmlType::I32, 1, int64_t(v.size()));
        EXPECT_TRUE(be->upload(t, v.data()).ok());
        return t;
    }
    std::vector<float> read(const Tensor& t) {
        std::vector<float> v(static_cast<size_t>(t.rows * t.cols));
        EXPECT_TRUE(be->download(t, v.data()).ok());
        return v;
    }
    std::vector<BufferPtr> keep;
};

RopeParams rope4(RopeMode m) {
    RopeParams p;
    p.mode = m;
    p.head_dim = p.n_dims = 4;
    p.freq_base = 10000;
    return p;
}

}  // namespace

TEST(RopeOp, NormalAndNeoxPairings) {
    Scratch s;
    // head_dim 4: pair 0 has angle pos * 1, pair 1 has angle pos * base^(-1/2) = pos / 100.
    for (RopeMode m : {RopeMode::Normal, RopeMode::NeoX}) {
        Tensor x = s.f32(1, 4, {1, 0, 0, 0});
        Tensor pos = s.i32({1});
        s.be->rope(x, pos, rope4(m));
        auto v = s.read(x);
        const int partner = m == RopeMode::Normal ? 1 : 2;
        EXPECT_NEAR(v[0], std::cos(1.0), 1e-6);
        EXPECT_NEAR(v[size_t(partner)], std::sin(1.0), 1e-6);
        for (int i = 1; i < 4; ++i)
            if (i != partner) EXPECT_EQ(v[size_t(i)], 0.0f);
        // the second pair rotates by 1/100
        std::vector<float> init(4, 0.0f);
        init[m == RopeMode::Normal ? 2 : 1] = 1.0f;
        Tensor y = s.f32(1, 4, init);
        s.be->rope(y, pos, rope4(m));
        auto w = s.read(y);
        EXPECT_NEAR(w[m == RopeMode::Normal ? 2 : 1], std::cos(0.01), 1e-6);
        EXPECT_NEAR(w[3], std::sin(0.01), 1e-6);
    }
}

TEST(RopeOp, LinearScalingAndFreqFactors) {
    Scratch s;
    Rng r(1);
    std::vector<float> x(64);
    for (auto& v : x) v = float(r.normal());
    RopeParams base;
    base.mode = RopeMode::Normal;
    base.head_dim = base.n_dims = 16;
    base.freq_base = 500000;
    // freq_scale 0.5 at position 2q equals no scaling at position q
    Tensor a = s.f32(4, 16, x), b = s.f32(4, 16, x), c = s.f32(4, 16, x);
    Tensor p2 = s.i32({0, 6, 14, 40}), p1 = s.i32({0, 3, 7, 20});
    RopeParams half = base;
    half.freq_scale = 0.5f;
    s.be->rope(a, p2, half);
    s.be->rope(b, p1, base);
    auto va = s.read(a), vb = s.read(b);
    for (size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], 1e-5);
    // rope_freqs factors of 2 (divisors of theta) are the same as freq_scale 0.5
    Tensor ff = s.f32(1, 8, std::vector<float>(8, 2.0f));
    RopeParams with_ff = base;
    with_ff.freq_factors = &ff;
    s.be->rope(c, p2, with_ff);
    auto vc = s.read(c);
    for (size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(vc[i], va[i], 1e-5);
}

TEST(RopeOp, YarnRampAndMagnitude) {
    RopeParams p;
    p.head_dim = p.n_dims = 128;
    p.freq_base = 10000;
    p.freq_scale = 0.25f;
    p.ext_factor = 1.0f;
    p.n_ctx_orig = 4096;
    double dims[2];
    rope_math::yarn_corr_dims(p, dims);
    // ggml: corr_dim(n_rot) = n_dims * ln(n_ctx_orig / (n_rot * 2π)) / (2 ln base), floor/ceil, clamped
    auto cd = [&](double n_rot) { return 128 * std::log(4096 / (n_rot * 2 * M_PI)) / (2 * std::log(10000.0)); };
    EXPECT_EQ(dims[0], std::max(0.0, std::floor(cd(32))));
    EXPECT_EQ(dims[1], std::min(127.0, std::ceil(cd(1))));
    for (int i : {0, 5, 63}) {
        const double extrap = std::pow(10000.0, -2.0 * i / 128), interp = 0.25 * extrap;
        const double got = rope_math::angle_per_pos(p, i, nullptr);
        if (i < dims[0]) EXPECT_NEAR(got, extrap, 1e-12);   // high frequencies: extrapolated
        if (i > dims[1]) EXPECT_NEAR(got, interp, 1e-12);   // low frequencies: interpolated
    }
    EXPECT_NEAR(rope_math::magnitude(p), 1.0 + 0.1 * std::log(4.0), 1e-9);
    p.ext_factor = 0;
    EXPECT_NEAR(rope_math::magnitude(p), 1.0, 1e-12);
    // LongRoPE's attn_factor applies without YaRN too (ggml's rope_yarn: mscale = attn_factor)
    p.attn_factor = 1.1547f;
    EXPECT_NEAR(rope_math::magnitude(p), 1.1547f, 1e-12);
}

// The reference rope with attn_factor a is a times the rotation without it (ext_factor 0, factors).
TEST(RopeOp, AttnFactorScalesWithoutYarn) {
    Scratch s;
    Rng r(2);
    std::vector<float> x(64);
    for (auto& v : x) v = float(r.normal());
    RopeParams base;
    base.mode = RopeMode::NeoX;
    base.head_dim = base.n_dims = 16;
    base.freq_base = 10000;
    Tensor ff = s.f32(1, 8, {1.0f, 1.25f, 1.6f, 2.2f, 3.5f, 6.0f, 12.0f, 24.0f});
    base.freq_factors = &ff;
    RopeParams scaled = base;
    scaled.attn_factor = 1.1547f;
    Tensor a = s.f32(4, 16, x), b = s.f32(4, 16, x);
    Tensor pos = s.i32({0, 5, 63, 200});
    s.be->rope(a, pos, base);
    s.be->rope(b, pos, scaled);
    auto va = s.read(a), vb = s.read(b);
    for (size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(vb[i], 1.1547f * va[i], 1e-5);
}

TEST(KvCacheOp, CopyAndLayout) {
    auto be = create_reference_backend();
    KvCacheDesc d{2, 2, 8, 64, GgmlType::F32};
    auto a = be->create_kv_cache(d), b = be->create_kv_cache(d);
    ASSERT_TRUE(a.ok() && b.ok());
    auto& ha = static_cast<HostKvCache&>(**a);
    auto& hb = static_cast<HostKvCache&>(**b);
    // layout contract of backend.h: ((((l * n_blocks + c/32) * n_kv_head + h) * 32 + c%32) * head_dim + d) * elt
    EXPECT_EQ(ha.offset(1, 33, 1), size_t((((1 * 2 + 1) * 2 + 1) * 32 + 1) * 8) * 4);
    const size_t bytes = 2 * ha.layer_bytes();
    for (size_t i = 0; i < bytes; ++i) ha.k()[i] = ha.v()[i] = uint8_t(i * 7 + 1);
    std::memset(hb.k(), 0, bytes);
    std::memset(hb.v(), 0, bytes);
    be->kv_copy(**a, **b, 40);
    std::vector<float> x(8), y(8);
    for (int l = 0; l < 2; ++l)
        for (int c = 0; c < 64; ++c)
            for (int h = 0; h < 2; ++h) {
                const size_t off = ha.offset(l, c, h);
                const bool copied = c < 40;
                EXPECT_EQ(std::memcmp(ha.k() + off, hb.k() + off, 32) == 0, copied) << l << " " << c << " " << h;
                EXPECT_EQ(std::memcmp(ha.v() + off, hb.v() + off, 32) == 0, copied);
            }
}

TEST(HParams, RopeScalingMetadata) {
    const std::string path = test::temp_file("hp.gguf");
    ASSERT_TRUE(write_random_llama_model(path, RandomModelShape{}, GgmlType::F32, 1).ok());
    auto base = gguf::File::open(path);
    ASSERT_TRUE(base.ok());
    auto with = [&](const std::function<void(gguf::Writer&)>& edit) -> Result<ModelHParams> {
        gguf::Writer w;
        w.copy_metadata_from(**base);
        edit(w);
        const auto bytes = w.to_bytes();
        auto keep = std::make_shared<std::vector<uint8_t>>(bytes);
        auto f = gguf::File::from_memory(keep->data(), keep->size());
        if (!f.ok()) return f.status();
        return read_hparams(**f);
    };
    auto h = with([](gguf::Writer&) {});
    ASSERT_TRUE(h.ok()) << h.message();
    EXPECT_EQ(h->rope.mode, RopeMode::Normal);
    EXPECT_EQ(h->rope.freq_scale, 1.0f);
    EXPECT_EQ(h->head_dim, 16);
    h = with([](gguf::Writer& w) {
        w.set_string("llama.rope.scaling.type", "linear");
        w.set_f32("llama.rope.scaling.factor", 4.0f);
    });
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->rope.freq_scale, 0.25f);
    EXPECT_EQ(h->rope.ext_factor, 0.0f);
    h = with([](gguf::Writer& w) {
        w.set_string("llama.rope.scaling.type", "yarn");
        w.set_f32("llama.rope.scaling.factor", 8.0f);
        w.set_u32("llama.rope.scaling.original_context_length", 2048);
    });
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->rope.freq_scale, 0.125f);
    EXPECT_EQ(h->rope.ext_factor, 1.0f);
    EXPECT_EQ(h->rope.n_ctx_orig, 2048);
    h = with([](gguf::Writer& w) { w.set_string("llama.rope.scaling.type", "longrope"); });
    EXPECT_FALSE(h.ok());
    // rope.scaling.attn_factor (llama.cpp's converter writes it for Phi-3 LongRoPE) multiplies the
    // magnitude, on top of YaRN's yarn_attn_factor; it must be a positive number.
    h = with([](gguf::Writer& w) { w.set_f32("llama.rope.scaling.attn_factor", 1.1547f); });
    ASSERT_TRUE(h.ok()) << h.message();
    EXPECT_EQ(h->rope.attn_factor, 1.1547f);
    EXPECT_EQ(h->rope.ext_factor, 0.0f);
    h = with([](gguf::Writer& w) {
        w.set_string("llama.rope.scaling.type", "yarn");
        w.set_f32("llama.rope.scaling.factor", 4.0f);
        w.set_f32("llama.rope.scaling.yarn_attn_factor", 0.5f);
        w.set_f32("llama.rope.scaling.attn_factor", 2.0f);
    });
    ASSERT_TRUE(h.ok()) << h.message();
    EXPECT_EQ(h->rope.attn_factor, 1.0f);
    h = with([](gguf::Writer& w) { w.set_f32("llama.rope.scaling.attn_factor", 0.0f); });
    EXPECT_FALSE(h.ok());
    EXPECT_NE(h.message().find("rope.scaling.attn_factor must be a positive number"), std::string::npos) << h.message();
    h = with([](gguf::Writer& w) { w.set_u32("llama.attention.head_count_kv", 3); });
    EXPECT_FALSE(h.ok());
    EXPECT_NE(h.message().find("head_count_kv"), std::string::npos);
    h = with([](gguf::Writer& w) { w.set_string("llama.embedding_length", "big"); });
    EXPECT_FALSE(h.ok());
    std::filesystem::remove(path);
}

// A Llama 3.1-style file with rope_freqs.weight: the factors are used (all-ones factors change
// nothing, others change the logits), and a wrongly sized factor tensor is an error naming it.
TEST(HParams, RopeFreqsTensorIsUsed) {
    const std::string src = test::temp_file("rf_src.gguf"), dst = test::temp_file("rf.gguf");
    ASSERT_TRUE(write_random_llama_model(src, RandomModelShape{}, GgmlType::F32, 5).ok());
    auto f = gguf::File::open(src);
    ASSERT_TRUE(f.ok());
    auto logits_with = [&](const std::vector<float>* factors, std::string* err) {
        gguf::Writer w;
        w.copy_metadata_from(**f);
        for (const auto& t : (*f)->tensors()) (void)w.add_tensor(t.name, t.type, t.dims, t.data, t.n_bytes);
        if (factors) (void)w.add_tensor("rope_freqs.weight", GgmlType::F32, {int64_t(factors->size())}, factors->data(), factors->size() * 4);
        std::vector<float> out;
        if (!w.write(dst).ok()) return out;
        auto g = gguf::File::open(dst);
        auto be = create_reference_backend();
        auto m = Model::load(**g, *be);
        if (!m.ok()) { *err = m.message(); return out; }
        auto ctx = ModelContext::create(**m, 64, GgmlType::F32);
        std::vector<int32_t> toks = {1, 300, 301, 302, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50};
        (void)(*ctx)->eval(toks.data(), int(toks.size()), 0, 1, &out);
        return out;
    };
    std::string err;
    const auto plain = logits_with(nullptr, &err);
    std::vector<float> ones(8, 1.0f), fac = {1, 1, 2, 4, 8, 8, 8, 8}, wrong(5, 1.0f);
    const auto with_ones = logits_with(&ones, &err);
    const auto with_fac = logits_with(&fac, &err);
    ASSERT_FALSE(plain.empty());
    ASSERT_EQ(plain.size(), with_ones.size());
    ASSERT_EQ(plain.size(), with_fac.size());
    double d1 = 0, d2 = 0;
    for (size_t i = 0; i < plain.size(); ++i) {
        d1 = std::max(d1, std::fabs(double(plain[i]) - with_ones[i]));
        d2 = std::max(d2, std::fabs(double(plain[i]) - with_fac[i]));
    }
    EXPECT_EQ(d1, 0.0);
    EXPECT_GT(d2, 1e-3);
    EXPECT_TRUE(logits_with(&wrong, &err).empty());
    EXPECT_NE(err.find("rope_freqs.weight"), std::string::npos) << err;
    std::filesystem::remove(src);
    std::filesystem::remove(dst);
}

// gelu_mul against values of PyTorch's gelu(approximate="tanh") (printed with torch 2.x, float64):
// gelu(1) = 0.8411919906082768, gelu(-1) = -0.15880800939172324, gelu(3) = 2.9963625677603833.
TEST(NewOps, GeluMulAndScaleByHand) {
    Scratch s;
    Tensor g = s.f32(1, 4, {1.0f, -1.0f, 3.0f, 0.0f});
    Tensor u = s.f32(1, 4, {1.0f, 2.0f, -1.0f, 5.0f});
    s.be->gelu_mul(g, u, g);
    auto v = s.read(g);
    EXPECT_NEAR(v[0], 0.8411919906082768, 1e-7);
    EXPECT_NEAR(v[1], 2 * -0.15880800939172324, 1e-7);
    EXPECT_NEAR(v[2], -2.9963625677603833, 1e-6);
    EXPECT_EQ(v[3], 0.0f);
    s.be->scale(u, 0.5f);
    EXPECT_EQ(s.read(u), (std::vector<float>{0.5f, 1.0f, -0.5f, 2.5f}));
}

// The reference's sliding window, checked without trusting its own window code: window 1 returns
// V of the query's own cell; a window covering 0..p equals global attention; and window w at
// position p equals global attention over a second cache holding only cells p-w+1..p (attention
// does not rotate keys, so where the cells sit does not matter). F32 cache: exact copies.
TEST(NewOps, ReferenceSlidingWindowByConstruction) {
    Scratch s;
    opcheck::Twin tw{*s.be, *s.be, {}};
    const int hd = 16, n_kv_head = 2, n_head = 4, n_cells = 90;
    for (int w : {1, 5, 32}) {
        opcheck::KvPair kv = opcheck::filled_kv(tw, GgmlType::F32, n_kv_head, hd, n_cells, {0, w, 200}, 3);
        ASSERT_TRUE(kv.b);
        for (int p : {0, 3, 40, 89}) {
            Tensor q = s.f32(1, n_head * hd, opcheck::randn(size_t(n_head * hd), uint32_t(p)));
            Tensor pos = s.i32({p});
            const std::vector<float> zeros(size_t(n_head * hd), 0.0f);
            Tensor local = s.f32(1, n_head * hd, zeros), wide = s.f32(1, n_head * hd, zeros);
            s.be->attention(q, *kv.b, 1, pos, n_cells, 0.3f, local);
            s.be->attention(q, *kv.b, 2, pos, n_cells, 0.3f, wide);  // window 200 > p + 1: all of 0..p
            auto& big = static_cast<const HostKvCache&>(*kv.b);
            // Global attention of q over cells first..p of `layer`, copied to positions 0.. of a fresh cache.
            auto global_over = [&](int layer, int first) {
                const int k = p - first + 1;
                KvCacheDesc d = kv.b->desc();
                d.n_layer = 1;
                d.window.clear();
                auto small = s.be->create_kv_cache(d);
                EXPECT_TRUE(small.ok());
                auto& dst = static_cast<HostKvCache&>(**small);
                for (int c = 0; c < k; ++c)
                    for (int h = 0; h < n_kv_head; ++h) {
                        std::memcpy(dst.k() + dst.offset(0, c, h), big.k() + big.offset(layer, first + c, h), size_t(hd) * 4);
                        std::memcpy(dst.v() + dst.offset(0, c, h), big.v() + big.offset(layer, first + c, h), size_t(hd) * 4);
                    }
                Tensor out = s.f32(1, n_head * hd, zeros);
                Tensor pos2 = s.i32({k - 1});
                s.be->attention(q, **small, 0, pos2, k, 0.3f, out);
                return s.read(out);
            };
            const auto lv = s.read(local), wv = s.read(wide);
            const auto ev = global_over(1, std::max(0, p - w + 1)), gv = global_over(2, 0);
            for (size_t i = 0; i < ev.size(); ++i) ASSERT_NEAR(lv[i], ev[i], 1e-6) << "window " << w << " p " << p;
            for (size_t i = 0; i < gv.size(); ++i) ASSERT_NEAR(wv[i], gv[i], 1e-6) << "window 200 at p " << p;
            if (w == 1) {  // softmax over one cell: V of cell p itself, per head
                std::vector<float> vrow(static_cast<size_t>(hd));
                for (int h = 0; h < n_head; ++h) {
                    std::memcpy(vrow.data(), big.v() + big.offset(1, p, h / (n_head / n_kv_head)), size_t(hd) * 4);
                    for (int e = 0; e < hd; ++e) ASSERT_EQ(lv[size_t(h * hd + e)], vrow[size_t(e)]);
                }
            }
        }
    }
}

// The reference's own table: every op, every type dequantize_row knows, no integer "weights".
TEST(NewOps, ReferenceSupportsOpClaims) {
    auto a = create_reference_backend(), b = create_reference_backend();
    opcheck::Twin tw{*a, *b, {}};
    opcheck::check_supports_op_claims(tw);
}
