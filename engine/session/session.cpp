// The Session implementation: one model, one context, one tokenizer; prefix reuse, context shifts
// and the decode loop (DESIGN.md, "Data flow of one chat turn").
#include "engine/session/session.h"

#include <algorithm>
#include <chrono>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/model/context.h"
#include "engine/model/model.h"
#include "engine/model/placement.h"
#include "engine/sampling/answer_text.h"
#include "engine/sampling/sampler.h"
#include "engine/session/chat_render.h"
#include "engine/session/loaded_model.h"
#include "engine/session/model_info.h"
#include "engine/session/reuse_plan.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A long prompt is evaluated in chunks: a Stop inside one (seen between ops, ModelContext::eval)
// loses only that chunk, and the chunks before it stay cached for the next request to reuse.
constexpr int kPrefillChunk = 256;

class SessionImpl final : public Session {
public:
    Status init(const ModelOptions& opt, const ProgressFn& progress);

    const ModelInfo& info() const override { return info_; }
    Result<std::string> render_chat(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                    const json::Value& extra) const override {
        return render_chat_messages(info_.chat_template, *tok_, messages, add_generation_prompt, extra);
    }
    Result<std::vector<int32_t>> tokenize(std::string_view text, bool add_bos, bool parse_special) const override {
        return tok_->encode(text, add_bos, parse_special);
    }
    std::string detokenize(const std::vector<int32_t>& ids) const override { return tok_->decode(ids); }

    Result<GenerateStats> generate(const std::vector<int32_t>& prompt, const SamplingParams& sp, const PieceFn& on_piece,
                                   const std::atomic<bool>* cancel, int n_keep, const JsonAnswer* json,
                                   bool json_after_think) override;
    Result<std::vector<float>> eval_logits(const std::vector<int32_t>& tokens, int n_rows) override;

    Status set_loras(const std::vector<LoraSpec>& loras) override;
    const std::vector<LoraSpec>& loras() const override { return lora_specs_; }

    const std::vector<int32_t>& context_tokens() const override { return cached_; }
    int n_ctx() const override { return n_ctx_; }
    void set_projection_observer(ProjectionObserver* o) override { ctx_->set_observer(o); }
    void clear() override { cached_.clear(); }

private:
    // Evaluates prompt[from..] after cells [0, from) and leaves the last logits in logits_ (or, when
    // `host_logits` is false, only on the backend, for device sampling).
    Status prefill(const std::vector<int32_t>& prompt, int from, bool host_logits, const std::atomic<bool>* cancel,
                   bool* cancelled);
    Status shift(int keep, int discard);

    std::unique_ptr<LoadedModel> lm_;  // file, placement, model, tokenizer; declared before the context that uses them
    std::shared_ptr<const VocabPieces> pieces_;  // made at the first generate() with a JSON schema
    const Model* model_ = nullptr;
    const tokenizer::Tokenizer* tok_ = nullptr;
    std::unique_ptr<ModelContext> ctx_;
    ModelInfo info_;
    int n_ctx_ = 0;
    std::vector<int32_t> cached_;  // tokens whose K/V sit in cells 0..size-1
    std::vector<float> logits_;
    std::vector<LoraSpec> lora_specs_;
    std::vector<std::unique_ptr<LoraAdapter>> adapters_;  // what the context's attached terms point into
};

// Attaches `adapters` with their specs' scales, all or none.
Status attach_all(ModelContext& ctx, const std::vector<std::unique_ptr<LoraAdapter>>& adapters,
                  const std::vector<LoraSpec>& specs) {
    ctx.detach_loras();
    for (size_t i = 0; i < adapters.size(); ++i) {
        if (Status st = ctx.attach_lora(*adapters[i], specs[i].scale); !st.ok()) {
            ctx.detach_loras();
            return st;
        }
    }
    return {};
}

Status SessionImpl::set_loras(const std::vector<LoraSpec>& loras) {
    if (loras == lora_specs_) return {};
    std::vector<std::unique_ptr<LoraAdapter>> opened;
    for (const LoraSpec& spec : loras) {
        auto ad = LoraAdapter::open(spec.path, info_.architecture, model_->hparams().head_dim);
        if (!ad.ok()) return ad.status();
        opened.push_back(std::move(*ad));
    }
    if (Status st = attach_all(*ctx_, opened, loras); !st.ok()) {
        (void)attach_all(*ctx_, adapters_, lora_specs_);  // the previous set was attached before; it fits
        return st;
    }
    adapters_ = std::move(opened);
    lora_specs_ = loras;
    cached_.clear();  // its K/V came from the previous weights
    return {};
}

