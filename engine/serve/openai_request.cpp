#include "engine/serve/openai_request.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <set>

#include "engine/sampling/token_logprobs.h"
#include "engine/serve/openai_server.h"
#include "engine/util/json.h"

namespace hearth {

// Declared in openai_server.h; here so that builds without the HTTP server (openai_server_without_http.cpp)
// share it.
bool is_loopback_host(const std::string& host) {
    return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

namespace {

ApiError bad(const std::string& param, const std::string& message) {
    ApiError e;
    e.param = param;
    e.message = message;
    return e;
}

// The first key written twice in one object of `v` (its place as a field path, e.g.
// "messages[0].role"), or nullopt.
std::optional<std::string> duplicate_key(const json::Value& v, const std::string& at) {
    if (v.is_array()) {
        for (size_t i = 0; i < v.as_array().size(); ++i)
            if (auto d = duplicate_key(v.as_array()[i], at + "[" + std::to_string(i) + "]")) return d;
        return std::nullopt;
    }
    if (!v.is_object()) return std::nullopt;
    std::set<std::string_view> seen;
    for (const auto& [key, value] : v.as_object()) {
        const std::string path = at.empty() ? key : at + "." + key;
        if (!seen.insert(key).second) return path;
        if (auto d = duplicate_key(value, path)) return d;
    }
    return std::nullopt;
}

// The request body as a JSON object. A key written twice is refused: JSON leaves its meaning open
// (most parsers keep the last, ours the first), and a request is never answered by a guess.
std::optional<ApiError> parse_object(std::string_view text, json::Value* out) {
    auto parsed = json::parse(text);
    if (!parsed.ok()) return bad("", "the request body is not valid JSON: " + parsed.message());
    if (!parsed->is_object()) return bad("", "the request body must be a JSON object");
    if (auto d = duplicate_key(*parsed, "")) return bad(*d, "'" + *d + "' is given twice");
    *out = std::move(*parsed);
    return std::nullopt;
}

std::optional<ApiError> read_model(const json::Value& body, std::string* out) {
    const json::Value* m = body.find("model");
    if (!m || m->is_null()) return std::nullopt;
    if (!m->is_string()) return bad("model", "'model' must be a string");
    *out = m->as_string();
    return std::nullopt;
}

// A number field within [lo, hi]; absent or null leaves *out as it is.
std::optional<ApiError> read_number(const json::Value& body, const char* key, double lo, double hi, float* out) {
    const json::Value* v = body.find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_number()) return bad(key, std::string("'") + key + "' must be a number");
    const double d = v->as_double();
    if (!std::isfinite(d) || d < lo || d > hi)
        return bad(key, std::string("'") + key + "' must be between " + json::Value(lo).dump() + " and " + json::Value(hi).dump());
    *out = float(d);
    return std::nullopt;
}

std::optional<ApiError> read_bool(const json::Value& obj, const std::string& key, const char* name, bool* out) {
    const json::Value* v = obj.find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_bool()) return bad(name, std::string("'") + name + "' must be true or false");
    *out = v->as_bool();
    return std::nullopt;
}

// Token ids: an array of integers from 0 (at most 1M of them).
std::optional<ApiError> read_token_ids(const json::Value& v, const char* param, std::vector<int32_t>* out) {
    if (!v.is_array() || v.as_array().size() > (1u << 20))
        return bad(param, std::string("'") + param + "' must be an array of token ids");
    for (const json::Value& t : v.as_array()) {
        if (!t.is_int() || t.as_int() < 0 || t.as_int() > INT32_MAX)
            return bad(param, std::string("'") + param + "' token ids must be integers from 0");
        out->push_back(int32_t(t.as_int()));
    }
    return std::nullopt;
}

// A message's content: a string, or an array of {"type": "text", "text": "..."} parts (joined).
std::optional<ApiError> read_content(const json::Value& v, const std::string& param, bool may_be_null, std::string* out) {
    if (v.is_string()) {
        *out = v.as_string();
        return std::nullopt;
    }
    if (v.is_null() && may_be_null) return std::nullopt;
    if (!v.is_array()) return bad(param, "'" + param + "' must be a string or an array of text parts");
    for (size_t i = 0; i < v.as_array().size(); ++i) {
        const json::Value& part = v.as_array()[i];
        const std::string p = param + "[" + std::to_string(i) + "]";
        if (!part.is_object()) return bad(p, "'" + p + "' must be an object");
        if (!part["type"].is_string() || part["type"].as_string() != "text")
            return bad(p + ".type", "only text content parts are supported ('" + p + ".type' must be \"text\")");
        if (!part["text"].is_string()) return bad(p + ".text", "'" + p + ".text' must be a string");
        *out += part["text"].as_string();
    }
    return std::nullopt;
}

// An assistant turn's tool_calls, as the templates read them: arguments given as a JSON string
// become the object they hold (Qwen's and Llama's templates write `arguments | tojson`).
std::optional<ApiError> read_tool_calls(const json::Value& v, const std::string& param, json::Value* out) {
    if (!v.is_array()) return bad(param, "'" + param + "' must be an array");
    *out = json::Value::array();
    for (size_t i = 0; i < v.as_array().size(); ++i) {
        const json::Value& c = v.as_array()[i];
        const std::string p = param + "[" + std::to_string(i) + "]";
        if (!c.is_object() || !c["function"].is_object()) return bad(p, "'" + p + "' must be an object with a 'function'");
        const json::Value& f = c["function"];
        if (!f["name"].is_string() || f["name"].as_string().empty())
            return bad(p + ".function.name", "'" + p + ".function.name' must be a non-empty string");
        json::Value args = f["arguments"];
        if (args.is_string()) {
            auto parsed = json::parse(args.as_string());
            if (!parsed.ok() || !parsed->is_object())
                return bad(p + ".function.arguments", "'" + p + ".function.arguments' must be a JSON object (as text)");
            args = *parsed;
        } else if (args.is_null()) {
            args = json::Value::object();
        } else if (!args.is_object()) {
            return bad(p + ".function.arguments", "'" + p + ".function.arguments' must be a JSON object (as text)");
        }
        if (!c["id"].is_null() && !c["id"].is_string()) return bad(p + ".id", "'" + p + ".id' must be a string");
        json::Value fn = json::Value::object();
        fn.set("name", f["name"]);
        fn.set("arguments", std::move(args));
        json::Value call = json::Value::object();
        if (c["id"].is_string()) call.set("id", c["id"]);
        call.set("type", "function");
        call.set("function", std::move(fn));
        out->push_back(std::move(call));
    }
    return std::nullopt;
}

// tools: [{"type": "function", "function": {"name", "description", "parameters"}}], given to the
// template as they are. tool_choice: "auto" (the model decides), "none" (it is given no tools),
// "required" (it must call one) or {"type": "function", "function": {"name": …}} (that one).
std::optional<ApiError> read_tools(const json::Value& body, ApiRequest* req) {
    json::Value* out = &req->tools;
    const json::Value* v = body.find("tools");
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_array()) return bad("tools", "'tools' must be an array");
    for (size_t i = 0; i < v->as_array().size(); ++i) {
        const json::Value& t = v->as_array()[i];
        const std::string p = "tools[" + std::to_string(i) + "]";
        if (!t.is_object() || !t["type"].is_string() || t["type"].as_string() != "function")
            return bad(p, "'" + p + "' must be an object of type \"function\"");
        if (!t["function"].is_object() || !t["function"]["name"].is_string() || t["function"]["name"].as_string().empty())
            return bad(p + ".function.name", "'" + p + ".function.name' must be a non-empty string");
        const json::Value& params = t["function"]["parameters"];
        if (!params.is_null() && !params.is_object()) return bad(p + ".function.parameters", "'" + p + ".function.parameters' must be an object");
    }
    if (const json::Value* c = body.find("tool_choice"); c && !c->is_null()) {
        if (c->is_string() && c->as_string() == "none") return std::nullopt;  // no tools for this answer
        if (c->is_string() && c->as_string() == "required") {
            req->tool_required = true;
        } else if (c->is_object()) {
            const json::Value& n = (*c)["function"]["name"];
            if ((*c)["type"].as_string() != "function" || !n.is_string())
                return bad("tool_choice", "'tool_choice' must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}");
            bool known = false;
            for (const json::Value& t : v->as_array()) known |= t["function"]["name"].as_string() == n.as_string();
            if (!known) return bad("tool_choice", "'tool_choice' names '" + n.as_string() + "', which is not among 'tools'");
            req->tool_name = n.as_string();
        } else if (!c->is_string() || c->as_string() != "auto") {
            return bad("tool_choice", "'tool_choice' must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}");
        }
        if (v->as_array().empty() && (req->tool_required || !req->tool_name.empty()))
            return bad("tool_choice", "'tool_choice' asks for a call, but 'tools' is empty");
    }
    if (!v->as_array().empty()) *out = *v;
    return std::nullopt;
}

