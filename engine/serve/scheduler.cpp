#include "engine/serve/scheduler.h"

#include <algorithm>

#include "engine/lora/lora_adapter.h"
#include "engine/model/context.h"
#include "engine/model/kv_blocks.h"
#include "engine/sampling/json_constraint.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/answer_text.h"
#include "engine/session/chat_render.h"
#include "engine/session/loaded_model.h"

namespace hearth {

namespace {
constexpr int kScoredRows = 64;  // logit rows of prompts being scored, per round (and per chunk)
}  // namespace

struct Scheduler::Job {
    uint64_t id = 0;
    ServeRequest req;
    ServeEventFn on_event;
    std::atomic<bool> cancel{false};
    // Loop-thread state once admitted:
    // The tokens evaluated before the next sample: the prompt; after a preemption, the prompt, the
    // tokens generated so far and the pending one (recomputed, then sampling goes on from there).
    std::vector<int32_t> feed;
    int pos = 0;               // feed tokens evaluated (cells [0, pos) hold feed[0, pos))
    int n_reused = 0;          // at the first admission
    int n_evaluated = 0;       // feed tokens evaluated, over every admission
    int n_generated = 0;
    int n_preempted = 0;
    int32_t pending = -1;      // sampled and emitted, not yet evaluated (decode phase); -1 while prefilling
    std::unique_ptr<Sampler> sampler;  // made at the first admission; kept through preemptions
    std::unique_ptr<JsonConstraint> constraint;  // ServeRequest::json: made and kept as the sampler
    std::unique_ptr<AnswerText> text;  // the answer through UTF-8 reassembly and stop strings, with its entries
    // ServeRequest::prompt_logprobs: the next prompt token to score (from 1 once admitted);
    // prompt.size() once done.
    size_t prompt_scored = 0;
    std::vector<LogprobEntry> prompt_entries;
    bool prompt_sent = false;  // the event with prompt_entries went out
    std::vector<float> embedding;  // ServeRequest::embed, once the prompt is evaluated
    bool prefilling() const { return pending < 0; }
    bool scoring_prompt() const { return req.prompt_logprobs && prompt_scored < req.prompt.size(); }
    // How much of the feed may come from a cache: all but the last token (evaluated again so its
    // logits exist); while the prompt is scored, only what lies before the last scored token's
    // position (the rows after it are needed; before admission nothing is scored).
    size_t reuse_limit() const {
        if (!scoring_prompt()) return feed.size() - 1;
        return prompt_scored > 0 ? prompt_scored - 1 : 0;
    }
};

struct Scheduler::Slot {
    std::unique_ptr<ModelContext> ctx;  // per-slot mode
    int seq = -1;                       // batched mode: its KvBlocks sequence
    std::vector<int32_t> cached;    // tokens whose K/V sit in cells [0, size)
    std::vector<LoraSpec> loras;    // the adapters attached to ctx (batched: its sequence's set, and of its cache)
    int lora_set = 0;               // batched: that set's id in the shared context
    std::shared_ptr<Job> job;       // null: free
    std::vector<float> logits, hidden;
    // The prompt log probabilities this slot computed last (ServeRequest::prompt_logprobs), with the
    // tokens and adapters they belong to and their top count: entry k is token k+1's given tokens
    // 0..k, so a prompt sharing a prefix with them (the next choice of a multiple-choice question)
    // takes those entries instead of evaluating the prefix again.
    std::vector<int32_t> scored_tokens;
    std::vector<LogprobEntry> scored;
    std::vector<LoraSpec> scored_loras;
    int scored_top = -1;
    uint64_t last_used = 0;         // admission count when it last took a request (least recently used goes first)
};

Scheduler::Scheduler() = default;

Result<std::unique_ptr<Scheduler>> Scheduler::create(const SchedulerOptions& opt, const ProgressFn& progress) {
    if (opt.n_parallel < 1 || opt.n_parallel > 256) return make_error("the number of parallel sequences must be 1..256");
    if (opt.step_tokens < 1 || opt.prefill_chunk < 1) return make_error("the step token budget and prefill chunk must be positive");
    if (opt.kv_tokens < 0) return make_error("the KV pool size must not be negative");
    std::unique_ptr<Scheduler> s(new Scheduler());
    s->opt_ = opt;
    auto lm = load_model(opt.model, progress);
    if (!lm.ok()) return lm.status();
    s->lm_ = std::move(*lm);
    s->format_ = std::make_unique<ModelChatFormat>(s->lm_->info.chat_template, *s->lm_->tok);
    // Batched: one context whose cache holds every slot's n_ctx cells as a pool of blocks.
    uint64_t kv_bytes = 0;
    const int n_ctx = s->lm_->n_ctx;
    const int slot_cells = KvBlocks::blocks_for(n_ctx) * kKvBlockTokens;
    const int pool_cells = opt.kv_tokens > 0 ? KvBlocks::blocks_for(opt.kv_tokens) * kKvBlockTokens : slot_cells * opt.n_parallel;
    s->seq_cells_ = n_ctx;
    if (auto shared = ModelContext::create(*s->lm_->model, pool_cells, s->lm_->kv_type, std::min(opt.prefill_chunk, n_ctx));
        shared.ok() && (*shared)->can_batch()) {
        s->shared_ctx_ = std::move(*shared);
        s->blocks_ = std::make_unique<KvBlocks>(s->shared_ctx_->n_blocks());
        s->seq_cells_ = std::min(n_ctx, s->shared_ctx_->n_blocks() * kKvBlockTokens);
        kv_bytes = s->shared_ctx_->kv_bytes();
        for (int i = 0; i < opt.n_parallel; ++i) {
            auto slot = std::make_unique<Slot>();
            slot->seq = s->blocks_->create_sequence();
            s->slots_.push_back(std::move(slot));
        }
        if (auto set = s->batch_lora_set(opt.model.loras); !set.ok()) return set.status();
    }
    // Otherwise one context per slot over the one model: the weights are loaded once.
    for (int i = 0; !s->batched() && i < opt.n_parallel; ++i) {
        auto ctx = ModelContext::create(*s->lm_->model, s->lm_->n_ctx, s->lm_->kv_type,
                                        std::min(opt.prefill_chunk, s->lm_->n_ctx));
        if (!ctx.ok()) return make_error("sequence slot " + std::to_string(i + 1) + ": " + ctx.message());
        auto slot = std::make_unique<Slot>();
        slot->ctx = std::move(*ctx);
        kv_bytes += slot->ctx->kv_bytes();
        s->slots_.push_back(std::move(slot));
    }
    s->lm_->info.kv_bytes = kv_bytes;
    // Adapters named at the start are checked now, not at the first request.
    for (auto& slot : s->slots_)
        if (Status st = s->attach_loras(*slot, opt.model.loras); !st.ok()) return st;
    if (progress && !progress(1.0f)) return make_error("loading cancelled");
    s->thread_ = std::thread([p = s.get()] { p->loop(); });
    return s;
}

Scheduler::~Scheduler() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        for (auto& [id, job] : jobs_) job->cancel.store(true);
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

const ModelInfo& Scheduler::info() const { return lm_->info; }
const ChatFormat& Scheduler::chat_format() const { return *format_; }
const tokenizer::Tokenizer& Scheduler::tokenizer() const { return *lm_->tok; }
int Scheduler::pooling_type() const { return lm_->model->hparams().pooling_type; }
int Scheduler::n_ctx() const { return seq_cells_; }

Status Scheduler::block_check() const {
    std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(mu_));
    return block_error_;
}