Status SessionImpl::init(const ModelOptions& opt, const ProgressFn& progress) {
    auto loaded = load_model(opt, progress);
    if (!loaded.ok()) return loaded.status();
    lm_ = std::move(*loaded);
    n_ctx_ = lm_->n_ctx;
    info_ = lm_->info;
    model_ = lm_->model.get();
    tok_ = lm_->tok.get();
    auto ctx = ModelContext::create(*model_, n_ctx_, lm_->kv_type);
    if (!ctx.ok()) return ctx.status();
    ctx_ = std::move(*ctx);
    info_.kv_bytes = ctx_->kv_bytes();
    HEARTH_RETURN_IF_ERROR(set_loras(opt.loras));
    if (progress && !progress(1.0f)) return make_error("loading cancelled");
    return {};
}

Status SessionImpl::prefill(const std::vector<int32_t>& prompt, int from, bool host_logits, const std::atomic<bool>* cancel,
                            bool* cancelled) {
    cached_.resize(size_t(from));
    for (int start = from; start < int(prompt.size()); start += kPrefillChunk) {
        if (cancel && cancel->load()) { *cancelled = true; return {}; }
        const int n = std::min(kPrefillChunk, int(prompt.size()) - start);
        HEARTH_RETURN_IF_ERROR(ctx_->eval(prompt.data() + start, n, start, 1, host_logits ? &logits_ : nullptr, cancel, cancelled));
        if (*cancelled) return {};  // cells from `start` on are unspecified: cached_ does not claim them
        cached_.insert(cached_.end(), prompt.begin() + start, prompt.begin() + start + n);
    }
    return {};
}

Status SessionImpl::shift(int keep, int discard) {
    if (ctx_->can_shift()) {
        HEARTH_RETURN_IF_ERROR(ctx_->kv_shift(keep, discard, int(cached_.size())));
        cached_.erase(cached_.begin() + keep, cached_.begin() + keep + discard);
        return {};
    }
    // Layers that rotate with different RoPE bases (Gemma 3's local and global layers) cannot be
    // re-rotated by one shift of the cache: the kept tail is evaluated again at its new positions.
    std::vector<int32_t> kept(cached_.begin(), cached_.begin() + keep);
    kept.insert(kept.end(), cached_.begin() + keep + discard, cached_.end());
    bool cancelled = false;
    if (Status s = prefill(kept, keep, false, nullptr, &cancelled); !s.ok()) {
        cached_.clear();
        return s;
    }
    return {};
}

