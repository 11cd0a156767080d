#include "engine/model/arch/arch.h"

namespace hearth {

// Defined in this folder, one file each.
extern const ArchDef kArchLlama, kArchQwen2, kArchQwen3, kArchGemma3, kArchPhi3, kArchQwen3Moe;

namespace {
const ArchDef* const kArchs[] = {&kArchLlama, &kArchQwen2, &kArchQwen3, &kArchGemma3, &kArchPhi3, &kArchQwen3Moe};
}

const ArchDef* find_arch(std::string_view name) {
    for (const ArchDef* a : kArchs)
        if (name == a->name) return a;
    return nullptr;
}

const ArchDef& arch_def(Arch id) {
    for (const ArchDef* a : kArchs)
        if (a->id == id) return *a;
    return kArchLlama;  // every enum value is in the table (test_arch checks it)
}

std::string supported_arch_names() {
    std::string s;
    for (const ArchDef* a : kArchs) s += (s.empty() ? "" : ", ") + std::string(a->name);
    return s;
}

}  // namespace hearth