Result<uint64_t> Scheduler::submit(ServeRequest req, ServeEventFn on_event) {
    if (req.prompt.empty()) return make_error("the prompt is empty");
    if (int(req.prompt.size()) >= seq_cells_)
        return make_error("the prompt has " + std::to_string(req.prompt.size()) + " tokens, but the context holds " +
                          std::to_string(seq_cells_) + (seq_cells_ < lm_->n_ctx ? " (the whole KV pool)" : "") +
                          " (the answer needs at least one more)");
    if (req.sampling.max_new_tokens == 0 && !req.prompt_logprobs && !req.embed)
        return make_error("the answer must be allowed at least one token (none only to score the prompt)");
    for (int32_t t : req.prompt)
        if (t < 0 || t >= lm_->info.n_vocab)
            return make_error("token id " + std::to_string(t) + " is outside the model's vocabulary of " + std::to_string(lm_->info.n_vocab) +
                              " tokens");
    auto job = std::make_shared<Job>();
    job->feed = req.prompt;
    job->req = std::move(req);
    job->on_event = std::move(on_event);
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return make_error("the server is stopping");
        job->id = next_id_++;
        jobs_[job->id] = job;
        queue_.push_back(job);
        n_queued_.store(int(queue_.size()));
    }
    cv_.notify_all();
    return job->id;
}

void Scheduler::cancel(uint64_t id) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = jobs_.find(id);
        if (it == jobs_.end()) return;
        it->second->cancel.store(true);
    }
    cv_.notify_all();
}

