// Per-tensor type choice (llama.cpp's rules for the presets we offer) and the streaming rewrite.
#include "engine/quant/quantize_model.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <thread>

#include "engine/quant/quant.h"

namespace hearth::quant {
namespace {

// llama_ftype numbers (llama.h), written as general.file_type so other tools name the file right.
constexpr Preset kPresets[] = {
    {"F16", GgmlType::F16, 1, false},     {"Q8_0", GgmlType::Q8_0, 7, true},
    {"Q4_0", GgmlType::Q4_0, 2, true},    {"Q4_K_M", GgmlType::Q4_K, 15, true},
    {"Q5_K_M", GgmlType::Q5_K, 17, true}, {"Q6_K", GgmlType::Q6_K, 18, true},
    // Uniform K types (every matrix, output included, as llama-quantize --pure); file types "_S".
    {"Q4_K", GgmlType::Q4_K, 14, false},  {"Q5_K", GgmlType::Q5_K, 16, false},
};

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::char_traits<char>::length(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// The layer number of "blk.N...." or -1, as llama.cpp's loader sorts its tensors.
int layer_of(const std::string& name) {
    int layer = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
    return layer;
}

// Dimensions counted as ggml does: trailing 1s do not count.
int n_dims(const std::vector<int64_t>& dims) {
    int n = int(dims.size());
    while (n > 1 && dims[size_t(n - 1)] == 1) --n;
    return std::max(n, 1);
}

bool convertible(GgmlType t) {
    switch (t) {
        case GgmlType::I8: case GgmlType::I16: case GgmlType::I32: case GgmlType::I64: case GgmlType::F64: return false;
        default: return true;
    }
}

// llama.cpp's tensor_allows_quantization: 2-D+ weights except norms, MoE routers and the small
// tables of other architectures that it keeps at full precision.
bool allows_quantization(const TensorDesc& t) {
    if (n_dims(t.dims) < 2 || !ends_with(t.name, "weight") || !convertible(t.type)) return false;
    static const char* const kKeep[] = {
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
        "ssm_conv1d", "shortconv.conv.weight", "time_mix_", "attn_rel_b.weight", ".position_embd", "sam.pos_embd",
        "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    };
    for (const char* k : kKeep)
        if (contains(t.name, k)) return false;
    return t.name != "position_embd.weight" && t.name != "token_types.weight";
}

enum class Category { TokenEmbd, AttnQ, AttnV, AttnK, AttnQkv, AttnKvB, AttnOut, FfnUp, FfnGate, FfnDown, Output, Other };

Category category_of(const std::string& n) {
    if (n == "output.weight") return Category::Output;
    if (n == "token_embd.weight" || n == "per_layer_token_embd.weight") return Category::TokenEmbd;
    if (contains(n, "attn_qkv.weight")) return Category::AttnQkv;
    if (contains(n, "attn_kv_b.weight")) return Category::AttnKvB;
    if (contains(n, "attn_v.weight")) return Category::AttnV;
    if (contains(n, "attn_k.weight")) return Category::AttnK;
    if (contains(n, "attn_q.weight")) return Category::AttnQ;
    if (contains(n, "attn_output.weight")) return Category::AttnOut;
    if (contains(n, "ffn_up")) return Category::FfnUp;
    if (contains(n, "ffn_gate")) return Category::FfnGate;
    if (contains(n, "ffn_down")) return Category::FfnDown;
    return Category::Other;
}
bool is_attn_v(Category c) { return c == Category::AttnV || c == Category::AttnQkv || c == Category::AttnKvB; }

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between
// get more bits, where quantization error hurts most.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// A row length the type cannot hold: llama.cpp's tensor_type_fallback.
GgmlType fit_row(GgmlType t, int64_t ncols, bool* fell_back) {
    const int block = traits(t).block_elems;
    if (ncols % block == 0) return t;
    *fell_back = true;
    GgmlType r = t;
    switch (t) {
        case GgmlType::Q2_K: case GgmlType::Q3_K: r = GgmlType::Q4_0; break;
        case GgmlType::Q4_K: r = GgmlType::Q5_0; break;
        case GgmlType::Q5_K: r = GgmlType::Q5_1; break;
        case GgmlType::Q6_K: r = GgmlType::Q8_0; break;
        default: break;  // already a 32-element block: only F16 is left
    }
    if (ncols % traits(r).block_elems != 0) r = GgmlType::F16;
    return r;
}

struct Counters {
    int n_attention_wv = 0, i_attention_wv = 0, i_ffn_down = 0;
    bool tied = true;  // no output.weight: token_embd is the output matrix too
    bool with_imatrix = false;
};

// llama_tensor_get_type_impl, reduced to the presets of kPresets (the IQ/Q2_K/Q3_K branches cannot
// be reached: those presets are not offered). Stacked experts (ffn_*_exps) take their dense
// namesakes' rules, one tensor per layer, as llama.cpp's layer_info gives them.
GgmlType mixture_type(const ModelDesc& m, const Preset& p, const TensorDesc& t, Category c, Counters& k) {
    GgmlType type = p.base;
    const bool q4km = p.file_type == 15, q5km = p.file_type == 17;
    if (c == Category::Output || (k.tied && c == Category::TokenEmbd)) {
        // The output matrix decides every next token: Q6_K unless the preset is already Q8_0.
        if (t.dims[0] % traits(type).block_elems != 0) type = GgmlType::Q8_0;
        else if (type != GgmlType::Q8_0) type = GgmlType::Q6_K;
    } else if (is_attn_v(c)) {
        if ((q4km || q5km) && use_more_bits(k.i_attention_wv, k.n_attention_wv)) type = GgmlType::Q6_K;
        // 70B-class llama (80 layers, grouped KV): attn_v is 8x smaller than attn_q, so more bits
        // there cost little (llama.cpp's LLM_TYPE_70B rule).
        const bool is70b = m.arch == "llama" && m.n_layer == 80 && m.n_head != m.n_head_kv;
        if (is70b && (type == GgmlType::Q3_K || type == GgmlType::Q4_K)) type = GgmlType::Q5_K;
        // 8 experts (Mixtral): the attention is a small part of the file, so llama.cpp keeps v in Q8_0
        if (m.n_expert == 8) type = GgmlType::Q8_0;
        ++k.i_attention_wv;
    } else if (c == Category::AttnK) {
        if (m.n_expert == 8) type = GgmlType::Q8_0;
    } else if (c == Category::AttnOut) {
        if (m.n_expert == 8 && p.file_type == 15) type = GgmlType::Q5_K;  // Q4_K_M's rule for 8 experts
    } else if (c == Category::FfnDown) {
        if ((q4km || q5km) && use_more_bits(k.i_ffn_down, m.n_layer)) type = GgmlType::Q6_K;
        // Even importance-weighted Q4_0 can go badly wrong on the first layers' ffn_down; llama.cpp
        // then uses Q4_1 (only with an imatrix, so files without one stay as they always were).
        else if (p.file_type == 2 && k.with_imatrix && k.i_ffn_down < m.n_layer / 8) type = GgmlType::Q4_1;
        ++k.i_ffn_down;
    }
    return type;
}

}  // namespace

std::optional<Preset> preset_from_name(std::string_view name) {
    std::string up(name);
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char ch) { return char(std::toupper(ch)); });
    for (const Preset& p : kPresets)
        if (p.name == up) return p;
    return std::nullopt;
}

std::string preset_names() {
    std::string s;
    for (const Preset& p : kPresets) s += (s.empty() ? "" : ", ") + std::string(p.name);
    return s;
}

Result<ModelDesc> describe_model(const gguf::File& f) {
    ModelDesc m;
    auto arch = f.get_string("general.architecture");
    if (!arch.ok()) return arch.status();
    m.arch = *arch;
    auto get = [&](const char* key, int fallback, int* out) -> Status {
        auto v = f.get_int(m.arch + key, fallback);
        if (!v.ok()) return v.status();
        *out = int(*v);
        return {};
    };
    HEARTH_RETURN_IF_ERROR(get(".block_count", 0, &m.n_layer));
    HEARTH_RETURN_IF_ERROR(get(".attention.head_count", 0, &m.n_head));
    HEARTH_RETURN_IF_ERROR(get(".attention.head_count_kv", m.n_head, &m.n_head_kv));
    HEARTH_RETURN_IF_ERROR(get(".expert_count", 0, &m.n_expert));
    for (const auto& t : f.tensors()) m.tensors.push_back({t.name, t.type, t.dims});
    return m;
}

Result<ModelPlan> plan_quantization(const ModelDesc& m, const Preset& p, bool with_imatrix) {
    // llama.cpp walks the tensors by layer number, then name; its layer counters follow that order.
    std::vector<size_t> order(m.tensors.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int la = layer_of(m.tensors[a].name), lb = layer_of(m.tensors[b].name);
        return la != lb ? la < lb : m.tensors[a].name < m.tensors[b].name;
    });
    Counters k;
    k.with_imatrix = with_imatrix;
    for (const auto& t : m.tensors) {
        const Category c = category_of(t.name);
        if (is_attn_v(c)) ++k.n_attention_wv;
        if (c == Category::Output) k.tied = false;
    }

