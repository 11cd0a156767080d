#include "engine/sampling/json_constraint.h"

#include <array>
#include <cmath>

namespace hearth {
namespace {
constexpr std::string_view kThinkEnd = "</think>";
}

JsonConstraint::JsonConstraint(std::shared_ptr<const JsonSchema> schema, std::shared_ptr<const VocabPieces> vocab,
                               bool after_think)
    : schema_(std::move(schema)), vocab_(std::move(vocab)), matcher_(*schema_), probe_(*schema_), armed_(!after_think) {}

bool JsonConstraint::json_part(int32_t token, std::string* bytes) const {
    const std::string& piece = vocab_->piece[size_t(token)];
    if (armed_) {
        *bytes = piece;
        return true;
    }
    const std::string s = tail_ + piece;
    const size_t at = s.find(kThinkEnd);
    if (at == std::string::npos) return false;
    *bytes = s.substr(at + kThinkEnd.size());
    return true;
}

bool JsonConstraint::allows(int32_t token) {
    if (token < 0 || size_t(token) >= vocab_->piece.size()) return false;
    if (vocab_->end_of_generation[size_t(token)]) return !armed_ || matcher_.can_end();
    std::string bytes;
    if (!json_part(token, &bytes)) return true;  // still reasoning
    if (armed_ && vocab_->piece[size_t(token)].empty()) return false;  // a control token inside the JSON
    probe_ = matcher_;
    return probe_.feed(bytes);
}

int JsonConstraint::restrict(float* logits, int n_vocab) {
    const int n = std::min(n_vocab, int(vocab_->piece.size()));
    int kept = 0;
    if (!armed_) {
        for (int i = 0; i < n; ++i) {
            if (allows(i)) ++kept;
            else logits[i] = -INFINITY;
        }
    } else {
        // Most tokens fail on their first byte: which bytes may come next is asked once.
        std::array<bool, 256> first{};
        for (int b = 0; b < 256; ++b) {
            probe_ = matcher_;
            first[size_t(b)] = probe_.feed(static_cast<unsigned char>(b));
        }
        const bool can_end = matcher_.can_end();
        for (int i = 0; i < n; ++i) {
            const std::string& p = vocab_->piece[size_t(i)];
            bool ok;
            if (vocab_->end_of_generation[size_t(i)]) ok = can_end;
            else if (p.empty() || !first[static_cast<unsigned char>(p[0])]) ok = false;
            else if (p.size() == 1) ok = true;
            else probe_ = matcher_, ok = probe_.feed(p);
            if (ok) ++kept;
            else logits[i] = -INFINITY;
        }
    }
    for (int i = n; i < n_vocab; ++i) logits[i] = -INFINITY;
    return kept;
}

void JsonConstraint::accept(int32_t token) {
    if (token < 0 || size_t(token) >= vocab_->piece.size() || vocab_->end_of_generation[size_t(token)]) return;
    std::string bytes;
    if (json_part(token, &bytes)) {
        armed_ = true;
        matcher_.feed(bytes);  // allows() said it fits
        return;
    }
    tail_ += vocab_->piece[size_t(token)];
    if (tail_.size() > kThinkEnd.size()) tail_.erase(0, tail_.size() - (kThinkEnd.size() - 1));
}

bool JsonConstraint::finished() const { return armed_ && matcher_.finished(); }

}  // namespace hearth