void Scheduler::cancel_all() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [id, job] : jobs_) job->cancel.store(true);
    }
    cv_.notify_all();
}

void Scheduler::loop() {
    while (true) {
        std::vector<std::shared_ptr<Job>> dropped;  // cancelled while queued
        std::vector<std::shared_ptr<Job>> admitted;
        bool stopping = false;
        {
            std::unique_lock<std::mutex> lock(mu_);
            auto has_free = [&] {
                for (auto& s : slots_)
                    if (!s->job) return true;
                return false;
            };
            auto busy = [&] {
                for (auto& s : slots_)
                    if (s->job) return true;
                return false;
            };
            cv_.wait(lock, [&] {
                if (stopping_ || busy()) return true;
                for (auto& j : queue_)
                    if (j->cancel.load()) return true;
                return !queue_.empty() && has_free();
            });
            stopping = stopping_;
            for (auto it = queue_.begin(); it != queue_.end();) {
                if ((*it)->cancel.load() || stopping) {
                    dropped.push_back(*it);
                    jobs_.erase((*it)->id);
                    it = queue_.erase(it);
                } else {
                    ++it;
                }
            }
            int n_free = 0;
            bool any_busy = false;
            for (auto& s : slots_) {
                n_free += s->job ? 0 : 1;
                any_busy |= bool(s->job);
            }
            // Batched: admitted while the pool can hold their prompts (beyond what they share), so
            // a new request does not at once preempt a running one; the first always goes in when
            // nothing runs (submit() refused prompts the pool cannot hold).
            int room = batched() ? reclaimable_blocks() : 0;
            while (n_free > 0 && !queue_.empty()) {
                if (batched()) {
                    const int need = blocks_to_admit(*queue_.front());
                    if ((any_busy || !admitted.empty()) && need > room) break;
                    if (awaits_shared_prefix(*queue_.front(), admitted)) break;
                    room -= need;
                }
                admitted.push_back(queue_.front());
                queue_.pop_front();
                --n_free;
            }
            n_queued_.store(int(queue_.size()));
        }
        for (auto& j : dropped) {
            ServeEvent e;
            e.kind = ServeEvent::Kind::Done;
            e.finish = "cancelled";
            e.n_prompt = int(j->req.prompt.size());
            e.n_reused = j->n_reused;
            e.n_generated = j->n_generated;
            e.n_preempted = j->n_preempted;
            e.n_evaluated = j->n_evaluated;
            j->on_event(e);
        }
        for (auto& j : admitted) admit(j);
        if (stopping) {
            for (auto& s : slots_)
                if (s->job) finish(*s, "cancelled");
            return;
        }
        step();
        if (opt_.check_blocks && batched()) check_round();
    }
}

namespace {
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}
}  // namespace

Result<const LoraAdapter*> Scheduler::adapter(const LoraSpec& spec) {
    auto it = adapters_.find(spec.path);
    if (it == adapters_.end()) {
        auto ad = LoraAdapter::open(spec.path, lm_->info.architecture, lm_->model->hparams().head_dim);
        if (!ad.ok()) return ad.status();
        it = adapters_.emplace(spec.path, std::move(*ad)).first;
    }
    return static_cast<const LoraAdapter*>(it->second.get());
}

Result<int> Scheduler::batch_lora_set(const std::vector<LoraSpec>& loras) {
    if (loras.empty()) return 0;  // nothing attached to the shared context itself: set 0 has no adapters
    for (const auto& [specs, id] : batch_sets_)
        if (specs == loras) return id;
    std::vector<LoraUse> uses;
    for (const LoraSpec& spec : loras) {
        auto ad = adapter(spec);
        if (!ad.ok()) return ad.status();
        uses.push_back({*ad, spec.scale});
    }
    auto id = shared_ctx_->add_lora_set(uses);
    if (!id.ok()) return id.status();
    batch_sets_.emplace_back(loras, *id);
    return *id;
}

Status Scheduler::attach_loras(Slot& slot, const std::vector<LoraSpec>& loras) {
    if (loras == slot.loras) return {};
    if (batched()) {  // the sequence runs with its own set; the slot's cache came from another
        auto set = batch_lora_set(loras);
        if (!set.ok()) return set.status();
        slot.cached.clear();
        (void)blocks_->truncate(slot.seq, 0);
        slot.loras = loras;
        slot.lora_set = *set;
        return {};
    }
    slot.ctx->detach_loras();
    slot.loras.clear();
    slot.cached.clear();  // its K/V came from other weights
    for (const LoraSpec& spec : loras) {
        auto ad = adapter(spec);
        if (!ad.ok()) return ad.status();
        if (Status st = slot.ctx->attach_lora(**ad, spec.scale); !st.ok()) {
            slot.ctx->detach_loras();
            return st;
        }
    }
    slot.loras = loras;
    return {};
}

