// Writes random-weight models of any architecture of engine/model/arch/ with the project's own GGUF
// writer: for tests, for the app's tests and for `hearth-cli make-model` (benchmarks). The tensors
// are the architecture's manifest, the one the loader reads. Weights are shaped so every layer
// matters (as the shared reference models are): matrices N(0,1)/sqrt(fan_in), embeddings N(0,1),
// norm weights 1 ± 0.2, biases N(0, 0.1). The same seed always writes the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/quant/quantize_model.h"
#include "engine/quant/types.h"
#include "engine/util/status.h"

namespace hearth {

struct RandomModelShape {
    std::string arch = "llama";     // general.architecture: "llama", "qwen2", "qwen3", "gemma3", "phi3", "qwen3moe"
    std::string name = "random";    // general.name
    int n_vocab = 512;              // ignored when vocab_from is set (its vocabulary's size is used)
    int n_embd = 64;
    int n_layer = 2;
    int n_head = 4;
    int n_kv_head = 2;
    int n_ff = 160;
    int head_dim = 0;               // 0: n_embd / n_head (otherwise written as attention.key_length)
    int sliding_window = 0;         // gemma3 (required there: 0 means 512) and phi3
    // A mixture of experts (qwen3moe requires one; llama may have one, as Mixtral): experts, how
    // many each token takes, an expert's hidden size (0: n_ff).
    int n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
    int n_ctx_train = 4096;
    float rope_freq_base = 10000.0f;
    float rms_eps = 1e-5f;
    bool tied_output = false;       // no output.weight: the output uses token_embd.weight
    bool qkv_bias = false;          // llama: write q/k/v biases (qwen2 always has them, the others never)
    // Vocabulary: when set, tokenizer.* metadata is copied from this GGUF (e.g. a shared
    // ggml-vocab-*.gguf); otherwise a small SentencePiece-style vocabulary with byte fallback is
    // generated (<unk>, <s>, </s>, 256 byte tokens, printable ASCII, then "▁"-words).
    std::string vocab_from;
    std::string chat_template;      // tokenizer.chat_template when non-empty
    // Generated vocabulary only: pieces that take the last ids (n_vocab - size() + i), for tests
    // that script whole words (SentencePiece form: "▁" for a space).
    std::vector<std::string> extra_pieces;
    // Per-tensor storage type (e.g. llama.cpp's Q4_K_M mixture, engine/testmodels/model_shapes.h): called
    // with each matrix's name and the requested type; unset = every matrix gets the requested type.
    std::function<GgmlType(const std::string& tensor, GgmlType requested)> tensor_type;
    // 0: every row of every matrix is drawn. N > 0: only the first N rows of a matrix are drawn and
    // quantized, and the rest repeat them (row r is row r % N): a model for timing, whose values do
    // not matter, written in seconds instead of minutes (a 1.1B shape takes ~30 s on two cores).
    int distinct_rows = 0;
};

// Tensors are generated and quantized while the file streams out (one tensor in memory at a time;
// rows quantized on a thread pool of the machine's cores), with the random stream drawn in the
// same order as a serial writer would, so the bytes do not depend on the thread count.
// Matrices (and token_embd) are stored as `type` (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K);
// a matrix whose row length is not a multiple of the type's block falls back to Q8_0 (or F32 when
// not a multiple of 32), as llama.cpp's quantizer does. Norms and biases are F32.
Status write_random_llama_model(const std::string& path, const RandomModelShape& shape, GgmlType type, uint64_t seed);

// The tensors write_random_llama_model writes for `shape` (names and dims; matrices and token_embd
// as `type`, the rest F32), without writing anything: what the quantizer's plan needs
// (apply_file_type, the preset tests). n_vocab is the shape's (vocab_from is not read).
Result<std::vector<quant::TensorDesc>> random_model_tensor_descs(const RandomModelShape& shape, GgmlType type);

}  // namespace hearth
