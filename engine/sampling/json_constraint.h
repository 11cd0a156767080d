// Structured output: the answer is a JSON text a schema admits (the API's response_format). A
// token may come next when its bytes keep the text an admitted prefix (json_grammar.h); an
// end-of-generation token only once the value is whole; a control token never. A reasoning
// model's answer is free until its </think>: the constraint starts after it.
#pragma once

#include <memory>
#include <string>

#include "engine/sampling/json_grammar.h"
#include "engine/sampling/token_constraint.h"

namespace hearth {

class JsonConstraint : public TokenConstraint {
public:
    // after_think: the prompt opened <think>; the JSON begins after the first "</think>".
    JsonConstraint(std::shared_ptr<const JsonSchema> schema, std::shared_ptr<const VocabPieces> vocab, bool after_think);
    bool allows(int32_t token) override;
    int restrict(float* logits, int n_vocab) override;
    void accept(int32_t token) override;
    bool finished() const override;

private:
    // The bytes of `token` that belong to the JSON (all of them once armed; after the tag in the
    // token that completes "</think>"; none before), and whether the token arms the constraint.
    bool json_part(int32_t token, std::string* bytes) const;

    std::shared_ptr<const JsonSchema> schema_;
    std::shared_ptr<const VocabPieces> vocab_;
    JsonMatcher matcher_, probe_;
    bool armed_;
    std::string tail_;  // before arming: the last bytes of the answer, to find "</think>" across tokens
};

}  // namespace hearth