void Scheduler::admit(std::shared_ptr<Job> job) {
    // The free slot whose cache shares the longest prefix with the prompt (under the same adapters);
    // among equals the least recently used, so the caches other conversations will reuse stay.
    const std::vector<int32_t>& feed = job->feed;
    Slot* best = nullptr;
    size_t best_len = 0;
    for (auto& s : slots_) {
        if (s->job) continue;
        const size_t len = s->loras == job->req.loras ? common_prefix(s->cached, feed) : 0;
        if (!best || len > best_len || (len == best_len && s->last_used < best->last_used)) best = s.get(), best_len = len;
    }
    Slot& slot = *best;  // admit() is only called with a free slot
    slot.job = job;
    slot.last_used = ++admissions_;
    n_active_.fetch_add(1);
    if (Status st = attach_loras(slot, job->req.loras); !st.ok()) return fail(slot, st.message());
    if (!job->sampler && job->req.prompt_logprobs) take_scored_prefix(slot, *job);
    // The last feed token is evaluated again so its logits exist to sample from.
    size_t reuse = std::min(common_prefix(slot.cached, feed), job->reuse_limit());
    if (batched()) {
        reuse = place_batched(slot, *job, reuse);
    } else {
        slot.cached.resize(reuse);
    }
    job->pos = int(reuse);
    if (job->sampler) return;  // resumed after a preemption: sampling carries on
    job->n_reused = int(reuse);
    const SamplingParams& sp = job->req.sampling;
    job->sampler = std::make_unique<Sampler>(sp);
    const std::vector<int32_t>& p = job->req.prompt;
    const size_t window = size_t(std::max(sp.penalty_last_n, 0));
    for (size_t i = p.size() > window ? p.size() - window : 0; i < p.size(); ++i) job->sampler->accept(p[i]);
    job->text = std::make_unique<AnswerText>(sp.stop);
    if (job->req.json)
        job->constraint = std::make_unique<JsonConstraint>(JsonAnswer{job->req.json, job->req.json_prefix, job->req.json_suffix},
                                                           vocab_pieces(), job->req.json_after_think);
}

void Scheduler::take_scored_prefix(Slot& slot, Job& job) {
    job.prompt_scored = 1;  // nothing predicts the first token
    job.prompt_entries.clear();
    if (slot.scored_top != job.req.logprobs || slot.scored_loras != job.req.loras) return;
    const std::vector<int32_t>& p = job.req.prompt;
    // Tokens 0..n-1 shared with what was scored and still cached here: entries for tokens 1..n-1.
    const size_t n = std::min({common_prefix(slot.scored_tokens, p), common_prefix(slot.cached, p), slot.scored.size() + 1});
    if (n < 2) return;
    job.prompt_entries.assign(slot.scored.begin(), slot.scored.begin() + std::ptrdiff_t(n - 1));
    job.prompt_scored = n;
}

std::shared_ptr<const VocabPieces> Scheduler::vocab_pieces() {
    if (!pieces_) pieces_ = hearth::vocab_pieces(*lm_);
    return pieces_;
}

size_t Scheduler::place_batched(Slot& slot, const Job& job, size_t own_reuse) {
    const std::vector<int32_t>& feed = job.feed;
    const size_t limit = job.reuse_limit();
    // Another slot's sequence (running or cached, under the same adapters) that shares more whole
    // blocks with the feed than this slot's own cache does.
    Slot* src = nullptr;
    size_t src_cells = 0;
    for (auto& sp : slots_) {
        Slot& o = *sp;
        if (&o == &slot || o.loras != job.req.loras || o.cached.empty()) continue;
        const size_t full = std::min(common_prefix(o.cached, feed), limit) / kKvBlockTokens * kKvBlockTokens;
        if (full > src_cells) src = &o, src_cells = full;
    }
    if (src && src_cells > own_reuse) {
        slot.cached.clear();
        (void)blocks_->truncate(slot.seq, 0);
        auto shared = blocks_->share_prefix(slot.seq, src->seq, int(src_cells));
        const size_t n = shared.ok() ? size_t(*shared) : 0;
        slot.cached.assign(feed.begin(), feed.begin() + std::ptrdiff_t(n));
        return n;
    }
    // Its own cache: a block the sequence goes on writing into must be its alone (another sequence
    // may hold the same block through share_prefix); otherwise start at that block's first cell.
    size_t keep = own_reuse;
    (void)blocks_->truncate(slot.seq, int(keep));
    if (!blocks_->owns_from(slot.seq, int(keep))) {
        keep = keep / kKvBlockTokens * kKvBlockTokens;
        (void)blocks_->truncate(slot.seq, int(keep));
    }
    slot.cached.resize(keep);
    return keep;
}