std::optional<ApiError> read_messages(const json::Value& body, std::vector<ChatMessage>* out) {
    const json::Value* v = body.find("messages");
    if (!v || v->is_null()) return bad("messages", "'messages' is required");
    if (!v->is_array()) return bad("messages", "'messages' must be an array");
    if (v->as_array().empty()) return bad("messages", "'messages' must not be empty");
    for (size_t i = 0; i < v->as_array().size(); ++i) {
        const json::Value& m = v->as_array()[i];
        const std::string p = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) return bad(p, "'" + p + "' must be an object");
        if (!m["role"].is_string()) return bad(p + ".role", "'" + p + ".role' must be a string");
        std::string role = m["role"].as_string();
        if (role == "developer") role = "system";
        if (role != "system" && role != "user" && role != "assistant" && role != "tool")
            return bad(p + ".role", "'" + p + ".role' must be system, developer, user, assistant or tool, not '" + role + "'");
        ChatMessage cm{role, {}};
        if (const json::Value* c = m.find("content")) {
            if (auto e = read_content(*c, p + ".content", role == "assistant", &cm.content)) return e;
        } else if (role != "assistant") {
            return bad(p + ".content", "'" + p + ".content' is required");
        }
        if (role == "tool") {
            const json::Value& id = m["tool_call_id"];
            if (!id.is_null() && !id.is_string()) return bad(p + ".tool_call_id", "'" + p + ".tool_call_id' must be a string");
            if (id.is_string()) cm.tool_call_id = id.as_string();
        }
        if (const json::Value* calls = m.find("tool_calls"); calls && !calls->is_null() && role == "assistant")
            if (auto e = read_tool_calls(*calls, p + ".tool_calls", &cm.tool_calls)) return e;
        out->push_back(std::move(cm));
    }
    return std::nullopt;
}

