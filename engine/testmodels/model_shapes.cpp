#include "engine/testmodels/model_shapes.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace hearth {

Result<RandomModelShape> named_model_shape(const std::string& name) {
    RandomModelShape s;
    s.arch = "llama";
    if (name == "tinyllama-1.1b") {
        s.name = "TinyLlama-1.1B shape (random weights)";
        s.n_vocab = 32000; s.n_embd = 2048; s.n_layer = 22; s.n_head = 32; s.n_kv_head = 4; s.n_ff = 5632;
        s.n_ctx_train = 2048; s.rope_freq_base = 10000.0f; s.rms_eps = 1e-5f;
        return s;
    }
    if (name == "llama-8b") {
        s.name = "Llama-3-8B shape (random weights)";
        s.n_vocab = 128256; s.n_embd = 4096; s.n_layer = 32; s.n_head = 32; s.n_kv_head = 8; s.n_ff = 14336;
        s.n_ctx_train = 8192; s.rope_freq_base = 500000.0f; s.rms_eps = 1e-5f;
        return s;
    }
    if (name == "tiny") {  // for the CTest smoke run of the benchmark: seconds, not minutes
        s.name = "tiny test shape (random weights)";
        s.n_vocab = 512; s.n_embd = 256; s.n_layer = 2; s.n_head = 4; s.n_kv_head = 2; s.n_ff = 512;
        s.n_ctx_train = 512;
        return s;
    }
    return make_error("unknown model shape '" + name + "' (expected tinyllama-1.1b, llama-8b or tiny)");
}

std::vector<std::string> named_model_shapes() { return {"tinyllama-1.1b", "llama-8b", "tiny"}; }

bool use_more_bits(int i_layer, int n_layer) {
    return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

namespace {

// Layer index of "blk.N.…", or -1.
int layer_of(const std::string& tensor) {
    if (tensor.rfind("blk.", 0) != 0) return -1;
    return std::atoi(tensor.c_str() + 4);
}

}  // namespace

Result<GgmlType> apply_file_type(const std::string& file_type, int n_layer, RandomModelShape* shape) {
    std::string ft = file_type;
    std::transform(ft.begin(), ft.end(), ft.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    if (ft == "Q4_K_M") {
        shape->tensor_type = [n_layer](const std::string& t, GgmlType) {
            if (t == "output.weight") return GgmlType::Q6_K;
            const bool v = t.find("attn_v.weight") != std::string::npos, down = t.find("ffn_down") != std::string::npos;
            if ((v || down) && use_more_bits(layer_of(t), n_layer)) return GgmlType::Q6_K;
            return GgmlType::Q4_K;
        };
        return GgmlType::Q4_K;
    }
    auto t = type_from_name(ft);
    if (!t) return make_error("unknown file type '" + file_type + "' (expected F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q4_K, Q5_K or Q6_K)");
    const GgmlType type = *t;
    if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16 || type == GgmlType::Q8_0) {
        shape->tensor_type = nullptr;
    } else {
        shape->tensor_type = [](const std::string& name, GgmlType requested) {
            return name == "output.weight" ? GgmlType::Q6_K : requested;
        };
    }
    return type;
}

}  // namespace hearth
