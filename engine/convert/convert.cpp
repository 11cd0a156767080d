#include "engine/convert/convert.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "engine/convert/hf_checkpoint.h"
#include "engine/convert/hf_config.h"
#include "engine/convert/hf_metadata.h"
#include "engine/convert/hf_tensor_map.h"
#include "engine/gguf/gguf.h"
#include "engine/model/qk_permute.h"
#include "engine/quant/fp16.h"
#include "engine/quant/quant.h"
#include "engine/util/process_memory.h"

namespace hearth::convert {

namespace {

using safetensors::DType;

// One source row as float32 (exact for F32, F16 and BF16). The mapped data is not aligned in general.
void source_row_to_f32(const safetensors::TensorInfo& t, int64_t row, int64_t cols, float* out) {
    const size_t es = safetensors::dtype_size(t.dtype);
    const uint8_t* p = t.data + size_t(row * cols) * es;
    if (t.dtype == DType::F32) {
        std::memcpy(out, p, size_t(cols) * 4);
    } else {
        for (int64_t i = 0; i < cols; ++i) {
            uint16_t bits;
            std::memcpy(&bits, p + size_t(i) * 2, 2);
            out[i] = t.dtype == DType::F16 ? f16_to_f32(f16_t{bits}) : bf16_to_f32(bf16_t{bits});
        }
    }
}

// Drops a converted tensor's pages from the checkpoint mapping. They are file-backed (clean), so
// the kernel could reclaim them anyway; dropping them at once keeps the resident set near one
// tensor instead of the whole checkpoint, which matters to whoever else runs on a small machine.
void release_source_pages(const safetensors::TensorInfo& t) {
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(t.data) + page - 1) & ~(page - 1);  // whole pages inside the tensor only
    const uintptr_t end = (uintptr_t(t.data) + t.n_bytes) & ~(page - 1);
    if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// The type a tensor is written in, by llama.cpp's converter's rules: 1-D tensors (norms, biases,
// rope_freqs) and the experts' router (ffn_gate_inp) in F32; Q8_0 needs rows of whole 32-value
// blocks, else F16 (its fallback).
GgmlType output_type(const TensorPlan& p, GgmlType requested) {
    const std::vector<int64_t>& shape = p.shape;
    if (shape.size() <= 1 || p.gguf_name.find("ffn_gate_inp.") != std::string::npos) return GgmlType::F32;
    if (requested == GgmlType::Q8_0 && shape.back() % 32 != 0) return GgmlType::F16;
    return requested;
}

uint32_t llama_file_type(GgmlType t) {
    switch (t) {
        case GgmlType::F32: return 0;
        case GgmlType::F16: return 1;
        case GgmlType::Q8_0: return 7;
        case GgmlType::BF16: return 32;
        default: return 1;
    }
}

Result<GgmlType> parse_type(const std::string& s, const std::vector<TensorPlan>& plan) {
    if (s.empty()) {  // llama.cpp's "auto": keep BF16 weights in BF16, else F16
        for (const TensorPlan& p : plan)
            if (p.shape.size() >= 2 && p.src->info->dtype == DType::BF16) return GgmlType::BF16;
        return GgmlType::F16;
    }
    auto t = type_from_name(s);
    if (!t || (*t != GgmlType::F32 && *t != GgmlType::F16 && *t != GgmlType::BF16 && *t != GgmlType::Q8_0))
        return make_error("output type '" + s + "' is not supported (supported: " + convert_types() + ")");
    return *t;
}

// Everything the lazy fills share while the file is written.
struct Run {
    const ConvertProgress* progress = nullptr;
    size_t total_bytes = 0, done_bytes = 0;
    double peak_anon_mb = 0;
    bool cancelled = false;

