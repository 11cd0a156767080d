// Reading the JSON bodies of OpenAI's /v1/chat/completions and /v1/completions: every field the
// server understands is type-checked, and a wrong one is an ApiError naming it (HTTP 400), never a
// guess. Fields the server does not know are ignored, as clients send many; but a request for what
// it cannot give (log probabilities, a schema keyword it cannot enforce) is an error, never a
// silently different answer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampling/json_schema.h"
#include "engine/session/chat_format.h"

namespace hearth {

// OpenAI's error object: {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct ApiError {
    int status = 400;
    std::string message;
    std::string type = "invalid_request_error";
    std::string param;  // the offending field ("" = null)
    std::string code;   // "" = null
};

struct ApiRequest {
    bool chat = true;                    // /v1/chat/completions (messages) or /v1/completions (prompt)
    std::string model;                   // "" = the loaded one
    std::vector<ChatMessage> messages;   // chat; "developer" is read as "system"; "tool" results and assistant tool_calls kept
    std::string prompt;                  // completions
    bool stream = false;
    bool include_usage = false;          // stream_options.include_usage
    // Sampling: OpenAI's fields; what they leave open follows Hearth's defaults (top-k 40, min-p 0.05).
    float temperature = 0.8f;
    float top_p = 0.95f;
    float presence_penalty = 0.0f, frequency_penalty = 0.0f;
    int max_tokens = -1;                 // max_tokens or max_completion_tokens; -1: until the context is full
    std::vector<std::string> stop;
    std::optional<uint64_t> seed;
    // response_format: {"type": "json_object"} (any object) or {"type": "json_schema", "json_schema":
    // {"schema": …}}: the answer is JSON the schema admits (constrained sampling). Null: free text.
    std::shared_ptr<const JsonSchema> json;
    // Chat: the functions the model may call (OpenAI's tools array, as given); null: none, or
    // tool_choice "none".
    json::Value tools;
    // tool_choice "required" (tool_required) or {"type": "function", "function": {"name": …}}
    // (tool_name): the answer is one call, enforced as response_format is (tool_calls.h, forced_call).
    bool tool_required = false;
    std::string tool_name;
};

// Parses `body` for the chat endpoint (`chat`) or the completions endpoint.
std::optional<ApiError> parse_api_request(std::string_view body, bool chat, ApiRequest* out);

}  // namespace hearth
