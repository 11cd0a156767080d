#include "engine/testmodels/model_shapes.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

#include "engine/quant/quantize_model.h"

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
    if (name == "qwen3-30b-a3b") {  // Qwen3-30B-A3B: 128 experts of width 768, 8 per token
        s.arch = "qwen3moe";
        s.name = "Qwen3-30B-A3B shape (random weights)";
        s.n_vocab = 151936; s.n_embd = 2048; s.n_layer = 48; s.n_head = 32; s.n_kv_head = 4; s.head_dim = 128;
        s.n_ff = 6144; s.n_ff_exp = 768; s.n_expert = 128; s.n_expert_used = 8;
        s.n_ctx_train = 40960; s.rope_freq_base = 1000000.0f; s.rms_eps = 1e-6f;
        return s;
    }
    if (name == "tiny") {  // for the CTest smoke run of the benchmark: seconds, not minutes
        s.name = "tiny test shape (random weights)";
        s.n_vocab = 512; s.n_embd = 256; s.n_layer = 2; s.n_head = 4; s.n_kv_head = 2; s.n_ff = 512;
        s.n_ctx_train = 512;
        return s;
    }
    return make_error("unknown model shape '" + name + "' (expected tinyllama-1.1b, llama-8b, qwen3-30b-a3b or tiny)");
}

std::vector<std::string> named_model_shapes() { return {"tinyllama-1.1b", "llama-8b", "qwen3-30b-a3b", "tiny"}; }

Result<GgmlType> apply_file_type(const std::string& file_type, int n_layer, RandomModelShape* shape) {
    std::string ft = file_type;
    std::transform(ft.begin(), ft.end(), ft.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    // llama.cpp's mixtures (Q4_K_M, Q5_K_M, Q6_K, Q8_0, Q4_0): the quantizer's own per-tensor plan,
    // so a random model has the types `hearth-cli quantize` (and llama-quantize) would give it.
    if (const auto preset = quant::preset_from_name(ft); preset && preset->mixture) {
        auto tensors = random_model_tensor_descs(*shape, GgmlType::F32);
        if (!tensors.ok()) return tensors.status();
        quant::ModelDesc desc;
        desc.arch = shape->arch;
        desc.n_layer = n_layer;
        desc.n_head = shape->n_head;
        desc.n_head_kv = shape->n_kv_head;
        desc.n_expert = shape->n_expert;
        desc.tensors = std::move(*tensors);
        auto plan = quant::plan_quantization(desc, *preset);
        if (!plan.ok()) return plan.status();
        std::map<std::string, GgmlType> types;
        for (const auto& t : plan->tensors) types[t.name] = t.to;
        shape->tensor_type = [types](const std::string& name, GgmlType requested) {
            const auto it = types.find(name);
            return it == types.end() ? requested : it->second;
        };
        return preset->base;
    }
    auto t = type_from_name(ft);
    if (!t) return make_error("unknown file type '" + file_type + "' (expected F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K, Q4_K or Q5_K)");
    const GgmlType type = *t;
    if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) {
        shape->tensor_type = nullptr;
    } else {
        // Uniform Q4_K / Q5_K: every matrix of that type but the output, Q6_K as in llama.cpp's mixtures.
        shape->tensor_type = [](const std::string& name, GgmlType requested) {
            return name == "output.weight" ? GgmlType::Q6_K : requested;
        };
    }
    return type;
}

}  // namespace hearth