    Status tick(size_t n_bytes) {
        done_bytes += n_bytes;
        // Sampled right after a tensor is produced: its output buffer is then fully written, the
        // largest anonymous memory this tensor makes us hold.
        peak_anon_mb = std::max(peak_anon_mb, read_process_memory().anon_mb);
        if (*progress && !(*progress)(total_bytes ? float(double(done_bytes) / double(total_bytes)) : 1.0f)) {
            cancelled = true;
            return make_error("conversion cancelled");
        }
        return {};
    }
};

// Rows of a tensor of `shape` (PyTorch order): all but the last dimension (1 for a vector).
int64_t plan_rows(const std::vector<int64_t>& shape) {
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
    return rows;
}

// Writes one tensor's rows into dst in `type`, permuting llama q/k rows on the way; a stacked
// tensor's rows are each expert's in turn.
Status fill_tensor(const TensorPlan& p, GgmlType type, void* dst, size_t n_bytes) {
    const safetensors::TensorInfo& info = *p.src->info;
    const int64_t rows = plan_rows(p.shape);
    const int64_t cols = p.shape.back();
    const size_t row_out = row_bytes(type, cols);
    if (row_out * size_t(rows) != n_bytes) return make_error("internal: output size mismatch");
    std::vector<float> row(static_cast<size_t>(cols));
    auto* out = static_cast<uint8_t*>(dst);
    if (p.shape.size() == 1 && p.permute_head_dim > 0) {  // a q/k bias: elements are the permuted rows
        std::vector<float> all(static_cast<size_t>(cols));
        source_row_to_f32(info, 0, cols, all.data());
        for (int64_t i = 0; i < cols; ++i) row[size_t(i)] = all[size_t(qk_permuted_source_row(i, p.permute_head_dim))];
        std::memcpy(out, row.data(), n_bytes);
        return {};
    }
    const int64_t rows_per_source = p.stack.empty() ? rows : rows / int64_t(p.stack.size());
    for (int64_t r = 0; r < rows; ++r) {
        const safetensors::TensorInfo& from = p.stack.empty() ? info : *p.stack[size_t(r / rows_per_source)]->info;
        const int64_t rr = r % rows_per_source;
        const int64_t src_row = p.permute_head_dim > 0 ? qk_permuted_source_row(rr, p.permute_head_dim) : rr;
        source_row_to_f32(from, src_row, cols, row.data());
        uint8_t* o = out + size_t(r) * row_out;
        if (type == GgmlType::F32) {
            std::memcpy(o, row.data(), row_out);
        } else if (type == GgmlType::F16) {
            for (int64_t i = 0; i < cols; ++i) {
                const f16_t h = f32_to_f16(row[size_t(i)]);
                std::memcpy(o + 2 * i, &h.bits, 2);
            }
        } else if (type == GgmlType::BF16) {
            for (int64_t i = 0; i < cols; ++i) {
                const bf16_t h = f32_to_bf16(row[size_t(i)]);
                std::memcpy(o + 2 * i, &h.bits, 2);
            }
        } else {
            HEARTH_RETURN_IF_ERROR(quantize_row(type, row.data(), o, cols));
        }
    }
    return {};
}

}  // namespace

const char* convert_types() { return "F32, F16, BF16, Q8_0"; }

Result<ConvertReport> convert_hf_to_gguf(const ConvertOptions& opt, const ConvertProgress& progress) {
    if (opt.out_path.empty()) return make_error("convert: no output path");
    auto cfg = read_hf_config(opt.hf_dir);
    if (!cfg.ok()) return cfg.status();
    auto ck = HfCheckpoint::open(opt.hf_dir);
    if (!ck.ok()) return ck.status();
    auto plan = plan_tensors(*cfg, **ck);
    if (!plan.ok()) return plan.status();
    auto type = parse_type(opt.type, *plan);
    if (!type.ok()) return type.status();

    ConvertReport rep;
    rep.arch = cfg->arch;
    rep.type = *type;
    rep.n_shards = (*ck)->shard_count();
    for (const TensorPlan& p : *plan) {
        int64_t n = 1;
        for (int64_t d : p.shape) n *= d;
        rep.n_params += n;
    }

    gguf::Writer w;
    write_model_metadata(w, *cfg, opt.hf_dir, llama_file_type(*type), rep.n_params);
    HEARTH_RETURN_IF_ERROR(write_sampling_metadata(w, opt.hf_dir));
    HEARTH_RETURN_IF_ERROR(write_vocab_metadata(w, *cfg, opt.hf_dir));

    Run run;
    run.progress = &progress;
    run.peak_anon_mb = read_process_memory().anon_mb;
    for (const TensorPlan& p : *plan) {
        const GgmlType t = output_type(p, *type);
        std::vector<int64_t> dims(p.shape.rbegin(), p.shape.rend());  // GGUF: ne[0] = row length first
        const size_t n_bytes = row_bytes(t, dims[0]) * size_t(plan_rows(p.shape));
        run.total_bytes += n_bytes;
        rep.largest_tensor_mb = std::max(rep.largest_tensor_mb, double(n_bytes) / 1048576.0);
        const TensorPlan* pp = &p;
        HEARTH_RETURN_IF_ERROR(w.add_tensor_lazy(p.gguf_name, t, dims, [pp, t, &run](void* dst, size_t n) -> Status {
            Status st = fill_tensor(*pp, t, dst, n);
            if (!st.ok()) return make_error(pp->hf_name + " (" + pp->src->file->path() + "): " + st.message());
            release_source_pages(*pp->src->info);
            for (const HfCheckpoint::Entry* s : pp->stack) release_source_pages(*s->info);
            return run.tick(n);
        }));
    }
    if (cfg->rope.type == "llama3") {  // generated from config.json, F32
        auto factors = std::make_shared<std::vector<float>>(llama3_rope_factors(*cfg));
        const size_t n_bytes = factors->size() * sizeof(float);
        run.total_bytes += n_bytes;
        HEARTH_RETURN_IF_ERROR(w.add_tensor_lazy("rope_freqs.weight", GgmlType::F32, {int64_t(factors->size())},
                                                 [factors, &run](void* dst, size_t n) -> Status {
                                                     std::memcpy(dst, factors->data(), n);
                                                     return run.tick(n);
                                                 }));
    }
    rep.n_tensors = w.tensor_count();
    Status st = w.write(opt.out_path);  // OUT.part, renamed only when complete
    if (!st.ok()) return st;
    rep.peak_anon_mb = run.peak_anon_mb;
    return rep;
}

}  // namespace hearth::convert