Result<GenerateStats> SessionImpl::generate(const std::vector<int32_t>& prompt, const SamplingParams& sp,
                                            const PieceFn& on_piece, const std::atomic<bool>* cancel, int n_keep,
                                            const JsonAnswer* json, bool json_after_think) {
    GenerateStats st;
    st.n_prompt = int(prompt.size());
    if (prompt.empty()) return make_error("the prompt is empty");
    if (int(prompt.size()) > n_ctx_)
        return make_error("the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds " +
                          std::to_string(n_ctx_));
    for (int32_t t : prompt)
        if (t < 0 || t >= info_.n_vocab) return make_error("token id " + std::to_string(t) + " is outside the vocabulary");
    n_keep = std::clamp(n_keep, 0, n_ctx_ - 2);

    // 1. Reuse what the cache already holds (shifting out a removed range when that is all that changed).
    const auto t0 = Clock::now();
    const ReusePlan plan = plan_reuse(cached_, prompt);
    if (plan.discard > 0) {
        cached_.resize(size_t(plan.shift_end));  // cells past the matching run are not needed
        HEARTH_RETURN_IF_ERROR(shift(plan.keep, plan.discard));
        st.n_shifted_out += plan.discard;
    }
    st.n_reused = plan.n_reuse;
    bool cancelled = false;
    // Greedy or plain top-k sampling runs on the backend: only the token id is downloaded per step.
    std::unique_ptr<JsonConstraint> constraint;  // needs the logits: sampling on the host
    if (json && json->schema) {
        if (!pieces_) pieces_ = vocab_pieces(*lm_);
        constraint = std::make_unique<JsonConstraint>(*json, pieces_, json_after_think);
    }
    const bool on_device = !constraint && Sampler::device_compatible(sp);
    const int device_k = sp.temperature <= 0.0f ? 1 : sp.top_k;
    if (Status s = prefill(prompt, plan.n_reuse, !on_device, cancel, &cancelled); !s.ok()) {
        cached_.clear();  // the cache may be half-written: forget it rather than trust it
        return s;
    }
    st.prompt_seconds = seconds_since(t0);
    const int n_eval = int(prompt.size()) - plan.n_reuse;
    st.prompt_tps = st.prompt_seconds > 0 ? n_eval / st.prompt_seconds : 0;
    if (cancelled) {
        st.stop_reason = "cancelled";
        st.n_ctx_used = int(cached_.size());
        return st;
    }

    // 2. Decode loop.
    Sampler sampler(sp);
    for (size_t i = prompt.size() > size_t(std::max(sp.penalty_last_n, 0)) ? prompt.size() - size_t(sp.penalty_last_n) : 0;
         i < prompt.size(); ++i)
        sampler.accept(prompt[i]);
    AnswerText answer(sp.stop);  // UTF-8 reassembly and stop strings, as the server's
    const auto t1 = Clock::now();
    auto emit = [&](const std::string& text) { return text.empty() || !on_piece || on_piece(text); };
    while (true) {
        if (cancel && cancel->load()) { st.stop_reason = "cancelled"; break; }
        if (sp.max_new_tokens >= 0 && st.n_generated >= sp.max_new_tokens) { st.stop_reason = "max-tokens"; break; }
        int32_t tok = 0;
        if (on_device) {
            auto t = ctx_->sample_last(device_k, sp.temperature, device_k > 1 ? sampler.next_uniform() : 0.0);
            if (!t.ok()) return t.status();
            tok = *t;
        } else {
            tok = sampler.sample(logits_.data(), info_.n_vocab, constraint.get());
            if (tok < 0) return make_error("no token of the model's vocabulary can continue the JSON the schema asks for");
        }
        sampler.accept(tok);
        if (constraint) constraint->accept(tok);
        if (tok_->is_eog(tok)) { st.stop_reason = "eog"; break; }
        ++st.n_generated;
        st.tokens.push_back(tok);
        if (!emit(answer.push(tok_->token_to_piece(tok)).text)) { st.stop_reason = "cancelled"; break; }
        if (answer.stopped()) { st.stop_reason = "stop-string"; break; }
        if (constraint && constraint->finished()) { st.stop_reason = "json"; break; }
        if (sp.max_new_tokens >= 0 && st.n_generated >= sp.max_new_tokens) { st.stop_reason = "max-tokens"; break; }
        if (int(cached_.size()) >= n_ctx_) {
            // Context full: keep the first n_keep tokens, drop half of the rest (llama.cpp's context shift).
            const int discard = (int(cached_.size()) - n_keep) / 2;
            if (discard <= 0) { st.stop_reason = "context"; break; }
            HEARTH_RETURN_IF_ERROR(shift(n_keep, discard));
            st.n_shifted_out += discard;
        }
        bool stopped = false;
        if (Status s = ctx_->eval(&tok, 1, int(cached_.size()), 1, on_device ? nullptr : &logits_, cancel, &stopped); !s.ok()) {
            cached_.clear();
            return s;
        }
        if (stopped) { st.stop_reason = "cancelled"; break; }  // tok was emitted but its cell is not cached
        cached_.push_back(tok);
    }
    if (st.stop_reason != "cancelled" && st.stop_reason != "stop-string") {
        // End of generation: release held-back text (an unfinished UTF-8 sequence shows as U+FFFD).
        const std::string tail = answer.finish().text;
        if (answer.stopped()) st.stop_reason = "stop-string";
        (void)emit(tail);
    }
    st.gen_seconds = seconds_since(t1);
    st.gen_tps = st.gen_seconds > 0 ? st.n_generated / st.gen_seconds : 0;
    st.n_ctx_used = int(cached_.size());
    return st;
}

Result<std::vector<float>> SessionImpl::eval_logits(const std::vector<int32_t>& tokens, int n_rows) {
    if (tokens.empty()) return make_error("no tokens to evaluate");
    if (int(tokens.size()) > n_ctx_)
        return make_error(std::to_string(tokens.size()) + " tokens do not fit the context of " + std::to_string(n_ctx_));
    if (n_rows < 1 || n_rows > int(tokens.size())) return make_error("n_rows must be between 1 and the number of tokens");
    cached_.clear();
    std::vector<float> out;
    HEARTH_RETURN_IF_ERROR(ctx_->eval(tokens.data(), int(tokens.size()), 0, n_rows, &out));
    cached_ = tokens;
    logits_.assign(out.end() - info_.n_vocab, out.end());
    return out;
}

}  // namespace

Result<std::unique_ptr<Session>> Session::open(const ModelOptions& opt, const ProgressFn& progress) {
    auto s = std::make_unique<SessionImpl>();
    if (Status st = s->init(opt, progress); !st.ok()) return st;
    return std::unique_ptr<Session>(std::move(s));
}

}  // namespace hearth