bool Scheduler::awaits_shared_prefix(const Job& job, const std::vector<std::shared_ptr<Job>>& admitted) const {
    // Whole blocks of its feed that another sequence is about to compute (admitted this round, or
    // still prefilling them): it waits for them (a round or a few) and then maps them.
    auto shared_blocks = [&](const Job& other) {
        if (other.req.loras != job.req.loras) return size_t(0);
        return std::min(common_prefix(other.feed, job.feed), job.reuse_limit()) / kKvBlockTokens;
    };
    for (const auto& a : admitted)
        if (shared_blocks(*a) > 0) return true;
    for (const auto& sp : slots_)
        if (sp->job && sp->job->prefilling() &&
            shared_blocks(*sp->job) > sp->cached.size() / kKvBlockTokens)
            return true;
    return false;
}

int Scheduler::reclaimable_blocks() const {
    int n = blocks_->n_free();
    for (const auto& sp : slots_)
        if (!sp->job)
            for (int32_t b : blocks_->table(sp->seq)) n += blocks_->refcount(b) == 1 ? 1 : 0;
    return n;
}

int Scheduler::blocks_to_admit(const Job& job) const {
    size_t shared = 0;
    for (const auto& sp : slots_)
        if (sp->loras == job.req.loras)
            shared = std::max(shared, std::min(common_prefix(sp->cached, job.feed), job.reuse_limit()) / kKvBlockTokens);
    return std::max(KvBlocks::blocks_for(int(job.feed.size()) + 1) - int(shared), 1);
}

bool Scheduler::evict_idle_cache() {
    Slot* lru = nullptr;
    for (auto& sp : slots_)
        if (!sp->job && !blocks_->table(sp->seq).empty() && (!lru || sp->last_used < lru->last_used)) lru = sp.get();
    if (!lru) return false;
    lru->cached.clear();
    (void)blocks_->truncate(lru->seq, 0);
    return true;
}

void Scheduler::preempt(Slot& slot) {
    std::shared_ptr<Job> job = std::move(slot.job);
    slot.job.reset();
    // What its cells held, and the sampled token not yet evaluated: recomputed on resumption, whose
    // last row's logits are then the ones this sequence's next decode step would have given.
    if (!job->prefilling()) {
        job->feed = slot.cached;
        job->feed.push_back(job->pending);
        job->pending = -1;
    }
    job->pos = 0;
    ++job->n_preempted;
    n_preemptions_.fetch_add(1);
    slot.cached.clear();
    (void)blocks_->truncate(slot.seq, 0);
    n_active_.fetch_sub(1);
    {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_front(job);
        n_queued_.store(int(queue_.size()));
    }
}

int Scheduler::make_room(Slot& slot, int n, bool may_shrink, bool scheduled) {
    const int len = int(slot.cached.size());
    while (true) {
        if (blocks_->reserve(slot.seq, len + n).ok()) return n;
        if (evict_idle_cache()) continue;
        if (may_shrink) {
            // A prefill chunk takes what fits: the rest of its last block and the free blocks.
            const int fit = int(blocks_->table(slot.seq).size()) * kKvBlockTokens - len + blocks_->n_free() * kKvBlockTokens;
            if (fit > 0) {
                (void)blocks_->reserve(slot.seq, len + std::min(n, fit));
                return std::min(n, fit);
            }
            if (scheduled) return 0;  // others run this round; their ends free blocks
        }
        // The youngest running sequence gives its blocks back (possibly this one).
        Slot* victim = nullptr;
        int running = 0;
        for (auto& sp : slots_)
            if (sp->job) {
                ++running;
                if (!victim || sp->last_used > victim->last_used) victim = sp.get();
            }
        if (running <= 1) {  // alone and still short: the pool cannot hold it (submit() should have said)
            fail(slot, "the KV cache (" + std::to_string(blocks_->n_blocks() * kKvBlockTokens) + " cells) cannot hold this sequence");
            return 0;
        }
        preempt(*victim);
        if (victim == &slot) return 0;
    }
}

