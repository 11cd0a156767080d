#include "engine/lora/lora_targets.h"

#include <map>
#include <string>

namespace hearth {

Result<std::vector<LoraTarget>> match_lora_targets(const LoraAdapter& adapter, const ModelHParams& h,
                                                   const std::vector<TensorSpec>& manifest) {
    auto fail = [&](const std::string& why) { return make_error(adapter.path() + ": " + why); };
    if (adapter.architecture() != h.arch)
        return fail("made for architecture '" + adapter.architecture() + "', the model is '" + h.arch + "'");
    // The projections of the layers, by name: what an adapter may target (embeddings and the output
    // head are not: PEFT folders that have them are refused when read; nor are a mixture of
    // experts' router and stacked experts, which are not projections).
    std::map<std::string, const TensorSpec*> matrices;
    for (const TensorSpec& t : manifest)
        if (t.layer >= 0 && !projection_slots(t.role).empty() && t.shape.size() == 2) matrices[t.name] = &t;
    std::vector<LoraTarget> out;
    out.reserve(adapter.pairs().size());
    for (const LoraPair& p : adapter.pairs()) {
        auto it = matrices.find(p.target);
        if (it == matrices.end()) return fail("'" + p.target + "' is not a projection of this model that adapters can target");
        const TensorSpec& t = *it->second;
        const int64_t n_in = t.shape[0], n_out = t.shape[1];
        if (p.a.cols != n_in || p.b.rows != n_out)
            return fail("'" + p.target + "': the adapter maps " + std::to_string(p.a.cols) + " → " + std::to_string(p.b.rows) +
                        " values, the model's matrix " + std::to_string(n_in) + " → " + std::to_string(n_out));
        out.push_back(LoraTarget{&p, t.layer, t.role, n_in, n_out});
    }
    return out;
}

}  // namespace hearth
