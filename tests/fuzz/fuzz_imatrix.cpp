// Importance matrices (engine/eval/imatrix): llama.cpp's GGUF imatrix file, which a person may give
// the quantizer. One that reads must give finite, non-negative weights.
#include <cmath>

#include "engine/eval/imatrix.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz::Scratch::get().write("in.imatrix.gguf", std::string_view(reinterpret_cast<const char*>(data), size));
    auto m = eval::read_imatrix(path);
    if (!m.ok()) return fuzz::refused(m.message());
    for (const auto& [name, w] : *m)
        for (float x : w)
            if (!std::isfinite(x) || x < 0) std::abort();
    return 0;
}

std::vector<std::string> hearth::fuzz::seeds() {
    // Written by write_imatrix: three tensors, the last never seen (count 0, its sums all zero), and
    // a stacked-expert one.
    std::map<std::string, eval::ImatrixEntry> entries;
    int i = 0;
    for (int cols : {32, 64, 16}) {
        const bool seen = i < 2;
        eval::ImatrixEntry& e = entries["blk." + std::to_string(i++) + ".ffn_down.weight"];
        for (int c = 0; c < cols; ++c) e.in_sum2.push_back(seen ? float(c % 7) * 0.5f : 0.0f);
        e.counts = {seen ? 10 : 0};
    }
    // Stacked experts: one set per expert (the second never chosen).
    eval::ImatrixEntry& x = entries["blk.0.ffn_down_exps.weight"];
    for (int c = 0; c < 3 * 32; ++c) x.in_sum2.push_back(c / 32 == 1 ? 0.0f : float(c % 5) * 0.25f);
    x.counts = {6, 0, 2};
    const std::string path = Scratch::get().dir() + "/seed.imatrix.gguf";
    if (!eval::write_imatrix(path, entries, "wiki.txt", 4, 512).ok()) std::abort();
    return {read_file(path)};
}
