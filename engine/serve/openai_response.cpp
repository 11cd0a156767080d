#include "engine/serve/openai_response.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/util/utf8.h"

namespace hearth {

namespace {
json::Value null_or(const std::string& s) { return s.empty() ? json::Value() : json::Value(s); }

json::Value logprob_value(float lp) { return std::isinf(lp) || std::isnan(lp) ? -9999.0 : double(lp); }

// A token's text: its bytes where they are UTF-8 by themselves, else OpenAI's "bytes:\xNN…" form.
std::string token_text(const std::string& bytes) {
    size_t i = 0;
    uint32_t cp;
    while (i < bytes.size()) {
        const size_t n = utf8_decode_at(bytes, i, &cp);
        if (n == 0) break;
        i += n;
    }
    if (i == bytes.size()) return bytes;
    std::string out = "bytes:";
    char buf[8];
    for (unsigned char c : bytes) {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
    }
    return out;
}

json::Value byte_array(const std::string& bytes) {
    json::Value a = json::Value::array();
    for (unsigned char c : bytes) a.push_back(int(c));
    return a;
}

json::Value chat_token(const ApiToken& t) {
    json::Value o = json::Value::object();
    o.set("token", token_text(t.bytes));
    o.set("logprob", logprob_value(t.logprob));
    o.set("bytes", byte_array(t.bytes));
    return o;
}

json::Value head(const AnswerId& a, const char* object) {
    json::Value o = json::Value::object();
    o.set("id", a.id);
    o.set("object", object);
    o.set("created", a.created);
    o.set("model", a.model);
    return o;
}
}  // namespace

json::Value chat_logprobs_json(const std::vector<ApiLogprob>& entries) {
    json::Value content = json::Value::array();
    for (const ApiLogprob& e : entries) {
        json::Value o = chat_token(e.chosen);
        json::Value top = json::Value::array();
        for (const ApiToken& t : e.top) top.push_back(chat_token(t));
        o.set("top_logprobs", std::move(top));
        content.push_back(std::move(o));
    }
    json::Value o = json::Value::object();
    o.set("content", std::move(content));
    o.set("refusal", json::Value());
    return o;
}

json::Value text_logprobs_json(const std::vector<ApiLogprob>& entries, int64_t* text_offset) {
    json::Value tokens = json::Value::array(), lps = json::Value::array(), tops = json::Value::array(),
                offsets = json::Value::array();
    for (const ApiLogprob& e : entries) {
        tokens.push_back(token_text(e.chosen.bytes));
        lps.push_back(e.scored ? json::Value(logprob_value(e.chosen.logprob)) : json::Value());
        json::Value top = json::Value::object();
        for (const ApiToken& t : e.top) {
            const std::string text = token_text(t.bytes);
            if (!top.find(text)) top.set(text, logprob_value(t.logprob));  // two ids, one text: the likelier
        }
        tops.push_back(e.scored ? std::move(top) : json::Value());
        offsets.push_back(*text_offset);
        // Characters, as OpenAI counts them: the bytes that begin one (a part of a character adds
        // its first byte's share).
        for (unsigned char c : e.chosen.bytes)
            if ((c & 0xC0) != 0x80) ++*text_offset;
    }
    json::Value o = json::Value::object();
    o.set("tokens", std::move(tokens));
    o.set("token_logprobs", std::move(lps));
    o.set("top_logprobs", std::move(tops));
    o.set("text_offset", std::move(offsets));
    return o;
}

namespace {
std::string base64_encode(const unsigned char* p, size_t n) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = uint32_t(p[i]) << 16 | (i + 1 < n ? uint32_t(p[i + 1]) << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out += k[v >> 18 & 63];
        out += k[v >> 12 & 63];
        out += i + 1 < n ? k[v >> 6 & 63] : '=';
        out += i + 2 < n ? k[v & 63] : '=';
    }
    return out;
}
}  // namespace

