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

// A file type as llama.cpp's quantizer names it: F32, F16, BF16, Q8_0, Q4_0, Q4_K_M (also Q4_K,
// Q5_K, Q6_K as uniform types). Sets shape->tensor_type to the per-tensor rule and returns the base
// type to pass to write_random_llama_model.
//  - Q4_K_M: Q4_K everywhere except `output` (Q6_K) and, by llama.cpp's use_more_bits rule,
//    attn_v and ffn_down of the first and last eighth of the layers and every third layer between
//    (Q6_K).
//  - Q4_0 (and the other non-K types except Q8_0): `output` is Q6_K, as llama.cpp's quantizer
//    makes it (its rule: the output matrix gets Q6_K unless the file type is Q8_0 or a float type).
Result<GgmlType> apply_file_type(const std::string& file_type, int n_layer, RandomModelShape* shape);

// llama.cpp's use_more_bits(i_layer, n_layer).
bool use_more_bits(int i_layer, int n_layer);

}  // namespace hearth
