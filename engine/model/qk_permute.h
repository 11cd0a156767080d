// llama's q/k row order in GGUF. llama.cpp's converter (LlamaModel.permute) reorders the rows of
// llama's q and k projections per head so that GGUF's "normal" RoPE, which rotates adjacent pairs,
// computes what Hugging Face's rotate_half (the two halves of a head) computes: row h·d + 2i + j of
// the GGUF matrix is row h·d + j·d/2 + i of the Hugging Face one. The converter applies it to the
// base weights and biases, and PEFT LoRA loading to adapter B matrices (their rows are the same
// projection's outputs); both call this one mapping.
#pragma once

#include <cstdint>
#include <vector>

namespace hearth {

// The Hugging Face row that GGUF row `gguf_row` comes from, for heads of `head_dim` rows.
inline int64_t qk_permuted_source_row(int64_t gguf_row, int64_t head_dim) {
    const int64_t h = gguf_row / head_dim, r = gguf_row % head_dim, half = head_dim / 2;
    return h * head_dim + (r % 2) * half + r / 2;
}

// Permutes a row-major [rows × cols] matrix in place (rows a multiple of head_dim).
void permute_qk_rows(std::vector<float>& m, int64_t rows, int64_t cols, int64_t head_dim);

}  // namespace hearth
