// hearth-cli search-docs: the chat's document search from the command line. The files are read,
// cut into passages and embedded with a BERT-family embedding model (engine/docs), and each query
// prints its best passages as JSON lines, found as the chat finds them (passage_search: meaning and
// words, cosine ≥ 0.15, 4 unless --top); --prompt prints instead the user turn the chat would send
// a model for the first query. For checking what the Documents panel finds, and how fast it indexes.
#include <chrono>
#include <cstdio>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "engine/docs/grounded_prompt.h"
#include "engine/docs/passage_embedding.h"
#include "engine/docs/passage_search.h"
#include "engine/util/json.h"

namespace hearth::cli {
namespace {

int run_search_docs(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto top = args.take({"--top"});
    const bool prompt = args.flag({"--prompt"});
    std::vector<std::string> queries;
    while (auto q = args.take({"-q", "--query"})) queries.push_back(*q);
    BackendArgs be;
    if (std::string e = take_backend_args(args, &be); !e.empty()) return fail("search-docs: " + e);
    if (auto u = args.unknown_option(); !u.empty()) return fail("search-docs: unknown option " + u);
    if (!model) return fail("search-docs: -m MODEL is required (a BERT-family embedding .gguf)");
    const std::vector<std::string> files = args.positionals();
    if (files.empty()) return fail("search-docs: give one or more document files");
    if (queries.empty()) return fail("search-docs: give one or more --query TEXT");
    long k = long(docs::kPassagesPerQuestion);
    if (top) {
        char* end = nullptr;
        k = std::strtol(top->c_str(), &end, 10);
        if (top->empty() || *end || k < 1 || k > 100) return fail("search-docs: --top takes 1..100");
    }
    std::string note;
    auto em = embed::TextEmbedder::open(*model, be.backend, be.device, be.threads, &note);
    if (!em.ok()) return fail("search-docs: " + em.message());
    if (!note.empty()) std::fprintf(stderr, "hearth-cli: %s\n", note.c_str());

    std::vector<std::vector<docs::Passage>> passages;
    size_t total = 0, bytes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t f = 0; f < files.size(); ++f) {
        auto doc = docs::read_document(files[f]);
        if (!doc.ok()) return fail("search-docs: " + doc.message());
        auto p = docs::embed_document(**em, *doc);
        if (!p.ok()) return fail("search-docs: " + files[f] + ": " + p.message());
        total += p->size();
        bytes += doc->text.size();
        passages.push_back(std::move(*p));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "hearth-cli: %zu files, %zu KB of text, %zu passages indexed in %.2f s (%.1f passages/s) [%s]\n", files.size(),
                 bytes >> 10, total, s, double(total) / std::max(s, 1e-9), device_label((*em)->backend().device()).c_str());

    for (const std::string& q : queries) {
        std::vector<int32_t> ids = (*em)->tokenize(q);
        if (int(ids.size()) > (*em)->max_tokens()) ids.resize(size_t((*em)->max_tokens()));
        auto qv = (*em)->embed(ids);
        if (!qv.ok()) return fail("search-docs: " + qv.message());
        std::vector<docs::SearchablePassage> searchable;
        for (size_t f = 0; f < passages.size(); ++f)
            for (size_t i = 0; i < passages[f].size(); ++i)
                searchable.push_back({int64_t(f), int32_t(i), passages[f][i].chunk.text, passages[f][i].vector.data(), passages[f][i].vector.size()});
        const auto hits = docs::search_passages(searchable, *qv, q, size_t(k), docs::kRelevantCosine);
        if (prompt) {
            std::vector<docs::Excerpt> ex;
            for (const auto& h : hits) {
                const docs::Chunk& c = passages[size_t(h.document_id)][size_t(h.seq)].chunk;
                const std::string& path = files[size_t(h.document_id)];
                ex.push_back({path.substr(path.find_last_of('/') + 1), c.line, c.heading, c.text});
            }
            std::printf("%s\n", docs::grounded_message(q, ex).c_str());
            return 0;
        }
        for (size_t r = 0; r < hits.size(); ++r) {
            const docs::Chunk& c = passages[size_t(hits[r].document_id)][size_t(hits[r].seq)].chunk;
            json::Value o = json::Value::object();
            o.set("query", q);
            o.set("rank", int(r + 1));
            o.set("score", double(hits[r].score));
            o.set("file", files[size_t(hits[r].document_id)]);
            o.set("line", c.line);
            if (!c.heading.empty()) o.set("heading", c.heading);
            o.set("text", c.text);
            std::printf("%s\n", o.dump().c_str());
        }
    }
    return 0;
}

const Registrar reg{"search-docs", "-m EMBEDDING_MODEL -q QUERY [-q QUERY]... [--top K] [--prompt] [--backend B] FILE...",
                    "search documents as the chat's Documents do: passages best matching each query, as JSON lines", run_search_docs};

}  // namespace
}  // namespace hearth::cli
