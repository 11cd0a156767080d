// hearth-cli perplexity -m MODEL -f TEXT [-c 512] [--chunks N] [--kl-base MODEL] [--json]: the
// quality figure of a model on a text, computed as llama-perplexity does (engine/eval/perplexity.h).
// Progress goes to stderr; stdout gets the result, and with --json its last line is one JSON object
// {"ppl", "ppl_err", "n_chunks", "n_ctx", "n_tokens", "n_scored", and with --kl-base "kl", "kl_err",
// "top1_agree"}.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "engine/eval/perplexity.h"
#include "engine/util/json.h"

namespace hearth::cli {
namespace {

int run_perplexity(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto file = args.take({"-f", "--file"});
    const auto ctx_arg = args.take({"-c", "--ctx-size"});
    const auto chunks_arg = args.take({"--chunks"});
    const auto kl_base = args.take({"--kl-base"});
    const bool as_json = args.flag({"--json"});
    BackendArgs be;
    if (std::string e = take_backend_args(args, &be); !e.empty()) return fail("perplexity: " + e);
    if (auto u = args.unknown_option(); !u.empty()) return fail("perplexity: unknown option " + u);
    if (!args.positionals().empty()) return fail("perplexity: unexpected argument '" + args.positionals()[0] + "'");
    if (!model || !file) return fail("perplexity: usage: hearth-cli perplexity -m MODEL -f TEXT [-c 512] [--chunks N] [--kl-base MODEL] [--json]");

    auto parse_positive = [](const std::optional<std::string>& s, int fallback, int* out) {
        if (!s) { *out = fallback; return true; }
        try {
            size_t used = 0;
            *out = std::stoi(*s, &used);
            return used == s->size() && *out > 0;
        } catch (...) {
            return false;
        }
    };
    eval::PerplexityOptions popt;
    if (!parse_positive(ctx_arg, 512, &popt.n_ctx) || popt.n_ctx < 4) return fail("perplexity: -c takes a context size of at least 4 tokens");
    if (!parse_positive(chunks_arg, -1, &popt.max_chunks)) return fail("perplexity: --chunks takes a positive number");

    std::ifstream in(*file, std::ios::binary);
    if (!in) return fail("perplexity: cannot open " + *file);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();

    auto open = [&](const std::string& path) {
        ModelOptions opt;
        opt.path = path;
        be.apply_to(opt);
        opt.n_ctx = popt.n_ctx;
        return Session::open(opt);
    };
    auto session = open(*model);
    if (!session.ok()) return fail("perplexity: " + session.message());
    std::unique_ptr<Session> base;
    if (kl_base) {
        auto b = open(*kl_base);
        if (!b.ok()) return fail("perplexity: --kl-base: " + b.message());
        base = std::move(*b);
    }
    std::fprintf(stderr, "perplexity: %s on %s, %d tokens per chunk, %s\n", model->c_str(), file->c_str(), popt.n_ctx,
                 (*session)->info().backend_description.c_str());
    popt.progress = [](int done, int total, double ppl) {
        std::fprintf(stderr, "[%d/%d] %.4f\n", done, total, ppl);
    };
    auto r = eval::perplexity(**session, text, popt, base.get());
    if (!r.ok()) return fail(r.message());

    std::printf("PPL = %.4f +/- %.5f over %d chunks of %d tokens (%lld tokens scored of %lld)\n", r->ppl, r->ppl_err, r->n_chunks,
                r->n_ctx, static_cast<long long>(r->n_scored), static_cast<long long>(r->n_text_tokens));
    if (r->has_kl)
        std::printf("KL divergence to %s: %.6f +/- %.6f nats per token; same top token %.2f%%\n", kl_base->c_str(), r->mean_kl, r->kl_err,
                    100.0 * r->top1_agree);
    if (as_json) {
        json::Value o = json::Value::object();
        o.set("ppl", json::Value(r->ppl));
        o.set("ppl_err", json::Value(r->ppl_err));
        o.set("n_chunks", json::Value(int64_t(r->n_chunks)));
        o.set("n_ctx", json::Value(int64_t(r->n_ctx)));
        o.set("n_tokens", json::Value(int64_t(r->n_text_tokens)));
        o.set("n_scored", json::Value(int64_t(r->n_scored)));
        if (r->has_kl) {
            o.set("kl", json::Value(r->mean_kl));
            o.set("kl_err", json::Value(r->kl_err));
            o.set("top1_agree", json::Value(r->top1_agree));
        }
        std::printf("%s\n", o.dump().c_str());
    }
    return 0;
}

const Registrar reg{"perplexity",
                    "-m MODEL -f TEXT [-c 512] [--chunks N] [--kl-base MODEL] [--json] [--backend B] [--device N] [--gpu-layers N] [--threads N]",
                    "perplexity of a model on a text as llama-perplexity computes it; --kl-base adds KL divergence and top-1 agreement",
                    run_perplexity};

}  // namespace
}  // namespace hearth::cli