// A string, token ids (as lm-evaluation-harness and other scorers send them), or an array of
// either: several prompts, each answered as its own choices.
std::optional<ApiError> read_prompts(const json::Value& body, std::vector<ApiRequest::Prompt>* out, const char* key = "prompt",
                                     size_t max_prompts = size_t(kMaxChoices)) {
    const std::string k = key;
    const json::Value* v = body.find(k);
    if (!v || v->is_null()) return bad(k, "'" + k + "' is required");
    auto one = [&](const json::Value& p) -> std::optional<ApiError> {
        ApiRequest::Prompt prompt;
        if (p.is_string()) {
            prompt.text = p.as_string();
        } else if (p.is_array() && !p.as_array().empty()) {
            prompt.is_tokens = true;
            if (auto e = read_token_ids(p, key, &prompt.tokens)) return e;
        } else {
            return bad(k, "'" + k + "' must be a string, an array of token ids, or an array of either");
        }
        out->push_back(std::move(prompt));
        return std::nullopt;
    };
    const bool several = v->is_array() && !v->as_array().empty() && (v->as_array()[0].is_string() || v->as_array()[0].is_array());
    if (!several) return one(*v);
    if (v->as_array().size() > max_prompts) return bad(k, "'" + k + "' holds at most " + std::to_string(max_prompts) + " texts");
    for (const json::Value& p : v->as_array())
        if (auto e = one(p)) return e;
    return std::nullopt;
}

