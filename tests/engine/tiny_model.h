// Tiny models for engine tests, written with the project's own GGUF writer (header-only: every
// tests/engine/test_*.cpp is its own program).
//
// A "scripted" model makes greedy (and any low-temperature) decoding follow a fixed chain of
// tokens: chain[i] is always followed by chain[i+1]. It is built from a one-layer random model by
// zeroing the attention output and FFN down projections (so the residual stream is just the
// current token's embedding), giving each chain token a one-hot embedding, and making the output
// row of chain[i+1] pick out chain[i]'s dimension with a large weight. Every token in the chain
// must be distinct (except that the last one needs no successor), at most n_embd of them.
#pragma once

#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/testmodels/random_model.h"

namespace hearth::test {

inline std::string temp_file(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("hearth_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// `chat_template`: written as tokenizer.chat_template when not empty.
// `extra_pieces`: whole-word tokens at the vocabulary's last ids (extra_token), so a chain can
// spell text whose characters repeat (each token of a chain must be distinct).
inline Status write_scripted_model(const std::string& path, const std::vector<int32_t>& chain, int n_ctx_train = 4096,
                                   const std::string& chat_template = {}, const std::vector<std::string>& extra_pieces = {}) {
    RandomModelShape shape;
    shape.chat_template = chat_template;
    shape.extra_pieces = extra_pieces;
    shape.n_layer = 1;
    shape.n_embd = 64;
    shape.n_ctx_train = n_ctx_train;
    const std::string base = path + ".base";
    HEARTH_RETURN_IF_ERROR(write_random_llama_model(base, shape, GgmlType::F32, 11));
    auto f = gguf::File::open(base);
    if (!f.ok()) return f.status();
    const int E = shape.n_embd;
    if (int(chain.size()) > E) return make_error("scripted model: chain longer than n_embd");
    gguf::Writer w;
    w.copy_metadata_from(**f);
    std::vector<std::vector<float>> keep;  // tensor bytes must outlive write()
    for (const auto& t : (*f)->tensors()) {
        std::vector<float> v(static_cast<size_t>(t.n_elements()));
        std::memcpy(v.data(), t.data, t.n_bytes);
        if (t.name == "blk.0.attn_output.weight" || t.name == "blk.0.ffn_down.weight") {
            std::fill(v.begin(), v.end(), 0.0f);
        } else if (t.name == "token_embd.weight") {
            for (size_t i = 0; i < chain.size(); ++i) {
                float* row = v.data() + size_t(chain[i]) * E;
                std::fill(row, row + E, 0.0f);
                row[i] = 1.0f;
            }
        } else if (t.name == "output.weight") {
            std::fill(v.begin(), v.end(), 0.0f);
            for (size_t i = 0; i + 1 < chain.size(); ++i) v[size_t(chain[i + 1]) * E + i] = 10.0f;
        } else if (t.name == "output_norm.weight") {
            std::fill(v.begin(), v.end(), 1.0f);
        }
        keep.push_back(std::move(v));
        HEARTH_RETURN_IF_ERROR(w.add_tensor(t.name, t.type, t.dims, keep.back().data(), t.n_bytes));
    }
    Status s = w.write(path);
    std::filesystem::remove(base);
    return s;
}

// Token id of extra piece i of n in the generated vocabulary (of the default 512 tokens).
inline int32_t extra_token(int i, int n) { return 512 - n + i; }
// Token id of byte b in the generated vocabulary of random_model (<unk>, <s>, </s>, then <0x00>..<0xFF>).
inline int32_t byte_token(uint8_t b) { return 3 + b; }
// Token id of a printable ASCII character (33..126) in that vocabulary (after the bytes and "▁").
inline int32_t ascii_token(char c) { return 3 + 256 + 1 + (c - 33); }

}  // namespace hearth::test