void Scheduler::check_round() {
    Status st = blocks_->check();
    for (size_t i = 0; st.ok() && i < slots_.size(); ++i) {
        const Slot& sl = *slots_[i];
        if (blocks_->table(sl.seq).size() < size_t(KvBlocks::blocks_for(int(sl.cached.size()))))
            st = make_error("slot " + std::to_string(i) + " caches " + std::to_string(sl.cached.size()) + " tokens in " +
                            std::to_string(blocks_->table(sl.seq).size()) + " blocks");
        else if (!sl.job && sl.cached.empty() && !blocks_->table(sl.seq).empty())
            st = make_error("slot " + std::to_string(i) + " is idle, caches nothing and holds blocks");
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (block_error_.ok() && !st.ok()) block_error_ = st;
}

void Scheduler::step_batched() {
    // One round as one forward: every decoding slot's pending token, then prefill chunks under
    // what is left of the token budget (at least one chunk per round), each slot's cells reserved
    // in its block table first (make_room: oldest sequences first, so preemption takes the
    // youngest). Cancellation is seen between rounds.
    std::vector<Slot*> order;
    for (auto& sp : slots_)
        if (sp->job) order.push_back(sp.get());
    std::sort(order.begin(), order.end(), [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
    struct Part {
        Slot* slot;
        int n;
    };
    std::vector<Part> parts;
    int budget = opt_.step_tokens;
    // Prompts being scored keep a logit row per token: kScoredRows in all per round, whatever the
    // number of such requests (16 of lm-evaluation-harness's at once would otherwise hold 16 × 64
    // rows of the vocabulary, 1 GB at Gemma's 262k).
    int scored_rows = kScoredRows;
    for (int phase = 0; phase < 2; ++phase) {
        bool prefilled = false;
        for (Slot* sp : order) {
            Slot& slot = *sp;
            if (!slot.job || slot.job->prefilling() != (phase == 1)) continue;  // (preempted this round: no job)
            Job& job = *slot.job;
            if (job.cancel.load()) { finish(slot, "cancelled"); continue; }
            int n = 1;
            if (phase == 1) {
                if (budget <= 0 && prefilled) break;
                n = std::min({prefill_chunk(job), int(job.feed.size()) - job.pos, std::max(budget, 1)});
                if (job.scoring_prompt()) {
                    if (scored_rows == 0) continue;  // next round
                    n = std::min(n, scored_rows);
                    scored_rows -= n;
                }
            }
            n = make_room(slot, n, phase == 1, !parts.empty());
            if (n == 0) continue;
            if (phase == 1) prefilled = true;
            budget -= n;
            parts.push_back({&slot, n});
        }
    }
    if (parts.empty()) return;
    // A set's sequences side by side: one A/B pass per set and projection.
    std::stable_sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) { return a.slot->lora_set < b.slot->lora_set; });
    std::vector<SeqStep> steps;
    for (const Part& p : parts) {
        const Job& job = *p.slot->job;
        SeqStep st;
        st.tokens = job.prefilling() ? job.feed.data() + job.pos : &job.pending;
        st.n = p.n;
        st.pos0 = int(p.slot->cached.size());
        st.table = &blocks_->table(p.slot->seq);
        st.n_out = job.prefilling() && job.scoring_prompt() ? p.n : 1;
        st.lora_set = p.slot->lora_set;
        steps.push_back(st);
    }
    bool want_hidden = false;  // an embedding request finishes its prompt this round
    for (const Part& p : parts) want_hidden |= p.slot->job->req.embed;
    if (Status st = shared_ctx_->eval_batch(steps, &batch_logits_, nullptr, nullptr, want_hidden ? &batch_hidden_ : nullptr); !st.ok()) {
        for (const Part& p : parts) {
            p.slot->cached.clear();  // the cells may be half-written
            (void)blocks_->truncate(p.slot->seq, 0);
            fail(*p.slot, st.message());
        }
        return;
    }
    const int n_vocab = lm_->info.n_vocab;
    size_t row_base = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
        Slot& slot = *parts[i].slot;
        Job& job = *slot.job;
        const float* row = batch_logits_.data() + row_base * size_t(n_vocab);
        row_base += size_t(steps[i].n_out);
        if (job.prefilling()) {
            const std::vector<int32_t>& f = job.feed;
            const int pos0 = job.pos, n = parts[i].n;
            slot.cached.insert(slot.cached.end(), f.begin() + pos0, f.begin() + pos0 + n);
            job.pos += n;
            job.n_evaluated += n;
            if (steps[i].n_out > 1) score_prompt(job, row, pos0, n);
            const size_t last = row_base - 1;  // this part's last row
            if (job.pos == int(f.size()))
                prompt_evaluated(slot, batch_logits_.data() + last * size_t(n_vocab),
                                 want_hidden ? batch_hidden_.data() + last * size_t(lm_->info.n_embd) : nullptr);
        } else {
            slot.cached.push_back(job.pending);
            sample_and_take(slot, row);
        }
    }
    // Blocks reserved beyond what a sequence now caches (a shrunken or failed step) go back.
    for (auto& sp : slots_) (void)blocks_->truncate(sp->seq, int(sp->cached.size()));
}

