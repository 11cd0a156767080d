// hearth-cli embed: texts to their embeddings with a BERT-family embedding model (engine/embed), as
// the local API's /v1/embeddings gives them: one JSON array of unit vectors per line, or with
// --bench N the time of N passes over the texts in one batch (texts/s and tokens/s), for comparing
// with other implementations on the same machine.
#include <chrono>
#include <cstdio>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "engine/embed/text_embedder.h"

namespace hearth::cli {
namespace {

int run_embed(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto bench = args.take({"--bench"});
    BackendArgs be;
    if (std::string e = take_backend_args(args, &be); !e.empty()) return fail("embed: " + e);
    if (auto u = args.unknown_option(); !u.empty()) return fail("embed: unknown option " + u);
    if (!model) return fail("embed: -m MODEL is required (a BERT-family .gguf)");
    const std::vector<std::string> texts = args.positionals();
    if (texts.empty()) return fail("embed: give one or more TEXT arguments");
    long passes = 0;
    if (bench) {
        char* end = nullptr;
        passes = std::strtol(bench->c_str(), &end, 10);
        if (bench->empty() || *end || passes < 1 || passes > 100000) return fail("embed: --bench takes a number of passes, 1..100000");
    }
    std::string note;
    auto em = embed::TextEmbedder::open(*model, be.backend, be.device, be.threads, &note);
    if (!em.ok()) return fail("embed: " + em.message());
    if (!note.empty()) std::fprintf(stderr, "hearth-cli: %s\n", note.c_str());
    std::vector<std::vector<int32_t>> inputs;
    size_t tokens = 0;
    for (const std::string& t : texts) {
        inputs.push_back((*em)->tokenize(t));
        tokens += inputs.back().size();
        if (int(inputs.back().size()) > (*em)->max_tokens())
            return fail("embed: a text is " + std::to_string(inputs.back().size()) + " tokens long; the model takes " +
                        std::to_string((*em)->max_tokens()));
    }
    auto vectors = (*em)->embed_batch(inputs);  // also the warm-up pass of --bench
    if (!vectors.ok()) return fail("embed: " + vectors.message());
    if (passes > 0) {
        const auto t0 = std::chrono::steady_clock::now();
        for (long i = 0; i < passes; ++i)
            if (auto v = (*em)->embed_batch(inputs); !v.ok()) return fail("embed: " + v.message());
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%s: %zu texts (%zu tokens) x %ld passes in %.3f s: %.1f texts/s, %.0f tokens/s [%s]\n", model->c_str(), texts.size(),
                    tokens, passes, s, double(texts.size()) * double(passes) / s, double(tokens) * double(passes) / s,
                    device_label((*em)->backend().device()).c_str());
        return 0;
    }
    for (const std::vector<float>& v : *vectors) {
        std::string line = "[";
        char buf[32];
        for (size_t i = 0; i < v.size(); ++i) {
            std::snprintf(buf, sizeof buf, "%s%.7g", i ? ", " : "", double(v[i]));
            line += buf;
        }
        std::printf("%s]\n", line.c_str());
    }
    return 0;
}

const Registrar reg{"embed", "-m MODEL [--bench N] [--backend B] [--device N] [-t THREADS] TEXT...",
                    "embeddings of texts with a BERT-family embedding model, one JSON array per line (--bench: texts/s)", run_embed};

}  // namespace
}  // namespace hearth::cli
