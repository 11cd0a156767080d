// A rule on which tokens may come next, applied by the Sampler (sampler.h): structured output
// (json_constraint.h) is one. The sampler asks allows() of the token it would choose and, only
// when that one is refused, restrict()s the logits and chooses again: the same choice as sampling
// from the allowed tokens alone (greedy: exactly; sampling: the allowed tokens' probabilities in
// the same proportions), at the cost of a vocabulary scan only on refusals.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hearth {

// The vocabulary as text, which a constraint reads a token's bytes from (the tokenizer's
// token_to_piece; empty for control tokens) and its end-of-generation tokens, with the tokens
// listed by their first byte: a constraint that knows which bytes may come next then looks only
// at the tokens that begin with one (a few hundred of Qwen's 152k at a JSON value's start).
struct VocabPieces {
    std::vector<std::string> piece;
    std::vector<uint8_t> end_of_generation;
    std::array<std::vector<int32_t>, 256> by_first_byte;
    std::vector<int32_t> end_tokens;
};
// Builds the lists from the pieces and the end-of-generation flags (same length).
std::shared_ptr<const VocabPieces> make_vocab_pieces(std::vector<std::string> pieces, std::vector<uint8_t> end_of_generation);

class TokenConstraint {
public:
    virtual ~TokenConstraint() = default;
    virtual bool allows(int32_t token) = 0;
    // Sets the logits of the tokens that may not come next to -inf; returns how many may.
    virtual int restrict(float* logits, int n_vocab) = 0;
    virtual void accept(int32_t token) = 0;  // the token that came
    virtual bool finished() const = 0;       // nothing may follow what came (the caller ends the answer)
};

}  // namespace hearth