void Scheduler::step() {
    if (batched()) return step_batched();
    // One round. Decode tokens go first (one per sequence past its prompt), then prefill chunks take
    // what is left of the token budget, so a long prompt never stalls the streams already running.
    // (The per-slot mode, where the model's backends cannot batch: step_batched is the other.)
    int budget = opt_.step_tokens;
    for (auto& sp : slots_) {
        Slot& slot = *sp;
        if (!slot.job || slot.job->prefilling()) continue;
        Job& job = *slot.job;
        if (job.cancel.load()) { finish(slot, "cancelled"); continue; }
        bool stopped = false;
        const int32_t tok = job.pending;
        if (Status st = slot.ctx->eval(&tok, 1, int(slot.cached.size()), 1, &slot.logits, &job.cancel, &stopped); !st.ok()) {
            slot.cached.clear();  // the cache may be half-written
            fail(slot, st.message());
            continue;
        }
        if (stopped) { finish(slot, "cancelled"); continue; }
        slot.cached.push_back(tok);
        --budget;
        sample_and_take(slot, slot.logits.data());
    }
    bool prefilled = false;
    for (auto& sp : slots_) {
        Slot& slot = *sp;
        if (!slot.job || !slot.job->prefilling()) continue;
        Job& job = *slot.job;
        if (job.cancel.load()) { finish(slot, "cancelled"); continue; }
        // At least one chunk per round, so prefill always moves on.
        if (budget <= 0 && prefilled) break;
        const std::vector<int32_t>& p = job.feed;
        const int n = std::min({prefill_chunk(job), int(p.size()) - job.pos, std::max(budget, 1)});
        const int n_out = job.scoring_prompt() ? n : 1;
        bool stopped = false;
        if (Status st = slot.ctx->eval(p.data() + job.pos, n, job.pos, n_out, &slot.logits, &job.cancel, &stopped,
                                       job.req.embed ? &slot.hidden : nullptr);
            !st.ok()) {
            slot.cached.clear();
            fail(slot, st.message());
            continue;
        }
        if (stopped) { finish(slot, "cancelled"); continue; }  // cells from job.pos on are not claimed
        slot.cached.insert(slot.cached.end(), p.begin() + job.pos, p.begin() + job.pos + n);
        if (n_out > 1) score_prompt(job, slot.logits.data(), job.pos, n);
        job.pos += n;
        job.n_evaluated += n;
        budget -= n;
        prefilled = true;
        if (job.pos == int(p.size()))
            prompt_evaluated(slot, slot.logits.data() + size_t(n_out - 1) * size_t(lm_->info.n_vocab),
                             job.req.embed ? slot.hidden.data() + size_t(n_out - 1) * size_t(lm_->info.n_embd) : nullptr);
    }
}

int Scheduler::prefill_chunk(const Job& job) const {
    // Scoring keeps a row of logits per token: 64 rows of a 152k vocabulary are 39 MB.
    return job.scoring_prompt() ? std::min(opt_.prefill_chunk, kScoredRows) : opt_.prefill_chunk;
}

void Scheduler::score_prompt(Job& job, const float* rows, int pos0, int n_rows) {
    const int n_vocab = lm_->info.n_vocab;
    const std::vector<int32_t>& p = job.req.prompt;
    // Row r holds the logits after position pos0 + r: the distribution of the token after it.
    for (int r = 0; r < n_rows; ++r) {
        const size_t next = size_t(pos0 + r) + 1;
        if (next != job.prompt_scored || next >= p.size()) continue;  // scored before a preemption, or past the prompt
        job.prompt_entries.push_back(token_logprobs(rows + size_t(r) * size_t(n_vocab), n_vocab, p[next], job.req.logprobs));
        ++job.prompt_scored;
    }
}

