// hearth-cli quantize IN.gguf OUT.gguf PRESET [--dry-run]: rewrites a model with llama.cpp's file-type
// presets (Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0, F16; also uniform Q4_K / Q5_K). The per-tensor choices
// and the streaming rewrite live in engine/quant/quantize_model (shared with the app's wizard); this
// file parses arguments and prints.
//
// --dry-run prints each tensor's chosen type and the sizes without writing anything.
// --imatrix FILE (llama.cpp's GGUF imatrix, e.g. from `hearth-cli imatrix`) weights the rounding
// error of each column by its importance, as llama-quantize --imatrix does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "app/cli/command.h"
#include "engine/eval/imatrix.h"
#include "engine/gguf/gguf.h"
#include "engine/quant/quantize_model.h"

namespace {

namespace q = hearth::quant;

std::string dims_text(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t k = 0; k < dims.size(); ++k) s += (k ? ", " : "") + std::to_string(dims[k]);
    return s + "]";
}

std::string tname(hearth::GgmlType t) { return std::string(hearth::type_name(t)); }

void print_tensor(const q::TensorPlan& t, int index) {
    std::printf("[%4d] %-36s %-5s %-22s -> %-5s%s\n", index, t.name.c_str(), tname(t.from).c_str(), dims_text(t.dims).c_str(),
                tname(t.to).c_str(), t.fell_back ? "  (row length does not fit the rule's type: fallback)" : "");
}

int run_quantize(const std::vector<std::string>& argv) {
    using hearth::cli::fail;
    hearth::cli::Args args(argv);
    const auto threads_opt = args.take({"-t", "--threads"});
    const bool quiet = args.flag({"-q", "--quiet"});
    const bool dry_run = args.flag({"--dry-run"});
    const auto imatrix_path = args.take({"--imatrix"});
    if (const std::string bad = args.unknown_option(); !bad.empty()) return fail("quantize: unknown option " + bad);
    const auto pos = args.positionals();
    const std::string usage = "quantize: usage: hearth-cli quantize IN.gguf OUT.gguf PRESET [--dry-run] (PRESET: " + q::preset_names() +
                              "); with --dry-run OUT.gguf may be left out";
    if (pos.size() != 3 && !(dry_run && pos.size() == 2)) return fail(usage);
    const std::string& in_path = pos[0];
    const std::string out_path = pos.size() == 3 ? pos[1] : std::string();
    const auto preset = q::preset_from_name(pos.back());
    if (!preset) return fail("quantize: unknown preset '" + pos.back() + "'; choose one of " + q::preset_names());

    int threads = int(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
    if (threads_opt) {
        try {
            threads = std::stoi(*threads_opt);
        } catch (...) {
            threads = 0;
        }
        if (threads < 1 || threads > 256) return fail("quantize: --threads needs a number from 1 to 256");
    }

    if (dry_run) {
        auto in = hearth::gguf::File::open(in_path);
        if (!in.ok()) return fail(in.message());
        auto desc = q::describe_model(**in);
        if (!desc.ok()) return fail("quantize: " + in_path + ": " + desc.message());
        auto plan = q::plan_quantization(*desc, *preset, imatrix_path.has_value());
        if (!plan.ok()) return fail("quantize: " + in_path + ": " + plan.message());
        for (size_t i = 0; i < plan->tensors.size(); ++i) print_tensor(plan->tensors[i], int(i) + 1);
        std::printf("dry run: %s as %s: %.2f MiB -> %.2f MiB of tensor data (%d fallbacks); nothing written\n", in_path.c_str(),
                    std::string(preset->name).c_str(), double(plan->in_bytes) / 1048576.0, double(plan->out_bytes) / 1048576.0,
                    plan->n_fallback);
        return 0;
    }

    std::error_code ec;
    if (std::filesystem::exists(out_path, ec) && std::filesystem::equivalent(in_path, out_path, ec))
        return fail("quantize: the output file must not be the input file");

    q::ImportanceMap importance;
    if (imatrix_path) {
        auto im = hearth::eval::read_imatrix(*imatrix_path);
        if (!im.ok()) return fail("quantize: --imatrix: " + im.message());
        importance = std::move(*im);
        if (!quiet) std::fprintf(stderr, "quantize: %zu importance entries from %s\n", importance.size(), imatrix_path->c_str());
    }

    q::QuantizeOptions opts;
    opts.preset = *preset;
    if (imatrix_path) opts.importance = &importance;
    opts.threads = threads;
    if (!quiet) {
        opts.progress = [](const q::TensorPlan& t, int done, int, size_t, size_t) { print_tensor(t, done); std::fflush(stdout); };
        std::fprintf(stderr, "quantize: %s -> %s as %s, %d threads\n", in_path.c_str(), out_path.c_str(),
                     std::string(preset->name).c_str(), threads);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto plan = q::quantize_model(in_path, out_path, opts);
    if (!plan.ok()) return fail("quantize: " + plan.message());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::error_code size_ec;
    const auto out_size = std::filesystem::file_size(out_path, size_ec);
    std::printf("wrote %s: %.2f MiB (%zu bytes) in %.1f s as %s (%d fallbacks)\n", out_path.c_str(),
                size_ec ? 0.0 : double(out_size) / 1048576.0, size_t(size_ec ? 0 : out_size), secs,
                std::string(preset->name).c_str(), plan->n_fallback);
    return 0;
}

const hearth::cli::Registrar reg{"quantize", "IN.gguf [OUT.gguf] PRESET [--imatrix FILE] [--dry-run] [--threads N] [--quiet]",
                                 "quantize a model with llama.cpp's presets (Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0, F16; "
                                 "uniform Q4_K, Q5_K)",
                                 run_quantize};

}  // namespace