std::optional<ApiError> read_stop(const json::Value& body, std::vector<std::string>* out) {
    const json::Value* v = body.find("stop");
    if (!v || v->is_null()) return std::nullopt;
    auto one = [&](const json::Value& s) -> std::optional<ApiError> {
        if (!s.is_string()) return bad("stop", "'stop' must be a string or an array of strings");
        if (s.as_string().empty()) return bad("stop", "a stop string must not be empty");
        out->push_back(s.as_string());
        return std::nullopt;
    };
    if (!v->is_array()) return one(*v);
    if (v->as_array().size() > 16) return bad("stop", "'stop' holds at most 16 strings");
    for (const json::Value& s : v->as_array())
        if (auto e = one(s)) return e;
    return std::nullopt;
}

std::optional<ApiError> read_max_tokens(const json::Value& body, int* out) {
    for (const char* key : {"max_tokens", "max_completion_tokens"}) {
        const json::Value* v = body.find(key);
        if (!v || v->is_null()) continue;
        if (!v->is_int()) return bad(key, std::string("'") + key + "' must be an integer");
        if (v->as_int() < 0 || v->as_int() > (1 << 30)) return bad(key, std::string("'") + key + "' must be at least 1");
        *out = int(v->as_int());
    }
    return std::nullopt;
}

// response_format (OpenAI's; llama.cpp's server also reads a "schema" beside "json_object").
std::optional<ApiError> read_response_format(const json::Value& body, std::shared_ptr<const JsonSchema>* out) {
    const json::Value* rf = body.find("response_format");
    if (!rf || rf->is_null()) return std::nullopt;
    if (!rf->is_object() || !(*rf)["type"].is_string())
        return bad("response_format", "'response_format' must be an object with a 'type': text, json_object or json_schema");
    const std::string& type = (*rf)["type"].as_string();
    const json::Value* schema = nullptr;
    std::string where = "response_format.schema";
    if (type == "text") return std::nullopt;
    if (type == "json_object") {
        schema = rf->find("schema");
        if (!schema || schema->is_null()) {
            *out = any_json_object_schema();
            return std::nullopt;
        }
    } else if (type == "json_schema") {
        const json::Value* js = rf->find("json_schema");
        if (!js || !js->is_object())
            return bad("response_format", "'response_format.json_schema' must be an object holding the 'schema'");
        schema = js->find("schema");
        where = "response_format.json_schema.schema";
        if (!schema) return bad("response_format", "'" + where + "' is required");
    } else {
        return bad("response_format", "'response_format.type' must be text, json_object or json_schema, not '" + type + "'");
    }
    auto compiled = compile_json_schema(*schema);
    if (!compiled.ok()) return bad("response_format", "'" + where + "': " + compiled.message());
    *out = *compiled;
    return std::nullopt;
}

// An integer field within [lo, hi]; absent or null leaves *out as it is.
std::optional<ApiError> read_int(const json::Value& body, const char* key, int lo, int hi, int* out) {
    const json::Value* v = body.find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_int() || v->as_int() < lo || v->as_int() > hi)
        return bad(key, std::string("'") + key + "' must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
    *out = int(v->as_int());
    return std::nullopt;
}