void Scheduler::prompt_evaluated(Slot& slot, const float* last_row, const float* last_hidden) {
    // (After a preemption the prompt was scored and sent already: sampling goes on.)
    Job& job = *slot.job;
    if (job.req.embed) {
        if (!last_hidden) return fail(slot, "the prompt's hidden state was not computed");
        job.embedding.assign(last_hidden, last_hidden + lm_->info.n_embd);
        return finish(slot, "stop");
    }
    if (job.req.prompt_logprobs && !job.prompt_sent) {
        job.prompt_sent = true;
        slot.scored_tokens = job.req.prompt;
        slot.scored = job.prompt_entries;
        slot.scored_loras = job.req.loras;
        slot.scored_top = job.req.logprobs;
        ServeEvent e;
        e.prompt_scored = true;
        e.prompt_logprobs = std::move(job.prompt_entries);
        job.on_event(e);
    }
    if (job.req.sampling.max_new_tokens == 0) return finish(slot, "length");
    sample_and_take(slot, last_row);
}

void Scheduler::sample_and_take(Slot& slot, const float* logits) {
    Job& job = *slot.job;
    const int n_vocab = lm_->info.n_vocab;
    const int32_t tok = job.sampler->sample(logits, n_vocab, job.constraint.get());
    if (tok < 0) return fail(slot, "no token of the model's vocabulary can continue the JSON the request asks for");
    if (job.req.logprobs < 0) return take_token(slot, tok, nullptr);
    const LogprobEntry lp = token_logprobs(logits, n_vocab, tok, job.req.logprobs);
    take_token(slot, tok, &lp);
}

void Scheduler::take_token(Slot& slot, int32_t tok, const LogprobEntry* lp) {
    Job& job = *slot.job;
    const tokenizer::Tokenizer& vocab = *lm_->tok;
    job.sampler->accept(tok);
    if (job.constraint) job.constraint->accept(tok);
    if (vocab.is_eog(tok)) return finish(slot, "stop");
    ++job.n_generated;
    AnswerText::Out out = job.text->push(vocab.token_to_piece(tok), lp);
    if (!out.text.empty() || !out.logprobs.empty()) {
        ServeEvent e;
        e.text = std::move(out.text);
        e.logprobs = std::move(out.logprobs);
        job.on_event(e);
    }
    if (job.text->stopped()) return finish(slot, "stop");
    if (job.constraint && job.constraint->finished()) return finish(slot, "stop");  // the JSON value is closed
    const int max_new = job.req.sampling.max_new_tokens;
    if (max_new >= 0 && job.n_generated >= max_new) return finish(slot, "length");
    // The token would go into the cell after the last: the context is full.
    if (int(slot.cached.size()) >= seq_cells_) return finish(slot, "length");
    job.pending = tok;
}

void Scheduler::finish(Slot& slot, const std::string& reason) {
    std::shared_ptr<Job> job = std::move(slot.job);
    slot.job.reset();
    if (reason != "cancelled" && !job->text->stopped()) {
        // End of generation: release held-back text (an unfinished UTF-8 sequence shows as U+FFFD).
        AnswerText::Out out = job->text->finish();
        if (!out.text.empty() || !out.logprobs.empty()) {
            ServeEvent tail;
            tail.text = std::move(out.text);
            tail.logprobs = std::move(out.logprobs);
            job->on_event(tail);
        }
    }
    ServeEvent e;
    e.kind = ServeEvent::Kind::Done;
    e.finish = reason;
    e.n_prompt = int(job->req.prompt.size());
    e.n_reused = job->n_reused;
    e.n_generated = job->n_generated;
    e.n_preempted = job->n_preempted;
    e.n_evaluated = job->n_evaluated;
    e.embedding = std::move(job->embedding);
    {
        std::lock_guard<std::mutex> lock(mu_);
        jobs_.erase(job->id);
    }
    n_active_.fetch_sub(1);
    job->on_event(e);
}

void Scheduler::fail(Slot& slot, const std::string& message) {
    std::shared_ptr<Job> job = std::move(slot.job);
    slot.job.reset();
    ServeEvent e;
    e.kind = ServeEvent::Kind::Error;
    e.error = message;
    e.n_prompt = int(job->req.prompt.size());
    e.n_reused = job->n_reused;
    e.n_generated = job->n_generated;
    e.n_preempted = job->n_preempted;
    e.n_evaluated = job->n_evaluated;
    {
        std::lock_guard<std::mutex> lock(mu_);
        jobs_.erase(job->id);
    }
    n_active_.fetch_sub(1);
    job->on_event(e);
}

}  // namespace hearth
