#include "engine/lora/lora_export.h"

#include <filesystem>

namespace hearth {

Status check_lora_fits(const LoraAdapter& adapter, const gguf::File& base) {
    auto fail = [&](const std::string& why) { return make_error(adapter.path() + ": " + why); };
    auto arch = base.get_string("general.architecture", "");
    if (!arch.ok()) return fail(base.path() + ": " + arch.message());
    if (adapter.architecture() != *arch)
        return fail("made for architecture '" + adapter.architecture() + "', the model is '" + *arch + "'");
    for (const LoraPair& p : adapter.pairs()) {
        const gguf::TensorInfo* t = base.tensor(p.target);
        if (!t || t->dims.size() != 2 || p.target.rfind("blk.", 0) != 0)
            return fail("'" + p.target + "' is not a projection of this model that adapters can target");
        if (p.a.cols != t->ne(0) || p.b.rows != t->ne(1))
            return fail("'" + p.target + "': the adapter maps " + std::to_string(p.a.cols) + " → " + std::to_string(p.b.rows) +
                        " values, the model's matrix " + std::to_string(t->ne(0)) + " → " + std::to_string(t->ne(1)));
    }
    return {};
}

Status export_lora_gguf(const LoraAdapter& adapter, const std::string& out_path) {
    gguf::Writer w;
    w.set_string("general.architecture", adapter.architecture());
    w.set_string("general.type", "adapter");
    w.set_string("general.name", std::filesystem::path(adapter.path()).filename().string());
    w.set_string("adapter.type", "lora");
    // llama.cpp's scale is alpha/r: alpha() is what makes that right (rsLoRA folded in). An adapter
    // read without alpha gets none written, so llama.cpp's "no alpha: scale 1" rule holds again.
    if (adapter.alpha() > 0) w.set_f32("adapter.lora.alpha", adapter.alpha());
    for (const LoraPair& p : adapter.pairs()) {
        // borrow: the adapter's bytes outlive write() below.
        HEARTH_RETURN_IF_ERROR(w.add_tensor(p.target + ".lora_a", p.a.type, {p.a.cols, p.a.rows}, p.a.data, p.a.n_bytes, true));
        HEARTH_RETURN_IF_ERROR(w.add_tensor(p.target + ".lora_b", p.b.type, {p.b.cols, p.b.rows}, p.b.data, p.b.n_bytes, true));
    }
    if (Status st = w.write(out_path); !st.ok()) return make_error(out_path + ": " + st.message());
    return {};
}

}  // namespace hearth
