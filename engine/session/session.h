// The Session API: what the app (InferenceWorker) and hearth-cli use to chat with a model.
// Thread use: a Session is used from one thread at a time (the worker's); `cancel` flags may be set
// from any thread. Nothing here throws or aborts: failures are Status/Result values with messages.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/lora/lora_spec.h"
#include "engine/sampling/json_constraint.h"
#include "engine/sampling/sampling_params.h"
#include "engine/session/chat_format.h"
#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth {

struct ProjectionObserver;  // engine/model/projection_observer.h

struct ModelOptions {
    std::string path;               // .gguf (first part of a split model)
    int n_ctx = 4096;               // clamped to the model's training context
    std::string kv_type = "f16";    // "f16" | "f32"
    std::string backend = "auto";   // see create_backend()
    int device = 0;
    int n_threads = 0;              // 0 = physical cores
    int gpu_layers = -1;            // layers on a GPU backend, the rest on the CPU; -1 = as many as fit
    int cpu_moe_layers = -1;        // a mixture of experts: the first N layers' experts in system memory; -1 = auto
    std::vector<LoraSpec> loras;    // adapters attached when the model is open (Session::set_loras)
};

struct ModelInfo {
    std::string name;               // general.name or file stem
    std::string architecture;       // general.architecture: "llama", "qwen2", "qwen3", "gemma3", "phi3"
    uint64_t n_params = 0;
    std::string file_type;          // dominant weight type, "Q4_K_M"-style when known
    int n_ctx_train = 0, n_ctx = 0, n_layer = 0, n_embd = 0, n_head = 0, n_kv_head = 0, n_vocab = 0;
    std::string chat_template;      // empty = none in the file (fallback_chat_template: Gemma turns or ChatML)
    bool template_has_think = false;  // the template mentions <think>: a reasoning model
    std::string backend_description;  // "CPU (AVX2, 2 threads)", "Vulkan: llvmpipe (…); auto: all 22 layers fit (…)"
    int n_gpu_layers = 0;             // layers on the main backend (all of them unless split)
    uint64_t weight_bytes = 0, kv_bytes = 0;
};

struct GenerateStats {
    int n_prompt = 0;              // tokens in the prompt
    int n_reused = 0;              // prompt tokens whose KV was reused from the previous turn
    int n_shifted_out = 0;         // tokens dropped by context shifts during this call
    int n_generated = 0;
    double prompt_seconds = 0, gen_seconds = 0;
    double prompt_tps = 0, gen_tps = 0;
    int n_ctx_used = 0;            // cells in use after the call
    std::string stop_reason;       // "eog", "stop-string", "max-tokens", "cancelled", "context", "json"
    std::vector<int32_t> tokens;   // the generated token ids (an end-of-generation token is not included)
};

// Called with each piece of generated text: always complete UTF-8. Return false to stop.
using PieceFn = std::function<bool(std::string_view piece)>;
// Loading progress in [0,1]. Return false to cancel loading.
using ProgressFn = std::function<bool(float fraction)>;

// render_chat and tokenize come from ChatFormat (chat_format.h), what the prompt policy uses.
class Session : public ChatFormat {
public:
    static Result<std::unique_ptr<Session>> open(const ModelOptions& opt, const ProgressFn& progress = {});
    virtual ~Session() = default;

    virtual const ModelInfo& info() const = 0;

    virtual std::string detokenize(const std::vector<int32_t>& ids) const = 0;  // may contain partial UTF-8 at the end

    // Makes `prompt` the context and generates after it. The KV cache of the longest prefix shared
    // with the current context is reused; when the current context equals the new prompt with one
    // range of tokens removed (the app dropped old turns), the cache is shifted (kv_shift) instead of
    // recomputed. When generation fills n_ctx, the context shifts by itself: the first `n_keep`
    // tokens stay, half of the rest is dropped.
    // `cancel` (set from any thread: the app's Stop) is watched inside evaluation, between ops and
    // within long ops on the CPU, so the call returns within tens of milliseconds with stop_reason
    // "cancelled"; a prompt stopped part-way keeps its completed 256-token chunks cached for the
    // next call to reuse, and nothing half-written is ever reused.
    // `json`, when given: the answer is JSON its schema admits, enforced while sampling
    // (json_constraint.h; after </think> when `json_after_think`); it ends when the value closes
    // (stop_reason "json"). Sampling then runs on the host.
    virtual Result<GenerateStats> generate(const std::vector<int32_t>& prompt, const SamplingParams& sp,
                                           const PieceFn& on_piece, const std::atomic<bool>* cancel = nullptr,
                                           int n_keep = 0, const JsonAnswer* json = nullptr, bool json_after_think = false) = 0;

    // Logits of the last `n_rows` positions after evaluating `tokens` from an empty context
    // (tests and `hearth-cli logits`). Row-major [n_rows][n_vocab].
    virtual Result<std::vector<float>> eval_logits(const std::vector<int32_t>& tokens, int n_rows = 1) = 0;

    // The LoRA adapters of this conversation, applied unmerged (y += scale·alpha/r·B(A·x)). Every
    // adapter is opened and checked against the model before anything changes: on an error the
    // previous set stays attached and the message names the adapter (and the first tensor that
    // does not fit). A different set forgets the cached context, since its K/V came from other
    // weights; the same set (paths and scales) keeps it. An empty list detaches all.
    virtual Status set_loras(const std::vector<LoraSpec>& loras) = 0;
    virtual const std::vector<LoraSpec>& loras() const = 0;

    // Shows every layer projection's input to `o` during later evaluations (null: stop); for
    // importance statistics (engine/eval/imatrix.h). Not owned.
    virtual void set_projection_observer(ProjectionObserver* o) { (void)o; }

    virtual const std::vector<int32_t>& context_tokens() const = 0;  // tokens whose KV is cached
    virtual int n_ctx() const = 0;
    virtual void clear() = 0;  // forget the cached context
};

}  // namespace hearth
