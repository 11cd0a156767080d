#include "engine/testmodels/random_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/model/arch/arch.h"
#include "engine/model/manifest.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quant.h"
#include "engine/sampling/rng.h"
#include "engine/util/cpu_cores.h"
#include "engine/util/thread_pool.h"

namespace hearth {

namespace {

// The generated SentencePiece-style vocabulary (tokenizer.ggml.model = "llama").
void write_generated_vocab(gguf::Writer& w, int n_vocab, const std::vector<std::string>& extra) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};  // unknown, control, control
    char hex[8];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        tokens.push_back(hex);
        types.push_back(6);  // byte
    }
    tokens.push_back("\xE2\x96\x81");  // "▁", the SentencePiece space
    types.push_back(1);
    for (int c = 33; c < 127; ++c) {
        tokens.push_back(std::string(1, char(c)));
        types.push_back(1);
    }
    // "▁"-prefixed letter pairs and triples until the vocabulary is full.
    for (int len = 1; int(tokens.size()) < n_vocab && len <= 3; ++len) {
        int total = 1;
        for (int i = 0; i < len; ++i) total *= 26;
        for (int k = 0; k < total && int(tokens.size()) < n_vocab; ++k) {
            std::string s = "\xE2\x96\x81";
            for (int i = 0, v = k; i < len; ++i, v /= 26) s += char('a' + v % 26);
            tokens.push_back(s);
            types.push_back(1);
        }
    }
    while (int(tokens.size()) < n_vocab) {  // very large requests: numbered filler pieces
        tokens.push_back("\xE2\x96\x81w" + std::to_string(tokens.size()));
        types.push_back(1);
    }
    tokens.resize(size_t(n_vocab));
    types.resize(size_t(n_vocab));
    for (size_t i = 0; i < extra.size() && i < tokens.size(); ++i) tokens[tokens.size() - extra.size() + i] = extra[i];
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = types[i] == 1 ? -float(i) : 0.0f;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_f32_array("tokenizer.ggml.scores", scores);
    w.set_i32_array("tokenizer.ggml.token_type", types);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set_bool("tokenizer.ggml.add_eos_token", false);
}

GgmlType storage_type(GgmlType want, int64_t cols) {
    if (cols % traits(want).block_elems == 0) return want;
    return cols % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F32;
}

