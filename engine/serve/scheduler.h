// The server's scheduler: one loaded model, `n_parallel` sequence slots, and a loop thread that
// advances every active sequence one step per round (a prefill chunk under the per-step token
// budget, or one decode token). Requests wait in a queue while all slots are busy. Qt-free: the
// OpenAI-compatible server (openai_server.h) is its client, and so can the app's chat be.
//
// Prefix reuse: a request goes to the free slot whose cached tokens share the longest prefix with
// its prompt, so a conversation's next turn, or a second request with the same system prompt,
// starts after the cached part. Slots hold their cache after a request ends. In batched mode a
// request also maps the full KV blocks of a prefix it shares with any other slot's sequence
// (running or cached) copy-free (KvBlocks::share_prefix): a system prompt common to several
// concurrent requests is computed once (a request that arrives with another, or while another
// still prefills the common part, waits the few rounds until those blocks are cached).
//
// KV blocks (batched mode): slots take blocks as they grow from one pool of `kv_tokens` cells
// (default n_parallel × n_ctx). Requests are admitted while the pool can hold their prompt. When a
// growing sequence finds no free block, idle slots' caches are dropped first (least recently used
// first), then the youngest running sequence is preempted: its blocks are freed and its prompt plus
// the tokens generated so far go back to the front of the queue, to be recomputed when it is
// admitted again; its sampler, stop strings and text stream carry on, so its answer continues
// exactly where it stopped (bit-identical on the CPU for Q4_0, Q4_1, Q8_0 and F32 weights: the
// batched forward is batch- and chunk-invariant there, see context.h).
//
// Where the model's backends run attention over block tables (every backend here), the slots
// share one KV cache as a pool of blocks (engine/model/kv_blocks.h) and every round is one batched
// forward (ModelContext::eval_batch) over all slots' decode tokens and prefill chunks, each
// sequence with its own request's adapter set (ModelContext::add_lora_set: requests with different
// sets run in the same batch). Otherwise each slot evaluates through its own ModelContext (one
// sequence per forward), each with its own adapter set.
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
#include "engine/sampling/token_logprobs.h"
#include "engine/session/chat_format.h"
#include "engine/session/session.h"

namespace hearth {

class KvBlocks;
class ModelContext;
namespace tokenizer {
class Tokenizer;
}

struct LoadedModel;       // engine/session/loaded_model.h
class ModelChatFormat;    // engine/session/chat_render.h
class LoraAdapter;
struct JsonSchema;        // engine/sampling/json_schema.h
struct VocabPieces;       // engine/sampling/token_constraint.h

struct SchedulerOptions {
    ModelOptions model;       // model.n_ctx is the context of each slot; model.loras are opened, checked and
                              // attached to every slot at the start (requests name their own set)
    int n_parallel = 1;       // sequence slots
    int step_tokens = 512;    // tokens evaluated per round at most: decode tokens first, prefill chunks after
    int prefill_chunk = 256;  // a prompt is evaluated in chunks of at most this many tokens
    int kv_tokens = 0;        // batched mode: the KV pool in tokens (whole blocks); 0 = n_parallel × n_ctx.
                              // A sequence's context is then at most min(n_ctx, this pool): n_ctx()
    bool check_blocks = false;  // batched mode: verify the block accounting after every round (tests;
                                // block_check() reports the first failure)
};

struct ServeRequest {
    std::vector<int32_t> prompt;   // 1 .. n_ctx-1 tokens
    SamplingParams sampling;       // seed, penalties, stop strings; max_new_tokens < 0: until the context is full,
                                   // 0: none (only with prompt_logprobs: the prompt is scored, finish "length")
    std::vector<LoraSpec> loras;   // the adapters this sequence runs with
    // Structured output: the answer is a JSON text this schema admits (json_constraint.h), between
    // json_prefix and json_suffix (a forced tool call's markers); null: free text.
    std::shared_ptr<const JsonSchema> json;
    std::string json_prefix, json_suffix;
    bool json_after_think = false;  // the prompt opened <think>: the JSON begins after </think>
    // Log probabilities (token_logprobs.h): < 0 none; else each generated token's and this many
    // (0..kMaxTopLogprobs) most likely tokens', in the events that release its text.
    int logprobs = -1;
    // With logprobs >= 0: also the prompt's, each prompt token's given the tokens before it (the
    // first has none), in one event once the prompt is evaluated (ServeEvent::prompt_scored). Logits
    // exist only where computed, so such a prompt is taken from a cache only as far as its slot
    // scored the same tokens before (with the same adapters and top count); the rest is evaluated.
    bool prompt_logprobs = false;
    // An embedding instead of an answer: the prompt's last token's final hidden state, after the
    // output norm (what decoder embedding models pool), in the Done event; nothing is generated.
    bool embed = false;
};

struct ServeEvent {
    enum class Kind { Text, Done, Error };
    Kind kind = Kind::Text;
    std::string text;      // Text: complete UTF-8; stop strings are never part of it
    // Text (ServeRequest::logprobs): the entries of the tokens whose text is now wholly out,
    // in order; the text may be empty (a token that renders as nothing). A token a stop string ends
    // in comes out if some of its text did; the tokens of the stop string after that never do, nor
    // the end-of-generation token. The entries of a request together cover the whole answer.
    std::vector<LogprobEntry> logprobs;
    // ServeRequest::prompt_logprobs: set on the one Text event (empty text) that carries the prompt's
    // entries, for prompt tokens 1.. in order; it comes before any generated text.
    bool prompt_scored = false;
    std::vector<LogprobEntry> prompt_logprobs;
    std::vector<float> embedding;  // Done of a ServeRequest::embed: n_embd values, not normalized
    std::string finish;    // Done: "stop" (end of generation or a stop string), "length" (max tokens or context full),
                           // "cancelled"
    std::string error;     // Error: what went wrong (the request is over)
    int n_prompt = 0, n_reused = 0, n_generated = 0;  // Done and Error
    int n_preempted = 0;   // Done and Error: times the sequence was preempted and recomputed (batched mode)
    int n_evaluated = 0;   // Done and Error: prompt tokens evaluated (not reused; recomputation included)
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
    int pooling_type() const;  // the model file's {arch}.pooling_type (ModelHParams), -1 when it has none
    const tokenizer::Tokenizer& tokenizer() const;  // the model's vocabulary (token_to_piece is a token's generated bytes)
    int n_ctx() const;  // the longest sequence: the model's context, or the KV pool when that is smaller
    int n_parallel() const { return int(slots_.size()); }
    int n_active() const { return n_active_.load(); }   // requests in a slot
    int n_queued() const { return n_queued_.load(); }   // requests waiting for one
    int n_preemptions() const { return n_preemptions_.load(); }  // since the start (batched mode)
    // With SchedulerOptions::check_blocks: the first accounting error found after a round, else OK.
    Status block_check() const;

private:
    struct Job;
    struct Slot;
    Scheduler();
    void loop();
    void admit(std::shared_ptr<Job> job);  // into the best free slot (loop thread)
    void step();                           // one round over the active slots (loop thread)
    // The feed is evaluated, `last_row` its last token's logits (`last_hidden` its normed hidden state,
    // for an embedding request): an embedding request ends with it; else the prompt's log
    // probabilities go out (when asked), then the next token is sampled, or the answer ends there
    // (max_new_tokens 0).
    void prompt_evaluated(Slot& slot, const float* last_row, const float* last_hidden);
    // ServeRequest::prompt_logprobs: entries from the rows of positions pos0 .. pos0+n_rows-1.
    void score_prompt(Job& job, const float* rows, int pos0, int n_rows);
    // A scoring job's first admission: the entries of the prefix it shares with what the slot scored.
    void take_scored_prefix(Slot& slot, Job& job);
    int prefill_chunk(const Job& job) const;  // tokens per prefill chunk (fewer while scoring a prompt)
    void sample_and_take(Slot& slot, const float* logits);  // with the request's constraint, if any
    void take_token(Slot& slot, int32_t tok, const LogprobEntry* lp);
    std::shared_ptr<const VocabPieces> vocab_pieces();       // made at the first constrained request
    void finish(Slot& slot, const std::string& reason);
    void fail(Slot& slot, const std::string& message);
    Status attach_loras(Slot& slot, const std::vector<LoraSpec>& loras);

