// Documents a person attaches to a conversation (engine/docs): any bytes under any of the names
// that choose a reading (text, Markdown, HTML; PDF and zip-packed documents by their first bytes),
// decoded, then cut into passages. What decodes must be UTF-8, and the passages must keep
// chunk_text's promises: in order, inside the text, each within the token limit unless one
// character, and together covering all of it; their keyword index answers with finite scores.
#include "engine/docs/chunker.h"
#include "engine/docs/document_text.h"
#include "engine/docs/keyword_index.h"
#include "engine/util/utf8.h"
#include "tests/fuzz/fuzz_target.h"

#include <cstdlib>

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return -1;
    static const char* const kNames[] = {"a.txt", "b.md", "c.html", "d.py"};
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
    auto doc = docs::decode_document(bytes, kNames[data[0] % 4]);
    if (!doc.ok()) return 0;
    if (!utf8_valid(doc->text)) std::abort();
    docs::ChunkOptions o;
    o.max_tokens = 1 + data[1] % 32;
    o.overlap_tokens = data[1] / 32;
    o.markdown = doc->kind == "markdown";
    const docs::TokenCounter count = [](std::string_view s) { return (s.size() + 2) / 3; };
    const auto chunks = docs::chunk_text(doc->text, count, o);
    std::vector<bool> covered(doc->text.size(), false);
    size_t prev = 0;
    for (const docs::Chunk& c : chunks) {
        if (c.begin >= c.end || c.end > doc->text.size() || c.begin < prev) std::abort();
        if (doc->text.compare(c.begin, c.end - c.begin, c.text) != 0 || !utf8_valid(c.text)) std::abort();
        uint32_t cp;
        if (count(c.text) > o.max_tokens && utf8_decode_at(c.text, 0, &cp) != c.text.size()) std::abort();
        prev = c.begin;
        for (size_t i = c.begin; i < c.end; ++i) covered[i] = true;
    }
    for (size_t i = 0; i < covered.size(); ++i) {
        const char ch = doc->text[i];
        if (!covered[i] && ch != ' ' && ch != '\n' && ch != '\t' && ch != '\f' && ch != '\r') std::abort();
    }
    // The passages' words, searched with the start of the text: terms are UTF-8, scores finite.
    docs::KeywordIndex words;
    for (size_t i = 0; i < chunks.size(); ++i) words.add(0, int32_t(i), chunks[i].text);
    for (const std::string& t : docs::keyword_terms(doc->text.substr(0, 200)))
        if (t.empty() || !utf8_valid(t)) std::abort();
    for (const docs::PassageHit& h : words.search(doc->text.substr(0, 200), 8))
        if (!(h.score > 0) || h.seq < 0 || size_t(h.seq) >= chunks.size()) std::abort();
    return 0;
}

std::vector<std::string> hearth::fuzz::seeds() {
    // The PDF fixtures (reportlab, fpdf2's CID font with ToUnicode, qpdf's object streams).
    std::vector<std::string> pdfs;  // and zip-packed documents
    for (const char* name : {"reportlab-latin.pdf", "reportlab-cjk.pdf", "fpdf2-dejavu.pdf", "objstm.pdf", "encrypted.pdf"})
        pdfs.push_back(std::string("\x00\x30") + read_file(std::string(HEARTH_SOURCE_DIR "/tests/engine/data/pdf/") + name));
    // The zip-packed fixtures (python-docx, python-pptx, odfpy, a hand-made EPUB).
    for (const char* name : {"report.docx", "slides.pptx", "notes.odt", "book.epub"})
        pdfs.push_back(std::string("\x01\x20") + read_file(std::string(HEARTH_SOURCE_DIR "/tests/engine/data/office/") + name));
    std::vector<std::string> texts = {
        std::string("\x00\x40") + "# Title\n\nFirst paragraph. Second sentence!\n\n## Part\n\n中文的句子。另一个句子？\n",
        std::string("\x02\x21") + "<html><head><style>x{}</style><script>a<b</script></head><body><h1>T&amp;t</h1><p>One&#20013; "
                                  "two</p><!-- c --><table><tr><td>a</td><td>b</td></tr></table></body></html>",
        std::string("\x01\x05") + "\xFF\xFE" + std::string("H\0i\0\r\0\n\0=\xD8\x00\xDE", 12),
        std::string("\x00\x10") + "\xB5\xDA\xD2\xBB\xD5\xC2\x20\xD7\xDC\xD4\xF2\x0A\xB1\xBE\xCE\xC4\xBC\xFE",
        std::string("\x03\x3F") + "def f(x):\r\n    return x  # comment\r\n\r\n\tclass A: pass\n",
    };
    texts.insert(texts.end(), pdfs.begin(), pdfs.end());
    return texts;
}
