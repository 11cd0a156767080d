#include "engine/diffusion/single_file.h"

#include <cstdlib>
#include <utility>
#include <vector>

namespace hearth::diffusion {

namespace {

bool starts(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// "down_blocks.2.resnets.1.conv1.weight" with prefix "down_blocks." → 2, and *rest = "resnets.1.conv1.weight".
bool take_index(const std::string& s, const std::string& prefix, int* index, std::string* rest) {
    if (!starts(s, prefix)) return false;
    size_t i = prefix.size(), j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i || j >= s.size() || s[j] != '.') return false;
    *index = std::atoi(s.substr(i, j - i).c_str());
    *rest = s.substr(j + 1);
    return true;
}

// First matching prefix replaced (diffusers' pairs, applied from the diffusers side).
std::string replace_prefix(const std::string& s, const std::vector<std::pair<const char*, const char*>>& pairs) {
    for (const auto& [from, to] : pairs)
        if (starts(s, from)) return to + s.substr(std::string(from).size());
    return s;
}

// Inside a ResnetBlock2D: diffusers' names → the LDM UNet's.
std::string unet_resnet(const std::string& rest) {
    return replace_prefix(rest, {{"norm1.", "in_layers.0."}, {"conv1.", "in_layers.2."}, {"time_emb_proj.", "emb_layers.1."},
                                 {"norm2.", "out_layers.0."}, {"conv2.", "out_layers.3."}, {"conv_shortcut.", "skip_connection."}});
}

// Inside a VAE resnet: only the shortcut differs.
std::string vae_resnet(const std::string& rest) { return replace_prefix(rest, {{"conv_shortcut.", "nin_shortcut."}}); }

}  // namespace

NameMap ldm_unet_names(const UNetConfig& cfg) {
    const int L = cfg.layers_per_block;
    const std::vector<bool> up_attn = cfg.up_has_attention;
    return [L, up_attn](const std::string& n) -> std::string {
        const std::string P = "model.diffusion_model.";
        int b = 0, l = 0;
        std::string rest, inner;
        if (starts(n, "time_embedding.") || starts(n, "conv_in.") || starts(n, "conv_norm_out.") || starts(n, "conv_out."))
            return P + replace_prefix(n, {{"time_embedding.linear_1.", "time_embed.0."}, {"time_embedding.linear_2.", "time_embed.2."},
                                          {"conv_in.", "input_blocks.0.0."}, {"conv_norm_out.", "out.0."}, {"conv_out.", "out.2."}});
        if (take_index(n, "down_blocks.", &b, &rest)) {
            if (take_index(rest, "resnets.", &l, &inner)) return P + "input_blocks." + std::to_string(1 + b * (L + 1) + l) + ".0." + unet_resnet(inner);
            if (take_index(rest, "attentions.", &l, &inner)) return P + "input_blocks." + std::to_string(1 + b * (L + 1) + l) + ".1." + inner;
            if (starts(rest, "downsamplers.0.conv.")) return P + "input_blocks." + std::to_string((b + 1) * (L + 1)) + ".0.op." + rest.substr(20);
        }
        if (take_index(n, "up_blocks.", &b, &rest)) {
            if (take_index(rest, "resnets.", &l, &inner)) return P + "output_blocks." + std::to_string(b * (L + 1) + l) + ".0." + unet_resnet(inner);
            if (take_index(rest, "attentions.", &l, &inner)) return P + "output_blocks." + std::to_string(b * (L + 1) + l) + ".1." + inner;
            if (starts(rest, "upsamplers.0.")) {
                const bool attn = size_t(b) < up_attn.size() && up_attn[size_t(b)];
                return P + "output_blocks." + std::to_string(b * (L + 1) + L) + (attn ? ".2." : ".1.") + rest.substr(13);
            }
        }
        if (starts(n, "mid_block.attentions.0.")) return P + "middle_block.1." + n.substr(23);
        if (take_index(n, "mid_block.resnets.", &l, &inner)) return P + "middle_block." + std::to_string(2 * l) + "." + unet_resnet(inner);
        return P + n;  // a name no SD checkpoint has: the lookup then reports it missing under this name
    };
}

NameMap ldm_vae_names(const VaeConfig& cfg) {
    const int n_up = int(cfg.block_out_channels.size());
    return [n_up](const std::string& n) -> std::string {
        const std::string P = "first_stage_model.";
        int i = 0, j = 0;
        std::string rest, inner;
        // The mid block and the output norm are named alike in the encoder and the decoder.
        for (const char* half : {"encoder.", "decoder."}) {
            const std::string h = half;
            if (starts(n, h + "conv_norm_out.")) return P + h + "norm_out." + n.substr(h.size() + 14);
            if (take_index(n, h + "mid_block.resnets.", &i, &inner)) return P + h + "mid.block_" + std::to_string(i + 1) + "." + vae_resnet(inner);
            if (starts(n, h + "mid_block.attentions.0.")) {
                // diffusers' current names, and the older ones (query/key/value/proj_attn), both to q/k/v/proj_out
                return P + h + "mid.attn_1." +
                       replace_prefix(n.substr(h.size() + 23), {{"group_norm.", "norm."}, {"to_q.", "q."}, {"to_k.", "k."}, {"to_v.", "v."},
                                                                {"to_out.0.", "proj_out."}, {"query.", "q."}, {"key.", "k."},
                                                                {"value.", "v."}, {"proj_attn.", "proj_out."}});
            }
        }
        // Encoder down blocks keep their order (the decoder's up blocks run in reverse).
        if (take_index(n, "encoder.down_blocks.", &i, &rest)) {
            const std::string down = "encoder.down." + std::to_string(i) + ".";
            if (take_index(rest, "resnets.", &j, &inner)) return P + down + "block." + std::to_string(j) + "." + vae_resnet(inner);
            if (starts(rest, "downsamplers.0.")) return P + down + "downsample." + rest.substr(15);
        }
        if (take_index(n, "decoder.up_blocks.", &i, &rest)) {
            const std::string up = "decoder.up." + std::to_string(n_up - 1 - i) + ".";
            if (take_index(rest, "resnets.", &j, &inner)) return P + up + "block." + std::to_string(j) + "." + vae_resnet(inner);
            if (starts(rest, "upsamplers.0.")) return P + up + "upsample." + rest.substr(13);
        }
        return P + n;  // (post_)quant_conv, conv_in, conv_out: the same names
    };
}

NameMap ldm_text_names() {
    return [](const std::string& n) -> SourceName { return "cond_stage_model.transformer." + n; };
}

NameMap open_clip_text_names() {
    return [](const std::string& asked) -> SourceName {
        const std::string P = "cond_stage_model.model.";
        const std::string n = starts(asked, "text_model.") ? asked.substr(11) : asked;
        if (n == "embeddings.token_embedding.weight") return P + "token_embedding.weight";
        if (n == "embeddings.position_embedding.weight") return P + "positional_embedding";
        if (starts(n, "final_layer_norm.")) return P + "ln_final." + n.substr(17);
        int l = 0;
        std::string rest;
        if (take_index(n, "encoder.layers.", &l, &rest)) {
            const std::string block = P + "transformer.resblocks." + std::to_string(l) + ".";
            // "self_attn.q_proj.weight" → third 0 of "attn.in_proj_weight"
            for (int part = 0; part < 3; ++part) {
                const std::string proj = std::string("self_attn.") + "qkv"[part] + "_proj.";
                if (starts(rest, proj)) return SourceName(block + "attn.in_proj_" + rest.substr(proj.size()), part, 3);
            }
            return block + replace_prefix(rest, {{"self_attn.out_proj.", "attn.out_proj."}, {"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."},
                                                 {"mlp.fc1.", "mlp.c_fc."}, {"mlp.fc2.", "mlp.c_proj."}});
        }
        return P + n;  // a name no SD 2.x checkpoint has: reported missing under this name
    };
}

bool has_open_clip_text_encoder(const safetensors::File& f) {
    // diffusers' CHECKPOINT_KEY_NAMES["open_clip"]
    return f.tensor("cond_stage_model.model.token_embedding.weight") != nullptr;
}

}  // namespace hearth::diffusion