// Rng::normal() computed from the two raw draws it consumes (uniform() = bits >> 11 times 2^-53;
// Box-Muller), so the serial part of generating a tensor is only the cheap draws: the logs and
// cosines run on the pool next to the quantizer, and the bytes are those of the serial loop.
inline double normal_from_draws(uint64_t a, uint64_t b) {
    double u1 = double(a >> 11) * 0x1.0p-53;
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = double(b >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// Adds tensors to the writer as lazy ones: each is generated and quantized while write() streams
// the file (one tensor in memory at a time, never the whole model), in the order they were added,
// so the random stream — and the file — is the same as drawing everything up front. The rows of a
// matrix are transformed and quantized on a thread pool, a chunk of rows at a time.
class TensorMaker {
public:
    TensorMaker(gguf::Writer& w, uint64_t seed, const RandomModelShape& s)
        : w_(w), rng_(seed), shape_(s), pool_(cpu_physical_cores()) {}

    // dims {cols, rows} (or {cols, rows, experts}: stacked matrices): rows of `cols` values
    // N(0,1)*scale, stored as `type`.
    Status matrix(const std::string& name, const std::vector<int64_t>& dims, GgmlType type, double scale) {
        if (shape_.tensor_type) type = shape_.tensor_type(name, type);
        const int64_t cols = dims[0];
        int64_t rows = 1;
        for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
        const GgmlType st = storage_type(type, cols);
        return w_.add_tensor_lazy(name, st, dims, [this, cols, rows, st, scale](void* dst, size_t) {
            return fill_matrix(static_cast<uint8_t*>(dst), cols, rows, st, scale);
        });
    }
    Status vector(const std::string& name, int64_t n, double center, double spread, bool normal) {
        return w_.add_tensor_lazy(name, GgmlType::F32, {n}, [this, n, center, spread, normal](void* dst, size_t) {
            float* v = static_cast<float*>(dst);
            for (int64_t i = 0; i < n; ++i) v[i] = float(center + (normal ? rng_.normal() : (2 * rng_.uniform() - 1)) * spread);
            return Status{};
        });
    }

private:
    // Q2_K and Q3_K have no quantizer here (nothing in Hearth writes them; files come from
    // llama.cpp): their blocks are drawn as random bytes with each block's scale set so values
    // come out near N(0, scale²). Enough for placement and kernel tests of those types.
    Status fill_raw_k_blocks(uint8_t* dst, int64_t cols, int64_t rows, GgmlType type, double scale) {
        const size_t rb = row_bytes(type, cols);
        for (size_t i = 0; i < rb * size_t(rows); ++i) dst[i] = uint8_t(rng_.next() >> 56);
        const size_t nb = rb * size_t(rows) / size_t(traits(type).block_bytes);
        for (size_t b = 0; b < nb; ++b) {
            if (type == GgmlType::Q3_K) {  // value = d·(scale-32)·q, q in -4..3, |scale-32| up to 32
                auto* blk = reinterpret_cast<block_q3_K*>(dst + b * sizeof(block_q3_K));
                blk->d = f32_to_f16(float(scale / 40.0));
            } else {  // Q2_K: value = d·(scale&15)·q - dmin·(scale>>4), q in 0..3
                auto* blk = reinterpret_cast<block_q2_K*>(dst + b * sizeof(block_q2_K));
                blk->d = f32_to_f16(float(scale / 12.0));
                blk->dmin = f32_to_f16(float(scale / 10.0));
            }
        }
        return {};
    }

    Status fill_matrix(uint8_t* dst, int64_t cols, int64_t rows, GgmlType type, double scale) {
        const int64_t drawn = shape_.distinct_rows > 0 ? std::min<int64_t>(rows, shape_.distinct_rows) : rows;
        if (drawn < rows) {
            HEARTH_RETURN_IF_ERROR(fill_matrix_rows(dst, cols, drawn, type, scale));
            const size_t block = row_bytes(type, cols) * size_t(drawn);
            for (int64_t r = drawn; r < rows; r += drawn)
                std::memcpy(dst + row_bytes(type, cols) * size_t(r), dst,
                            std::min(block, row_bytes(type, cols) * size_t(rows - r)));
            return {};
        }
        return fill_matrix_rows(dst, cols, rows, type, scale);
    }

    Status fill_matrix_rows(uint8_t* dst, int64_t cols, int64_t rows, GgmlType type, double scale) {
        if (type == GgmlType::Q2_K || type == GgmlType::Q3_K) return fill_raw_k_blocks(dst, cols, rows, type, scale);
        const size_t rb = row_bytes(type, cols);
        const int64_t chunk = std::max<int64_t>(1, (int64_t(8) << 20) / (cols * 16));  // ~8 MiB of draws
        std::vector<uint64_t> draws(size_t(std::min(chunk, rows) * cols * 2));
        std::vector<std::vector<float>> tmp(size_t(pool_.size()), std::vector<float>(size_t(cols)));
        std::atomic<bool> failed{false};
        std::string error;
        std::mutex error_mu;
        for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
            const int64_t n = std::min(chunk, rows - r0);
            for (size_t i = 0; i < size_t(n * cols) * 2; ++i) draws[i] = rng_.next();
            pool_.parallel_for(n, 1, [&](int64_t b, int64_t e, int ith) {
                float* v = tmp[size_t(ith)].data();
                for (int64_t r = b; r < e; ++r) {
                    const uint64_t* d = draws.data() + size_t(r * cols) * 2;
                    for (int64_t i = 0; i < cols; ++i) v[i] = float(normal_from_draws(d[2 * i], d[2 * i + 1]) * scale);
                    const Status st = quantize_row(type, v, dst + size_t(r0 + r) * rb, cols);
                    if (!st.ok() && !failed.exchange(true)) {
                        std::lock_guard<std::mutex> lk(error_mu);
                        error = st.message();
                    }
                }
            });
            if (failed) return make_error(error);
        }
        return {};
    }

    gguf::Writer& w_;
    Rng rng_;
    const RandomModelShape& shape_;
    cpu::ThreadPool pool_;
};

// The type a tensor is written in when matrices are asked for as `type`: the embedding and the
// matrices in it, except a mixture's router, which stays F32 (as llama.cpp's converter and
// quantizer keep it); norms and biases F32.
GgmlType stored_type(const TensorSpec& t, GgmlType type) {
    return (role_is_matrix(t.role) && t.role != Role::Router) || t.role == Role::TokEmbd ? type : GgmlType::F32;
}

// The architecture's manifest, as the loader will read it, with the optional tensors as the shape
// asks (an untied output, q/k/v biases). The shape must have been checked.
std::vector<TensorSpec> random_model_tensors(const RandomModelShape& s, const ArchDef& arch, int n_vocab) {
    ModelHParams h;
    h.arch_id = arch.id;
    h.arch = s.arch;
    h.n_vocab = n_vocab;
    h.n_embd = s.n_embd;
    h.n_layer = s.n_layer;
    h.n_ff = s.n_ff;
    h.n_head = s.n_head;
    h.n_kv_head = s.n_kv_head;
    h.head_dim = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head;
    h.rope.n_dims = h.head_dim;
    h.n_expert = s.n_expert;
    h.n_expert_used = s.n_expert_used;
    h.n_ff_exp = s.n_ff_exp > 0 ? s.n_ff_exp : s.n_ff;
    std::vector<TensorSpec> out;
    for (TensorSpec& t : model_manifest(arch, h)) {
        const bool bias = t.role == Role::QBias || t.role == Role::KBias || t.role == Role::VBias;
        if (t.optional && !((t.role == Role::Output && !s.tied_output) || (bias && s.qkv_bias))) continue;
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace

Result<std::vector<quant::TensorDesc>> random_model_tensor_descs(const RandomModelShape& s, GgmlType type) {
    const ArchDef* arch = find_arch(s.arch);
    if (!arch) return make_error("random model: unknown architecture '" + s.arch + "'");
    if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_kv_head <= 0 || s.n_ff <= 0 || s.head_dim < 0 ||
        (s.head_dim == 0 && s.n_embd % s.n_head != 0))
        return make_error("random model: every dimension must be positive and n_embd divide by n_head");
    std::vector<quant::TensorDesc> out;
    for (const TensorSpec& t : random_model_tensors(s, *arch, s.n_vocab))
        out.push_back({t.name, stored_type(t, type), t.shape});
    return out;
}

Status write_random_llama_model(const std::string& path, const RandomModelShape& s, GgmlType type, uint64_t seed) {
    const ArchDef* arch = find_arch(s.arch);
    if (!arch) return make_error("random model: unknown architecture '" + s.arch + "' (supported: " + supported_arch_names() + ")");
    if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_kv_head <= 0 || s.n_ff <= 0 || s.head_dim < 0)
        return make_error("random model: every dimension must be positive");
    if ((s.head_dim == 0 && s.n_embd % s.n_head != 0) || s.n_head % s.n_kv_head != 0)
        return make_error("random model: n_embd must divide by n_head and n_head by n_kv_head");
    const int hd = s.head_dim > 0 ? s.head_dim : s.n_embd / s.n_head;
    if (hd % 2 != 0) return make_error("random model: head size must be even");
    if (!can_quantize(type) && type != GgmlType::Q2_K && type != GgmlType::Q3_K)
        return make_error("random model: cannot write weights of type " + std::string(type_name(type)));

    gguf::Writer w;
    const std::string a = s.arch;
    w.set_string("general.architecture", a);
    w.set_string("general.name", s.name);
    w.set_u32(a + ".context_length", uint32_t(s.n_ctx_train));
    w.set_u32(a + ".embedding_length", uint32_t(s.n_embd));
    w.set_u32(a + ".block_count", uint32_t(s.n_layer));
    w.set_u32(a + ".feed_forward_length", uint32_t(s.n_ff));
    w.set_u32(a + ".attention.head_count", uint32_t(s.n_head));
    w.set_u32(a + ".attention.head_count_kv", uint32_t(s.n_kv_head));
    if (s.head_dim > 0) {
        w.set_u32(a + ".attention.key_length", uint32_t(hd));
        w.set_u32(a + ".attention.value_length", uint32_t(hd));
    }
    w.set_f32(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
    w.set_f32(a + ".rope.freq_base", s.rope_freq_base);
    w.set_u32(a + ".rope.dimension_count", uint32_t(hd));
    if (s.n_expert > 0) {
        if (!arch->experts) return make_error("random model: '" + s.arch + "' has no mixture-of-experts form");
        if (s.n_expert_used <= 0 || s.n_expert_used > s.n_expert || s.n_ff_exp < 0)
            return make_error("random model: experts used must be 1..n_expert");
        w.set_u32(a + ".expert_count", uint32_t(s.n_expert));
        w.set_u32(a + ".expert_used_count", uint32_t(s.n_expert_used));
        if (s.n_ff_exp > 0) w.set_u32(a + ".expert_feed_forward_length", uint32_t(s.n_ff_exp));
    } else if (arch->id == Arch::Qwen3Moe) {
        return make_error("random model: qwen3moe needs experts (n_expert, n_expert_used)");
    }
    if (arch->id == Arch::Gemma3) w.set_u32(a + ".attention.sliding_window", uint32_t(s.sliding_window > 0 ? s.sliding_window : 512));
    else if (s.sliding_window > 0) w.set_u32(a + ".attention.sliding_window", uint32_t(s.sliding_window));

    int n_vocab = s.n_vocab;
    if (!s.vocab_from.empty()) {
        auto vf = gguf::File::open(s.vocab_from);
        if (!vf.ok()) return vf.status();
        auto toks = (*vf)->get_string_array("tokenizer.ggml.tokens");
        if (!toks.ok()) return make_error("random model: " + s.vocab_from + " has no vocabulary: " + toks.message());
        n_vocab = int(toks->size());
        for (const auto& [key, value] : (*vf)->metadata())
            if (key.rfind("tokenizer.", 0) == 0) w.set_value(key, value);
    } else {
        if (n_vocab < 3 + 256) return make_error("random model: a generated vocabulary needs n_vocab >= 259");
        write_generated_vocab(w, n_vocab, s.extra_pieces);
    }
    if (!s.chat_template.empty()) w.set_string("tokenizer.chat_template", s.chat_template);

    TensorMaker m(w, seed, s);
    for (const TensorSpec& t : random_model_tensors(s, *arch, n_vocab)) {
        const bool bias = t.role == Role::QBias || t.role == Role::KBias || t.role == Role::VBias;
        Status st;
        if (t.role == Role::TokEmbd) st = m.matrix(t.name, t.shape, type, 1.0);
        else if (role_is_matrix(t.role)) st = m.matrix(t.name, t.shape, stored_type(t, type), 1.0 / std::sqrt(double(t.shape[0])));
        else if (bias) st = m.vector(t.name, t.shape[0], 0.0, 0.1, true);
        else st = m.vector(t.name, t.shape[0], 1.0, 0.2, false);  // norm weights
        HEARTH_RETURN_IF_ERROR(st);
    }
    return w.write(path);
}

}  // namespace hearth
