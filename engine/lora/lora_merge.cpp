#include "engine/lora/lora_merge.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/lora/lora_targets.h"
#include "engine/model/arch/arch.h"
#include "engine/model/manifest.h"
#include "engine/quant/quant.h"
#include "engine/util/cpu_cores.h"
#include "engine/util/thread_pool.h"

namespace hearth {

namespace {

constexpr GgmlType kWritable[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0,
                                  GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
bool writable(GgmlType t) { return std::find(std::begin(kWritable), std::end(kWritable), t) != std::end(kWritable); }

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

// One adapter term of a merged matrix: factor·B·A with A as F32 (r × n_in) and B as F32 (n_out × r).
struct Term {
    float factor = 0;
    int rank = 0;
    std::vector<float> a, b;
};

std::vector<float> to_f32(const LoraMatrix& m) {
    std::vector<float> out(size_t(m.rows * m.cols));
    const size_t row = row_bytes(m.type, m.cols);
    for (int64_t r = 0; r < m.rows; ++r)
        dequantize_row(m.type, static_cast<const uint8_t*>(m.data) + size_t(r) * row, out.data() + size_t(r * m.cols), m.cols);
    return out;
}

struct Merged {
    GgmlType out_type;
    std::vector<Term> terms;
};

// Rows [r0, r1) of the merged matrix: dequantize, add every term, write in out_type.
Status merge_rows(const gguf::TensorInfo& t, const Merged& m, int64_t r0, int64_t r1, std::vector<float>& row, uint8_t* dst) {
    const int64_t n_in = t.ne(0);
    const size_t in_row = row_bytes(t.type, n_in), out_row = row_bytes(m.out_type, n_in);
    row.resize(size_t(n_in));
    for (int64_t o = r0; o < r1; ++o) {
        dequantize_row(t.type, t.data + size_t(o) * in_row, row.data(), n_in);
        for (const Term& term : m.terms) {
            const float* b = term.b.data() + size_t(o) * size_t(term.rank);
            for (int k = 0; k < term.rank; ++k) {
                const float c = term.factor * b[k];
                const float* a = term.a.data() + size_t(k) * size_t(n_in);
                for (int64_t i = 0; i < n_in; ++i) row[size_t(i)] += c * a[i];
            }
        }
        HEARTH_RETURN_IF_ERROR(quantize_row(m.out_type, row.data(), dst + size_t(o) * out_row, n_in));
    }
    return {};
}

}  // namespace

std::string merge_lora_types() {
    std::string s;
    for (GgmlType t : kWritable) s += (s.empty() ? "" : ", ") + lower(type_name(t));
    return s;
}

Status merge_lora(const MergeOptions& opt, const std::function<bool(float)>& progress, const std::atomic<bool>* cancel) {
    if (opt.base_path.empty()) return make_error("merge: no base model given");
    if (opt.out_path.empty()) return make_error("merge: no output file given");
    if (opt.loras.empty()) return make_error("merge: no adapters to merge");
    std::error_code ec;
    if (std::filesystem::exists(opt.out_path, ec) && std::filesystem::equivalent(opt.base_path, opt.out_path, ec))
        return make_error("merge: the output file must not be the base model");
    std::optional<GgmlType> forced;
    if (!opt.type.empty()) {
        forced = type_from_name(opt.type);
        if (!forced || !writable(*forced))
            return make_error("merge: cannot write type '" + opt.type + "'; choose one of " + merge_lora_types());
    }

    auto file_r = gguf::File::open(opt.base_path);
    if (!file_r.ok()) return file_r.status();
    const gguf::File& file = **file_r;
    auto hp = read_hparams(file);
    if (!hp.ok()) return make_error(opt.base_path + ": " + hp.message());
    const std::vector<TensorSpec> manifest = model_manifest(arch_def(hp->arch_id), *hp);

    // Open and check every adapter before writing anything; gather each matrix's terms.
    std::vector<std::unique_ptr<LoraAdapter>> adapters;
    std::map<std::string, Merged> merged;
    for (const LoraSpec& spec : opt.loras) {
        auto ad = LoraAdapter::open(spec.path, hp->arch, hp->head_dim);
        if (!ad.ok()) return ad.status();
        if (!std::isfinite(spec.scale)) return make_error(spec.path + ": the scale is not a number");
        auto targets = match_lora_targets(**ad, *hp, manifest);
        if (!targets.ok()) return targets.status();
        for (const LoraTarget& t : *targets) {
            const gguf::TensorInfo* w = file.tensor(t.pair->target);
            if (!w || w->dims.size() != 2 || w->dims[0] != t.n_in || w->dims[1] != t.n_out)
                return make_error(opt.base_path + ": tensor '" + t.pair->target + "' is missing or not the shape its model needs");
            Merged& m = merged[t.pair->target];
            if (m.terms.empty()) {
                m.out_type = forced ? *forced : writable(w->type) ? w->type : GgmlType::Q8_0;
                if (w->dims[0] % traits(m.out_type).block_elems != 0)
                    return make_error("merge: '" + w->name + "' has rows of " + std::to_string(w->dims[0]) + " values, not a multiple of " +
                                      std::string(type_name(m.out_type)) + "'s block of " +
                                      std::to_string(traits(m.out_type).block_elems) + "; choose another type");
            }
            m.terms.push_back(Term{spec.scale * (*ad)->pair_scale(*t.pair), t.pair->rank(), to_f32(t.pair->a), to_f32(t.pair->b)});
        }
        adapters.push_back(std::move(*ad));
    }

    // Every tensor is produced while the file streams out (one in memory at a time); progress and
    // cancel are seen per tensor and, inside a merged matrix, per chunk of rows.
    uint64_t total = 0;
    for (const auto& t : file.tensors()) total += t.n_bytes;
    auto done = std::make_shared<uint64_t>(0);
    auto was_cancelled = std::make_shared<bool>(false);
    auto stopped = [progress, cancel, done, total, was_cancelled](uint64_t add) {
        *done += add;
        *was_cancelled = (cancel && cancel->load()) || (progress && !progress(total ? float(double(*done) / double(total)) : 1.0f));
        return *was_cancelled;
    };
    const Status cancelled = make_error("merge: cancelled");
    auto pool = std::make_shared<cpu::ThreadPool>(std::max(1, cpu_physical_cores()));

    gguf::Writer w;
    w.copy_metadata_from(file);
    for (const gguf::TensorInfo& t : file.tensors()) {
        const gguf::TensorInfo* src = &t;
        auto it = merged.find(t.name);
        Status st;
        if (it == merged.end()) {
            st = w.add_tensor_lazy(t.name, t.type, t.dims, [src, stopped, cancelled](void* dst, size_t n) {
                std::memcpy(dst, src->data, n);
                return stopped(n) ? cancelled : Status{};
            });
        } else {
            const Merged* m = &it->second;
            st = w.add_tensor_lazy(t.name, m->out_type, t.dims, [src, m, pool, cancel, stopped, cancelled](void* dst, size_t) -> Status {
                const int64_t rows = src->ne(1);
                std::vector<std::vector<float>> scratch(size_t(pool->size()));
                std::mutex mu;
                Status first;
                std::atomic<bool> halt{false};
                pool->parallel_for(rows, 16, [&](int64_t r0, int64_t r1, int ith) {
                    if (halt.load() || (cancel && cancel->load())) return;
                    Status s = merge_rows(*src, *m, r0, r1, scratch[size_t(ith)], static_cast<uint8_t*>(dst));
                    if (!s.ok()) {
                        std::lock_guard<std::mutex> lock(mu);
                        if (first.ok()) first = s;
                        halt.store(true);
                    }
                });
                if (!first.ok()) return first;
                return stopped(src->n_bytes) ? cancelled : Status{};
            });
        }
        if (!st.ok()) return make_error("merge: " + st.message());
    }
    if (cancel && cancel->load()) return cancelled;
    if (Status st = w.write(opt.out_path); !st.ok()) return *was_cancelled ? cancelled : make_error("merge: " + st.message());
    if (progress) progress(1.0f);
    return {};
}

}  // namespace hearth
