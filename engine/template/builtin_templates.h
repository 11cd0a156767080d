// Chat templates the engine falls back to when a model file has none: ChatML (render_chatml) for
// most, and the turn format a vocabulary was trained with where its tokens say so.
#pragma once

#include <string_view>

namespace hearth::chat {

// Gemma's turns (<start_of_turn>role\n … <end_of_turn>\n, the assistant as "model", a system
// prompt folded into the first user turn): Gemma 3's own template (google/gemma-3-4b-it), for the
// base Gemma files, which carry no template but whose vocabulary has these control tokens.
extern const std::string_view kGemmaTurnTemplate;

}  // namespace hearth::chat
