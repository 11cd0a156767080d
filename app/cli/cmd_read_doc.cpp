// hearth-cli read-doc: the text the chat's Documents read from a file (engine/docs/document_text:
// PDF, Word, PowerPoint, OpenDocument, EPUB, text in UTF-8, UTF-16 or GB18030, Markdown, HTML,
// source), as it is cut into passages; with
// --bench N, the time of N reads instead (for tests/bench/pdf-text-vs-pdfminer.sh).
#include <chrono>
#include <cstdio>

#include "app/cli/command.h"
#include "engine/docs/document_text.h"

namespace hearth::cli {
namespace {

int run_read_doc(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto bench = args.take({"--bench"});
    if (auto u = args.unknown_option(); !u.empty()) return fail("read-doc: unknown option " + u);
    const std::vector<std::string> files = args.positionals();
    if (files.empty()) return fail("read-doc: give one or more files");
    long passes = 0;
    if (bench) {
        char* end = nullptr;
        passes = std::strtol(bench->c_str(), &end, 10);
        if (bench->empty() || *end || passes < 1 || passes > 100000) return fail("read-doc: --bench takes a number of passes, 1..100000");
    }
    for (const std::string& f : files) {
        auto doc = docs::read_document(f);
        if (!doc.ok()) return fail("read-doc: " + doc.message());
        if (passes == 0) {
            std::printf("%s", doc->text.c_str());
            if (!doc->text.empty() && doc->text.back() != '\n') std::printf("\n");
            continue;
        }
        const auto t0 = std::chrono::steady_clock::now();
        for (long i = 0; i < passes; ++i)
            if (auto d = docs::read_document(f); !d.ok()) return fail("read-doc: " + d.message());
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%s: %s, %zu bytes of text, %.2f ms per read (%ld passes)\n", f.c_str(), doc->kind.c_str(), doc->text.size(),
                    s * 1000 / double(passes), passes);
    }
    return 0;
}

const Registrar reg{"read-doc", "[--bench N] FILE...",
                    "the text the chat's Documents read from PDF, text, Markdown, HTML or source files (--bench: ms per read)",
                    run_read_doc};

}  // namespace
}  // namespace hearth::cli