    ModelPlan plan;
    plan.tensors.resize(m.tensors.size());
    const bool quantized_base = traits(p.base).quantized;
    for (size_t i : order) {
        const TensorDesc& t = m.tensors[i];
        TensorPlan& tp = plan.tensors[i];
        tp.name = t.name;
        tp.from = tp.to = t.type;
        tp.dims = t.dims;
        if (t.dims.empty()) return make_error("tensor '" + t.name + "' has no dimensions");
        if (allows_quantization(t)) {
            GgmlType type = p.base;
            if (quantized_base) {
                if (p.mixture) type = mixture_type(m, p, t, category_of(t.name), k);
                type = fit_row(type, t.dims[0], &tp.fell_back);
            }
            tp.to = type;
        } else if (n_dims(t.dims) == 1 && (t.type == GgmlType::F16 || t.type == GgmlType::BF16)) {
            // Hearth keeps norms and biases in F32 (llama.cpp would copy them as they are).
            tp.to = GgmlType::F32;
        }
        int64_t rows = 1;
        for (size_t d = 1; d < t.dims.size(); ++d) rows *= t.dims[d];
        tp.in_bytes = row_bytes(t.type, t.dims[0]) * size_t(rows);
        tp.out_bytes = row_bytes(tp.to, t.dims[0]) * size_t(rows);
        if (tp.to != tp.from && !can_quantize(tp.to))
            return make_error("tensor '" + t.name + "' would need type " + std::string(type_name(tp.to)) + ", which Hearth cannot write");
        plan.n_fallback += tp.fell_back ? 1 : 0;
    }
    for (const auto& tp : plan.tensors) {
        plan.in_bytes += tp.in_bytes;
        plan.out_bytes += tp.out_bytes;
    }
    return plan;
}

