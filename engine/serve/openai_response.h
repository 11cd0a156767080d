// The JSON the OpenAI-compatible server answers with: completions, their streamed chunks, the model
// list and errors, in OpenAI's shapes (and DeepSeek's `reasoning_content` for reasoning models).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/serve/openai_request.h"
#include "engine/serve/tool_calls.h"
#include "engine/util/json.h"

namespace hearth {

struct Usage {
    int prompt_tokens = 0, completion_tokens = 0;
};

// What identifies one answer across its chunks.
struct AnswerId {
    std::string id;        // "chatcmpl-…" or "cmpl-…"
    std::string model;
    int64_t created = 0;   // Unix seconds
};

// One generated token's log probabilities as the API shows them: each token by its bytes (the
// response writes them as text where they are UTF-8 by themselves, else as OpenAI does for part of
// a character: "bytes:\\xe4\\xbd", with the exact bytes beside in the chat form).
struct ApiToken {
    std::string bytes;
    float logprob = 0.0f;  // -inf is written as -9999.0, OpenAI's stand-in
};
struct ApiLogprob {
    ApiToken chosen;
    std::vector<ApiToken> top;
    bool scored = true;  // false: a prompt's first token, which nothing predicts (null logprob and top)
};
// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}.
json::Value chat_logprobs_json(const std::vector<ApiLogprob>& entries);
// Completions (the legacy form): {"tokens", "token_logprobs", "top_logprobs", "text_offset"};
// text offsets count characters from *text_offset, which is advanced past these tokens.
json::Value text_logprobs_json(const std::vector<ApiLogprob>& entries, int64_t* text_offset);

std::string error_body(const ApiError& e);

// /v1/embeddings: each vector as numbers or (base64) its little-endian float32 bytes, in order.
json::Value embeddings_list(const std::string& model, const std::vector<std::vector<float>>& vectors, bool base64, int prompt_tokens);
json::Value usage_json(const Usage& u);
// A model served, with its context per sequence as vLLM names it (max_model_len), which clients
// read to size their prompts, and llama.cpp's `meta` figures; /v1/models lists the entries.
json::Value model_entry(const std::string& model_id, int64_t created, int max_model_len, const json::Value& meta);
json::Value models_list(std::vector<json::Value> entries);

// Whole answers: each choice (`finish` "stop", "length" or "tool_calls"; with calls, an empty
// content is null, as OpenAI's; `logprobs` null when not asked for), then the answer holding them.
json::Value chat_choice(int index, const std::string& content, const std::string& reasoning, const std::string& finish,
                        const std::vector<ToolCall>& calls, const json::Value& logprobs);
json::Value text_choice(int index, const std::string& text, const std::string& finish, const json::Value& logprobs);
json::Value completion(const AnswerId& a, bool chat, json::Value choices, const Usage& u);
// OpenAI's tool_calls array; `indexed` adds each call's index (the streamed delta's form).
json::Value tool_calls_json(const std::vector<ToolCall>& calls, bool indexed);

// Streamed chunks of choice `index`: `delta` for chat ({"role"}, {"content"}, {"reasoning_content"}
// or {}), `text` for completions; `finish` empty = null; `usage` when non-null.
json::Value chat_chunk(const AnswerId& a, int index, json::Value delta, const std::string& finish, const json::Value& usage,
                       const json::Value& logprobs = json::Value());
json::Value text_chunk(const AnswerId& a, int index, const std::string& text, const std::string& finish, const json::Value& usage,
                       const json::Value& logprobs = json::Value());
// The chunk stream_options.include_usage asks for: no choices, the usage.
json::Value usage_chunk(const AnswerId& a, bool chat, const Usage& u);

}  // namespace hearth