// Chat: logprobs (true/false) and top_logprobs (0..20, only with logprobs: true, as OpenAI's).
// Completions: logprobs is the number of most likely tokens (0..20; OpenAI's legacy limit is 5).
std::optional<ApiError> read_logprobs(const json::Value& body, bool chat, int* out) {
    if (!chat) return read_int(body, "logprobs", 0, kMaxTopLogprobs, out);
    bool on = false;
    if (auto e = read_bool(body, "logprobs", "logprobs", &on)) return e;
    int top = -1;
    if (auto e = read_int(body, "top_logprobs", 0, kMaxTopLogprobs, &top)) return e;
    if (top >= 0 && !on) return bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    if (on) *out = std::max(top, 0);
    return std::nullopt;
}

// logit_bias: an object from token ids (decimal strings, as JSON keys must be) to biases.
std::optional<ApiError> read_logit_bias(const json::Value& body, std::vector<std::pair<int32_t, float>>* out) {
    const json::Value* v = body.find("logit_bias");
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_object()) return bad("logit_bias", "'logit_bias' must be an object from token ids to numbers");
    if (v->size() > 1024) return bad("logit_bias", "'logit_bias' holds at most 1024 tokens");
    for (const auto& [key, bias] : v->as_object()) {
        int64_t id = 0;
        bool digits = !key.empty() && key.size() <= 10;  // 10 digits cannot overflow int64
        for (size_t i = 0; digits && i < key.size(); ++i) {
            digits = key[i] >= '0' && key[i] <= '9';
            id = id * 10 + (key[i] - '0');
        }
        if (!digits || id > INT32_MAX) return bad("logit_bias", "'logit_bias' key '" + key + "' is not a token id");
        if (!bias.is_number() || !std::isfinite(bias.as_double()) || bias.as_double() < -100 || bias.as_double() > 100)
            return bad("logit_bias", "'logit_bias' value for token " + key + " must be a number from -100 to 100");
        out->emplace_back(int32_t(id), float(bias.as_double()));
    }
    return std::nullopt;
}

// What the completions endpoint asks that the server cannot give is an error, not ignored.
std::optional<ApiError> read_completion_extras(const json::Value& body, ApiRequest* out) {
    if (auto e = read_bool(body, "echo", "echo", &out->echo)) return e;
    if (const json::Value* s = body.find("suffix"); s && !s->is_null()) {
        if (!s->is_string()) return bad("suffix", "'suffix' must be a string");
        if (!s->as_string().empty()) return bad("suffix", "insertion ('suffix') is not supported by this server");
    }
    int best_of = 1;
    if (auto e = read_int(body, "best_of", 1, 1 << 20, &best_of)) return e;
    if (best_of != 1) return bad("best_of", "only best_of = 1 is supported (n asks for several choices)");
    return std::nullopt;
}

}  // namespace

std::optional<ApiError> parse_embedding_request(std::string_view text, EmbeddingRequest* out) {
    *out = EmbeddingRequest();
    json::Value body;
    if (auto e = parse_object(text, &body)) return e;
    if (auto e = read_model(body, &out->model)) return e;
    if (auto e = read_prompts(body, &out->inputs, "input", size_t(kMaxEmbeddingInputs))) return e;
    for (size_t i = 0; i < out->inputs.size(); ++i)
        if (!out->inputs[i].is_tokens && out->inputs[i].text.empty())
            return bad("input", "'input' " + std::to_string(i) + " is empty");
    if (const json::Value* f = body.find("encoding_format"); f && !f->is_null()) {
        if (!f->is_string() || (f->as_string() != "float" && f->as_string() != "base64"))
            return bad("encoding_format", "'encoding_format' must be float or base64");
        out->base64 = f->as_string() == "base64";
    }
    return read_int(body, "dimensions", 1, 1 << 20, &out->dimensions);
}

