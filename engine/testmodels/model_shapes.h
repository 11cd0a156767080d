// Real model shapes and llama.cpp's file-type mixtures for random-weight benchmark models
// (`hearth-cli make-model`): the weights are random, the shapes, tensor types and byte counts are
// those of the real models, so speed measured on them is the speed users get.
#pragma once

#include <string>
#include <vector>

#include "engine/testmodels/random_model.h"
#include "engine/util/status.h"

namespace hearth {

// "tinyllama-1.1b" (n_embd 2048, 22 layers, 32 heads, 4 KV heads, ffn 5632, vocab 32000) or
// "llama-8b" (Llama-3-8B: n_embd 4096, 32 layers, 32 heads, 8 KV heads, ffn 14336, vocab 128256);
// "tiny" (n_embd 256, 2 layers: the CTest smoke run of the benchmark).
Result<RandomModelShape> named_model_shape(const std::string& name);
std::vector<std::string> named_model_shapes();

// A file type as llama.cpp's quantizer names it: F32, F16, BF16, the presets of
// engine/quant/quantize_model.h (Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K: each tensor gets the type the
// quantizer's plan gives it, llama.cpp's per-tensor rules) and the uniform Q4_K, Q5_K (output Q6_K).
// Sets shape->tensor_type to the per-tensor rule and returns the base type to pass to
// write_random_llama_model.
Result<GgmlType> apply_file_type(const std::string& file_type, int n_layer, RandomModelShape* shape);

}  // namespace hearth