namespace {

// Converts every row of `src` into `to` on up to `threads` threads (rows handed out in chunks).
// `importance` (null: none) holds one weight per element of a row, or, for stacked experts, one set
// per expert (`rows_per_set` rows each; 0: one set for every row).
Status convert_rows(const gguf::TensorInfo& src, GgmlType to, uint8_t* dst, int threads, const std::atomic<bool>* cancel,
                    const float* importance, int64_t rows_per_set) {
    const int64_t n = src.ne(0);
    const int64_t rows = n == 0 ? 0 : src.n_elements() / n;
    const size_t in_row = row_bytes(src.type, n), out_row = row_bytes(to, n);
    std::atomic<int64_t> next{0};
    std::mutex err_mu;
    Status first_error;
    auto work = [&]() {
        std::vector<float> buf(static_cast<size_t>(n));
        const int64_t chunk = 16;
        for (;;) {
            if (cancel && cancel->load()) return;
            const int64_t r0 = next.fetch_add(chunk);
            if (r0 >= rows) return;
            for (int64_t r = r0; r < std::min(rows, r0 + chunk); ++r) {
                dequantize_row(src.type, src.data + size_t(r) * in_row, buf.data(), n);
                const float* imp = importance && rows_per_set > 0 ? importance + size_t(r / rows_per_set) * size_t(n) : importance;
                Status st = quantize_row_weighted(to, buf.data(), dst + size_t(r) * out_row, n, imp);
                if (!st.ok()) {
                    std::lock_guard<std::mutex> lock(err_mu);
                    if (first_error.ok()) first_error = make_error("row " + std::to_string(r) + ": " + st.message());
                    next.store(rows);
                    return;
                }
            }
        }
    };
    const int n_threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, (rows + 15) / 16)));
    std::vector<std::thread> pool;
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (cancel && cancel->load()) return make_error("cancelled");
    return first_error;
}

}  // namespace

