#include "engine/serve/openai_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>

#include "engine/serve/openai_request.h"
#include "engine/serve/openai_response.h"
#include "engine/serve/reasoning_split.h"
#include "engine/serve/tool_calls.h"
#include "engine/serve/scheduler.h"
#include "engine/session/prompt_policy.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace hearth {

bool is_loopback_host(const std::string& host) {
    return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

namespace {

// The events of one request, from the scheduler's loop thread to the HTTP handler's thread.
struct EventQueue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<ServeEvent> events;
    bool ended = false;  // a Done or Error event was pushed

    void push(const ServeEvent& e) {
        {
            std::lock_guard<std::mutex> lock(mu);
            events.push_back(e);
            if (e.kind != ServeEvent::Kind::Text) ended = true;
        }
        cv.notify_all();
    }
    // Waits up to `timeout` for events; returns what arrived (possibly nothing).
    std::deque<ServeEvent> take(std::chrono::milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, timeout, [&] { return !events.empty(); });
        std::deque<ServeEvent> out;
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

// The API's finish reasons from the scheduler's.
std::string api_finish(const std::string& f) { return f == "length" ? "length" : "stop"; }

}  // namespace

struct OpenAiServer::Impl {
    Scheduler& sched;
    ServerOptions opt;
    std::string model_id;
    std::vector<std::string> turn_stops;  // the template's end-of-turn marker (chat only)
    httplib::Server http;
    int64_t started = 0;
    std::atomic<uint64_t> answers{0};
    std::mt19937_64 rng{std::random_device{}()};
    std::mutex rng_mu;
    std::shared_ptr<OpenRequests> open = std::make_shared<OpenRequests>();

    Impl(Scheduler& s, ServerOptions o, const std::string& path) : sched(s), opt(std::move(o)) {
        model_id = opt.model_id.empty() ? std::filesystem::path(path).stem().string() : opt.model_id;
        turn_stops = end_of_turn_stops(sched.chat_format());
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
            a.chosen = {sched.tokenizer().token_to_piece(e.chosen.id), e.chosen.logprob};
            for (const TokenLogprob& t : e.top) a.top.push_back({sched.tokenizer().token_to_piece(t.id), t.logprob});
            out->push_back(std::move(a));
        }
    }

    void setup() {
        // Enough handler threads for every slot's stream plus requests waiting in the queue and /health.
        const size_t threads = size_t(std::max(8, 2 * sched.n_parallel() + 4));
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
            o.set("slots_processing", sched.n_active());
            o.set("slots_idle", sched.n_parallel() - sched.n_active());
            o.set("requests_queued", sched.n_queued());
            res.set_content(o.dump(), "application/json");
        });
        http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(models_list(model_id, started).dump(), "application/json");
        });
        http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { complete(req, res, true); });
        http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { complete(req, res, false); });
        // The model's tokenizer, for clients that count or score tokens themselves (vLLM's and
        // llama.cpp's routes: lm-evaluation-harness uses /tokenizer_info and /tokenize when offered).
        http.Get("/tokenizer_info", [this](const httplib::Request&, httplib::Response& res) { tokenizer_info(res); });
        http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
        http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) { detokenize(req, res); });
    }

    void tokenizer_info(httplib::Response& res) {
        const tokenizer::Tokenizer& tok = sched.tokenizer();
        auto special = [&](int32_t id) { return id < 0 ? json::Value() : json::Value(tok.token_to_piece(id, true)); };
        json::Value o = json::Value::object();
        o.set("tokenizer_class", "GGUF");
        o.set("bos_token", special(tok.bos_id()));
        o.set("eos_token", special(tok.eos_id()));
        o.set("pad_token", special(tok.pad_id()));
        o.set("unk_token", special(tok.unk_id()));
        o.set("add_bos_token", tok.add_bos());
        o.set("chat_template", sched.info().chat_template.empty() ? json::Value() : json::Value(sched.info().chat_template));
        o.set("model_max_length", sched.n_ctx());
        o.set("vocab_size", tok.n_vocab());
        res.set_content(o.dump(), "application/json");
    }

    void tokenize(const httplib::Request& req, httplib::Response& res) {
        TokenizeRequest tr;
        if (auto e = parse_tokenize_request(req.body, &tr)) return send_error(res, *e);
        auto ids = tr.add_special ? tokenize_prompt(sched.chat_format(), tr.text, true) : sched.chat_format().tokenize(tr.text, false, true);
        if (!ids.ok()) return send_error(res, ApiError{400, ids.message(), "invalid_request_error", "prompt", ""});
        json::Value tokens = json::Value::array();
        for (int32_t id : *ids) {
            if (!tr.with_pieces) {
                tokens.push_back(int64_t(id));
                continue;
            }
            json::Value t = json::Value::object();  // llama.cpp's form: the piece as text, or its bytes when not UTF-8
            t.set("id", int64_t(id));
            const std::string piece = sched.tokenizer().token_to_piece(id, true);
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
        o.set("max_model_len", sched.n_ctx());
        res.set_content(o.dump(), "application/json");
    }

    void detokenize(const httplib::Request& req, httplib::Response& res) {
        std::vector<int32_t> ids;
        if (auto e = parse_detokenize_request(req.body, &ids)) return send_error(res, *e);
        for (int32_t id : ids)
            if (id >= sched.tokenizer().n_vocab())
                return send_error(res, ApiError{400, "token " + std::to_string(id) + " is not in the model's vocabulary of " +
                                                         std::to_string(sched.tokenizer().n_vocab()) + " tokens",
                                                "invalid_request_error", "tokens", ""});
        const std::string text = sched.tokenizer().decode(ids, true);
        json::Value o = json::Value::object();
        o.set("prompt", text);   // vLLM's name
        o.set("content", text);  // llama.cpp's
        res.set_content(o.dump(), "application/json");
    }

    void complete(const httplib::Request& hreq, httplib::Response& res, bool chat) {
        ApiRequest req;
        if (auto e = parse_api_request(hreq.body, chat, &req)) return send_error(res, *e);
        if (!req.model.empty() && req.model != model_id)
            return send_error(res, ApiError{404, "the model '" + req.model + "' is not served here; this server has '" + model_id + "'",
                                            "invalid_request_error", "model", "model_not_found"});
        // The prompt, through the one prompt policy; never truncated.
        ServeRequest sr;
        bool think_open = false;
        ToolCallFormat tool_format = ToolCallFormat::None;
        if (chat && !req.tools.is_null()) {
            const std::string& tmpl = sched.info().chat_template;
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
                sr.json = *schema;
                sr.json_prefix = fc.prefix;
                sr.json_suffix = fc.suffix;
            }
        }
        if (chat) {
            ChatPromptRequest pr;
            pr.messages = req.messages;
            if (tool_format != ToolCallFormat::None) pr.template_extra.set("tools", req.tools);
            pr.n_ctx = sched.n_ctx();
            pr.reserve = 1;  // room for at least one answer token
            pr.drop_old_turns = false;
            ChatPrompt cp = build_chat_prompt(sched.chat_format(), pr);
            if (cp.error == PromptError::TooLong)
                return send_error(res, ApiError{400, "the prompt is " + std::to_string(cp.too_long_tokens) +
                                                         " tokens long, but the model's context holds " + std::to_string(sched.n_ctx()) +
                                                         " tokens (with at least one left for the answer)",
                                                "invalid_request_error", "messages", "context_length_exceeded"});
            if (!cp.ok()) return send_error(res, ApiError{400, cp.message, "invalid_request_error", "messages", ""});
            sr.prompt = std::move(cp.tokens);
            think_open = cp.think_open;
        } else {
            auto ids = req.prompt_tokens.empty() ? tokenize_prompt(sched.chat_format(), req.prompt, true)
                                                 : Result<std::vector<int32_t>>(req.prompt_tokens);
            if (!ids.ok()) return send_error(res, ApiError{400, ids.message(), "invalid_request_error", "prompt", ""});
            for (int32_t t : *ids)
                if (t >= sched.info().n_vocab)
                    return send_error(res, ApiError{400, "'prompt' holds token " + std::to_string(t) + ", but the model's vocabulary has " +
                                                             std::to_string(sched.info().n_vocab) + " tokens",
                                                    "invalid_request_error", "prompt", ""});
            if (int(ids->size()) >= sched.n_ctx())
                return send_error(res, ApiError{400, "the prompt is " + std::to_string(ids->size()) +
                                                         " tokens long, but the model's context holds " + std::to_string(sched.n_ctx()) +
                                                         " tokens (with at least one left for the answer)",
                                                "invalid_request_error", "prompt", "context_length_exceeded"});
            sr.prompt = std::move(*ids);
        }
        SamplingParams& sp = sr.sampling;
        sp.temperature = req.temperature;
        sp.top_p = req.top_p;
        sp.top_k = req.top_k;
        sp.min_p = req.min_p;
        sp.repeat_penalty = req.repeat_penalty;  // 1 unless asked: OpenAI's penalties are presence and frequency
        sp.presence_penalty = req.presence_penalty;
        sp.frequency_penalty = req.frequency_penalty;
        sp.seed = req.seed ? *req.seed : random_seed();
        sp.max_new_tokens = req.max_tokens;
        sp.stop = req.stop;
        if (chat) sp.stop.insert(sp.stop.end(), turn_stops.begin(), turn_stops.end());
        for (const auto& [tok, bias] : req.logit_bias)
            if (tok >= sched.info().n_vocab)
                return send_error(res, ApiError{400, "'logit_bias' names token " + std::to_string(tok) + ", but the model's vocabulary has " +
                                                         std::to_string(sched.info().n_vocab) + " tokens",
                                                "invalid_request_error", "logit_bias", ""});
        sp.logit_bias = req.logit_bias;
        sr.loras = opt.loras;
        if (req.json) sr.json = req.json;
        sr.json_after_think = think_open;
        sr.logprobs = req.logprobs;
        sr.prompt_logprobs = req.echo && req.logprobs >= 0;
        // echo: the prompt as given (token ids: their text), and with logprobs its tokens scored.
        std::string echoed;
        std::vector<ApiLogprob> prompt_lps;
        if (req.echo) {
            if (req.prompt_tokens.empty()) echoed = req.prompt;
            else
                for (int32_t t : sr.prompt) echoed += sched.tokenizer().token_to_piece(t);
        }
        if (sr.prompt_logprobs) {
            ApiLogprob first;
            first.chosen.bytes = sched.tokenizer().token_to_piece(sr.prompt[0]);
            first.scored = false;
            prompt_lps.push_back(std::move(first));
        }
        const std::vector<int32_t> prompt_ids = sr.prompt_logprobs ? sr.prompt : std::vector<int32_t>();

        auto events = std::make_shared<EventQueue>();
        auto entry = std::make_shared<OpenRequests::Entry>();
        auto id = sched.submit(std::move(sr), [events, open = open, entry](const ServeEvent& e) {
            events->push(e);
            if (e.kind != ServeEvent::Kind::Text) open->ended(*entry);
        });
        if (!id.ok()) return send_error(res, ApiError{400, id.message(), "invalid_request_error", chat ? "messages" : "prompt", ""});
        open->submitted(*entry, *id);
        AnswerId aid;
        aid.id = std::string(chat ? "chatcmpl-" : "cmpl-") + std::to_string(answers.fetch_add(1) + 1) + "-" +
                 std::to_string(random_seed() % 1000000007ull);
        aid.model = model_id;
        aid.created = int64_t(std::time(nullptr));
        if (req.stream)
            return stream(res, chat, req.include_usage, think_open, tool_format, req.logprobs >= 0, echoed, std::move(prompt_lps), aid, *id,
                          events);

        // Whole answer: the same splitter the stream uses, so both give the same text.
        ReasoningSplitter split(think_open);
        std::string content = echoed, reasoning;
        std::vector<ApiLogprob> lps = std::move(prompt_lps);
        auto add = [&](const ReasoningSplitter::Delta& d) { content += d.content, reasoning += d.reasoning; };
        while (true) {
            for (const ServeEvent& e : events->take(std::chrono::milliseconds(500))) {
                add_logprobs(e.prompt_logprobs, &lps);  // the prompt's come first
                add_logprobs(e.logprobs, &lps);
                if (e.kind == ServeEvent::Kind::Text) {
                    if (chat) add(split.feed(e.text)); else content += e.text;
                    continue;
                }
                if (e.kind == ServeEvent::Kind::Error)
                    return send_error(res, ApiError{500, "generation failed: " + e.error, "server_error", "", ""});
                if (e.finish == "cancelled") return send_error(res, stopping_error());
                if (chat) add(split.flush());
                const Usage u{e.n_prompt, e.n_generated};
                std::string finish = api_finish(e.finish);
                ToolCallSplit calls = split_tool_calls(tool_format, content);  // the stream's splitter, whole
                if (!calls.calls.empty() && finish == "stop") finish = "tool_calls";
                int64_t offset = 0;
                const json::Value lp = req.logprobs < 0 ? json::Value() : chat ? chat_logprobs_json(lps) : text_logprobs_json(lps, &offset);
                res.set_content((chat ? chat_completion(aid, calls.content, reasoning, finish, u, calls.calls, lp)
                                      : text_completion(aid, content, finish, u, lp)).dump(),
                                "application/json");
                return;
            }
        }
    }

    void stream(httplib::Response& res, bool chat, bool include_usage, bool think_open, ToolCallFormat tool_format,
                bool logprobs, const std::string& echoed, std::vector<ApiLogprob> prompt_lps, const AnswerId& aid, uint64_t id,
                std::shared_ptr<EventQueue> events) {
        struct State {
            bool started = false, finished = false;
            ReasoningSplitter split;
            ToolCallStream tools;  // content that may be a tool call is held to the end
            // Log probabilities ride on the next chunk written after their text arrives (the
            // splitters may hold text back), the rest on the last: the chunks' entries in order
            // are the whole answer's.
            std::vector<ApiLogprob> logprobs;
            int64_t text_offset = 0;  // completions: characters before the next entry
            std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
            State(bool opened, ToolCallFormat f) : split(opened), tools(f) {}
        };
        auto st = std::make_shared<State>(think_open, tool_format);
        // echo with logprobs: the prompt's text goes out with its scores, once they come.
        const bool echo_scored = !prompt_lps.empty();
        st->logprobs = std::move(prompt_lps);
        Scheduler* sched_p = &sched;
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, st, events, aid, chat, include_usage, id, logprobs, echoed, echo_scored](size_t, httplib::DataSink& sink) {
                auto write = [&](const std::string& s) {
                    st->last_write = std::chrono::steady_clock::now();
                    return sink.write(s.data(), s.size());
                };
                auto pending_logprobs = [&]() -> json::Value {  // what the next chunk carries
                    if (!logprobs || st->logprobs.empty()) return json::Value();
                    json::Value v = chat ? chat_logprobs_json(st->logprobs) : text_logprobs_json(st->logprobs, &st->text_offset);
                    st->logprobs.clear();
                    return v;
                };
                auto delta = [&](const ReasoningSplitter::Delta& d) {
                    bool ok = true;
                    if (!d.reasoning.empty()) {
                        json::Value v = json::Value::object();
                        v.set("reasoning_content", d.reasoning);
                        ok = ok && write(sse(chat_chunk(aid, std::move(v), "", json::Value(), pending_logprobs())));
                    }
                    const std::string content = st->tools.feed(d.content);
                    if (!content.empty()) {
                        json::Value v = json::Value::object();
                        v.set("content", content);
                        ok = ok && write(sse(chat_chunk(aid, std::move(v), "", json::Value(), pending_logprobs())));
                    }
                    return ok;
                };
                auto gone = [&] {  // the client went away: its slot is freed now
                    sched.cancel(id);
                    return false;
                };
                if (!st->started) {
                    st->started = true;
                    if (chat) {
                        json::Value v = json::Value::object();
                        v.set("role", "assistant");
                        v.set("content", "");
                        if (!write(sse(chat_chunk(aid, std::move(v), "", json::Value())))) return gone();
                    } else if (!echoed.empty() && !echo_scored && !write(sse(text_chunk(aid, echoed, "", json::Value())))) {
                        return gone();
                    }
                }
                const auto batch = events->take(std::chrono::milliseconds(250));
                if (batch.empty()) {
                    // A comment line now and then: a client that left is noticed while its prompt is
                    // evaluated or it waits for a slot, not only once text flows.
                    if (std::chrono::steady_clock::now() - st->last_write > std::chrono::seconds(1) && !write(": keep-alive\n\n"))
                        return gone();
                    return true;
                }
                for (const ServeEvent& e : batch) {
                    if (e.prompt_scored) {
                        add_logprobs(e.prompt_logprobs, &st->logprobs);
                        if (!write(sse(text_chunk(aid, echoed, "", json::Value(), pending_logprobs())))) return gone();
                        continue;
                    }
                    add_logprobs(e.logprobs, &st->logprobs);
                    if (e.kind == ServeEvent::Kind::Text) {
                        bool ok = true;
                        if (chat) ok = delta(st->split.feed(e.text));
                        else if (!e.text.empty() || !st->logprobs.empty())
                            ok = write(sse(text_chunk(aid, e.text, "", json::Value(), pending_logprobs())));
                        if (!ok) return gone();
                        continue;
                    }
                    st->finished = true;
                    if (e.kind == ServeEvent::Kind::Error || e.finish == "cancelled") {
                        const ApiError err = e.kind == ServeEvent::Kind::Error
                                                 ? ApiError{500, "generation failed: " + e.error, "server_error", "", ""}
                                                 : stopping_error();
                        write("data: " + error_body(err) + "\n\n");
                    } else {
                        if (chat && !delta(st->split.flush())) return gone();
                        const Usage u{e.n_prompt, e.n_generated};
                        std::string finish = api_finish(e.finish);
                        if (chat) {
                            const ToolCallSplit rest = st->tools.finish();
                            json::Value v = json::Value::object();
                            if (!rest.content.empty()) v.set("content", rest.content);
                            if (!rest.calls.empty()) {
                                v.set("tool_calls", tool_calls_json(rest.calls, true));
                                if (finish == "stop") finish = "tool_calls";
                            }
                            if (v.size() > 0 && !write(sse(chat_chunk(aid, std::move(v), "", json::Value(), pending_logprobs())))) return gone();
                        }
                        const json::Value lp = pending_logprobs();
                        const json::Value last = chat ? chat_chunk(aid, json::Value::object(), finish, usage_json(u), lp)
                                                      : text_chunk(aid, "", finish, usage_json(u), lp);
                        if (!write(sse(last))) return false;
                        if (include_usage && !write(sse(usage_chunk(aid, chat, u)))) return false;
                    }
                    write("data: [DONE]\n\n");
                    sink.done();
                    return true;
                }
                return true;
            },
            [sched_p, st, id](bool) {
                if (!st->finished) sched_p->cancel(id);  // the connection ended before the answer did
            });
    }
};

OpenAiServer::OpenAiServer(Scheduler& scheduler, ServerOptions options, const std::string& model_path)
    : impl_(std::make_unique<Impl>(scheduler, std::move(options), model_path)) {}

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
    for (uint64_t id : impl_->open->open()) impl_->sched.cancel(id);
}
const std::string& OpenAiServer::model_id() const { return impl_->model_id; }

}  // namespace hearth
