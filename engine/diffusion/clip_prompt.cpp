#include "engine/diffusion/clip_prompt.h"

#include <string>

namespace hearth::diffusion {

Result<ClipPrompt> clip_prompt(const tokenizer::Tokenizer& tok, std::string_view text, int length) {
    if (length < 2) return make_error("a CLIP prompt needs room for its start and end tokens (length " + std::to_string(length) + ")");
    if (tok.bos_id() < 0 || tok.eos_id() < 0 || tok.pad_id() < 0)
        return make_error("the tokenizer has no start, end or pad token: not a CLIP tokenizer");
    // Special tokens written in the prompt are matched, as CLIPTokenizer's added tokens are.
    std::vector<int32_t> body = tok.encode(text, /*add_special=*/false, /*parse_special=*/true);
    ClipPrompt p;
    const size_t room = size_t(length - 2);
    if (body.size() > room) {
        p.n_dropped = int(body.size() - room);
        body.resize(room);
    }
    p.n_prompt = int(body.size());
    p.ids.reserve(size_t(length));
    p.ids.push_back(tok.bos_id());
    p.ids.insert(p.ids.end(), body.begin(), body.end());
    p.ids.push_back(tok.eos_id());
    p.ids.resize(size_t(length), tok.pad_id());
    return p;
}

}  // namespace hearth::diffusion
