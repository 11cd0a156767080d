// imatrix collection, chunked as llama-imatrix does, and its GGUF file (see imatrix.h).
#include "engine/eval/imatrix.h"

#include <cmath>

#include "engine/model/arch/arch.h"
#include "engine/model/hparams.h"
#include "engine/model/manifest.h"
#include "engine/model/projection.h"

namespace hearth::eval {

Result<std::unique_ptr<ImatrixCollector>> ImatrixCollector::for_model(const gguf::File& file) {
    auto h = read_hparams(file);
    if (!h.ok()) return h.status();
    const ArchDef* arch = find_arch(h->arch);
    if (!arch) return make_error("imatrix: unsupported architecture '" + h->arch + "'");
    std::unique_ptr<ImatrixCollector> c(new ImatrixCollector());
    c->slots_.assign(size_t(h->n_layer), std::vector<Slot>(kProjectionsPerLayer));
    c->n_expert_ = h->n_expert;
    for (const TensorSpec& t : model_manifest(*arch, *h)) {
        if (t.layer < 0 || t.layer >= h->n_layer) continue;
        const std::vector<int> slots = projection_slots(t.role);
        for (size_t k = 0; k < slots.size(); ++k) c->slots_[size_t(t.layer)][size_t(slots[k])] = {t.name, k == 0};
    }
    return c;
}

void ImatrixCollector::observe(int layer, int slot, Backend& be, const Tensor& x) {
    if (!error_.ok() || layer < 0 || size_t(layer) >= slots_.size() || slot < 0 || slot >= kProjectionsPerLayer) return;
    const Slot& s = slots_[size_t(layer)][size_t(slot)];
    if (!s.first || s.name.empty()) return;
    if (fetch(s.name, be, x)) accumulate(s.name, 0, 1, x);
}

void ImatrixCollector::observe_expert(int layer, ExpertInput which, int expert, Backend& be, const Tensor& x) {
    if (!error_.ok() || layer < 0 || size_t(layer) >= slots_.size() || expert < 0 || expert >= n_expert_) return;
    const std::string blk = "blk." + std::to_string(layer) + ".";
    if (which == ExpertInput::GateUp) {  // one input, two matrices: both get it, as llama-imatrix sees both
        if (!fetch(blk + "ffn_gate_exps.weight", be, x)) return;
        accumulate(blk + "ffn_gate_exps.weight", expert, n_expert_, x);
        accumulate(blk + "ffn_up_exps.weight", expert, n_expert_, x);
    } else if (fetch(blk + "ffn_down_exps.weight", be, x)) {
        accumulate(blk + "ffn_down_exps.weight", expert, n_expert_, x);
    }
}

bool ImatrixCollector::fetch(const std::string& name, Backend& be, const Tensor& x) {
    if (x.type != GgmlType::F32) {
        error_ = make_error("imatrix: the input of " + name + " is not F32");
        return false;
    }
    host_.resize(size_t(x.rows) * size_t(x.cols));
    if (Status st = be.download(x, host_.data()); !st.ok()) {
        error_ = st;
        return false;
    }
    return true;
}

void ImatrixCollector::accumulate(const std::string& name, int set, int n_sets, const Tensor& x) {
    if (!error_.ok()) return;
    ImatrixEntry& e = entries_[name];
    if (e.in_sum2.empty()) {
        e.in_sum2.assign(size_t(x.cols) * size_t(n_sets), 0.0f);
        e.counts.assign(size_t(n_sets), 0);
    }
    if (e.in_sum2.size() != size_t(x.cols) * size_t(n_sets)) {
        error_ = make_error("imatrix: " + name + " was seen with " + std::to_string(x.cols) + " inputs, before with " +
                            std::to_string(e.in_sum2.size() / size_t(n_sets)));
        return;
    }
    float* sum = e.in_sum2.data() + size_t(set) * size_t(x.cols);
    for (int64_t r = 0; r < x.rows; ++r) {
        const float* row = host_.data() + size_t(r) * size_t(x.cols);
        for (int64_t j = 0; j < x.cols; ++j) sum[j] += row[j] * row[j];
    }
    e.counts[size_t(set)] += x.rows;
    for (int64_t j = 0; j < x.cols; ++j) {
        if (!std::isfinite(sum[j])) {
            error_ = make_error("imatrix: non-finite activations in " + name);
            return;
        }
    }
}

Result<std::map<std::string, ImatrixEntry>> collect_imatrix(Session& model, const gguf::File& file, const std::string& text,
                                                            const ImatrixOptions& opts, int* n_chunks_out) {
    const int n_ctx = opts.n_ctx;
    if (n_ctx < 2) return make_error("imatrix: the context size must be at least 2 tokens");
    if (model.n_ctx() < n_ctx)
        return make_error("imatrix: the model was opened with a context of " + std::to_string(model.n_ctx()) +
                          " tokens, fewer than the chunk size " + std::to_string(n_ctx));
    auto collector = ImatrixCollector::for_model(file);
    if (!collector.ok()) return collector.status();
    auto bos = model.tokenize("", true, false);
    if (!bos.ok()) return bos.status();
    auto toks = model.tokenize(text, true, false);
    if (!toks.ok()) return toks.status();
    if (int64_t(toks->size()) < n_ctx)
        return make_error("imatrix: the text is " + std::to_string(toks->size()) + " tokens, less than one chunk of " +
                          std::to_string(n_ctx) + ": use a longer text or a smaller -c");
    int n_chunks = int(toks->size() / size_t(n_ctx));
    if (opts.max_chunks > 0) n_chunks = std::min(n_chunks, opts.max_chunks);

    model.set_projection_observer(collector->get());
    Status st;
    for (int c = 0; c < n_chunks && st.ok(); ++c) {
        if (opts.cancel && opts.cancel->load()) {
            st = make_error("cancelled");
            break;
        }
        std::vector<int32_t> chunk(toks->begin() + int64_t(c) * n_ctx, toks->begin() + int64_t(c + 1) * n_ctx);
        if (!bos->empty()) chunk[0] = (*bos)[0];
        auto r = model.eval_logits(chunk, 1);
        if (!r.ok()) st = r.status();
        else st = (*collector)->error();
        if (st.ok() && opts.progress) opts.progress(c + 1, n_chunks);
    }
    model.set_projection_observer(nullptr);
    if (!st.ok()) return st;
    if (n_chunks_out) *n_chunks_out = n_chunks;
    return (*collector)->entries();
}

Status write_imatrix(const std::string& path, const std::map<std::string, ImatrixEntry>& entries, const std::string& dataset,
                     int n_chunks, int chunk_size) {
    if (entries.empty()) return make_error("imatrix: no statistics to write");
    gguf::Writer w;
    w.set_string("general.type", "imatrix");
    w.set_string_array("imatrix.datasets", {dataset});
    w.set_u32("imatrix.chunk_count", uint32_t(n_chunks));
    w.set_u32("imatrix.chunk_size", uint32_t(chunk_size));
    for (const auto& [name, e] : entries) {
        const int64_t n_sets = int64_t(e.counts.size());
        if (n_sets < 1 || e.in_sum2.size() % size_t(n_sets) != 0) return make_error("imatrix: internal: " + name + " has uneven sets");
        std::vector<float> counts(e.counts.begin(), e.counts.end());
        HEARTH_RETURN_IF_ERROR(w.add_tensor(name + ".in_sum2", GgmlType::F32, {int64_t(e.in_sum2.size()) / n_sets, n_sets},
                                            e.in_sum2.data(), e.in_sum2.size() * sizeof(float)));
        HEARTH_RETURN_IF_ERROR(w.add_tensor(name + ".counts", GgmlType::F32, {1, n_sets}, counts.data(), counts.size() * sizeof(float)));
    }
    return w.write(path);
}

Result<std::map<std::string, std::vector<float>>> read_imatrix(const std::string& path) {
    auto f = gguf::File::open(path);
    if (!f.ok()) return f.status();
    std::map<std::string, std::vector<float>> out;
    const std::string suffix = ".in_sum2";
    for (const auto& t : (*f)->tensors()) {
        if (t.name.size() <= suffix.size() || t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
        const std::string name = t.name.substr(0, t.name.size() - suffix.size());
        const gguf::TensorInfo* counts = (*f)->tensor(name + ".counts");
        if (!counts || counts->type != GgmlType::F32 || t.type != GgmlType::F32)
            return make_error(path + ": " + name + " has no F32 counts beside its in_sum2 (not a GGUF imatrix file?)");
        // One count per set of in_sum2 (one set; per expert for stacked experts).
        const int64_t n_mat = counts->n_elements();
        if (n_mat < 1 || t.n_elements() % n_mat != 0)
            return make_error(path + ": " + name + " has " + std::to_string(t.n_elements()) + " sums for " + std::to_string(n_mat) +
                              " counts (a damaged imatrix file?)");
        const size_t per_set = size_t(t.n_elements() / n_mat);
        const float* cnt = reinterpret_cast<const float*>(counts->data);
        const float* sum = reinterpret_cast<const float*>(t.data);
        std::vector<float> mean(size_t(t.n_elements()));
        for (int64_t m = 0; m < n_mat; ++m) {
            const float count = cnt[m];
            // Counts of tokens and sums of squares: a negative or non-finite one is a damaged file, and
            // would turn the quantizers' weighted rounding into NaN or a sign flip without a word.
            if (!std::isfinite(count) || count < 0 || count != std::floor(count))
                return make_error(path + ": " + name + " has a token count of " + std::to_string(count) + " (a damaged imatrix file?)");
            for (size_t j = size_t(m) * per_set; j < size_t(m + 1) * per_set; ++j) {
                if (!std::isfinite(sum[j]) || sum[j] < 0)
                    return make_error(path + ": " + name + " has a sum of squares of " + std::to_string(sum[j]) + " at column " +
                                      std::to_string(j % per_set) + " (a damaged imatrix file?)");
                // a matrix (or expert) never seen gets equal weights (as llama-quantize does), not
                // zeros that would void its rounding
                mean[j] = count > 0 ? sum[j] / count : 1.0f;
            }
        }
        out[name] = std::move(mean);
    }
    if (out.empty()) return make_error(path + ": no imatrix statistics (no *.in_sum2 tensors)");
    return out;
}

}  // namespace hearth::eval
