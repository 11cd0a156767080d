#include "engine/sampling/json_constraint.h"

#include <array>
#include <cmath>

namespace hearth {
namespace {
constexpr std::string_view kThinkEnd = "</think>";
}

std::shared_ptr<const VocabPieces> make_vocab_pieces(std::vector<std::string> pieces, std::vector<uint8_t> end_of_generation) {
    auto v = std::make_shared<VocabPieces>();
    v->piece = std::move(pieces);
    v->end_of_generation = std::move(end_of_generation);
    v->end_of_generation.resize(v->piece.size());
    for (size_t i = 0; i < v->piece.size(); ++i) {
        if (v->end_of_generation[i]) v->end_tokens.push_back(int32_t(i));
        else if (!v->piece[i].empty()) v->by_first_byte[static_cast<unsigned char>(v->piece[i][0])].push_back(int32_t(i));
    }
    return v;
}

JsonConstraint::JsonConstraint(JsonAnswer answer, std::shared_ptr<const VocabPieces> vocab, bool after_think)
    : answer_(std::move(answer)), vocab_(std::move(vocab)), state_(*answer_.schema), probe_(*answer_.schema), armed_(!after_think) {
    if (answer_.prefix.empty()) state_.stage = kJson;
}

bool JsonConstraint::feed(State& st, unsigned char b) const {
    switch (st.stage) {
    case kPrefix:
        if (b != static_cast<unsigned char>(answer_.prefix[st.pos])) return false;
        if (++st.pos == answer_.prefix.size()) st.stage = kJson, st.pos = 0;
        return true;
    case kJson: {
        if (st.json.can_end() && !st.json.finished()) {
            // A whole value that could go on (a number): the byte either continues it or begins the suffix.
            JsonMatcher on = st.json;
            if (on.feed(b)) {
                st.json = std::move(on);
                return true;
            }
            st.stage = kSuffix;
            return feed(st, b);
        }
        if (!st.json.feed(b)) return false;
        if (st.json.finished()) st.stage = answer_.suffix.empty() ? kDone : kSuffix;
        return true;
    }
    case kSuffix:
        if (st.pos >= answer_.suffix.size() || b != static_cast<unsigned char>(answer_.suffix[st.pos])) return false;
        if (++st.pos == answer_.suffix.size()) st.stage = kDone;
        return true;
    case kDone:
        return false;
    }
    return false;
}

bool JsonConstraint::feed(State& st, std::string_view bytes) const {
    for (char c : bytes)
        if (!feed(st, static_cast<unsigned char>(c))) return false;
    return true;
}

bool JsonConstraint::can_end(const State& st) const {
    if (st.stage == kDone) return true;
    if (st.stage == kJson) return answer_.suffix.empty() && st.json.can_end();
    return st.stage == kSuffix && st.pos == answer_.suffix.size();
}

bool JsonConstraint::constrained_part(int32_t token, std::string* bytes) const {
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
    if (vocab_->end_of_generation[size_t(token)]) return !armed_ || can_end(state_);
    std::string bytes;
    if (!constrained_part(token, &bytes)) return true;  // still reasoning
    if (armed_ && vocab_->piece[size_t(token)].empty()) return false;  // a control token inside the constrained text
    probe_ = state_;
    return feed(probe_, bytes);
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
        // Most tokens fail on their first byte: which bytes may come next is asked once, and only
        // the tokens that begin with one of them are tried.
        allowed_.assign(size_t(n), 0);
        for (int b = 0; b < 256; ++b) {
            probe_ = state_;
            if (!feed(probe_, static_cast<unsigned char>(b))) continue;
            for (int32_t t : vocab_->by_first_byte[size_t(b)]) {
                if (t >= n) continue;
                const std::string& p = vocab_->piece[size_t(t)];
                if (p.size() > 1) {
                    probe_ = state_;
                    if (!feed(probe_, p)) continue;
                }
                allowed_[size_t(t)] = 1;
            }
        }
        if (can_end(state_))
            for (int32_t t : vocab_->end_tokens)
                if (t < n) allowed_[size_t(t)] = 1;
        for (int i = 0; i < n; ++i) {
            if (allowed_[size_t(i)]) ++kept;
            else logits[i] = -INFINITY;
        }
    }
    for (int i = n; i < n_vocab; ++i) logits[i] = -INFINITY;
    return kept;
}

void JsonConstraint::accept(int32_t token) {
    if (token < 0 || size_t(token) >= vocab_->piece.size() || vocab_->end_of_generation[size_t(token)]) return;
    std::string bytes;
    if (constrained_part(token, &bytes)) {
        armed_ = true;
        feed(state_, bytes);  // allows() said it fits
        return;
    }
    tail_ += vocab_->piece[size_t(token)];
    if (tail_.size() > kThinkEnd.size()) tail_.erase(0, tail_.size() - (kThinkEnd.size() - 1));
}

bool JsonConstraint::finished() const {
    return armed_ && (state_.stage == kDone || (state_.stage == kJson && answer_.suffix.empty() && state_.json.finished()));
}

}  // namespace hearth
