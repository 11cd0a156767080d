// Structured output: the answer is a JSON text a schema admits (the API's response_format), or
// that text between a fixed prefix and suffix (a forced tool call: "<tool_call>\n" … "\n</tool_call>").
// A token may come next when its bytes keep the text an admitted prefix (json_grammar.h); an
// end-of-generation token only once the whole is written; a control token never. A reasoning
// model's answer is free until its </think>: the constraint starts after it.
#pragma once

#include <memory>
#include <string>

#include "engine/sampling/json_grammar.h"
#include "engine/sampling/token_constraint.h"

namespace hearth {

// What a constrained answer must be: prefix, then a JSON value `schema` admits, then suffix.
struct JsonAnswer {
    std::shared_ptr<const JsonSchema> schema;
    std::string prefix, suffix;  // literal bytes (empty for response_format)
};

class JsonConstraint : public TokenConstraint {
public:
    // after_think: the prompt opened <think>; the constrained text begins after the first "</think>".
    JsonConstraint(JsonAnswer answer, std::shared_ptr<const VocabPieces> vocab, bool after_think);
    bool allows(int32_t token) override;
    int restrict(float* logits, int n_vocab) override;
    void accept(int32_t token) override;
    bool finished() const override;

private:
    enum Stage { kPrefix, kJson, kSuffix, kDone };
    struct State {
        Stage stage = kPrefix;
        size_t pos = 0;  // bytes of the prefix or suffix written
        JsonMatcher json;
        explicit State(const JsonSchema& s) : json(s) {}
    };
    bool feed(State& st, unsigned char b) const;
    bool feed(State& st, std::string_view bytes) const;
    bool can_end(const State& st) const;
    // The bytes of `token` that belong to the constrained text (all of them once armed; after the
    // tag in the token that completes "</think>"; none before), and whether the token arms it.
    bool constrained_part(int32_t token, std::string* bytes) const;

    JsonAnswer answer_;
    std::shared_ptr<const VocabPieces> vocab_;
    State state_, probe_;
    bool armed_;
    std::string tail_;  // before arming: the last bytes of the answer, to find "</think>" across tokens
    std::vector<uint8_t> allowed_;  // restrict()'s scratch
};

}  // namespace hearth
