#include "engine/session/prompt_policy.h"

#include <algorithm>
#include <optional>

#include "engine/session/context_window.h"

namespace hearth {

Result<std::vector<int32_t>> tokenize_prompt(const ChatFormat& f, const std::string& text, bool parse_special) {
    auto body = f.tokenize(text, false, parse_special);
    HEARTH_RETURN_IF_ERROR(body);
    auto bos = f.tokenize("", true, false);
    HEARTH_RETURN_IF_ERROR(bos);
    std::vector<int32_t> ids;
    if (!bos->empty() && (body->empty() || (*body)[0] != (*bos)[0])) ids.push_back((*bos)[0]);
    ids.insert(ids.end(), body->begin(), body->end());
    return ids;
}

namespace {

bool is_system(const ChatMessage& m) { return m.role == "system"; }

// Per-message framing the template adds (role tags, newlines): an estimate erring on the long side,
// corrected by the real render.
constexpr int kMessageFraming = 8;
constexpr int kPromptOverhead = 8;  // BOS and the generation prompt

struct Rendered {
    std::string text;
    std::vector<int32_t> ids;
};

// The system messages and the other messages from index `from` on, rendered and tokenized.
std::optional<Rendered> render_from(const ChatFormat& f, const ChatPromptRequest& req, size_t from, ChatPrompt* out) {
    std::vector<ChatMessage> msgs;
    for (size_t i = 0; i < req.messages.size(); ++i)
        if (is_system(req.messages[i]) || i >= from) msgs.push_back(req.messages[i]);
    auto text = f.render_chat(msgs, true, req.template_extra);
    if (!text.ok()) {
        out->error = PromptError::Template;
        out->message = text.message();
        return std::nullopt;
    }
    auto ids = tokenize_prompt(f, *text, true);
    if (!ids.ok()) {
        out->error = PromptError::Tokenize;
        out->message = ids.message();
        return std::nullopt;
    }
    return Rendered{std::move(*text), std::move(*ids)};
}

void set_too_long(ChatPrompt* out, const ChatPromptRequest& req, int prompt_tokens) {
    out->error = PromptError::TooLong;
    out->too_long_tokens = std::max(out->last_tokens, prompt_tokens);
    out->message = "the prompt is " + std::to_string(out->too_long_tokens) +
                   " tokens long, but the context window holds " + std::to_string(req.n_ctx) + " tokens, of which " +
                   std::to_string(req.reserve) + " are kept for the answer";
}

}  // namespace

ChatPrompt build_chat_prompt(const ChatFormat& f, const ChatPromptRequest& req) {
    ChatPrompt out;
    const size_t n = req.messages.size();
    if (n == 0 || is_system(req.messages.back())) {
        out.error = PromptError::NoMessage;
        out.message = "there is no message to answer";
        return out;
    }
    // Token cost of each message, to choose the window (verified against the real render below).
    auto count = [&](const std::string& text) -> int {
        auto t = f.tokenize(text, false, false);
        return (t.ok() ? int(t->size()) : int(text.size())) + kMessageFraming;
    };
    std::vector<WindowMessage> wm;
    for (const ChatMessage& m : req.messages) wm.push_back({is_system(m), m.role == "user", count(m.content)});
    out.last_tokens = wm.back().tokens;
    auto fits = [&](const Rendered& r) { return int(r.ids.size()) + req.reserve <= req.n_ctx; };
    auto turn_start = [&](size_t i) { return req.messages[i].role == "user"; };

    size_t first = 0;
    while (first < n && is_system(req.messages[first])) ++first;
    std::optional<Rendered> chosen;
    if (!req.drop_old_turns) {
        chosen = render_from(f, req, first, &out);
        if (!chosen) return out;
        if (!fits(*chosen)) return set_too_long(&out, req, int(chosen->ids.size())), out;
    } else {
        // The estimate picks where to start; the real render decides. A window that does not fit
        // lets the next whole turn go; one that fits is widened to earlier turns while they still
        // fit, so no more history leaves than the context requires. When even the estimate says the
        // last message cannot fit, the real render confirms it (estimates err on the long side).
        const WindowDecision d = choose_window(wm, kPromptOverhead, req.n_ctx, req.reserve);
        first = d.ok ? size_t(d.first_kept) : n - 1;
        chosen = render_from(f, req, first, &out);
        if (!chosen) return out;
        if (fits(*chosen)) {
            for (size_t earlier = first; earlier-- > 0;) {
                if (is_system(req.messages[earlier]) || !turn_start(earlier)) continue;
                std::optional<Rendered> wider = render_from(f, req, earlier, &out);
                if (!wider) return out;
                if (!fits(*wider)) break;
                chosen = std::move(wider);
                first = earlier;
            }
        } else {
            while (!fits(*chosen)) {
                size_t next = first + 1;
                while (next < n && (is_system(req.messages[next]) || !turn_start(next))) ++next;
                if (next >= n) return set_too_long(&out, req, int(chosen->ids.size())), out;
                first = next;
                chosen = render_from(f, req, first, &out);
                if (!chosen) return out;
            }
        }
    }
    out.tokens = std::move(chosen->ids);
    out.text = std::move(chosen->text);
    out.first_kept = first;

    // Tokens that must survive the engine's own shift when the answer fills the context: the
    // system prompt (the common prefix with the system-only render), else the BOS token.
    std::vector<ChatMessage> system;
    for (const ChatMessage& m : req.messages)
        if (is_system(m)) system.push_back(m);
    int n_keep = 0;
    if (!system.empty()) {
        auto sys = f.render_chat(system, false, req.template_extra);
        auto sys_ids = sys.ok() ? tokenize_prompt(f, *sys, true) : Result<std::vector<int32_t>>(sys.status());
        if (sys_ids.ok())
            while (n_keep < int(sys_ids->size()) && n_keep < int(out.tokens.size()) &&
                   (*sys_ids)[size_t(n_keep)] == out.tokens[size_t(n_keep)])
                ++n_keep;
    } else if (!out.tokens.empty()) {
        auto bos = f.tokenize("", true, false);
        n_keep = bos.ok() && !bos->empty() && out.tokens[0] == (*bos)[0] ? 1 : 0;
    }
    out.n_keep = std::min(n_keep, req.n_ctx / 2);

    // A template that opens the reasoning itself ("<think>\n" at the end of the prompt).
    std::string tail = out.text.substr(out.text.size() > 16 ? out.text.size() - 16 : 0);
    while (!tail.empty() && (tail.back() == ' ' || tail.back() == '\n' || tail.back() == '\r' || tail.back() == '\t'))
        tail.pop_back();
    out.think_open = tail.size() >= 7 && tail.compare(tail.size() - 7, 7, "<think>") == 0;
    return out;
}

std::vector<std::string> end_of_turn_stops(const ChatFormat& f) {
    // An answer with a text no template writes, followed by whatever the template closes it with.
    static const std::string kProbe = "Hearth-end-of-turn-probe";
    auto text = f.render_chat({{"user", "Hi"}, {"assistant", kProbe}}, false, json::Value::object());
    if (!text.ok()) return {};
    const size_t at = text->rfind(kProbe);
    if (at == std::string::npos) return {};
    std::string_view rest(*text);
    rest.remove_prefix(at + kProbe.size());
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n' || rest.front() == '\r')) rest.remove_prefix(1);
    // A tag: "<…>" without spaces (a special token's text), not the start of another message.
    if (rest.empty() || rest.front() != '<') return {};
    const size_t close = rest.find('>');
    if (close == std::string::npos || close < 2) return {};
    std::string tag(rest.substr(0, close + 1));
    if (tag.find_first_of(" \n\t") != std::string::npos) return {};
    return {tag};
}

}  // namespace hearth