Result<ModelPlan> quantize_model(const std::string& in_path, const std::string& out_path, const QuantizeOptions& opts) {
    auto in_r = gguf::File::open(in_path);
    if (!in_r.ok()) return in_r.status();
    const gguf::File& in = **in_r;
    if (in.tensors().empty()) return make_error(in_path + " has no tensors (a vocabulary-only file?)");
    auto desc = describe_model(in);
    if (!desc.ok()) return make_error(in_path + ": " + desc.message());
    auto plan_r = plan_quantization(*desc, opts.preset, opts.importance != nullptr);
    if (!plan_r.ok()) return make_error(in_path + ": " + plan_r.message());
    const ModelPlan& plan = *plan_r;

    gguf::Writer w;
    w.copy_metadata_from(in);
    w.set_u32("general.quantization_version", 2);
    w.set_u32("general.file_type", opts.preset.file_type);

    const int total = int(plan.tensors.size());
    auto done = std::make_shared<std::pair<int, size_t>>(0, 0);
    const int threads = std::max(1, opts.threads);
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
        const gguf::TensorInfo* src = &in.tensors()[i];
        const TensorPlan* tp = &plan.tensors[i];
        auto report = [&opts, done, tp, total, &plan]() {
            done->first += 1;
            done->second += tp->out_bytes;
            if (opts.progress) opts.progress(*tp, done->first, total, done->second, plan.out_bytes);
        };
        Status st;
        if (tp->to == tp->from) {
            // Unchanged: written from the mapping (the input stays open until the write ends).
            st = w.add_tensor_lazy(src->name, src->type, src->dims, [src, report, &opts](void* dst, size_t n) {
                if (opts.cancel && opts.cancel->load()) return make_error("cancelled");
                std::copy(src->data, src->data + n, static_cast<uint8_t*>(dst));
                report();
                return Status{};
            });
        } else {
            const float* importance = nullptr;
            int64_t rows_per_set = 0;
            if (opts.importance && traits(tp->to).quantized) {
                auto it = opts.importance->find(src->name);
                if (it != opts.importance->end()) {
                    // Stacked experts: llama.cpp's imatrix holds one set per expert (ne0 · ne2 values).
                    const int64_t n_sets = src->dims.size() == 3 ? src->ne(2) : 1;
                    if (int64_t(it->second.size()) == src->ne(0) * n_sets && n_sets > 1) {
                        rows_per_set = src->ne(1);
                    } else if (int64_t(it->second.size()) != src->ne(0)) {
                        return make_error("imatrix entry for '" + src->name + "' has " + std::to_string(it->second.size()) +
                                          " values, the tensor's rows " + std::to_string(src->ne(0)) + " (an imatrix of another model?)");
                    }
                    importance = it->second.data();
                }
            }
            st = w.add_tensor_lazy(src->name, tp->to, src->dims, [src, tp, threads, report, importance, rows_per_set, &opts](void* dst, size_t) {
                Status s = convert_rows(*src, tp->to, static_cast<uint8_t*>(dst), threads, opts.cancel, importance, rows_per_set);
                if (!s.ok()) return make_error("tensor '" + src->name + "': " + s.message());
                report();
                return s;
            });
        }
        if (!st.ok()) return st;
    }
    Status st = w.write(out_path);
    if (!st.ok()) return st;
    return plan;
}

}  // namespace hearth::quant
