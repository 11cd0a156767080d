// SPIR-V modules compiled from shaders/*.comp at build time and embedded (embed_spirv.cmake).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hearth::vk {

struct EmbeddedShader {
    const char* name;      // "mul_mv_q4_0", "rms_norm_nosg", …
    const uint32_t* code;  // SPIR-V words
    size_t words;
};
extern const EmbeddedShader kEmbeddedShaders[];
extern const size_t kEmbeddedShaderCount;

inline const EmbeddedShader* find_shader(std::string_view name) {
    for (size_t i = 0; i < kEmbeddedShaderCount; ++i)
        if (name == kEmbeddedShaders[i].name) return &kEmbeddedShaders[i];
    return nullptr;
}

}  // namespace hearth::vk
