// hearth-cli quantize IN.gguf OUT.gguf TYPE: rewrites a model with its weight matrices in one block
// format (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) using the reference round-to-nearest quantizers, which give
// the same bytes as llama.cpp's reference quantizer.
//
// What is quantized: tensors with 2 or more dimensions whose name ends in "weight" and whose row
// length is a multiple of the type's block size. 1-D tensors (norms, biases) are written as F32;
// everything else keeps its type. Metadata is copied, general.file_type set.
//
// Memory: the input is mmapped and each output tensor is produced while the file is streamed out,
// so only one tensor's quantized bytes are in RAM at a time (Writer::add_tensor_lazy). Rows are
// quantized on several threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/cli/command.h"
#include "engine/gguf/gguf.h"
#include "engine/quant/quant.h"

namespace {

using hearth::GgmlType;
using hearth::Status;

struct Target {
    GgmlType type;
    uint32_t file_type;  // llama.cpp's llama_ftype for a file mostly of this type
};

std::optional<Target> parse_target(const std::string& name) {
    const auto t = hearth::type_from_name(name);
    if (!t) return std::nullopt;
    switch (*t) {
        case GgmlType::Q8_0: return Target{*t, 7};
        case GgmlType::Q4_0: return Target{*t, 2};
        case GgmlType::Q4_K: return Target{*t, 14};  // "Q4_K - Small": the closest llama.cpp name
        case GgmlType::Q5_K: return Target{*t, 16};  // "Q5_K - Small"
        case GgmlType::Q6_K: return Target{*t, 18};
        default: return std::nullopt;
    }
}

bool ends_with(const std::string& s, const char* suffix) {
    const size_t n = std::char_traits<char>::length(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool can_dequantize(GgmlType t) {
    switch (t) {
        case GgmlType::I8: case GgmlType::I16: case GgmlType::I32: case GgmlType::I64: case GgmlType::F64: return false;
        default: return true;
    }
}

// Converts `rows` rows of `src` (type `from`, row length n) into `to`, on up to `threads` threads.
Status convert_rows(const hearth::gguf::TensorInfo& src, GgmlType to, uint8_t* dst, int threads) {
    const int64_t n = src.ne(0);
    const int64_t rows = n == 0 ? 0 : src.n_elements() / n;
    const size_t in_row = hearth::row_bytes(src.type, n), out_row = hearth::row_bytes(to, n);
    std::atomic<int64_t> next{0};
    std::mutex err_mu;
    Status first_error;
    auto work = [&]() {
        std::vector<float> buf(static_cast<size_t>(n));
        const int64_t chunk = 16;
        for (;;) {
            const int64_t r0 = next.fetch_add(chunk);
            if (r0 >= rows) return;
            for (int64_t r = r0; r < std::min(rows, r0 + chunk); ++r) {
                hearth::dequantize_row(src.type, src.data + size_t(r) * in_row, buf.data(), n);
                Status st = hearth::quantize_row(to, buf.data(), dst + size_t(r) * out_row, n);
                if (!st.ok()) {
                    std::lock_guard<std::mutex> lock(err_mu);
                    if (first_error.ok()) first_error = hearth::make_error("row " + std::to_string(r) + ": " + st.message());
                    next.store(rows);
                    return;
                }
            }
        }
    };
    const int n_threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, (rows + 15) / 16)));
    std::vector<std::thread> pool;
    for (int k = 1; k < n_threads; ++k) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    return first_error;
}

std::string dims_text(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t k = 0; k < dims.size(); ++k) s += (k ? ", " : "") + std::to_string(dims[k]);
    return s + "]";
}

