// NFC = canonical decomposition, canonical ordering of combining marks, canonical composition
// (Unicode Standard Annex #15), over the generated tables; NFD stops after the ordering.
#include "engine/tokenizer/unicode_nfc.h"

#include <algorithm>
#include <vector>

#include "engine/tokenizer/unicode.h"

namespace hearth::tokenizer {

namespace {

using namespace detail;

// Hangul syllables decompose and compose arithmetically.
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t ccc(uint32_t cp) {
    if (cp < 0x300) return 0;
    const CccRun* end = kCccRuns + kCccRunCount;
    const CccRun* it = std::upper_bound(kCccRuns, end, cp, [](uint32_t v, const CccRun& r) { return v < r.first; });
    return it != kCccRuns && cp <= (it - 1)->last ? (it - 1)->ccc : 0;
}

const Decomposition* find_decomposition(uint32_t cp) {
    const Decomposition* end = kDecompositions + kDecompositionCount;
    const Decomposition* it = std::lower_bound(kDecompositions, end, cp, [](const Decomposition& d, uint32_t v) { return d.cp < v; });
    return it != end && it->cp == cp ? it : nullptr;
}

bool is_composition_second(uint32_t cp) {
    return std::binary_search(kCompositionSeconds, kCompositionSeconds + kCompositionSecondCount, cp);
}

uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
        return a + (b - kTBase);
    const Composition* end = kCompositions + kCompositionCount;
    const Composition* it = std::lower_bound(kCompositions, end, std::make_pair(a, b), [](const Composition& c, const std::pair<uint32_t, uint32_t>& v) {
        return c.a != v.first ? c.a < v.first : c.b < v.second;
    });
    return it != end && it->a == a && it->b == b ? it->composite : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        const uint32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount) out.push_back(kTBase + s % kTCount);
        return;
    }
    if (const Decomposition* d = find_decomposition(cp)) {
        decompose(d->a, out);
        if (d->b) decompose(d->b, out);
        return;
    }
    out.push_back(cp);
}

// Could this code point change under NFC, alone or next to its neighbours?
bool needs_work(uint32_t cp) {
    if (cp < 0xC0) return false;  // ASCII and the start of Latin-1 neither decompose nor combine
    if (cp >= kSBase && cp < kSBase + kSCount) return false;  // precomposed Hangul may take a T: checked on the T
    return ccc(cp) != 0 || find_decomposition(cp) != nullptr || is_composition_second(cp) ||
           (cp >= kVBase && cp < kVBase + kVCount) || (cp > kTBase && cp < kTBase + kTCount);
}

// Canonical decomposition followed by canonical ordering (NFD), the first step of NFC.
std::vector<uint32_t> decompose_ordered(const std::vector<uint32_t>& cps) {
    std::vector<uint32_t> d;
    d.reserve(cps.size() + 8);
    for (uint32_t cp : cps) decompose(cp, d);
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    for (size_t i = 0; i < d.size();) {
        if (ccc(d[i]) == 0) { ++i; continue; }
        size_t j = i;
        while (j < d.size() && ccc(d[j]) != 0) ++j;
        std::stable_sort(d.begin() + i, d.begin() + j, [](uint32_t a, uint32_t b) { return ccc(a) < ccc(b); });
        i = j;
    }
    return d;
}

void nfd_run(const std::vector<uint32_t>& cps, std::string& out) {
    for (uint32_t c : decompose_ordered(cps)) append_utf8(out, c);
}

void nfc_run(const std::vector<uint32_t>& cps, std::string& out) {
    const std::vector<uint32_t> d = decompose_ordered(cps);
    // Canonical composition.
    std::vector<uint32_t> r;
    r.reserve(d.size());
    long starter = -1;  // index in r of the last starter
    int last_ccc = -1;  // class of the last character after the starter; -1: none (adjacent)
    for (uint32_t c : d) {
        const int k = ccc(c);
        if (starter >= 0 && (last_ccc == -1 || (last_ccc != 0 && last_ccc < k))) {
            if (uint32_t comp = compose_pair(r[size_t(starter)], c)) {
                r[size_t(starter)] = comp;
                continue;
            }
        }
        if (k == 0) {
            starter = long(r.size());
            last_ccc = -1;
        } else {
            last_ccc = k;
        }
        r.push_back(c);
    }
    for (uint32_t c : r) append_utf8(out, c);
}

}  // namespace

bool nfc_quick_check(std::string_view text) {
    bool ascii = true;
    for (unsigned char c : text) ascii &= c < 0x80;
    if (ascii) return true;
    for (const CodePoint& c : decode_utf8(text)) {
        if (needs_work(c.cp)) return false;
    }
    return true;
}

namespace {

// Runs `normalize_run` over each maximal run of valid UTF-8; invalid bytes are kept as they are.
template <class RunFn>
std::string normalize_runs(std::string_view text, RunFn normalize_run) {
    std::string out;
    out.reserve(text.size() + 8);
    std::vector<uint32_t> run;
    for (const CodePoint& c : decode_utf8(text)) {
        if (c.cp == 0xFFFD && c.len == 1 && static_cast<unsigned char>(text[c.offset]) >= 0x80) {
            // an invalid byte (a real U+FFFD is 3 bytes): flush the run, keep the byte
            normalize_run(run, out);
            run.clear();
            out += text[c.offset];
            continue;
        }
        run.push_back(c.cp);
    }
    normalize_run(run, out);
    return out;
}

}  // namespace

std::string nfc(std::string_view text) {
    if (nfc_quick_check(text)) return std::string(text);
    return normalize_runs(text, nfc_run);
}

std::string nfd(std::string_view text) {
    // Below U+00C0 nothing decomposes or reorders (the combining marks start at U+0300).
    bool plain = true;
    for (const CodePoint& c : decode_utf8(text)) plain &= c.cp < 0xC0 || (c.cp == 0xFFFD && c.len == 1);
    if (plain) return std::string(text);
    return normalize_runs(text, nfd_run);
}

}  // namespace hearth::tokenizer