std::optional<ApiError> parse_tokenize_request(std::string_view text, TokenizeRequest* out) {
    *out = TokenizeRequest();
    json::Value body;
    if (auto e = parse_object(text, &body)) return e;
    const bool llama_cpp = body.find("content") != nullptr;  // its field names, and its default: no BOS
    const char* key = llama_cpp ? "content" : "prompt";
    if (!body[key].is_string()) return bad(key, std::string("'") + key + "' must be a string");
    out->text = body[key].as_string();
    out->add_special = !llama_cpp;
    if (auto e = read_bool(body, "add_special_tokens", "add_special_tokens", &out->add_special)) return e;
    if (auto e = read_bool(body, "add_special", "add_special", &out->add_special)) return e;
    if (auto e = read_bool(body, "with_pieces", "with_pieces", &out->with_pieces)) return e;
    return std::nullopt;
}

std::optional<ApiError> parse_detokenize_request(std::string_view text, std::vector<int32_t>* tokens) {
    tokens->clear();
    json::Value body;
    if (auto e = parse_object(text, &body)) return e;
    return read_token_ids(body["tokens"], "tokens", tokens);
}

std::optional<ApiError> parse_api_request(std::string_view text, bool chat, ApiRequest* out) {
    *out = ApiRequest();
    out->chat = chat;
    json::Value body;
    if (auto e = parse_object(text, &body)) return e;

    if (auto e = read_model(body, &out->model)) return e;
    if (chat) {
        if (auto e = read_messages(body, &out->messages)) return e;
    } else {
        if (auto e = read_prompts(body, &out->prompts)) return e;
    }
    if (auto e = read_bool(body, "stream", "stream", &out->stream)) return e;
    if (const json::Value* so = body.find("stream_options"); so && !so->is_null()) {
        if (!so->is_object()) return bad("stream_options", "'stream_options' must be an object");
        if (auto e = read_bool(*so, "include_usage", "stream_options.include_usage", &out->include_usage)) return e;
    }
    if (auto e = read_number(body, "temperature", 0, 2, &out->temperature)) return e;
    if (auto e = read_number(body, "top_p", 0, 1, &out->top_p)) return e;
    if (auto e = read_number(body, "presence_penalty", -2, 2, &out->presence_penalty)) return e;
    if (auto e = read_number(body, "frequency_penalty", -2, 2, &out->frequency_penalty)) return e;
    if (auto e = read_int(body, "top_k", 0, 1 << 30, &out->top_k)) return e;
    if (auto e = read_number(body, "min_p", 0, 1, &out->min_p)) return e;
    for (const char* key : {"repeat_penalty", "repetition_penalty"})
        if (auto e = read_number(body, key, 0.01, 10, &out->repeat_penalty)) return e;
    if (auto e = read_logit_bias(body, &out->logit_bias)) return e;
    if (auto e = read_logprobs(body, chat, &out->logprobs)) return e;
    if (!chat)
        if (auto e = read_completion_extras(body, out)) return e;
    if (auto e = read_max_tokens(body, &out->max_tokens)) return e;
    if (auto e = read_stop(body, &out->stop)) return e;
    if (const json::Value* s = body.find("seed"); s && !s->is_null()) {
        if (!s->is_int()) return bad("seed", "'seed' must be an integer");
        out->seed = uint64_t(s->as_int());
    }
    if (auto e = read_response_format(body, &out->json)) return e;
    if (chat)
        if (auto e = read_tools(body, out)) return e;
    if (auto e = read_int(body, "n", 1, kMaxChoices, &out->n)) return e;
    const size_t n_prompts = chat ? 1 : out->prompts.size();
    if (n_prompts * size_t(out->n) > size_t(kMaxChoices))
        return bad("n", "at most " + std::to_string(kMaxChoices) + " choices in all (prompts × n)");
    // No answer at all is only for scoring a prompt (echo with logprobs, max_tokens 0).
    if (out->max_tokens == 0 && !(out->echo && out->logprobs >= 0))
        return bad(body["max_tokens"].is_null() ? "max_completion_tokens" : "max_tokens",
                   "'max_tokens' must be at least 1 (0 only with 'echo' and 'logprobs', to score the prompt)");
    return std::nullopt;
}

}  // namespace hearth