    // Batched mode (the model's backends run attention over block tables, ModelContext::can_batch):
    // one context whose KV cache is a pool of blocks, a KvBlocks sequence per slot, and one
    // eval_batch per round for every slot's decode token and prefill chunk, each with its adapter
    // set. Otherwise each slot has its own context and evaluates alone.
    void step_batched();
    bool batched() const { return shared_ctx_ != nullptr; }
    Result<int> batch_lora_set(const std::vector<LoraSpec>& loras);  // the shared context's set id (made once)
    Result<const LoraAdapter*> adapter(const LoraSpec& spec);        // opened once per path
    // Batched: where in its sequence the admitted job starts (its own cache's prefix, or full blocks
    // shared from another slot's sequence); returns the cells already holding job.feed's tokens.
    size_t place_batched(Slot& slot, const Job& job, size_t own_reuse);
    // Batched: grows the slot's table by n cells, making room as the header says (idle caches, then
    // the youngest running sequence). Prefill chunks (may_shrink) take what fits instead, and
    // preempt only when nothing else runs this round (`scheduled`). Returns the cells reserved: 0
    // when none (the slot may then have been preempted itself).
    int make_room(Slot& slot, int n, bool may_shrink, bool scheduled);
    bool evict_idle_cache();    // the least recently used idle slot's cache; false if none holds blocks
    void preempt(Slot& slot);   // frees its blocks, requeues its job at the front
    int reclaimable_blocks() const;     // free, or held only by an idle slot's cache
    // Whether the job shares whole blocks of its prompt with a sequence that has yet to compute
    // them (admitted this round, or prefilling): it is then admitted once they are cached.
    bool awaits_shared_prefix(const Job& job, const std::vector<std::shared_ptr<Job>>& admitted) const;
    int blocks_to_admit(const Job& job) const;  // blocks its prompt needs beyond a shareable prefix
    void check_round();         // SchedulerOptions::check_blocks

    SchedulerOptions opt_;
    std::unique_ptr<LoadedModel> lm_;
    std::unique_ptr<ModelContext> shared_ctx_;
    std::unique_ptr<KvBlocks> blocks_;
    std::vector<float> batch_logits_, batch_hidden_;
    std::vector<std::pair<std::vector<LoraSpec>, int>> batch_sets_;  // the shared context's sets (0: none)
    std::unique_ptr<ModelChatFormat> format_;
    std::shared_ptr<const VocabPieces> pieces_;
    std::map<std::string, std::unique_ptr<LoraAdapter>> adapters_;  // opened once per path; outlive the slots' contexts
    std::vector<std::unique_ptr<Slot>> slots_;
    uint64_t admissions_ = 0;  // loop thread only
    int seq_cells_ = 0;        // the longest sequence (n_ctx())
    std::atomic<int> n_preemptions_{0};
    Status block_error_;       // under mu_

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
