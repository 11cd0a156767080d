#include "engine/serve/openai_response.h"

namespace hearth {

namespace {
json::Value null_or(const std::string& s) { return s.empty() ? json::Value() : json::Value(s); }

json::Value head(const AnswerId& a, const char* object) {
    json::Value o = json::Value::object();
    o.set("id", a.id);
    o.set("object", object);
    o.set("created", a.created);
    o.set("model", a.model);
    return o;
}
}  // namespace

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

json::Value models_list(const std::string& model_id, int64_t created) {
    json::Value m = json::Value::object();
    m.set("id", model_id);
    m.set("object", "model");
    m.set("created", created);
    m.set("owned_by", "hearth");
    json::Value data = json::Value::array();
    data.push_back(std::move(m));
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

json::Value chat_completion(const AnswerId& a, const std::string& content, const std::string& reasoning,
                            const std::string& finish, const Usage& u, const std::vector<ToolCall>& calls) {
    json::Value msg = json::Value::object();
    msg.set("role", "assistant");
    msg.set("content", calls.empty() || !content.empty() ? json::Value(content) : json::Value());
    if (!reasoning.empty()) msg.set("reasoning_content", reasoning);
    if (!calls.empty()) msg.set("tool_calls", tool_calls_json(calls, false));
    json::Value choice = json::Value::object();
    choice.set("index", 0);
    choice.set("message", std::move(msg));
    choice.set("logprobs", json::Value());
    choice.set("finish_reason", finish);
    json::Value choices = json::Value::array();
    choices.push_back(std::move(choice));
    json::Value o = head(a, "chat.completion");
    o.set("choices", std::move(choices));
    o.set("usage", usage_json(u));
    return o;
}

json::Value text_completion(const AnswerId& a, const std::string& text, const std::string& finish, const Usage& u) {
    json::Value choice = json::Value::object();
    choice.set("index", 0);
    choice.set("text", text);
    choice.set("logprobs", json::Value());
    choice.set("finish_reason", finish);
    json::Value choices = json::Value::array();
    choices.push_back(std::move(choice));
    json::Value o = head(a, "text_completion");
    o.set("choices", std::move(choices));
    o.set("usage", usage_json(u));
    return o;
}

json::Value chat_chunk(const AnswerId& a, json::Value delta, const std::string& finish, const json::Value& usage) {
    json::Value choice = json::Value::object();
    choice.set("index", 0);
    choice.set("delta", std::move(delta));
    choice.set("logprobs", json::Value());
    choice.set("finish_reason", null_or(finish));
    json::Value choices = json::Value::array();
    choices.push_back(std::move(choice));
    json::Value o = head(a, "chat.completion.chunk");
    o.set("choices", std::move(choices));
    if (!usage.is_null()) o.set("usage", usage);
    return o;
}

json::Value text_chunk(const AnswerId& a, const std::string& text, const std::string& finish, const json::Value& usage) {
    json::Value choice = json::Value::object();
    choice.set("index", 0);
    choice.set("text", text);
    choice.set("logprobs", json::Value());
    choice.set("finish_reason", null_or(finish));
    json::Value choices = json::Value::array();
    choices.push_back(std::move(choice));
    json::Value o = head(a, "text_completion");
    o.set("choices", std::move(choices));
    if (!usage.is_null()) o.set("usage", usage);
    return o;
}

json::Value usage_chunk(const AnswerId& a, bool chat, const Usage& u) {
    json::Value o = head(a, chat ? "chat.completion.chunk" : "text_completion");
    o.set("choices", json::Value::array());
    o.set("usage", usage_json(u));
    return o;
}

}  // namespace hearth
