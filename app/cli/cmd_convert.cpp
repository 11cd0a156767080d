// hearth-cli convert: a Hugging Face checkpoint folder (config.json, safetensors, tokenizer.json)
// to a GGUF file (engine/convert/convert.h). Prints the peak anonymous memory at the end: the
// converter's promise is about one output tensor plus a little, whatever the model's size.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/cli/command.h"
#include "engine/convert/convert.h"
#include "engine/util/process_memory.h"

namespace hearth::cli {
namespace {

int run_convert(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto out = args.take({"-o", "--output"});
    const auto type = args.take({"--type"});
    const bool quiet = args.flag({"-q", "--quiet"});
    if (auto u = args.unknown_option(); !u.empty()) return fail("convert: unknown option " + u);
    const auto pos = args.positionals();
    if (pos.size() != 1 || !out)
        return fail(std::string("convert: usage: convert HF_DIR -o OUT.gguf [--type ") + convert::convert_types() + "]");

    convert::ConvertOptions opt;
    opt.hf_dir = pos[0];
    opt.out_path = *out;
    opt.type = type.value_or("");
    int shown = -1;
    auto progress = [&](float f) {
        const int pct = int(f * 100);
        if (!quiet && pct != shown) {
            std::fprintf(stderr, "\rconvert: %3d%%", pct);
            std::fflush(stderr);
            shown = pct;
        }
        return true;
    };
    const auto t0 = std::chrono::steady_clock::now();
    auto rep = convert::convert_hf_to_gguf(opt, progress);
    if (shown >= 0) std::fprintf(stderr, "\n");  // ends the progress line
    if (!rep.ok()) return fail("convert: " + rep.message());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::error_code ec;
    const auto size = std::filesystem::file_size(*out, ec);
    const ProcessMemory mem = read_process_memory();
    std::printf("wrote %s: %s, %zu tensors (%s weights) from %zu shard%s, %.1f MiB in %.1f s\n", out->c_str(), rep->arch.c_str(),
                rep->n_tensors, std::string(type_name(rep->type)).c_str(), rep->n_shards, rep->n_shards == 1 ? "" : "s",
                ec ? 0.0 : double(size) / 1048576.0, secs);
    std::printf("peak anonymous memory %.1f MiB (largest output tensor %.1f MiB); peak resident incl. mapped files %.1f MiB\n",
                rep->peak_anon_mb, rep->largest_tensor_mb, mem.hwm_mb);
    return 0;
}

const Registrar reg{"convert", "HF_DIR -o OUT.gguf [--type F32|F16|BF16|Q8_0] [-q]",
                    "convert a Hugging Face checkpoint (Llama, Mistral, Qwen2; safetensors) to GGUF (default type: BF16 "
                    "for BF16 checkpoints, else F16)",
                    run_convert};

}  // namespace
}  // namespace hearth::cli