json::Value embeddings_list(const std::string& model, const std::vector<std::vector<float>>& vectors, bool base64, int prompt_tokens) {
    json::Value data = json::Value::array();
    for (size_t i = 0; i < vectors.size(); ++i) {
        json::Value e = json::Value::object();
        e.set("object", "embedding");
        e.set("index", int64_t(i));
        if (base64) {
            std::string bytes;  // little-endian float32, as numpy's frombuffer(dtype="float32") reads it
            for (float f : vectors[i]) {
                uint32_t u;
                std::memcpy(&u, &f, 4);
                for (int b = 0; b < 4; ++b) bytes += char(u >> (8 * b) & 0xff);
            }
            e.set("embedding", base64_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
        } else {
            json::Value v = json::Value::array();
            for (float f : vectors[i]) v.push_back(double(f));
            e.set("embedding", std::move(v));
        }
        data.push_back(std::move(e));
    }
    json::Value usage = json::Value::object();
    usage.set("prompt_tokens", prompt_tokens);
    usage.set("total_tokens", prompt_tokens);
    json::Value o = json::Value::object();
    o.set("object", "list");
    o.set("data", std::move(data));
    o.set("model", model);
    o.set("usage", std::move(usage));
    return o;
}

std::string error_body(const ApiError& e) {
    json::Value err = json::Value::object();
    err.set("message", e.message);
    err.set("type", e.type);
    err.set("param", null_or(e.param));
    err.set("code", null_or(e.code));
    json::Value o = json::Value::object();
    o.set("error", std::move(err));
    return o.dump();
}

json::Value usage_json(const Usage& u) {
    json::Value o = json::Value::object();
    o.set("prompt_tokens", u.prompt_tokens);
    o.set("completion_tokens", u.completion_tokens);
    o.set("total_tokens", u.prompt_tokens + u.completion_tokens);
    return o;
}

json::Value model_entry(const std::string& model_id, int64_t created, int max_model_len, const json::Value& meta) {
    json::Value m = json::Value::object();
    m.set("id", model_id);
    m.set("object", "model");
    m.set("created", created);
    m.set("owned_by", "hearth");
    m.set("max_model_len", max_model_len);
    m.set("meta", meta);
    return m;
}

json::Value models_list(std::vector<json::Value> entries) {
    json::Value data = json::Value::array();
    for (json::Value& m : entries) data.push_back(std::move(m));
    json::Value o = json::Value::object();
    o.set("object", "list");
    o.set("data", std::move(data));
    return o;
}

json::Value tool_calls_json(const std::vector<ToolCall>& calls, bool indexed) {
    json::Value arr = json::Value::array();
    for (size_t i = 0; i < calls.size(); ++i) {
        json::Value fn = json::Value::object();
        fn.set("name", calls[i].name);
        fn.set("arguments", calls[i].arguments);
        json::Value c = json::Value::object();
        if (indexed) c.set("index", int64_t(i));
        c.set("id", calls[i].id);
        c.set("type", "function");
        c.set("function", std::move(fn));
        arr.push_back(std::move(c));
    }
    return arr;
}

json::Value chat_choice(int index, const std::string& content, const std::string& reasoning, const std::string& finish,
                        const std::vector<ToolCall>& calls, const json::Value& logprobs) {
    json::Value msg = json::Value::object();
    msg.set("role", "assistant");
    msg.set("content", calls.empty() || !content.empty() ? json::Value(content) : json::Value());
    if (!reasoning.empty()) msg.set("reasoning_content", reasoning);
    if (!calls.empty()) msg.set("tool_calls", tool_calls_json(calls, false));
    json::Value choice = json::Value::object();
    choice.set("index", index);
    choice.set("message", std::move(msg));
    choice.set("logprobs", logprobs);
    choice.set("finish_reason", finish);
    return choice;
}

json::Value text_choice(int index, const std::string& text, const std::string& finish, const json::Value& logprobs) {
    json::Value choice = json::Value::object();
    choice.set("index", index);
    choice.set("text", text);
    choice.set("logprobs", logprobs);
    choice.set("finish_reason", finish);
    return choice;
}

json::Value completion(const AnswerId& a, bool chat, json::Value choices, const Usage& u) {
    json::Value o = head(a, chat ? "chat.completion" : "text_completion");
    o.set("choices", std::move(choices));
    o.set("usage", usage_json(u));
    return o;
}

namespace {
json::Value chunk(const AnswerId& a, bool chat, json::Value choice, const json::Value& usage) {
    json::Value choices = json::Value::array();
    choices.push_back(std::move(choice));
    json::Value o = head(a, chat ? "chat.completion.chunk" : "text_completion");
    o.set("choices", std::move(choices));
    if (!usage.is_null()) o.set("usage", usage);
    return o;
}
}  // namespace

json::Value chat_chunk(const AnswerId& a, int index, json::Value delta, const std::string& finish, const json::Value& usage,
                       const json::Value& logprobs) {
    json::Value choice = json::Value::object();
    choice.set("index", index);
    choice.set("delta", std::move(delta));
    choice.set("logprobs", logprobs);
    choice.set("finish_reason", null_or(finish));
    return chunk(a, true, std::move(choice), usage);
}

json::Value text_chunk(const AnswerId& a, int index, const std::string& text, const std::string& finish, const json::Value& usage,
                       const json::Value& logprobs) {
    json::Value choice = json::Value::object();
    choice.set("index", index);
    choice.set("text", text);
    choice.set("logprobs", logprobs);
    choice.set("finish_reason", null_or(finish));
    return chunk(a, false, std::move(choice), usage);
}

json::Value usage_chunk(const AnswerId& a, bool chat, const Usage& u) {
    json::Value o = head(a, chat ? "chat.completion.chunk" : "text_completion");
    o.set("choices", json::Value::array());
    o.set("usage", usage_json(u));
    return o;
}

}  // namespace hearth
