// Importance statistics for quantization, llama.cpp's "imatrix": for every layer matrix, the sum
// over evaluated tokens of each input column's squared activation, and the token count. Written in
// llama.cpp's GGUF imatrix format (general.type "imatrix"; tensors NAME.in_sum2 F32 [n_in, 1] and
// NAME.counts F32 [1, 1]; keys imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size), so
// llama-quantize --imatrix reads Hearth's files and the other way round. Stacked experts
// (ffn_*_exps) have one set per expert, as llama-imatrix writes them: in_sum2 [n_in, n_expert]
// and counts [1, n_expert] (the tokens that chose each expert).
//
// The text is chunked as llama-imatrix does: non-overlapping chunks of n_ctx tokens, the first
// token of each replaced by BOS when the vocabulary adds one, every token of a chunk counted.
// The output matrix is not collected (llama-imatrix's default).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/model/projection_observer.h"
#include "engine/session/session.h"
#include "engine/util/status.h"

namespace hearth::eval {

struct ImatrixEntry {
    std::vector<float> in_sum2;  // per input column (per expert, then column), summed in float as llama-imatrix does
    std::vector<int64_t> counts = {0};  // tokens seen (per expert: the tokens that chose it)
};

class ImatrixCollector : public ProjectionObserver {
public:
    // The (layer, slot) -> tensor name map of the model in `file` (its manifest).
    static Result<std::unique_ptr<ImatrixCollector>> for_model(const gguf::File& file);
    void observe(int layer, int slot, Backend& be, const Tensor& x) override;
    void observe_expert(int layer, ExpertInput which, int expert, Backend& be, const Tensor& x) override;

    const std::map<std::string, ImatrixEntry>& entries() const { return entries_; }
    Status error() const { return error_; }

private:
    // For each layer and slot: the tensor name, and whether this slot is the first of its matrix
    // (a fused attn_qkv / ffn_up is seen once per slot with the same input; only the first counts).
    struct Slot { std::string name; bool first = false; };
    std::vector<std::vector<Slot>> slots_;
    int n_expert_ = 0;
    // Downloads x into host_ (false, and error_ set, when it cannot: `name` says whose input).
    bool fetch(const std::string& name, Backend& be, const Tensor& x);
    // Adds the squared columns of the rows fetched last (x's shape) to `name`'s set `set` of `n_sets`.
    void accumulate(const std::string& name, int set, int n_sets, const Tensor& x);
    std::map<std::string, ImatrixEntry> entries_;
    std::vector<float> host_;
    Status error_;
};

struct ImatrixOptions {
    int n_ctx = 512;
    int max_chunks = -1;
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(int done, int total)> progress;
};

// Evaluates `text` on `model` (opened from `file`, context >= n_ctx) and returns the statistics;
// *n_chunks receives the chunks evaluated.
Result<std::map<std::string, ImatrixEntry>> collect_imatrix(Session& model, const gguf::File& file, const std::string& text,
                                                            const ImatrixOptions& opts, int* n_chunks);

// Writes llama.cpp's GGUF imatrix file. `dataset` names the text (imatrix.datasets).
Status write_imatrix(const std::string& path, const std::map<std::string, ImatrixEntry>& entries, const std::string& dataset,
                     int n_chunks, int chunk_size);

// Reads a GGUF imatrix file: per tensor name, the mean squared activation per input column
// (in_sum2 / count; 1 for a matrix never seen, as llama-quantize), which is what the quantizers
// weight their rounding error by; for stacked experts one such set per expert, in expert order.
Result<std::map<std::string, std::vector<float>>> read_imatrix(const std::string& path);

}  // namespace hearth::eval
