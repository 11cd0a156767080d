#include "engine/serve/openai_server.h"

#include <httplib.h>

#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>

#include "engine/embed/text_embedder.h"
#include "engine/serve/openai_request.h"
#include "engine/serve/openai_response.h"
#include "engine/serve/reasoning_split.h"
#include "engine/serve/tool_calls.h"
#include "engine/serve/scheduler.h"
#include "engine/session/prompt_policy.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace hearth {

namespace {

// The events of one answer's requests (one per choice, by index), from the scheduler's loop thread
// to the HTTP handler's thread.
struct EventQueue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<int, ServeEvent>> events;

    void push(int choice, const ServeEvent& e) {
        {
            std::lock_guard<std::mutex> lock(mu);
            events.emplace_back(choice, e);
        }
        cv.notify_all();
    }
    // Waits up to `timeout` for events; returns what arrived (possibly nothing).
    std::deque<std::pair<int, ServeEvent>> take(std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, timeout, [&] { return !events.empty(); });
        std::deque<std::pair<int, ServeEvent>> out;
        out.swap(events);
        return out;
    }
};

bool constant_time_equal(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
    return diff == 0 && !b.empty();
}

std::string sse(const json::Value& v) { return "data: " + v.dump() + "\n\n"; }

// The requests this server submitted that have not ended, so that stop() ends these and not the
// other clients' of the same scheduler (the app's chat shares it). Shared with the requests'
// callbacks, which may run after the server is gone.
struct OpenRequests {
    struct Entry {  // one request; under mu
        uint64_t id = 0;
        bool ended = false;
    };
    std::mutex mu;
    std::set<uint64_t> ids;
    void submitted(Entry& e, uint64_t id) {
        std::lock_guard<std::mutex> lock(mu);
        e.id = id;
        if (!e.ended) ids.insert(id);  // its last event may come before submit() has returned
    }
    void ended(Entry& e) {
        std::lock_guard<std::mutex> lock(mu);
        e.ended = true;
        ids.erase(e.id);
    }
    std::vector<uint64_t> open() {
        std::lock_guard<std::mutex> lock(mu);
        return {ids.begin(), ids.end()};
    }
};

// OpenAI's "dimensions": the vector's first `dims` values (all when 0), normalized again to unit length.
void shorten_and_normalize(std::vector<float>& v, int dims) {
    if (dims > 0 && size_t(dims) < v.size()) v.resize(size_t(dims));
    double norm = 0;
    for (float x : v) norm += double(x) * x;
    norm = std::sqrt(norm);
    if (norm > 0)
        for (float& x : v) x = float(x / norm);
}

// The API's finish reasons from the scheduler's.
std::string api_finish(const std::string& f) { return f == "length" ? "length" : "stop"; }

}  // namespace

struct OpenAiServer::Impl {
    Scheduler* sched = nullptr;  // the chat model; null for a server of an embedding model alone
    ServerOptions opt;
    std::string model_id;
    std::string embed_id;  // the embedding model's, when there is one
    std::vector<std::string> turn_stops;  // the template's end-of-turn marker (chat only)
    httplib::Server http;
    int64_t started = 0;
    std::atomic<uint64_t> answers{0};
    std::mt19937_64 rng{std::random_device{}()};
    std::mutex rng_mu;
    std::shared_ptr<OpenRequests> open = std::make_shared<OpenRequests>();

    Impl(Scheduler* s, ServerOptions o, const std::string& path) : sched(s), opt(std::move(o)) {
        if (opt.embedder)
            embed_id = opt.embedding_model_id.empty() ? std::filesystem::path(opt.embedder->path()).stem().string() : opt.embedding_model_id;
        if (sched) {
            model_id = opt.model_id.empty() ? std::filesystem::path(path).stem().string() : opt.model_id;
            turn_stops = end_of_turn_stops(sched->chat_format());
        }
        started = int64_t(std::time(nullptr));
        setup();
    }

    void send_error(httplib::Response& res, const ApiError& e) {
        res.status = e.status;
        res.set_content(error_body(e), "application/json");
    }

    // A request is cancelled only when its client left or the server stops; a client still there
    // is told the latter.
    static ApiError stopping_error() { return ApiError{503, "the server is stopping", "server_error", "", ""}; }

    uint64_t random_seed() {
        std::lock_guard<std::mutex> lock(rng_mu);
        return rng();
    }

    // The scheduler's entries with each token's bytes (the response writes them as OpenAI does).
    void add_logprobs(const std::vector<LogprobEntry>& entries, std::vector<ApiLogprob>* out) const {
        for (const LogprobEntry& e : entries) {
            ApiLogprob a;
            a.chosen = {sched->tokenizer().token_to_piece(e.chosen.id), e.chosen.logprob};
            for (const TokenLogprob& t : e.top) a.top.push_back({sched->tokenizer().token_to_piece(t.id), t.logprob});
            out->push_back(std::move(a));
        }
    }

