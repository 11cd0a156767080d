// hearth-cli imatrix -m MODEL -f TEXT -o FILE [-c 512] [--chunks N]: importance statistics of a
// model's layer matrices over a text, in llama.cpp's GGUF imatrix format (engine/eval/imatrix.h),
// for `llama-quantize --imatrix` (Hearth's own importance-weighted rounding is not written yet).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "engine/eval/imatrix.h"
#include "engine/gguf/gguf.h"

namespace hearth::cli {
namespace {

int run_imatrix(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto file = args.take({"-f", "--file"});
    const auto out = args.take({"-o", "--output"});
    const auto ctx_arg = args.take({"-c", "--ctx-size"});
    const auto chunks_arg = args.take({"--chunks"});
    BackendArgs be;
    if (std::string e = take_backend_args(args, &be); !e.empty()) return fail("imatrix: " + e);
    if (auto u = args.unknown_option(); !u.empty()) return fail("imatrix: unknown option " + u);
    if (!args.positionals().empty()) return fail("imatrix: unexpected argument '" + args.positionals()[0] + "'");
    if (!model || !file || !out) return fail("imatrix: usage: hearth-cli imatrix -m MODEL -f TEXT -o FILE [-c 512] [--chunks N]");
    eval::ImatrixOptions o;
    try {
        if (ctx_arg) o.n_ctx = std::stoi(*ctx_arg);
        if (chunks_arg) o.max_chunks = std::stoi(*chunks_arg);
    } catch (...) {
        return fail("imatrix: -c and --chunks take numbers");
    }
    if (o.n_ctx < 2 || (chunks_arg && o.max_chunks < 1)) return fail("imatrix: -c takes at least 2, --chunks at least 1");

    std::ifstream in(*file, std::ios::binary);
    if (!in) return fail("imatrix: cannot open " + *file);
    std::stringstream ss;
    ss << in.rdbuf();

    auto gf = gguf::File::open(*model);
    if (!gf.ok()) return fail("imatrix: " + gf.message());
    ModelOptions opt;
    opt.path = *model;
    be.apply_to(opt);
    opt.n_ctx = o.n_ctx;
    auto session = Session::open(opt);
    if (!session.ok()) return fail("imatrix: " + session.message());
    o.progress = [](int done, int total) { std::fprintf(stderr, "[%d/%d]\n", done, total); };
    int n_chunks = 0;
    auto stats = eval::collect_imatrix(**session, **gf, ss.str(), o, &n_chunks);
    if (!stats.ok()) return fail(stats.message());
    const std::string dataset = std::filesystem::path(*file).filename().string();
    if (Status st = eval::write_imatrix(*out, *stats, dataset, n_chunks, o.n_ctx); !st.ok()) return fail("imatrix: " + st.message());
    std::printf("wrote %s: %zu matrices, %d chunks of %d tokens\n", out->c_str(), stats->size(), n_chunks, o.n_ctx);
    return 0;
}

const Registrar reg{"imatrix", "-m MODEL -f TEXT -o FILE [-c 512] [--chunks N] [--backend B] [--threads N]",
                    "importance statistics of the layer matrices over a text, in llama.cpp's GGUF imatrix format", run_imatrix};

}  // namespace
}  // namespace hearth::cli
