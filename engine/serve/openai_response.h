// The JSON the OpenAI-compatible server answers with: completions, their streamed chunks, the model
// list and errors, in OpenAI's shapes (and DeepSeek's `reasoning_content` for reasoning models).
#pragma once

#include <cstdint>
#include <string>

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

std::string error_body(const ApiError& e);
json::Value usage_json(const Usage& u);
json::Value models_list(const std::string& model_id, int64_t created);

// Non-streamed answers. `finish` is "stop", "length" or "tool_calls". With calls, an empty
// content is null, as OpenAI's.
json::Value chat_completion(const AnswerId& a, const std::string& content, const std::string& reasoning,
                            const std::string& finish, const Usage& u, const std::vector<ToolCall>& calls = {});
// OpenAI's tool_calls array; `indexed` adds each call's index (the streamed delta's form).
json::Value tool_calls_json(const std::vector<ToolCall>& calls, bool indexed);
json::Value text_completion(const AnswerId& a, const std::string& text, const std::string& finish, const Usage& u);

// Streamed chunks: `delta` for chat ({"role"}, {"content"}, {"reasoning_content"} or {}), `text` for
// completions; `finish` empty = null; `usage` when non-null.
json::Value chat_chunk(const AnswerId& a, json::Value delta, const std::string& finish, const json::Value& usage);
json::Value text_chunk(const AnswerId& a, const std::string& text, const std::string& finish, const json::Value& usage);
// The chunk stream_options.include_usage asks for: no choices, the usage.
json::Value usage_chunk(const AnswerId& a, bool chat, const Usage& u);

}  // namespace hearth
