// hearth-cli make-model: writes a random-weight model of a real shape (TinyLlama-1.1B, Llama-3-8B,
// Qwen3-30B-A3B's mixture of experts; --layers N keeps only the first N layers of it)
// with the project's own GGUF writer and quantizer, for benchmarks (`hearth-cli bench`). Tensors are
// generated and quantized while the file is written, on all cores (engine/model/random_model.cpp).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "app/cli/command.h"
#include "engine/testmodels/model_shapes.h"
#include "engine/testmodels/random_model.h"

namespace hearth::cli {
namespace {

int run_make_model(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto shape_name = args.take({"--shape"});
    const auto type_name_arg = args.take({"--type"});
    const auto out = args.take({"-o", "--output"});
    const auto seed_arg = args.take({"--seed"});
    const auto distinct_arg = args.take({"--distinct-rows"});
    const auto layers_arg = args.take({"--layers"});
    if (const std::string u = args.unknown_option(); !u.empty()) return fail("make-model: unknown option " + u);
    if (!args.positionals().empty()) return fail("make-model: unexpected argument " + args.positionals()[0]);
    if (!shape_name || !type_name_arg || !out)
        return fail("make-model: usage: make-model --shape tinyllama-1.1b|llama-8b|qwen3-30b-a3b --type F16|Q8_0|Q4_0|Q4_K_M -o FILE");
    auto shape = named_model_shape(*shape_name);
    if (!shape.ok()) return fail("make-model: " + shape.message());
    if (layers_arg) {  // the shape's first N layers (the same per-layer sizes; a quicker file for timing)
        int n = 0;
        try { n = std::stoi(*layers_arg); } catch (...) {}
        if (n <= 0 || n > shape->n_layer) return fail("make-model: --layers needs a number from 1 to " + std::to_string(shape->n_layer));
        shape->n_layer = n;
    }
    auto type = apply_file_type(*type_name_arg, shape->n_layer, &*shape);
    if (!type.ok()) return fail("make-model: " + type.message());
    uint64_t seed = 42;
    if (seed_arg) {
        try { seed = std::stoull(*seed_arg); } catch (...) { return fail("make-model: --seed needs a number"); }
    }
    if (distinct_arg) {
        // Timing models: only N rows of each matrix drawn and quantized, the others repeat them.
        try { shape->distinct_rows = std::stoi(*distinct_arg); } catch (...) { shape->distinct_rows = -1; }
        if (shape->distinct_rows <= 0) return fail("make-model: --distinct-rows needs a number above 0");
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "make-model: writing %s (%s, %s) ...\n", out->c_str(), shape_name->c_str(), type_name_arg->c_str());
    if (Status st = write_random_llama_model(*out, *shape, *type, seed); !st.ok()) return fail("make-model: " + st.message());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    std::fprintf(stderr, "make-model: done in %.1f s (%.1f s of CPU time)\n", s, cpu);
    return 0;
}

const Registrar reg{"make-model", "--shape tinyllama-1.1b|llama-8b|qwen3-30b-a3b --type F16|Q8_0|Q4_0|Q4_K_M -o FILE [--seed N] [--distinct-rows N] [--layers N]",
                    "write a random-weight model of a real shape (for benchmarks; --distinct-rows N: fast, rows repeat)", run_make_model};

}  // namespace
}  // namespace hearth::cli