int run_quantize(const std::vector<std::string>& argv) {
    using hearth::cli::fail;
    hearth::cli::Args args(argv);
    const auto threads_opt = args.take({"-t", "--threads"});
    const bool quiet = args.flag({"-q", "--quiet"});
    if (const std::string bad = args.unknown_option(); !bad.empty()) return fail("quantize: unknown option " + bad);
    const auto pos = args.positionals();
    if (pos.size() != 3) return fail("quantize: usage: hearth-cli quantize IN.gguf OUT.gguf TYPE (TYPE: Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
    const std::string& in_path = pos[0];
    const std::string& out_path = pos[1];

    const auto target = parse_target(pos[2]);
    if (!target) {
        std::string hint;
        if (ends_with(pos[2], "_M") || ends_with(pos[2], "_S") || ends_with(pos[2], "_m") || ends_with(pos[2], "_s"))
            hint = " (mixtures such as Q4_K_M are not supported yet: use Q4_K, Q5_K or Q6_K for every matrix)";
        return fail("quantize: unsupported type '" + pos[2] + "'; choose one of Q8_0, Q4_0, Q4_K, Q5_K, Q6_K" + hint);
    }
    int threads = int(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
    if (threads_opt) {
        try {
            threads = std::stoi(*threads_opt);
        } catch (...) {
            threads = 0;
        }
        if (threads < 1 || threads > 256) return fail("quantize: --threads needs a number from 1 to 256");
    }

    std::error_code ec;
    if (std::filesystem::exists(out_path, ec) && std::filesystem::equivalent(in_path, out_path, ec))
        return fail("quantize: the output file must not be the input file");

    auto in_r = hearth::gguf::File::open(in_path);
    if (!in_r.ok()) return fail(in_r.message());
    const hearth::gguf::File& in = **in_r;
    if (in.tensors().empty()) return fail("quantize: " + in_path + " has no tensors (a vocabulary-only file?)");

    hearth::gguf::Writer w;
    w.copy_metadata_from(in);
    w.set_u32("general.quantization_version", 2);
    w.set_u32("general.file_type", target->file_type);

    const GgmlType to = target->type;
    const int block = hearth::traits(to).block_elems;
    int n_quantized = 0, n_f32 = 0, n_kept = 0, n_misfit = 0;
    bool warned_requant = false;
    auto counter = std::make_shared<std::atomic<size_t>>(0);
    for (const auto& t : in.tensors()) {
        const std::string tname(hearth::type_name(t.type));
        const bool matrix = t.dims.size() >= 2 && ends_with(t.name, "weight") && can_dequantize(t.type);
        GgmlType out_type = t.type;
        if (matrix && t.ne(0) % block == 0) out_type = to;
        else if (matrix) ++n_misfit;
        else if (t.dims.size() <= 1 && (t.type == GgmlType::F16 || t.type == GgmlType::BF16)) out_type = GgmlType::F32;
        // Quantizing an already quantized matrix compounds two roundings: allowed, but say so once.
        if (out_type != t.type && hearth::traits(t.type).quantized && !warned_requant && !quiet) {
            std::fprintf(stderr, "quantize: note: %s is already %s; requantizing loses more quality than starting "
                                 "from F16/BF16/F32\n", t.name.c_str(), tname.c_str());
            warned_requant = true;
        }

        const auto* src = &t;
        auto note = [quiet, counter, src, tname, out_type]() {
            if (quiet) return;
            std::fprintf(stderr, "[%4zu] %-36s %-5s %-20s -> %s\n", ++*counter, src->name.c_str(), tname.c_str(),
                         dims_text(src->dims).c_str(), std::string(hearth::type_name(out_type)).c_str());
        };
        Status st;
        if (out_type == t.type) {
            // Unchanged: written straight from the mapping (the input stays open until the write ends).
            ++n_kept;
            st = w.add_tensor(t.name, t.type, t.dims, t.data, t.n_bytes, /*borrow=*/true);
        } else {
            if (out_type == GgmlType::F32) ++n_f32; else ++n_quantized;
            st = w.add_tensor_lazy(t.name, out_type, t.dims, [src, out_type, threads, note](void* dst, size_t) {
                Status s = convert_rows(*src, out_type, static_cast<uint8_t*>(dst), threads);
                note();
                return s;
            });
        }
        if (!st.ok()) return fail("quantize: " + st.message());
    }

    if (n_quantized == 0)
        return fail("quantize: no weight matrix in " + in_path + " can be stored as " + std::string(hearth::type_name(to)) +
                    (n_misfit > 0 ? " (their row lengths are not multiples of " + std::to_string(block) + "; try Q8_0 or Q4_0)"
                                  : " (no 2-D weight tensors of a convertible type)"));
    if (!quiet)
        std::fprintf(stderr, "quantize: %s -> %s as %s, %d threads\n", in_path.c_str(), out_path.c_str(),
                     std::string(hearth::type_name(to)).c_str(), threads);
    const auto t0 = std::chrono::steady_clock::now();
    Status st = w.write(out_path);
    if (!st.ok()) return fail("quantize: " + st.message());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::error_code size_ec;
    const auto out_size = std::filesystem::file_size(out_path, size_ec);
    std::printf("wrote %s: %.1f MiB (input %.1f MiB) in %.1f s; %d matrices -> %s, %d vectors -> F32, %d tensors unchanged",
                out_path.c_str(), size_ec ? 0.0 : double(out_size) / 1048576.0, double(in.file_size()) / 1048576.0, secs,
                n_quantized, std::string(hearth::type_name(to)).c_str(), n_f32, n_kept);
    if (n_misfit > 0) std::printf(" (%d matrices kept their type: row length not a multiple of %d)", n_misfit, block);
    std::printf("\n");
    return 0;
}

const hearth::cli::Registrar reg{"quantize", "IN.gguf OUT.gguf TYPE [--threads N] [--quiet]",
                                 "quantize a model's weight matrices to Q8_0, Q4_0, Q4_K, Q5_K or Q6_K", run_quantize};

}  // namespace
