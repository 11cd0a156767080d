#include "engine/lora/lora_adapter.h"

#include <cmath>
#include <filesystem>
#include <map>

namespace hearth {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
LoraMatrix matrix_of(const gguf::TensorInfo& t) {
    return LoraMatrix{t.name, t.type, t.ne(1), t.ne(0), t.data, t.n_bytes};
}
}  // namespace

Result<std::unique_ptr<LoraAdapter>> LoraAdapter::open(const std::string& path, const std::string& base_arch,
                                                        int base_head_dim) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return open_peft(path, base_arch, base_head_dim);
    return open_gguf(path);
}

Result<std::unique_ptr<LoraAdapter>> LoraAdapter::open_gguf(const std::string& path) {
    auto f = gguf::File::open(path);
    if (!f.ok()) return f.status();
    std::unique_ptr<LoraAdapter> ad(new LoraAdapter());
    ad->path_ = path;
    auto fail = [&](const std::string& why) { return make_error(path + ": " + why); };
    auto type = (*f)->get_string("general.type", "");
    if (!type.ok()) return fail(type.message());
    if (*type != "adapter") return fail("not an adapter (general.type is '" + *type + "')");
    auto kind = (*f)->get_string("adapter.type", "");
    if (!kind.ok()) return fail(kind.message());
    if (*kind != "lora") return fail("adapter type '" + *kind + "' is not supported (only lora)");
    auto arch = (*f)->get_string("general.architecture", "");
    if (!arch.ok()) return fail(arch.message());
    ad->arch_ = *arch;
    auto alpha = (*f)->get_float("adapter.lora.alpha", 0.0);
    if (!alpha.ok()) return fail(alpha.message());
    if (!std::isfinite(*alpha) || *alpha < 0) return fail("adapter.lora.alpha must be a non-negative number");
    ad->alpha_ = float(*alpha);

    struct Found { const gguf::TensorInfo *a = nullptr, *b = nullptr; };
    std::map<std::string, Found> by_target;
    for (const gguf::TensorInfo& t : (*f)->tensors()) {
        const bool is_a = ends_with(t.name, ".lora_a"), is_b = ends_with(t.name, ".lora_b");
        if (!is_a && !is_b) return fail("tensor '" + t.name + "' is not a LoRA A or B matrix");
        if (t.type != GgmlType::F32 && t.type != GgmlType::F16)
            return fail("tensor '" + t.name + "' has type " + std::string(type_name(t.type)) + " (F32 or F16 expected)");
        if (t.dims.size() != 2 || t.ne(0) <= 0 || t.ne(1) <= 0) return fail("tensor '" + t.name + "' is not a 2-D matrix");
        Found& p = by_target[t.name.substr(0, t.name.size() - 7)];
        (is_a ? p.a : p.b) = &t;
    }
    for (auto& [target, p] : by_target) {
        if (!p.a || !p.b) return fail("'" + target + "' has lora_" + (p.a ? "a" : "b") + " but no lora_" + (p.a ? "b" : "a"));
        if (p.a->ne(1) != p.b->ne(0))
            return fail("'" + target + "': the ranks of A (" + std::to_string(p.a->ne(1)) + ") and B (" +
                        std::to_string(p.b->ne(0)) + ") disagree");
        ad->pairs_.push_back(LoraPair{target, matrix_of(*p.a), matrix_of(*p.b)});
    }
    if (ad->pairs_.empty()) return fail("the adapter has no LoRA tensors");
    ad->file_ = std::move(*f);
    return ad;
}

}  // namespace hearth
