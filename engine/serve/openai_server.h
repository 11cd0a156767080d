// The OpenAI-compatible HTTP server over a Scheduler (cpp-httplib, Debian's libcpp-httplib-dev):
//   GET  /v1/models            the loaded model
//   POST /v1/chat/completions  messages → an answer, streamed as server-sent events ending with
//                              "data: [DONE]" or whole; <think> text goes to reasoning_content
//   POST /v1/completions       a raw prompt (or several, or token ids) → its continuation; with echo
//                              and logprobs the prompt's tokens scored
//   POST /v1/embeddings        texts → their embeddings: from the embedding model when one is given
//                              (ServerOptions::embedder), else the chat model's last normed hidden state
//   POST /tokenize, /detokenize, GET /tokenizer_info   the model's tokenizer (vLLM's and llama.cpp's forms)
//   GET  /health               {"status":"ok", "slots_processing", "slots_idle", "requests_queued"}
// Every answer carries `usage`; finish_reason is "stop", "length" or "tool_calls"; `n` choices
// per prompt, log probabilities on request. Errors are OpenAI's
// {"error": {"message", "type", "param", "code"}}: 400 for malformed JSON, wrong field types or a
// prompt longer than the context (never truncated), 401 for a missing or wrong key, 404
// model_not_found for another model id. A streaming client that disconnects frees its slot.
// Prompts go through the one prompt policy (engine/session/prompt_policy.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/lora/lora_spec.h"
#include "engine/util/status.h"

namespace hearth {

class Scheduler;
namespace embed {
class TextEmbedder;
}

struct ServerOptions {
    std::string host = "127.0.0.1";  // loopback unless asked (is_loopback_host: the CLI warns otherwise)
    int port = 8080;                 // 0: any free port (bind() says which)
    std::string api_key;             // non-empty: every request but /health needs "Authorization: Bearer KEY"
    std::string cors_origin;         // non-empty: CORS headers for this origin ("*" for any); none otherwise
    std::string model_id;            // the id /v1/models lists and requests may name; "" = the file's stem
    std::vector<LoraSpec> loras;     // the adapters every API request runs with
    // An embedding model (BERT family) beside the chat model: /v1/embeddings uses it when a request
    // names it or names no model, and /v1/models lists it. Must outlive the server.
    embed::TextEmbedder* embedder = nullptr;
    std::string embedding_model_id;  // "" = its file's stem
};

bool is_loopback_host(const std::string& host);

class OpenAiServer {
public:
    OpenAiServer(Scheduler& scheduler, ServerOptions options, const std::string& model_path);
    // A server of an embedding model alone (options.embedder, required): /v1/embeddings, /v1/models
    // and /health; the routes that need a model that writes text answer 404 saying so.
    explicit OpenAiServer(ServerOptions options);
    ~OpenAiServer();
    // Binds host:port; returns the port (the chosen one for port 0).
    Result<int> bind();
    // Serves until stop(); call after bind().
    void run();
    // From any thread: run() returns once the open requests have ended. Only this server's requests
    // are cancelled: other clients of the same Scheduler (the app's chat) are left running.
    void stop();
    const std::string& model_id() const;  // the chat model's, or the embedding model's when alone

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hearth
