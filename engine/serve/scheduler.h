// The server's scheduler: one loaded model, `n_parallel` sequence slots, and a loop thread that
// advances every active sequence one step per round (a prefill chunk under the per-step token
// budget, or one decode token). Requests wait in a queue while all slots are busy. Qt-free: the
// OpenAI-compatible server (openai_server.h) is its client, and so can the app's chat be.
//
// Prefix reuse: a request goes to the free slot whose cached tokens share the longest prefix with
// its prompt, so a conversation's next turn, or a second request with the same system prompt,
// starts after the cached part. Slots hold their cache after a request ends.
//
// Where the model's backends run attention over block tables (every backend here), the slots
// share one KV cache as a pool of blocks (engine/model/kv_blocks.h) and every round is one batched
// forward (ModelContext::eval_batch) over all slots' decode tokens and prefill chunks; requests
// then run with the server's adapters. Otherwise each slot evaluates through its own
// ModelContext (one sequence per forward), each with its own adapter set.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/lora/lora_spec.h"
#include "engine/sampling/sampling_params.h"
#include "engine/session/chat_format.h"
#include "engine/session/session.h"

namespace hearth {

class KvBlocks;
class ModelContext;

struct LoadedModel;       // engine/session/loaded_model.h
class ModelChatFormat;    // engine/session/chat_render.h
class LoraAdapter;

struct SchedulerOptions {
    ModelOptions model;       // model.n_ctx is the context of each slot; model.loras are opened, checked and
                              // attached to every slot at the start (requests name their own set)
    int n_parallel = 1;       // sequence slots
    int step_tokens = 512;    // tokens evaluated per round at most: decode tokens first, prefill chunks after
    int prefill_chunk = 256;  // a prompt is evaluated in chunks of at most this many tokens
};

struct ServeRequest {
    std::vector<int32_t> prompt;   // 1 .. n_ctx-1 tokens
    SamplingParams sampling;       // seed, penalties, stop strings; max_new_tokens < 0: until the context is full
    std::vector<LoraSpec> loras;   // the adapters this sequence runs with
};

struct ServeEvent {
    enum class Kind { Text, Done, Error };
    Kind kind = Kind::Text;
    std::string text;      // Text: complete UTF-8; stop strings are never part of it
    std::string finish;    // Done: "stop" (end of generation or a stop string), "length" (max tokens or context full),
                           // "cancelled"
    std::string error;     // Error: what went wrong (the request is over)
    int n_prompt = 0, n_reused = 0, n_generated = 0;  // Done and Error
};
// Called on the scheduler's loop thread; a Done or Error event is the request's last.
using ServeEventFn = std::function<void(const ServeEvent&)>;

class Scheduler {
public:
    static Result<std::unique_ptr<Scheduler>> create(const SchedulerOptions& opt, const ProgressFn& progress = {});
    ~Scheduler();  // ends every request ("cancelled") and joins the loop

    // Queues a request; returns its id, or an error for a request that can never run (empty or too
    // long a prompt, a token outside the vocabulary).
    Result<uint64_t> submit(ServeRequest req, ServeEventFn on_event);
    // From any thread: the request ends with "cancelled" at the next check (between ops inside an
    // evaluation), its slot free for the next request. Unknown or finished ids are ignored.
    void cancel(uint64_t id);
    void cancel_all();  // every queued and running request (the server is stopping)

    const ModelInfo& info() const;
    const ChatFormat& chat_format() const;
    int n_ctx() const;
    int n_parallel() const { return int(slots_.size()); }
    int n_active() const { return n_active_.load(); }   // requests in a slot
    int n_queued() const { return n_queued_.load(); }   // requests waiting for one

private:
    struct Job;
    struct Slot;
    Scheduler();
    void loop();
    void admit(std::shared_ptr<Job> job);  // into the best free slot (loop thread)
    void step();                           // one round over the active slots (loop thread)
    void take_token(Slot& slot, int32_t tok);
    void finish(Slot& slot, const std::string& reason);
    void fail(Slot& slot, const std::string& message);
    Status attach_loras(Slot& slot, const std::vector<LoraSpec>& loras);

    // Batched mode (the model's backends run attention over block tables, ModelContext::can_batch):
    // one context whose KV cache is a pool of blocks, a KvBlocks sequence per slot, and one
    // eval_batch per round for every slot's decode token and prefill chunk. Its adapters are the
    // server's, for every sequence. Otherwise each slot has its own context and evaluates alone.
    void step_batched();
    bool batched() const { return shared_ctx_ != nullptr; }
    Status switch_batch_loras(const std::vector<LoraSpec>& loras);  // batched, no sequence running

    SchedulerOptions opt_;
    std::unique_ptr<LoadedModel> lm_;
    std::unique_ptr<ModelContext> shared_ctx_;
    std::unique_ptr<KvBlocks> blocks_;
    std::vector<float> batch_logits_;
    std::vector<LoraSpec> batch_loras_;  // attached to shared_ctx_
    std::unique_ptr<ModelChatFormat> format_;
    std::map<std::string, std::unique_ptr<LoraAdapter>> adapters_;  // opened once per path; outlive the slots' contexts
    std::vector<std::unique_ptr<Slot>> slots_;
    uint64_t admissions_ = 0;  // loop thread only

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::map<uint64_t, std::shared_ptr<Job>> jobs_;  // queued or running, by id
    uint64_t next_id_ = 1;
    bool stopping_ = false;
    std::atomic<int> n_active_{0}, n_queued_{0};
    std::thread thread_;
};

}  // namespace hearth