    void setup() {
        // Enough handler threads for every slot's stream plus requests waiting in the queue and /health.
        const size_t threads = size_t(std::max(8, 2 * (sched ? sched->n_parallel() : 1) + 4));
        http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
        http.set_payload_max_length(32u << 20);
#ifndef _WIN32
        // cpp-httplib's default is SO_REUSEPORT alone, which lets a second server of the same user
        // (another Hearth, another hearth-cli serve) listen on this port too, the kernel splitting
        // the connections between them, where it should hear "in use". SO_REUSEADDR only: a port
        // stays ours alone, and the server can listen again at once after it stopped (the closed
        // connections' TIME_WAIT does not block it).
        http.set_socket_options([](socket_t sock) {
            const int yes = 1;
            setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        });
#endif
        http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            if (!opt.cors_origin.empty()) res.set_header("Access-Control-Allow-Origin", opt.cors_origin);
            if (req.method == "OPTIONS" || req.path == "/health" || opt.api_key.empty())
                return httplib::Server::HandlerResponse::Unhandled;
            const std::string auth = req.get_header_value("Authorization");
            const std::string prefix = "Bearer ";
            if (auth.rfind(prefix, 0) != 0 || !constant_time_equal(auth.substr(prefix.size()), opt.api_key)) {
                ApiError e{401, auth.empty() ? "an API key is required: send \"Authorization: Bearer KEY\""
                                             : "the API key is not the server's",
                           "invalid_request_error", "", "invalid_api_key"};
                send_error(res, e);
                return httplib::Server::HandlerResponse::Handled;
            }
            return httplib::Server::HandlerResponse::Unhandled;
        });
        if (!opt.cors_origin.empty()) {
            http.Options(".*", [](const httplib::Request&, httplib::Response& res) {
                res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
                res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
                res.status = 204;
            });
        }
        http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty() || res.status != 404) return;
            send_error(res, ApiError{404, "there is no " + req.method + " " + req.path, "invalid_request_error", "", "not_found"});
        });
        http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
            json::Value o = json::Value::object();
            o.set("status", "ok");
            o.set("slots_processing", sched ? sched->n_active() : 0);
            o.set("slots_idle", sched ? sched->n_parallel() - sched->n_active() : 0);
            o.set("requests_queued", sched ? sched->n_queued() : 0);
            res.set_content(o.dump(), "application/json");
        });
        http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
            std::vector<json::Value> entries;
            if (sched) {
                const ModelInfo& info = sched->info();
                json::Value meta = json::Value::object();
                meta.set("n_ctx_train", info.n_ctx_train);
                meta.set("n_vocab", info.n_vocab);
                meta.set("n_embd", info.n_embd);
                meta.set("n_params", int64_t(info.n_params));
                meta.set("architecture", info.architecture);
                meta.set("file_type", info.file_type);
                entries.push_back(model_entry(model_id, started, sched->n_ctx(), meta));
            }
            if (opt.embedder) {
                const embed::BertHParams& h = opt.embedder->hparams();
                json::Value em = json::Value::object();
                em.set("n_ctx_train", h.n_ctx);
                em.set("n_vocab", h.n_vocab);
                em.set("n_embd", h.n_embd);
                em.set("n_params", int64_t(opt.embedder->n_params()));
                em.set("architecture", h.arch);
                em.set("pooling", embed::pooling_name(h.pooling));
                entries.push_back(model_entry(embed_id, started, h.n_ctx, em));
            }
            res.set_content(models_list(std::move(entries)).dump(), "application/json");
        });
        http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
            if (has_chat_model(res)) complete(req, res, true);
        });
        http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
            if (has_chat_model(res)) complete(req, res, false);
        });
        // The model's tokenizer, for clients that count or score tokens themselves (vLLM's and
        // llama.cpp's routes: lm-evaluation-harness uses /tokenizer_info and /tokenize when offered).
        http.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) { embeddings(req, res); });
        http.Get("/tokenizer_info", [this](const httplib::Request&, httplib::Response& res) {
            if (has_chat_model(res)) tokenizer_info(res);
        });
        http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
            if (has_chat_model(res)) tokenize(req, res);
        });
        http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
            if (has_chat_model(res)) detokenize(req, res);
        });
    }

    // A server of an embedding model alone answers only /v1/embeddings (and /v1/models, /health).
    bool has_chat_model(httplib::Response& res) {
        if (sched) return true;
        send_error(res, ApiError{404, "this server has only the embedding model '" + embed_id + "' (for /v1/embeddings); it has no model that writes text",
                                 "invalid_request_error", "model", "model_not_found"});
        return false;
    }

    // Each input's embedding: its last token's final hidden state after the output norm (how
    // decoder embedding models such as Qwen3-Embedding pool), L2-normalized, as OpenAI's are.
    void embeddings(const httplib::Request& hreq, httplib::Response& res) {
        EmbeddingRequest req;
        if (auto e = parse_embedding_request(hreq.body, &req)) return send_error(res, *e);
        if (opt.embedder && (req.model.empty() || req.model == embed_id || !sched)) {
            if (!req.model.empty() && req.model != embed_id)
                return send_error(res, ApiError{404, "the model '" + req.model + "' is not served here; this server has '" + embed_id + "'",
                                                "invalid_request_error", "model", "model_not_found"});
            return encoder_embeddings(req, res);
        }
        if (!has_chat_model(res)) return;
        if (!req.model.empty() && req.model != model_id)
            return send_error(res, ApiError{404, "the model '" + req.model + "' is not served here; this server has '" + model_id + "'" +
                                                     (opt.embedder ? " and '" + embed_id + "'" : std::string()),
                                            "invalid_request_error", "model", "model_not_found"});
        const int pooling = sched->pooling_type();
        if (pooling >= 0 && pooling != 3) {
            static const char* names[] = {"none", "mean", "cls", "last", "rank"};
            return send_error(res, ApiError{400, std::string("this model pools its embeddings by '") + (pooling < 5 ? names[pooling] : "?") +
                                                     "', and Hearth pools the last token only",
                                            "invalid_request_error", "input", ""});
        }
        const int n_embd = sched->info().n_embd;
        if (req.dimensions > n_embd)
            return send_error(res, ApiError{400, "'dimensions' is at most " + std::to_string(n_embd) + " for this model",
                                            "invalid_request_error", "dimensions", ""});
        std::vector<std::vector<int32_t>> inputs;
        for (const ApiRequest::Prompt& p : req.inputs) {
            // Text with the vocabulary's own BOS/EOS flags (an embedding model's tokenizer appends
            // the token it pools), special tokens not parsed: it is the user's text.
            auto ids = p.is_tokens ? Result<std::vector<int32_t>>(p.tokens) : sched->chat_format().tokenize(p.text, true, false);
            if (!ids.ok()) return send_error(res, ApiError{400, ids.message(), "invalid_request_error", "input", ""});
            if (ids->empty() || int(ids->size()) >= sched->n_ctx())
                return send_error(res, ApiError{400, "input " + std::to_string(inputs.size()) + " is " + std::to_string(ids->size()) +
                                                         " tokens long; the context holds " + std::to_string(sched->n_ctx() - 1),
                                                "invalid_request_error", "input", "context_length_exceeded"});
            inputs.push_back(std::move(*ids));  // (token ids are checked by the scheduler)
        }
        auto events = std::make_shared<EventQueue>();
        std::vector<uint64_t> ids;
        auto cancel = [&] {
            for (uint64_t id : ids) sched->cancel(id);
        };
        for (size_t i = 0; i < inputs.size(); ++i) {
            ServeRequest sr;
            sr.prompt = inputs[i];
            sr.embed = true;
            sr.loras = opt.loras;
            auto id = submit(std::move(sr), events, int(i));
            if (!id.ok()) {
                cancel();
                return send_error(res, ApiError{400, id.message(), "invalid_request_error", "input", ""});
            }
            ids.push_back(*id);
        }
        std::vector<std::vector<float>> vectors(inputs.size());
        int n_prompt = 0;
        for (size_t done = 0; done < inputs.size();) {
            for (auto& [index, e] : events->take(std::chrono::milliseconds(500))) {
                if (e.kind == ServeEvent::Kind::Text) continue;
                if (e.kind == ServeEvent::Kind::Error || e.finish == "cancelled") {
                    cancel();
                    return send_error(res, e.kind == ServeEvent::Kind::Error
                                               ? ApiError{500, "embedding failed: " + e.error, "server_error", "", ""}
                                               : stopping_error());
                }
                std::vector<float> v = e.embedding;
                shorten_and_normalize(v, req.dimensions);
                vectors[size_t(index)] = std::move(v);
                n_prompt += e.n_prompt;
                ++done;
            }
        }
        res.set_content(embeddings_list(model_id, vectors, req.base64, n_prompt).dump(), "application/json");
    }

    // Embeddings from the embedding model: the inputs through its encoder in batches (the weights
    // read once per batch, each input attending only to itself), then its pooling.
    void encoder_embeddings(const EmbeddingRequest& req, httplib::Response& res) {
        embed::TextEmbedder& em = *opt.embedder;
        if (req.dimensions > em.dim())
            return send_error(res, ApiError{400, "'dimensions' is at most " + std::to_string(em.dim()) + " for this model",
                                            "invalid_request_error", "dimensions", ""});
        std::vector<std::vector<int32_t>> inputs;
        int n_prompt = 0;
        for (const ApiRequest::Prompt& p : req.inputs) {
            std::vector<int32_t> ids = p.is_tokens ? p.tokens : em.tokenize(p.text);
            const std::string which = "input " + std::to_string(inputs.size());
            if (ids.empty()) return send_error(res, ApiError{400, which + " is empty", "invalid_request_error", "input", ""});
            if (int(ids.size()) > em.max_tokens())
                return send_error(res, ApiError{400, which + " is " + std::to_string(ids.size()) + " tokens long; this embedding model takes " +
                                                         std::to_string(em.max_tokens()),
                                                "invalid_request_error", "input", "context_length_exceeded"});
            for (int32_t id : ids)
                if (id < 0 || id >= em.hparams().n_vocab)
                    return send_error(res, ApiError{400, which + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                                                             std::to_string(em.hparams().n_vocab),
                                                    "invalid_request_error", "input", ""});
            n_prompt += int(ids.size());
            inputs.push_back(std::move(ids));
        }
        auto vectors = em.embed_batch(inputs);
        if (!vectors.ok()) return send_error(res, ApiError{500, "embedding failed: " + vectors.message(), "server_error", "", ""});
        for (std::vector<float>& v : *vectors) shorten_and_normalize(v, req.dimensions);
        res.set_content(embeddings_list(embed_id, *vectors, req.base64, n_prompt).dump(), "application/json");
    }

    void tokenizer_info(httplib::Response& res) {
        const tokenizer::Tokenizer& tok = sched->tokenizer();
        auto special = [&](int32_t id) { return id < 0 ? json::Value() : json::Value(tok.token_to_piece(id, true)); };
        json::Value o = json::Value::object();
        o.set("tokenizer_class", "GGUF");
        o.set("bos_token", special(tok.bos_id()));
        o.set("eos_token", special(tok.eos_id()));
        o.set("pad_token", special(tok.pad_id()));
        o.set("unk_token", special(tok.unk_id()));
        o.set("add_bos_token", tok.add_bos());
        o.set("chat_template", sched->info().chat_template.empty() ? json::Value() : json::Value(sched->info().chat_template));
        o.set("model_max_length", sched->n_ctx());
        o.set("vocab_size", tok.n_vocab());
        res.set_content(o.dump(), "application/json");
    }

    void tokenize(const httplib::Request& req, httplib::Response& res) {
        TokenizeRequest tr;
        if (auto e = parse_tokenize_request(req.body, &tr)) return send_error(res, *e);
        auto ids = tr.add_special ? tokenize_prompt(sched->chat_format(), tr.text, true) : sched->chat_format().tokenize(tr.text, false, true);
        if (!ids.ok()) return send_error(res, ApiError{400, ids.message(), "invalid_request_error", "prompt", ""});
        json::Value tokens = json::Value::array();
        for (int32_t id : *ids) {
            if (!tr.with_pieces) {
                tokens.push_back(int64_t(id));
                continue;
            }
            json::Value t = json::Value::object();  // llama.cpp's form: the piece as text, or its bytes when not UTF-8
            t.set("id", int64_t(id));
            const std::string piece = sched->tokenizer().token_to_piece(id, true);
            if (tokenizer::is_valid_utf8(piece)) {
                t.set("piece", piece);
            } else {
                json::Value bytes = json::Value::array();
                for (unsigned char c : piece) bytes.push_back(int(c));
                t.set("piece", std::move(bytes));
            }
            tokens.push_back(std::move(t));
        }
        json::Value o = json::Value::object();
        o.set("tokens", std::move(tokens));
        o.set("count", int64_t(ids->size()));
        o.set("max_model_len", sched->n_ctx());
        res.set_content(o.dump(), "application/json");
    }

    void detokenize(const httplib::Request& req, httplib::Response& res) {
        std::vector<int32_t> ids;
        if (auto e = parse_detokenize_request(req.body, &ids)) return send_error(res, *e);
        for (int32_t id : ids)
            if (id >= sched->tokenizer().n_vocab())
                return send_error(res, ApiError{400, "token " + std::to_string(id) + " is not in the model's vocabulary of " +
                                                         std::to_string(sched->tokenizer().n_vocab()) + " tokens",
                                                "invalid_request_error", "tokens", ""});
        const std::string text = sched->tokenizer().decode(ids, true);
        json::Value o = json::Value::object();
        o.set("prompt", text);   // vLLM's name
        o.set("content", text);  // llama.cpp's
        res.set_content(o.dump(), "application/json");
    }

    // Submits a request whose events go to `events`, tagged `index`; stop() can end it while it runs.
    Result<uint64_t> submit(ServeRequest sr, const std::shared_ptr<EventQueue>& events, int index) {
        auto entry = std::make_shared<OpenRequests::Entry>();
        auto id = sched->submit(std::move(sr), [events, open = open, entry, index](const ServeEvent& e) {
            events->push(index, e);
            if (e.kind != ServeEvent::Kind::Text) open->ended(*entry);
        });
        if (id.ok()) open->submitted(*entry, *id);
        return id;
    }

    // One choice of an answer: the request that makes it, and what its events have made so far.
    struct Choice {
        int index = 0;
        uint64_t id = 0;
        ReasoningSplitter split;
        ToolCallStream tools;              // streamed: content that may be a tool call is held to the end
        std::string content, reasoning;    // whole answers
        // Whole: every entry. Streamed: those waiting for the next chunk of this choice (the
        // splitters may hold text back), the rest on its last; the chunks' entries in order are the
        // whole answer's.
        std::vector<ApiLogprob> logprobs;
        int64_t text_offset = 0;           // completions: characters before the next entry
        std::string echoed;                // completions with echo: the prompt's text
        ServeEvent end;                    // the Done event, once it came
        Choice(bool think_open, ToolCallFormat f) : split(think_open), tools(f) {}
    };

    // All the choices of one answer and the events of their requests.
    struct Answer {
        bool chat = true, stream = false, include_usage = false, logprobs = false;
        int n = 1;  // choices per prompt: choice i answers prompt i / n
        bool echo_scored = false;  // echo with logprobs: streamed, each echo waits for its prompt's scores
        AnswerId id;
        std::vector<std::unique_ptr<Choice>> choices;
        std::shared_ptr<EventQueue> events = std::make_shared<EventQueue>();
        int n_ended = 0;
        bool started = false, finished = false;
        std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
    };

    void cancel_all(const Answer& a) {
        for (const auto& c : a.choices)
            if (c->id) sched->cancel(c->id);
    }

    void complete(const httplib::Request& hreq, httplib::Response& res, bool chat) {
        ApiRequest req;
        if (auto e = parse_api_request(hreq.body, chat, &req)) return send_error(res, *e);
        if (!req.model.empty() && req.model != model_id)
            return send_error(res, ApiError{404, "the model '" + req.model + "' is not served here; this server has '" + model_id + "'",
                                            "invalid_request_error", "model", "model_not_found"});
        // What every choice's request shares: the sampling, the adapters, a constraint.
        ServeRequest base;
        bool think_open = false;
        ToolCallFormat tool_format = ToolCallFormat::None;
        if (chat && !req.tools.is_null()) {
            const std::string& tmpl = sched->info().chat_template;
            if (!template_takes_tools(tmpl))
                return send_error(res, ApiError{400, "this model's chat template takes no tools, so 'tools' cannot be used with it",
                                                "invalid_request_error", "tools", ""});
            tool_format = tool_call_format(tmpl);
            if (tool_format == ToolCallFormat::None)
                return send_error(res, ApiError{400, "Hearth does not read the tool calls this model's chat template asks for "
                                                     "(it reads Hermes <tool_call> blocks, Llama 3's and Mistral's JSON calls)",
                                                "invalid_request_error", "tools", ""});
            if (req.json)
                return send_error(res, ApiError{400, "'response_format' and 'tools' cannot be used together", "invalid_request_error",
                                                "response_format", ""});
            if (req.tool_required || !req.tool_name.empty()) {
                // One call, written as the format writes it, its arguments held to the function's parameters.
                const ForcedCall fc = forced_call(tool_format, req.tools, req.tool_name);
                auto schema = compile_json_schema(fc.schema);
                if (!schema.ok())
                    return send_error(res, ApiError{400, "the function's 'parameters' cannot be enforced: " + schema.message(),
                                                    "invalid_request_error", "tools", ""});
                base.json = *schema;
                base.json_prefix = fc.prefix;
                base.json_suffix = fc.suffix;
            }
        }
        // The prompts (chat: one), through the one prompt policy; never truncated.
        std::vector<std::vector<int32_t>> prompts;
        if (chat) {
            ChatPromptRequest pr;
            pr.messages = req.messages;
            if (tool_format != ToolCallFormat::None) pr.template_extra.set("tools", req.tools);
            pr.n_ctx = sched->n_ctx();
            pr.reserve = 1;  // room for at least one answer token
            pr.drop_old_turns = false;
            ChatPrompt cp = build_chat_prompt(sched->chat_format(), pr);
            if (cp.error == PromptError::TooLong)
                return send_error(res, ApiError{400, "the prompt is " + std::to_string(cp.too_long_tokens) +
                                                         " tokens long, but the model's context holds " + std::to_string(sched->n_ctx()) +
                                                         " tokens (with at least one left for the answer)",
                                                "invalid_request_error", "messages", "context_length_exceeded"});
            if (!cp.ok()) return send_error(res, ApiError{400, cp.message, "invalid_request_error", "messages", ""});
            prompts.push_back(std::move(cp.tokens));
            think_open = cp.think_open;
        } else {
            for (const ApiRequest::Prompt& p : req.prompts) {
                auto ids = p.is_tokens ? Result<std::vector<int32_t>>(p.tokens) : tokenize_prompt(sched->chat_format(), p.text, true);
                if (!ids.ok()) return send_error(res, ApiError{400, ids.message(), "invalid_request_error", "prompt", ""});
                if (ids->empty() || int(ids->size()) >= sched->n_ctx())
                    return send_error(res, ApiError{400, "the prompt is " + std::to_string(ids->size()) +
                                                             " tokens long, but the model's context holds " + std::to_string(sched->n_ctx()) +
                                                             " tokens (with at least one left for the answer)",
                                                    "invalid_request_error", "prompt", "context_length_exceeded"});
                prompts.push_back(std::move(*ids));
            }
        }
        SamplingParams& sp = base.sampling;
        sp.temperature = req.temperature;
        sp.top_p = req.top_p;
        sp.top_k = req.top_k;
        sp.min_p = req.min_p;
        sp.repeat_penalty = req.repeat_penalty;  // 1 unless asked: OpenAI's penalties are presence and frequency
        sp.presence_penalty = req.presence_penalty;
        sp.frequency_penalty = req.frequency_penalty;
        sp.max_new_tokens = req.max_tokens;
        sp.stop = req.stop;
        if (chat) sp.stop.insert(sp.stop.end(), turn_stops.begin(), turn_stops.end());
        for (const auto& [tok, bias] : req.logit_bias)
            if (tok >= sched->info().n_vocab)
                return send_error(res, ApiError{400, "'logit_bias' names token " + std::to_string(tok) + ", but the model's vocabulary has " +
                                                         std::to_string(sched->info().n_vocab) + " tokens",
                                                "invalid_request_error", "logit_bias", ""});
        sp.logit_bias = req.logit_bias;
        base.loras = opt.loras;
        if (req.json) base.json = req.json;
        base.json_after_think = think_open;
        base.logprobs = req.logprobs;
        base.prompt_logprobs = req.echo && req.logprobs >= 0;

        auto a = std::make_shared<Answer>();
        a->chat = chat, a->stream = req.stream, a->include_usage = req.include_usage, a->logprobs = req.logprobs >= 0;
        a->n = req.n;
        a->echo_scored = base.prompt_logprobs;
        a->id.id = std::string(chat ? "chatcmpl-" : "cmpl-") + std::to_string(answers.fetch_add(1) + 1) + "-" +
                   std::to_string(random_seed() % 1000000007ull);
        a->id.model = model_id;
        a->id.created = int64_t(std::time(nullptr));
        // Choice p·n + j answers prompt p with seed + j (the same seed for each prompt's j-th choice).
        const uint64_t seed = req.seed ? *req.seed : random_seed();
        for (size_t p = 0; p < prompts.size(); ++p)
            for (int j = 0; j < req.n; ++j) {
                auto c = std::make_unique<Choice>(think_open, tool_format);
                c->index = int(a->choices.size());
                if (req.echo) {  // the prompt as given (token ids: their text); with logprobs, its tokens scored
                    if (!req.prompts[p].is_tokens) c->echoed = req.prompts[p].text;
                    else
                        for (int32_t t : prompts[p]) c->echoed += sched->tokenizer().token_to_piece(t);
                }
                if (base.prompt_logprobs) {
                    ApiLogprob first;
                    first.chosen.bytes = sched->tokenizer().token_to_piece(prompts[p][0]);
                    first.scored = false;
                    c->logprobs.push_back(std::move(first));
                }
                if (!a->stream) c->content = c->echoed;
                a->choices.push_back(std::move(c));
            }
        for (auto& c : a->choices) {
            ServeRequest sr = base;
            sr.prompt = prompts[size_t(c->index / req.n)];
            sr.sampling.seed = seed + uint64_t(c->index % req.n);
            auto id = submit(std::move(sr), a->events, c->index);  // (token ids are checked by the scheduler)
            if (!id.ok()) {
                cancel_all(*a);
                return send_error(res, ApiError{400, id.message(), "invalid_request_error", chat ? "messages" : "prompt", ""});
            }
            c->id = *id;
        }
        if (a->stream) return stream(res, a);

        // Whole answer: the same splitters the stream uses, so both give the same text.
        while (a->n_ended < int(a->choices.size())) {
            for (const auto& [index, e] : a->events->take(std::chrono::milliseconds(500))) {
                Choice& c = *a->choices[size_t(index)];
                add_logprobs(e.prompt_logprobs, &c.logprobs);  // the prompt's come first
                add_logprobs(e.logprobs, &c.logprobs);
                auto add = [&](const ReasoningSplitter::Delta& d) { c.content += d.content, c.reasoning += d.reasoning; };
                if (e.kind == ServeEvent::Kind::Text) {
                    if (chat) add(c.split.feed(e.text));
                    else c.content += e.text;
                    continue;
                }
                if (e.kind == ServeEvent::Kind::Error) {
                    cancel_all(*a);
                    return send_error(res, ApiError{500, "generation failed: " + e.error, "server_error", "", ""});
                }
                if (e.finish == "cancelled") {
                    cancel_all(*a);
                    return send_error(res, stopping_error());
                }
                if (chat) add(c.split.flush());
                c.end = e;
                ++a->n_ended;
            }
        }
        json::Value choices = json::Value::array();
        for (const auto& c : a->choices) {
            std::string finish = api_finish(c->end.finish);
            ToolCallSplit calls = split_tool_calls(tool_format, c->content);  // the stream's splitter, whole
            if (!calls.calls.empty() && finish == "stop") finish = "tool_calls";
            int64_t offset = 0;
            const json::Value lp = !a->logprobs ? json::Value() : chat ? chat_logprobs_json(c->logprobs) : text_logprobs_json(c->logprobs, &offset);
            choices.push_back(chat ? chat_choice(c->index, calls.content, c->reasoning, finish, calls.calls, lp)
                                   : text_choice(c->index, c->content, finish, lp));
        }
        res.set_content(completion(a->id, chat, std::move(choices), usage(*a)).dump(), "application/json");
    }

    // Prompt tokens count once per prompt (not per choice), generated ones per choice.
    static Usage usage(const Answer& a) {
        Usage u;
        for (const auto& c : a.choices) {
            if (c->index % a.n == 0) u.prompt_tokens += c->end.n_prompt;
            u.completion_tokens += c->end.n_generated;
        }
        return u;
    }

    void stream(httplib::Response& res, std::shared_ptr<Answer> a) {
        Scheduler* sched_p = sched;
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, a](size_t, httplib::DataSink& sink) {
                const AnswerId& aid = a->id;
                auto write = [&](const std::string& s) {
                    a->last_write = std::chrono::steady_clock::now();
                    return sink.write(s.data(), s.size());
                };
                auto pending_logprobs = [&](Choice& c) -> json::Value {  // what the choice's next chunk carries
                    if (!a->logprobs || c.logprobs.empty()) return json::Value();
                    json::Value v = a->chat ? chat_logprobs_json(c.logprobs) : text_logprobs_json(c.logprobs, &c.text_offset);
                    c.logprobs.clear();
                    return v;
                };
                auto delta = [&](Choice& c, const ReasoningSplitter::Delta& d) {
                    bool ok = true;
                    if (!d.reasoning.empty()) {
                        json::Value v = json::Value::object();
                        v.set("reasoning_content", d.reasoning);
                        ok = ok && write(sse(chat_chunk(aid, c.index, std::move(v), "", json::Value(), pending_logprobs(c))));
                    }
                    const std::string content = c.tools.feed(d.content);
                    if (!content.empty()) {
                        json::Value v = json::Value::object();
                        v.set("content", content);
                        ok = ok && write(sse(chat_chunk(aid, c.index, std::move(v), "", json::Value(), pending_logprobs(c))));
                    }
                    return ok;
                };
                auto gone = [&] {  // the client went away: its slots are freed now
                    cancel_all(*a);
                    return false;
                };
                if (!a->started) {
                    a->started = true;
                    for (const auto& c : a->choices) {
                        bool ok = true;
                        if (a->chat) {
                            json::Value v = json::Value::object();
                            v.set("role", "assistant");
                            v.set("content", "");
                            ok = write(sse(chat_chunk(aid, c->index, std::move(v), "", json::Value())));
                        } else if (!c->echoed.empty() && !a->echo_scored) {
                            ok = write(sse(text_chunk(aid, c->index, c->echoed, "", json::Value())));
                        }
                        if (!ok) return gone();
                    }
                }
                const auto batch = a->events->take(std::chrono::milliseconds(250));
                if (batch.empty()) {
                    // A comment line now and then: a client that left is noticed while its prompt is
                    // evaluated or it waits for a slot, not only once text flows.
                    if (std::chrono::steady_clock::now() - a->last_write > std::chrono::seconds(1) && !write(": keep-alive\n\n"))
                        return gone();
                    return true;
                }
                for (const auto& [index, e] : batch) {
                    Choice& c = *a->choices[size_t(index)];
                    if (e.prompt_scored) {  // echo with logprobs: the prompt's text goes out with its scores
                        add_logprobs(e.prompt_logprobs, &c.logprobs);
                        if (!write(sse(text_chunk(aid, c.index, c.echoed, "", json::Value(), pending_logprobs(c))))) return gone();
                        continue;
                    }
                    add_logprobs(e.logprobs, &c.logprobs);
                    if (e.kind == ServeEvent::Kind::Text) {
                        bool ok = true;
                        if (a->chat) ok = delta(c, c.split.feed(e.text));
                        else if (!e.text.empty() || !c.logprobs.empty())
                            ok = write(sse(text_chunk(aid, c.index, e.text, "", json::Value(), pending_logprobs(c))));
                        if (!ok) return gone();
                        continue;
                    }
                    if (e.kind == ServeEvent::Kind::Error || e.finish == "cancelled") {
                        a->finished = true;
                        cancel_all(*a);
                        const ApiError err = e.kind == ServeEvent::Kind::Error
                                                 ? ApiError{500, "generation failed: " + e.error, "server_error", "", ""}
                                                 : stopping_error();
                        write("data: " + error_body(err) + "\n\n");
                        write("data: [DONE]\n\n");
                        sink.done();
                        return true;
                    }
                    // This choice is done: what its splitters held, then its finish reason (with the
                    // usage on the answer's last).
                        c.end = e;
                    ++a->n_ended;
                    if (a->chat && !delta(c, c.split.flush())) return gone();
                    std::string finish = api_finish(e.finish);
                    if (a->chat) {
                        const ToolCallSplit rest = c.tools.finish();
                        json::Value v = json::Value::object();
                        if (!rest.content.empty()) v.set("content", rest.content);
                        if (!rest.calls.empty()) {
                            v.set("tool_calls", tool_calls_json(rest.calls, true));
                            if (finish == "stop") finish = "tool_calls";
                        }
                        if (v.size() > 0 && !write(sse(chat_chunk(aid, c.index, std::move(v), "", json::Value(), pending_logprobs(c)))))
                            return gone();
                    }
                    const bool last = a->n_ended == int(a->choices.size());
                    const json::Value u = last ? usage_json(usage(*a)) : json::Value();
                    const json::Value lp = pending_logprobs(c);
                    const json::Value chunk = a->chat ? chat_chunk(aid, c.index, json::Value::object(), finish, u, lp)
                                                      : text_chunk(aid, c.index, "", finish, u, lp);
                    if (!write(sse(chunk))) return gone();
                    if (!last) continue;
                    a->finished = true;
                    if (a->include_usage && !write(sse(usage_chunk(aid, a->chat, usage(*a))))) return false;
                    write("data: [DONE]\n\n");
                    sink.done();
                    return true;
                }
                return true;
            },
            [sched_p, a](bool) {
                if (a->finished) return;
                for (const auto& c : a->choices) sched_p->cancel(c->id);  // the connection ended before the answer did
            });
    }
};

