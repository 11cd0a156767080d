// hearth-cli merge-lora: fold LoRA adapters into a copy of their base model (engine/lora/lora_merge.h),
// so that the result runs anywhere without adapter support.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/cli/command.h"
#include "app/cli/lora_args.h"
#include "engine/lora/lora_merge.h"

namespace hearth::cli {
namespace {

int run_merge_lora(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto base = args.take({"-m", "--model"});
    const auto out = args.take({"-o", "--output"});
    const auto type = args.take({"--type"});
    std::vector<LoraSpec> loras;
    if (std::string e = take_lora_args(args, &loras); !e.empty()) return fail("merge-lora: " + e);
    const bool quiet = args.flag({"-q", "--quiet"});
    if (auto u = args.unknown_option(); !u.empty()) return fail("merge-lora: unknown option " + u);
    if (!args.positionals().empty()) return fail("merge-lora: unexpected argument '" + args.positionals()[0] + "'");
    if (!base || !out || loras.empty())
        return fail("merge-lora: usage: merge-lora -m BASE.gguf --lora PATH[:SCALE]... -o OUT.gguf [--type T]");

    MergeOptions opt;
    opt.base_path = *base;
    opt.loras = loras;
    opt.out_path = *out;
    opt.type = type.value_or("");
    int shown = -1;
    auto progress = [&](float f) {
        const int pct = int(f * 100);
        if (!quiet && pct / 10 != shown / 10) {
            std::fprintf(stderr, "\rmerge-lora: %3d%%", pct);
            std::fflush(stderr);
            shown = pct;
        }
        return true;
    };
    const auto t0 = std::chrono::steady_clock::now();
    Status st = merge_lora(opt, progress);
    if (shown >= 0) std::fprintf(stderr, "\n");  // ends the progress line
    if (!st.ok()) return fail(st.message());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::error_code ec;
    const auto size = std::filesystem::file_size(*out, ec);
    std::printf("wrote %s: %.1f MiB in %.1f s (%zu adapter%s merged%s%s)\n", out->c_str(), ec ? 0.0 : double(size) / 1048576.0, secs,
                loras.size(), loras.size() == 1 ? "" : "s", opt.type.empty() ? "" : ", merged matrices as ", opt.type.c_str());
    return 0;
}

const Registrar reg{"merge-lora", "-m BASE.gguf --lora PATH[:SCALE]... -o OUT.gguf [--type T] [-q]",
                    "fold LoRA adapters into a copy of the base model (merged matrices in their own type, or T: " +
                        merge_lora_types() + ")",
                    run_merge_lora};

}  // namespace
}  // namespace hearth::cli
