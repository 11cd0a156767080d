#include "engine/lora/lora_export.h"

#include <filesystem>

namespace hearth {

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
