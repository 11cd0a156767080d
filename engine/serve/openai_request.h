// Reading the JSON bodies of OpenAI's /v1/chat/completions and /v1/completions: every field the
// server understands is type-checked, and a wrong one is an ApiError naming it (HTTP 400), never a
// guess. Fields the server does not know are ignored, as clients send many; but a request for what
// it cannot give (several choices, insertion, a schema keyword it cannot enforce, the prompt's log
// probabilities) is an error, never a silently different answer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
    // Completions: one prompt or several (each answered as its own choices): text, tokenized with the
    // model's BOS rule, or token ids, used as they are (no BOS added).
    struct Prompt {
        std::string text;
        std::vector<int32_t> tokens;
        bool is_tokens = false;
    };
    std::vector<Prompt> prompts;
    int n = 1;                           // choices per prompt; at most kMaxChoices choices in all
    bool stream = false;
    bool include_usage = false;          // stream_options.include_usage
    // Sampling: OpenAI's fields; what they leave open follows Hearth's defaults (top-k 40, min-p 0.05).
    float temperature = 0.8f;
    float top_p = 0.95f;
    float presence_penalty = 0.0f, frequency_penalty = 0.0f;
    // llama.cpp's and vLLM's extensions, which chat front ends send: top_k (0 = off), min_p,
    // repeat_penalty (vLLM: repetition_penalty; 1 = off).
    int top_k = 40;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    // logit_bias: {"token id": bias in [-100, 100]}; ids are checked against the vocabulary by the server.
    std::vector<std::pair<int32_t, float>> logit_bias;
    // Log probabilities: < 0 none; else the chosen token's and this many most likely tokens' (chat:
    // logprobs true with top_logprobs 0..20; completions: logprobs 0..20).
    int logprobs = -1;
    bool echo = false;                   // completions: the answer's text begins with the prompt; with
                                         // logprobs, the prompt's tokens are scored too (the first: null)
    int max_tokens = -1;                 // max_tokens or max_completion_tokens; -1: until the context is full;
                                         // 0 only with echo and logprobs (the prompt scored, nothing generated)
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

// The most choices one request may ask for (prompts × n): each is a sequence of the scheduler.
constexpr int kMaxChoices = 64;

// Parses `body` for the chat endpoint (`chat`) or the completions endpoint.
std::optional<ApiError> parse_api_request(std::string_view body, bool chat, ApiRequest* out);

// POST /v1/embeddings: {"input": a string, token ids, or an array of either, "encoding_format":
// "float" | "base64", "dimensions": N (the first N values, normalized again)}.
struct EmbeddingRequest {
    std::string model;
    std::vector<ApiRequest::Prompt> inputs;
    bool base64 = false;
    int dimensions = 0;  // 0: all
};
constexpr int kMaxEmbeddingInputs = 256;
std::optional<ApiError> parse_embedding_request(std::string_view body, EmbeddingRequest* out);

// POST /tokenize, in vLLM's form ({"prompt", "add_special_tokens"}, BOS by default) or llama.cpp's
// ({"content", "add_special", "with_pieces"}, no BOS by default). Control tokens written in the
// text are parsed, as both do.
struct TokenizeRequest {
    std::string text;
    bool add_special = true;   // BOS by the vocabulary's rule
    bool with_pieces = false;  // llama.cpp: each token as {"id", "piece"}
};
std::optional<ApiError> parse_tokenize_request(std::string_view body, TokenizeRequest* out);
// POST /detokenize: {"tokens": [ids]} (ids are checked against the vocabulary by the server).
std::optional<ApiError> parse_detokenize_request(std::string_view body, std::vector<int32_t>* tokens);

}  // namespace hearth