OpenAiServer::OpenAiServer(Scheduler& scheduler, ServerOptions options, const std::string& model_path)
    : impl_(std::make_unique<Impl>(&scheduler, std::move(options), model_path)) {}

OpenAiServer::OpenAiServer(ServerOptions options) : impl_(std::make_unique<Impl>(nullptr, std::move(options), std::string())) {}

OpenAiServer::~OpenAiServer() { stop(); }

Result<int> OpenAiServer::bind() {
    const std::string& host = impl_->opt.host;
    int port = impl_->opt.port;
    if (port < 0 || port > 65535) return make_error("the port must be 0..65535");
    if (port == 0) port = impl_->http.bind_to_any_port(host);
    else if (!impl_->http.bind_to_port(host, port)) port = -1;
    if (port < 0) return make_error("cannot listen on " + host + ":" + std::to_string(impl_->opt.port) + " (in use, or not an address of this machine)");
    return port;
}

void OpenAiServer::run() { impl_->http.listen_after_bind(); }
void OpenAiServer::stop() {
    impl_->http.stop();
    // This server's open answers end now ("cancelled"), so their handlers return and run() with them;
    // other clients of the scheduler (the app's chat) go on.
    if (impl_->sched)
        for (uint64_t id : impl_->open->open()) impl_->sched->cancel(id);
}
const std::string& OpenAiServer::model_id() const { return impl_->sched ? impl_->model_id : impl_->embed_id; }

}  // namespace hearth
