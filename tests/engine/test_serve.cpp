// The OpenAI-compatible server (engine/serve) through a real HTTP client (cpp-httplib's) on
// 127.0.0.1, over tiny models written by the project's GGUF writer: streaming and whole answers
// agree, eight concurrent streams give each the text it gets alone, a client that disconnects frees
// its slot, errors have OpenAI's shape and status, stop strings and max_tokens end answers, the
// key is enforced, the server listens on loopback only, and <think> text goes to reasoning_content.
// Also the scheduler on its own (prefix reuse, queueing, cancel) and the request parser under fuzz.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <map>
#include <set>
#include <thread>

#include "engine/backend/backend.h"
#include "engine/convert/convert.h"
#include "engine/embed/text_embedder.h"
#include "engine/gguf/gguf.h"
#include "engine/serve/openai_request.h"
#include "engine/serve/openai_server.h"
#include "engine/serve/reasoning_split.h"
#include "engine/serve/scheduler.h"
#include "engine/session/prompt_policy.h"
#include "engine/session/session.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/testmodels/random_model.h"
#include "engine/util/json.h"
#include "tests/engine/cli_run.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/testdata.h"
#include "tests/engine/tiny_model.h"

using namespace hearth;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Model files, written once for the whole program.
struct Models {
    std::string random, slow, scripted, scripted_think, scripted_tools, scripted_bytes;
    std::string error;
    Models() {
        random = test::temp_file("serve_random.gguf");
        slow = test::temp_file("serve_slow.gguf");
        scripted = test::temp_file("serve_scripted.gguf");
        scripted_think = test::temp_file("serve_think.gguf");
        RandomModelShape shape;
        if (Status s = write_random_llama_model(random, shape, GgmlType::F32, 77); !s.ok()) error = s.message();
        // About 10 ms a token on one thread: long answers take seconds, so a disconnect is seen mid-answer.
        RandomModelShape big;
        big.n_embd = 256, big.n_layer = 4, big.n_head = 8, big.n_kv_head = 4, big.n_ff = 704, big.n_vocab = 2048;
        if (Status s = write_random_llama_model(slow, big, GgmlType::F32, 78); !s.ok()) error = s.message();
        // Greedy decoding after a newline spells "reas</think>OK" and ends (</s>).
        std::vector<int32_t> chain = {test::byte_token('\n')};
        for (char c : std::string("reas</think>OK")) chain.push_back(test::ascii_token(c));
        chain.push_back(2);  // </s>
        if (Status s = test::write_scripted_model(scripted, chain); !s.ok()) error = s.message();
        // A template that opens the reasoning itself, as DeepSeek-R1's does.
        const std::string think_template =
            "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}<think>\n{% endif %}";
        if (Status s = test::write_scripted_model(scripted_think, chain, 4096, think_template); !s.ok()) error = s.message();
        // A Hermes-style template, and a model whose greedy answer is some text, then one call.
        scripted_tools = test::temp_file("serve_tools.gguf");
        const std::string sp = "\xE2\x96\x81";  // SentencePiece's space
        const std::vector<std::string> pieces = {"Let" + sp + "me" + sp + "check.", "<tool_call>",
                                                 "{\"name\":" + sp + "\"get_weather\"," + sp + "\"arguments\":" + sp + "{\"city\":" + sp + "\"Paris\"}}",
                                                 "</tool_call>"};
        std::vector<int32_t> call = {test::byte_token('\n')};
        for (int i = 0; i < 4; ++i) call.push_back(test::extra_token(i, 4));
        call.push_back(2);  // </s>
        const std::string tools_template =
            "{% if tools %}<tools>{{ tools | tojson }}</tools> Call one as <tool_call>{...}</tool_call>\n{% endif %}"
            "{% for m in messages %}{{ m.role }}: {% if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>{{ c.function | tojson }}"
            "</tool_call>{% endfor %}{% else %}{{ m.content }}{% endif %}{% if m.tool_call_id %} ({{ m.tool_call_id }}){% endif %}\n"
            "{% endfor %}{% if add_generation_prompt %}assistant:\n{% endif %}";
        if (Status s = test::write_scripted_model(scripted_tools, call, 4096, tools_template, pieces); !s.ok()) error = s.message();
        // "né!" with the é as its two bytes, one token each (a byte-level vocabulary's way).
        scripted_bytes = test::temp_file("serve_bytes.gguf");
        const std::vector<int32_t> bytes_chain = {test::byte_token('\n'), test::ascii_token('n'), test::byte_token(0xC3),
                                                  test::byte_token(0xA9), test::ascii_token('!'), 2};
        if (Status s = test::write_scripted_model(scripted_bytes, bytes_chain); !s.ok()) error = s.message();
    }
    ~Models() {
        for (const auto& p : {random, slow, scripted, scripted_think, scripted_tools, scripted_bytes}) std::filesystem::remove(p);
    }
};

const Models& models() {
    static Models m;
    return m;
}

struct TestServer {
    std::unique_ptr<Scheduler> sched;
    std::unique_ptr<OpenAiServer> server;
    std::thread thread;
    int port = 0;
    std::string kv_type = "f16";  // set before start()

    // Empty on success, else what failed. An empty `model`: a server of opt.embedder alone.
    std::string start(const std::string& model, int parallel, int n_ctx, ServerOptions opt = {}) {
        opt.port = 0;
        if (model.empty()) {
            server = std::make_unique<OpenAiServer>(opt);
            return listen();
        }
        SchedulerOptions so;
        so.model.path = model;
        so.model.n_ctx = n_ctx;
        so.model.kv_type = kv_type;
        so.model.backend = "cpu";
        so.model.n_threads = 2;
        so.n_parallel = parallel;
        auto s = Scheduler::create(so);
        if (!s.ok()) return s.message();
        sched = std::move(*s);
        server = std::make_unique<OpenAiServer>(*sched, opt, model);
        return listen();
    }
    std::string listen() {
        auto p = server->bind();
        if (!p.ok()) return p.message();
        port = *p;
        thread = std::thread([this] { server->run(); });
        // Ready once /health answers.
        for (int i = 0; i < 200; ++i) {
            httplib::Client c("127.0.0.1", port);
            if (auto r = c.Get("/health"); r && r->status == 200) return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return "the server did not answer /health";
    }
    ~TestServer() {
        if (server) server->stop();
        if (thread.joinable()) thread.join();
        server.reset();
        sched.reset();
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(120, 0);
        return c;
    }
};

struct Answer {
    int status = 0;
    json::Value body;
};

Answer post(const TestServer& s, const std::string& path, const std::string& body, const httplib::Headers& headers = {}) {
    auto c = s.client();
    auto r = c.Post(path.c_str(), headers, body, "application/json");
    Answer a;
    if (!r) return a;
    a.status = r->status;
    auto j = json::parse(r->body);
    if (j.ok()) a.body = *j;
    return a;
}

std::string chat_body(const std::string& user, int max_tokens, const std::string& extra = "") {
    json::Value m = json::Value::object();
    m.set("role", "user");
    m.set("content", user);
    json::Value msgs = json::Value::array();
    msgs.push_back(m);
    json::Value o = json::Value::object();
    o.set("messages", msgs);
    o.set("temperature", 0);
    o.set("max_tokens", max_tokens);
    std::string s = o.dump();
    if (!extra.empty()) s = s.substr(0, s.size() - 1) + ", " + extra + "}";
    return s;
}

// A streamed answer, parsed from its server-sent events.
struct Streamed {
    int status = 0;
    std::string content, reasoning, text, finish;
    json::Value usage, usage_chunk;
    json::Value tool_calls = json::Value::array();  // every delta's tool_calls, in order
    // Every chunk's log probabilities, in order: the chat form's entries, the completions form's lists.
    std::vector<json::Value> chat_logprobs;
    std::vector<json::Value> tokens, token_logprobs, text_offsets;
    // Per choice index: its content (chat) or text (completions), and its finish reason.
    std::map<int64_t, std::string> by_index, finish_by_index;
    int n_chunks = 0;
    bool done = false;        // "data: [DONE]" came last
    bool malformed = false;
};

Streamed stream(const TestServer& s, const std::string& path, const std::string& body,
                const std::function<bool(const Streamed&)>& keep_going = {}) {
    Streamed out;
    std::string buf;
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        buf.append(data, n);
        size_t end;
        while ((end = buf.find("\n\n")) != std::string::npos) {
            const std::string ev = buf.substr(0, end);
            buf.erase(0, end + 2);
            if (ev.rfind(":", 0) == 0) continue;  // a comment (keep-alive)
            if (ev.rfind("data: ", 0) != 0 || out.done) { out.malformed = true; continue; }
            const std::string payload = ev.substr(6);
            if (payload == "[DONE]") { out.done = true; continue; }
            auto j = json::parse(payload);
            if (!j.ok()) { out.malformed = true; continue; }
            ++out.n_chunks;
            if ((*j)["choices"].as_array().empty()) { out.usage_chunk = (*j)["usage"]; continue; }
            const json::Value& ch = (*j)["choices"].as_array()[0];
            const int64_t index = ch["index"].as_int();
            if (ch["delta"]["content"].is_string()) out.by_index[index] += ch["delta"]["content"].as_string();
            if (ch["text"].is_string()) out.by_index[index] += ch["text"].as_string();
            if (ch["finish_reason"].is_string()) out.finish_by_index[index] = ch["finish_reason"].as_string();
            if (ch["delta"]["content"].is_string()) out.content += ch["delta"]["content"].as_string();
            if (ch["delta"]["reasoning_content"].is_string()) out.reasoning += ch["delta"]["reasoning_content"].as_string();
            if (ch["text"].is_string()) out.text += ch["text"].as_string();
            for (const json::Value& c : ch["delta"]["tool_calls"].as_array()) out.tool_calls.push_back(c);
            for (const json::Value& e : ch["logprobs"]["content"].as_array()) out.chat_logprobs.push_back(e);
            for (const json::Value& t : ch["logprobs"]["tokens"].as_array()) out.tokens.push_back(t);
            for (const json::Value& t : ch["logprobs"]["token_logprobs"].as_array()) out.token_logprobs.push_back(t);
            for (const json::Value& t : ch["logprobs"]["text_offset"].as_array()) out.text_offsets.push_back(t);
            if (ch["finish_reason"].is_string()) out.finish = ch["finish_reason"].as_string();
            if (!(*j)["usage"].is_null()) out.usage = (*j)["usage"];
        }
        return !keep_going || keep_going(out);
    };
    auto c = s.client();
    auto r = c.send(req);
    if (r) out.status = r->status;
    return out;
}

std::string content_of(const Answer& a) { return a.body["choices"].as_array().empty() ? "" : a.body["choices"].as_array()[0]["message"]["content"].as_string(); }
std::string finish_of(const Answer& a) { return a.body["choices"].as_array().empty() ? "" : a.body["choices"].as_array()[0]["finish_reason"].as_string(); }

}  // namespace

// ---- the parts on their own ---------------------------------------------------------------------

TEST(ReasoningSplit, EverySplitPointGivesTheSameParts) {
    struct Case {
        bool opened;
        std::string text, reasoning, content;
    };
    const Case cases[] = {
        {false, "  <think>\nabc</think>\n\nxyz", "abc", "xyz"},
        {true, "abc</think>xyz", "abc", "xyz"},
        {true, "\nab</thin</think>\n</think>", "ab</thin", "</think>"},
        {false, "hello <think>x</think>", "", "hello <think>x</think>"},
        {false, "<think>unfinished", "unfinished", ""},
        {false, "<thin", "", "<thin"},
        {false, "", "", ""},
    };
    for (const Case& c : cases) {
        for (size_t cut1 = 0; cut1 <= c.text.size(); ++cut1)
            for (size_t cut2 = cut1; cut2 <= c.text.size(); ++cut2) {
                ReasoningSplitter s(c.opened);
                std::string r, k;
                for (auto piece : {c.text.substr(0, cut1), c.text.substr(cut1, cut2 - cut1), c.text.substr(cut2)}) {
                    auto d = s.feed(piece);
                    r += d.reasoning, k += d.content;
                }
                auto d = s.flush();
                r += d.reasoning, k += d.content;
                EXPECT_EQ(r, c.reasoning) << "'" << c.text << "' cut at " << cut1 << "," << cut2;
                EXPECT_EQ(k, c.content) << "'" << c.text << "' cut at " << cut1 << "," << cut2;
            }
    }
}

TEST(ApiRequest, ReadsTheFieldsAndNamesWrongOnes) {
    ApiRequest r;
    ASSERT_FALSE(parse_api_request(R"({"model":"m","messages":[{"role":"developer","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
        {"role":"user","content":"hi"},{"role":"assistant","content":null}],"temperature":0.5,"top_p":0.9,"max_completion_tokens":7,
        "stop":"END","seed":42,"stream":true,"stream_options":{"include_usage":true},"presence_penalty":0.5,"frequency_penalty":-0.5,
        "unknown_field":[1,2]})", true, &r));
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 3u);
    EXPECT_EQ(r.messages[0].role, "system");
    EXPECT_EQ(r.messages[0].content, "ab");
    EXPECT_EQ(r.max_tokens, 7);
    EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
    EXPECT_EQ(*r.seed, 42u);
    EXPECT_TRUE(r.stream && r.include_usage);
    EXPECT_FLOAT_EQ(r.temperature, 0.5f);

    const std::pair<const char*, const char*> bad[] = {
        {"{not json", ""},
        {"[1]", ""},
        {R"({"messages":"hi"})", "messages"},
        {R"({"messages":[]})", "messages"},
        {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
        {R"({"messages":[{"role":"function","content":"x"}]})", "messages[0].role"},  // "tool" is taken (tool results)
        {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", "messages[0].content[0].type"},
        {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
        {R"({"messages":[{"role":"user","content":"x"}],"temperature":3})", "temperature"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})", "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
        {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
        {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
        {R"({"messages":[{"role":"user","content":"x"}],"seed":"s"})", "seed"},
        {R"({"messages":[{"role":"user","content":"x"}],"n":0})", "n"},
        {R"({"messages":[{"role":"user","content":"x"}],"n":65})", "n"},
        {R"({"messages":[{"role":"user","content":"x"}],"model":7})", "model"},
        {R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}})", "stream_options.include_usage"},
        {R"({"messages":[{"role":"user","content":"x"}],"temperature":0,"temperature":1})", "temperature"},
        {R"({"messages":[{"role":"user","content":"x","role":"system"}]})", "messages[0].role"},
        {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"5":1,"5":2}})", "logit_bias.5"},
        {R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "top_logprobs"},
        {R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21})", "top_logprobs"},
        {R"({"messages":[{"role":"user","content":"x"}],"logprobs":1})", "logprobs"},
        {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"a":1}})", "logit_bias"},
        {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"-1":1}})", "logit_bias"},
        {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"5":101}})", "logit_bias"},
        {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":[1]})", "logit_bias"},
        {R"({"messages":[{"role":"user","content":"x"}],"top_k":-1})", "top_k"},
        {R"({"messages":[{"role":"user","content":"x"}],"min_p":2})", "min_p"},
        {R"({"messages":[{"role":"user","content":"x"}],"repeat_penalty":0})", "repeat_penalty"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0,"logprobs":true})", "max_tokens"},
    };
    for (auto [body, param] : bad) {
        auto e = parse_api_request(body, true, &r);
        ASSERT_TRUE(e) << body;
        EXPECT_EQ(e->status, 400);
        EXPECT_EQ(e->param, param) << body;
        EXPECT_FALSE(e->message.empty());
    }
    EXPECT_FALSE(parse_api_request(R"({"prompt":["one"]})", false, &r));
    ASSERT_EQ(r.prompts.size(), 1u);
    EXPECT_EQ(r.prompts[0].text, "one");
    EXPECT_TRUE(parse_api_request(R"({"prompt":3})", false, &r));

    // Log probabilities, logit bias, the llama.cpp/vLLM sampling fields, echo and token prompts.
    ASSERT_FALSE(parse_api_request(R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":4,
        "logit_bias":{"12":-100,"7":2.5},"top_k":5,"min_p":0.2,"repetition_penalty":1.2})", true, &r));
    EXPECT_EQ(r.logprobs, 4);
    EXPECT_EQ(r.logit_bias, (std::vector<std::pair<int32_t, float>>{{12, -100.0f}, {7, 2.5f}}));
    EXPECT_EQ(r.top_k, 5);
    EXPECT_FLOAT_EQ(r.min_p, 0.2f);
    EXPECT_FLOAT_EQ(r.repeat_penalty, 1.2f);
    ASSERT_FALSE(parse_api_request(R"({"messages":[{"role":"user","content":"x"}],"logprobs":true})", true, &r));
    EXPECT_EQ(r.logprobs, 0);
    ASSERT_FALSE(parse_api_request(R"({"messages":[{"role":"user","content":"x"}],"logprobs":false})", true, &r));
    EXPECT_EQ(r.logprobs, -1);
    ASSERT_FALSE(parse_api_request(R"({"prompt":[[1,2,3]],"logprobs":3,"echo":true,"max_tokens":0,"suffix":"","best_of":1})", false, &r));
    ASSERT_EQ(r.prompts.size(), 1u);
    EXPECT_TRUE(r.prompts[0].is_tokens);
    EXPECT_EQ(r.prompts[0].tokens, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(r.logprobs, 3);
    EXPECT_TRUE(r.echo);
    EXPECT_EQ(r.max_tokens, 0);
    const std::pair<const char*, const char*> bad_completion[] = {
        {R"({"prompt":"x","logprobs":21})", "logprobs"},
        {R"({"prompt":"x","logprobs":true})", "logprobs"},
        {R"({"prompt":"x","suffix":"after"})", "suffix"},
        {R"({"prompt":"x","best_of":3})", "best_of"},
        {R"({"prompt":"x","echo":1})", "echo"},
        {R"({"prompt":"x","max_tokens":0})", "max_tokens"},
        {R"({"prompt":"x","max_tokens":0,"echo":true})", "max_tokens"},
        {R"({"prompt":[1,-2]})", "prompt"},
        {R"({"prompt":[1,2.5]})", "prompt"},
        {R"({"prompt":[]})", "prompt"},
        {R"({"prompt":["a", 1]})", "prompt"},
        {R"({"prompt":["a", "b"], "n": 33})", "n"},
    };
    for (auto [body, param] : bad_completion) {
        auto e = parse_api_request(body, false, &r);
        ASSERT_TRUE(e) << body;
        EXPECT_EQ(e->param, param) << body;
    }
}

// Mutated request bodies parse or fail with a message; never a crash (ASan/UBSan run this).
TEST(ApiRequest, MutatedBodiesNeverCrash) {
    const std::string seeds[] = {
        R"({"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0.2,"max_tokens":5,"stop":["a","b"],"seed":1,"stream":true,"stream_options":{"include_usage":true}})",
        R"({"prompt":"Once upon","max_completion_tokens":3,"top_p":0.5,"presence_penalty":1,"n":1})",
    };
    std::mt19937 rng(7);
    int parsed = 0, refused = 0;
    for (int it = 0; it < 4000; ++it) {
        std::string m = seeds[it % 2];
        for (int k = 0, nk = 1 + int(rng() % 4); k < nk; ++k) {
            const size_t pos = rng() % m.size();
            switch (rng() % 4) {
            case 0: m[pos] = char(uint8_t(m[pos]) ^ uint8_t(1u << (rng() % 8))); break;
            case 1: m.erase(pos, 1 + rng() % 4); break;
            case 2: m.insert(pos, 1, "{}[]\":,0-e.\\u"[rng() % 14]); break;
            default: m[pos] = char(rng()); break;
            }
            if (m.empty()) m = "{";
        }
        if (rng() % 8 == 0) m.resize(rng() % m.size());
        ApiRequest r;
        auto e = parse_api_request(m, it % 2 == 0, &r);
        if (e) {
            ++refused;
            EXPECT_EQ(e->status, 400);
            EXPECT_FALSE(e->message.empty());
        } else {
            ++parsed;
        }
    }
    std::printf("4000 mutated request bodies: %d parsed, %d refused with a message\n", parsed, refused);
}

TEST(Scheduler, PrefixReuseQueueAndCancel) {
    ASSERT_EQ(models().error, "");
    SchedulerOptions so;
    so.model.path = models().random;
    so.model.n_ctx = 256;
    so.model.backend = "cpu";
    so.model.n_threads = 2;
    so.n_parallel = 1;
    so.prefill_chunk = 16;  // several chunks per prompt
    auto s = Scheduler::create(so);
    ASSERT_TRUE(s.ok()) << s.message();
    Scheduler& sched = **s;
    auto prompt = tokenize_prompt(sched.chat_format(), "a prompt long enough to take a few prefill chunks of sixteen tokens each", false);
    ASSERT_TRUE(prompt.ok());
    struct Run {
        std::promise<ServeEvent> done;
        std::string text;  // the loop thread's until `done` is set
        std::atomic<int> n_pieces{0};
        // Holds the loop thread for a moment after the second piece, so the test thread's cancel
        // lands mid-answer: a Release build of this tiny model writes 200 tokens in about a
        // millisecond, faster than the polling below can see two pieces (CI saw it finish first).
        bool pause_after_two = false;
    };
    auto submit = [&](Run& run, int max_tokens) {
        ServeRequest r;
        r.prompt = *prompt;
        r.sampling.temperature = 0;
        r.sampling.max_new_tokens = max_tokens;
        return sched.submit(r, [&run](const ServeEvent& e) {
            if (e.kind == ServeEvent::Kind::Text) {
                run.text += e.text;
                if (run.n_pieces.fetch_add(1) + 1 == 2 && run.pause_after_two) std::this_thread::sleep_for(std::chrono::milliseconds(200));
            } else {
                run.done.set_value(e);
            }
        });
    };
    Run a, b, c;
    ASSERT_TRUE(submit(a, 8).ok());
    ASSERT_TRUE(submit(b, 8).ok());  // waits for the one slot
    const ServeEvent ea = a.done.get_future().get(), eb = b.done.get_future().get();
    EXPECT_EQ(ea.finish, "length");
    EXPECT_EQ(ea.n_generated, 8);
    EXPECT_EQ(a.text, b.text);  // the same prompt, greedy: the same answer, from the cache or not
    EXPECT_EQ(ea.n_reused, 0);
    EXPECT_EQ(eb.n_reused, int(prompt->size()) - 1);  // all but the last prompt token came from the cache
    // Cancel mid-answer: the request ends "cancelled" long before its limit.
    c.pause_after_two = true;
    auto id = submit(c, 200);
    ASSERT_TRUE(id.ok());
    while (c.n_pieces.load() < 2 && sched.n_active() + sched.n_queued() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sched.cancel(*id);
    const ServeEvent ec = c.done.get_future().get();
    EXPECT_EQ(ec.finish, "cancelled");
    EXPECT_LT(ec.n_generated, 200);
    EXPECT_EQ(sched.n_active(), 0);
    // Requests that can never run are refused at once.
    ServeRequest too_long;
    too_long.prompt.assign(256, 5);
    EXPECT_FALSE(sched.submit(too_long, [](const ServeEvent&) {}).ok());
    ServeRequest bad_token;
    bad_token.prompt = {1, 99999};
    EXPECT_FALSE(sched.submit(bad_token, [](const ServeEvent&) {}).ok());
}

// ---- over HTTP ------------------------------------------------------------------------------------

TEST(Serve, ModelsHealthAndUnknownPaths) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 2, 256), "");
    auto c = s.client();
    auto r = c.Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    auto j = json::parse(r->body);
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)["data"].as_array()[0]["id"].as_string(), std::filesystem::path(models().random).stem().string());
    EXPECT_EQ((*j)["data"].as_array()[0]["max_model_len"].as_int(), 256);
    EXPECT_EQ((*j)["data"].as_array()[0]["meta"]["n_vocab"].as_int(), s.sched->info().n_vocab);
    EXPECT_EQ((*j)["data"].as_array()[0]["meta"]["architecture"].as_string(), "llama");
    r = c.Get("/health");
    ASSERT_TRUE(r);
    j = json::parse(r->body);
    EXPECT_EQ((*j)["slots_idle"].as_int(), 2);
    r = c.Get("/v1/nothing");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_TRUE(json::parse(r->body)->find("error"));
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));  // no CORS unless asked
}

TEST(Serve, StreamedDeltasEqualTheWholeAnswer) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 2, 256), "");
    const std::string body = chat_body("Tell me a story about a lighthouse.", 24);
    const Answer whole = post(s, "/v1/chat/completions", body);
    ASSERT_EQ(whole.status, 200) << whole.body.dump();
    EXPECT_EQ(whole.body["object"].as_string(), "chat.completion");
    const int n = int(whole.body["usage"]["completion_tokens"].as_int());
    EXPECT_GT(whole.body["usage"]["prompt_tokens"].as_int(), 0);
    EXPECT_EQ(whole.body["usage"]["total_tokens"].as_int(), whole.body["usage"]["prompt_tokens"].as_int() + n);

    const Streamed st = stream(s, "/v1/chat/completions", body.substr(0, body.size() - 1) +
                                                               R"(, "stream": true, "stream_options": {"include_usage": true}})");
    EXPECT_EQ(st.status, 200);
    EXPECT_TRUE(st.done);
    EXPECT_FALSE(st.malformed);
    EXPECT_EQ(st.content, content_of(whole));
    EXPECT_EQ(st.finish, finish_of(whole));
    EXPECT_EQ(st.usage["completion_tokens"].as_int(), n);
    EXPECT_EQ(st.usage_chunk["completion_tokens"].as_int(), n);

    // The completions endpoint likewise.
    const std::string cbody = R"({"prompt": "The lighthouse keeper", "temperature": 0, "max_tokens": 16})";
    const Answer cw = post(s, "/v1/completions", cbody);
    ASSERT_EQ(cw.status, 200);
    const Streamed cs = stream(s, "/v1/completions", R"({"prompt": "The lighthouse keeper", "temperature": 0, "max_tokens": 16, "stream": true})");
    EXPECT_TRUE(cs.done);
    EXPECT_EQ(cs.text, cw.body["choices"].as_array()[0]["text"].as_string());
    EXPECT_EQ(cs.usage["completion_tokens"].as_int(), cw.body["usage"]["completion_tokens"].as_int());
}

TEST(Serve, EightConcurrentStreamsGiveTheirTextsAlone) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 8, 256), "");
    std::vector<std::string> bodies, alone;
    for (int i = 0; i < 8; ++i) {
        bodies.push_back(chat_body("Question " + std::to_string(i) + ": what comes next in " + std::string(size_t(i * 5), 'z') + "?", 20));
        const Answer a = post(s, "/v1/chat/completions", bodies.back());
        ASSERT_EQ(a.status, 200);
        alone.push_back(content_of(a));
    }
    std::vector<std::future<Streamed>> futures;
    const auto t0 = Clock::now();
    for (int i = 0; i < 8; ++i)
        futures.push_back(std::async(std::launch::async, [&, i] {
            return stream(s, "/v1/chat/completions", bodies[size_t(i)].substr(0, bodies[size_t(i)].size() - 1) + R"(, "stream": true})");
        }));
    int distinct = 0;
    for (int i = 0; i < 8; ++i) {
        const Streamed st = futures[size_t(i)].get();
        EXPECT_TRUE(st.done) << i;
        EXPECT_EQ(st.content, alone[size_t(i)]) << "stream " << i;
        distinct += alone[size_t(i)] != alone[0] ? 1 : 0;
    }
    std::printf("8 concurrent streams in %.2f s\n", seconds_since(t0));
    EXPECT_GT(distinct, 0);  // the prompts differ, so must (some of) the answers
}

// Sampling at a temperature follows the request's seed: the same seed gives the same answer, alone
// or beside other requests, and another seed (most likely) another.
TEST(Serve, SeedMakesSampledAnswersRepeatable) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 4, 256), "");
    auto body = [](int seed) {
        return R"({"messages": [{"role": "user", "content": "Say something."}], "temperature": 1.0, "top_p": 0.9, "max_tokens": 24,
                   "presence_penalty": 0.5, "frequency_penalty": 0.5, "seed": )" + std::to_string(seed) + "}";
    };
    const std::string a = content_of(post(s, "/v1/chat/completions", body(123)));
    std::vector<std::future<Answer>> f;
    for (int seed : {123, 123, 456, 789}) f.push_back(std::async(std::launch::async, [&, seed] { return post(s, "/v1/chat/completions", body(seed)); }));
    const std::string b = content_of(f[0].get()), c = content_of(f[1].get()), d = content_of(f[2].get()), e = content_of(f[3].get());
    EXPECT_FALSE(a.empty());
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, c);
    EXPECT_TRUE(d != a || e != a) << "three seeds gave the same sampled text";
}

TEST(Serve, DisconnectMidStreamFreesTheSlot) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().slow, 1, 4096), "");
    Clock::time_point cut;
    const Streamed st = stream(s, "/v1/chat/completions", chat_body("Go on and on.", 4000, R"("stream": true)"),
                               [&](const Streamed& so_far) {
                                   if (so_far.n_chunks < 6) return true;
                                   cut = Clock::now();
                                   return false;  // hang up
                               });
    EXPECT_FALSE(st.done);
    // The one slot is free at once: /health says so, and a new request is answered without waiting
    // for the 4000 tokens the first one asked for.
    double freed = -1;
    while (seconds_since(cut) < 5) {
        if (s.sched->n_active() == 0) {
            freed = seconds_since(cut);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_GE(freed, 0) << "the slot was not freed";
    EXPECT_LT(freed, 1.0);
    const auto t1 = Clock::now();
    const Answer next = post(s, "/v1/chat/completions", chat_body("Hi", 2));
    EXPECT_EQ(next.status, 200);
    std::printf("slot freed %.3f s after the disconnect; the next request answered in %.3f s\n", freed, seconds_since(t1));
    auto h = s.client().Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ((*json::parse(h->body))["slots_processing"].as_int(), 0);
}

TEST(Serve, ErrorsHaveOpenAisShapeAndStatus) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 1, 128), "");
    auto check = [&](const std::string& path, const std::string& body, int status, const std::string& param, const std::string& code) {
        const Answer a = post(s, path, body);
        EXPECT_EQ(a.status, status) << body;
        const json::Value& e = a.body["error"];
        ASSERT_TRUE(e.is_object()) << body;
        EXPECT_TRUE(e["message"].is_string() && !e["message"].as_string().empty());
        EXPECT_TRUE(e["type"].is_string());
        EXPECT_TRUE(e.find("param") && e.find("code"));
        EXPECT_EQ(e["param"].is_null() ? "" : e["param"].as_string(), param) << body;
        EXPECT_EQ(e["code"].is_null() ? "" : e["code"].as_string(), code) << body;
    };
    check("/v1/chat/completions", "{\"messages\": [", 400, "", "");
    check("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"})", 400, "max_tokens", "");
    check("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "temperature": []})", 400, "temperature", "");
    check("/v1/completions", R"({"prompt": {"text": "x"}})", 400, "prompt", "");
    check("/v1/chat/completions", R"({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]})", 404, "model", "model_not_found");
    // Over-long prompts are refused, never silently cut.
    const std::string words = [] {
        std::string w;
        for (int i = 0; i < 200; ++i) w += "word" + std::to_string(i) + " ";
        return w;
    }();
    check("/v1/chat/completions", chat_body(words, 4), 400, "messages", "context_length_exceeded");
    check("/v1/completions", R"({"prompt": ")" + words + R"(", "max_tokens": 4})", 400, "prompt", "context_length_exceeded");
    // An empty or absent model means the loaded one.
    EXPECT_EQ(post(s, "/v1/chat/completions", R"({"model": "", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2})").status, 200);
}

TEST(Serve, MaxTokensStopStringsAndReasoning) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().scripted, 2, 256), "");
    // The scripted model answers "reas</think>OK" and ends.
    Answer a = post(s, "/v1/chat/completions", chat_body("Hello", 100));
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(content_of(a), "reas</think>OK");  // no <think> opened: it is all content
    EXPECT_EQ(finish_of(a), "stop");
    EXPECT_EQ(a.body["usage"]["completion_tokens"].as_int(), 14);
    // max_tokens: finish "length" with exactly that many tokens.
    a = post(s, "/v1/chat/completions", chat_body("Hello", 3));
    EXPECT_EQ(content_of(a), "rea");
    EXPECT_EQ(finish_of(a), "length");
    EXPECT_EQ(a.body["usage"]["completion_tokens"].as_int(), 3);
    a = post(s, "/v1/completions", R"({"prompt": "x\n", "temperature": 0, "max_tokens": 5})");
    EXPECT_EQ(a.body["choices"].as_array()[0]["finish_reason"].as_string(), "length");
    EXPECT_EQ(a.body["usage"]["completion_tokens"].as_int(), 5);
    // Stop strings: the text before the first one, finish "stop"; streamed alike.
    a = post(s, "/v1/chat/completions", chat_body("Hello", 100, R"("stop": ["zzz", "as<"])"));
    EXPECT_EQ(content_of(a), "re");
    EXPECT_EQ(finish_of(a), "stop");
    Streamed st = stream(s, "/v1/chat/completions", chat_body("Hello", 100, R"("stop": "k>", "stream": true)"));
    EXPECT_EQ(st.content, "reas</thin");
    EXPECT_EQ(st.finish, "stop");

    // A template that opens <think>: the reasoning goes to reasoning_content, streamed or not.
    TestServer t;
    ASSERT_EQ(t.start(models().scripted_think, 1, 256), "");
    a = post(t, "/v1/chat/completions", chat_body("Hello", 100));
    ASSERT_EQ(a.status, 200);
    const json::Value& msg = a.body["choices"].as_array()[0]["message"];
    EXPECT_EQ(msg["reasoning_content"].as_string(), "reas");
    EXPECT_EQ(msg["content"].as_string(), "OK");
    st = stream(t, "/v1/chat/completions", chat_body("Hello", 100, R"("stream": true)"));
    EXPECT_EQ(st.reasoning, "reas");
    EXPECT_EQ(st.content, "OK");
    EXPECT_TRUE(st.done);
}

// response_format: a random-weight model's answers, sampled, are JSON the schema admits (the
// schema bounds every part, so each answer ends by itself); a schema the server cannot enforce (and
// top_logprobs without logprobs) are errors; a reasoning model thinks freely, then answers JSON.
TEST(Serve, ResponseFormatAnswersAreJsonTheSchemaAdmits) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 2, 2048), "");
    const std::string schema = R"({"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer"},
        "tags": {"type": "array", "items": {"enum": ["x", "y"]}, "maxItems": 3}, "name": {"type": "string", "maxLength": 6}},
        "required": ["ok", "n", "tags", "name"]})";
    const std::string rf = R"("response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": )" + schema + "}}";
    std::set<std::string> texts;
    for (int seed = 1; seed <= 4; ++seed) {
        const std::string extra = rf + R"(, "seed": )" + std::to_string(seed);
        const auto sampled = [](std::string body) {  // chat_body's is greedy
            const size_t at = body.find("\"temperature\": 0");
            return body.replace(at, 16, "\"temperature\": 1.0");
        };
        const Answer a = post(s, "/v1/chat/completions", sampled(chat_body("Hello", 1800, extra)));
        ASSERT_EQ(a.status, 200) << a.body.dump();
        EXPECT_EQ(finish_of(a), "stop");
        const std::string text = content_of(a);
        auto v = json::parse(text);
        ASSERT_TRUE(v.ok()) << text << ": " << v.message();
        ASSERT_TRUE(v->is_object()) << text;
        EXPECT_EQ(v->size(), 4u) << text;  // the four required keys, nothing else
        EXPECT_TRUE((*v)["ok"].is_bool()) << text;
        EXPECT_TRUE((*v)["n"].is_number()) << text;
        EXPECT_TRUE((*v)["tags"].is_array() && (*v)["tags"].size() <= 3) << text;
        for (const auto& t : (*v)["tags"].as_array()) EXPECT_TRUE(t.is_string() && (t.as_string() == "x" || t.as_string() == "y")) << text;
        EXPECT_TRUE((*v)["name"].is_string()) << text;
        // Streamed, the same seed gives the same text.
        const Streamed st = stream(s, "/v1/chat/completions", sampled(chat_body("Hello", 1800, extra + R"(, "stream": true)")));
        EXPECT_EQ(st.content, text);
        texts.insert(text);
    }
    EXPECT_EQ(texts.size(), 4u);  // sampled, not greedy
    // json_object: any object, on the completions endpoint too.
    Answer a = post(s, "/v1/completions", R"({"prompt": "x", "max_tokens": 1500, "temperature": 0.8, "seed": 5, "response_format": {"type": "json_object"}})");
    ASSERT_EQ(a.status, 200);
    const std::string text = a.body["choices"].as_array()[0]["text"].as_string();
    EXPECT_EQ(a.body["choices"].as_array()[0]["finish_reason"].as_string(), "stop") << text;
    auto obj = json::parse(text);
    EXPECT_TRUE(obj.ok() && obj->is_object()) << text;

    auto refused = [&](const std::string& extra, const std::string& param, const std::string& words) {
        const Answer r = post(s, "/v1/chat/completions", chat_body("Hello", 4, extra));
        EXPECT_EQ(r.status, 400) << extra;
        EXPECT_EQ(r.body["error"]["param"].is_string() ? r.body["error"]["param"].as_string() : "", param) << extra;
        EXPECT_NE(r.body["error"]["message"].as_string().find(words), std::string::npos) << r.body.dump();
    };
    refused(R"("response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "string", "pattern": "^a"}}})",
            "response_format", "'pattern' is not supported");
    refused(R"("response_format": {"type": "xml"})", "response_format", "must be text, json_object or json_schema");
    refused(R"("response_format": {"type": "json_schema"})", "response_format", "json_schema");
    refused(R"("top_logprobs": 3)", "top_logprobs", "needs 'logprobs': true");
    EXPECT_EQ(post(s, "/v1/chat/completions", chat_body("Hello", 2, R"("logprobs": false, "response_format": {"type": "text"})")).status, 200);

    // The reasoning model: "reas" is thought freely; after </think> its "OK" is refused, and the
    // answer begins an object instead.
    TestServer t;
    ASSERT_EQ(t.start(models().scripted_think, 1, 512), "");
    a = post(t, "/v1/chat/completions", chat_body("Hello", 300, R"("response_format": {"type": "json_object"})"));
    ASSERT_EQ(a.status, 200);
    const json::Value& msg = a.body["choices"].as_array()[0]["message"];
    EXPECT_EQ(msg["reasoning_content"].as_string(), "reas");
    const std::string content = msg["content"].as_string();
    ASSERT_FALSE(content.empty());
    EXPECT_EQ(content[0], '{') << content;
    if (finish_of(a) == "stop") EXPECT_TRUE(json::parse(content).ok()) << content;
}

// tools: the model's Hermes call comes back as tool_calls (whole and streamed alike, the text
// before it as content), a conversation that carries the call and its result renders, and what
// cannot be honoured is refused.
TEST(Serve, ToolCallsComeBackAsToolCalls) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().scripted_tools, 1, 1024), "");
    const std::string tools = R"("tools": [{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])";
    Answer a = post(s, "/v1/chat/completions", chat_body("Weather in Paris?", 50, tools));
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(finish_of(a), "tool_calls");
    const json::Value& msg = a.body["choices"].as_array()[0]["message"];
    EXPECT_EQ(msg["content"].as_string(), "Let me check.");
    ASSERT_EQ(msg["tool_calls"].size(), 1u) << a.body.dump();
    const json::Value& call = msg["tool_calls"].as_array()[0];
    EXPECT_EQ(call["type"].as_string(), "function");
    EXPECT_EQ(call["id"].as_string().size(), 9u);
    EXPECT_EQ(call["function"]["name"].as_string(), "get_weather");
    auto args = json::parse(call["function"]["arguments"].as_string());  // a string holding JSON, as OpenAI's
    ASSERT_TRUE(args.ok());
    EXPECT_EQ((*args)["city"].as_string(), "Paris");

    const Streamed st = stream(s, "/v1/chat/completions", chat_body("Weather in Paris?", 50, tools + R"(, "stream": true)"));
    EXPECT_FALSE(st.malformed);
    EXPECT_EQ(st.content, "Let me check.");
    ASSERT_EQ(st.tool_calls.size(), 1u);
    EXPECT_EQ(st.tool_calls.as_array()[0]["index"].as_int(), 0);
    EXPECT_EQ(st.tool_calls.as_array()[0]["function"]["arguments"].as_string(), call["function"]["arguments"].as_string());
    EXPECT_EQ(st.finish, "tool_calls");
    EXPECT_TRUE(st.done);

    // Without tools the same answer is plain text.
    a = post(s, "/v1/chat/completions", chat_body("Weather in Paris?", 50));
    EXPECT_EQ(finish_of(a), "stop");
    EXPECT_EQ(content_of(a).substr(0, 24), "Let me check.<tool_call>");

    // The next turn: the call and its result go back to the model through its template.
    const std::string next = R"({"messages": [{"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "a1B2c3D4e", "type": "function",
          "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "a1B2c3D4e", "content": "18 C"}], "max_tokens": 3, "temperature": 0, )" + tools + "}";
    a = post(s, "/v1/chat/completions", next);
    EXPECT_EQ(a.status, 200) << a.body.dump();

    auto refused = [&](const TestServer& server, const std::string& extra, const std::string& param) {
        const Answer r = post(server, "/v1/chat/completions", chat_body("Hi", 4, extra));
        EXPECT_EQ(r.status, 400) << extra;
        EXPECT_EQ(r.body["error"]["param"].is_string() ? r.body["error"]["param"].as_string() : "", param) << r.body.dump();
    };
    refused(s, tools + R"(, "tool_choice": {"type": "function", "function": {"name": "get_time"}})", "tool_choice");
    refused(s, R"("tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string", "pattern": "x"}}}],
                  "tool_choice": "required")", "tools");

    // A forced call: the model would write "Let me check." first; it must call, with a city the
    // parameters allow, streamed or whole.
    const std::string forced = R"("tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
        "properties": {"city": {"enum": ["Paris", "Rome"]}}, "required": ["city"]}}}], "tool_choice": "required")";
    for (bool streamed : {false, true}) {
        json::Value calls;
        std::string finish, content;
        if (streamed) {
            const Streamed f = stream(s, "/v1/chat/completions", chat_body("Weather?", 1000, forced + R"(, "stream": true)"));
            calls = f.tool_calls, finish = f.finish, content = f.content;
        } else {
            const Answer f = post(s, "/v1/chat/completions", chat_body("Weather?", 1000, forced));
            ASSERT_EQ(f.status, 200) << f.body.dump();
            const json::Value& m = f.body["choices"].as_array()[0]["message"];
            calls = m["tool_calls"], finish = finish_of(f), content = m["content"].is_string() ? m["content"].as_string() : "";
        }
        EXPECT_EQ(finish, "tool_calls");
        EXPECT_EQ(content, "");
        ASSERT_EQ(calls.size(), 1u);
        EXPECT_EQ(calls.as_array()[0]["function"]["name"].as_string(), "get_weather");
        auto forced_args = json::parse(calls.as_array()[0]["function"]["arguments"].as_string());
        ASSERT_TRUE(forced_args.ok());
        const std::string city = (*forced_args)["city"].as_string();
        EXPECT_TRUE(city == "Paris" || city == "Rome") << city;
    }
    refused(s, tools + R"(, "response_format": {"type": "json_object"})", "response_format");
    TestServer plain;  // ChatML, which shows the model no tools
    ASSERT_EQ(plain.start(models().random, 1, 256), "");
    refused(plain, tools, "tools");
}

// ---- log probabilities, logit bias, echo ---------------------------------------------------------

namespace {
std::vector<std::string> chat_tokens(const json::Value& entries) {
    std::vector<std::string> out;
    for (const json::Value& e : entries.as_array()) out.push_back(e["token"].as_string());
    return out;
}
std::vector<std::string> chat_tokens(const std::vector<json::Value>& entries) {
    std::vector<std::string> out;
    for (const json::Value& e : entries) out.push_back(e["token"].as_string());
    return out;
}
// The tokens' texts joined, with OpenAI's "bytes:\xNN…" tokens (part of a character) as their bytes.
std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
        if (x.rfind("bytes:", 0) != 0) {
            s += x;
            continue;
        }
        for (size_t i = 6; i + 4 <= x.size(); i += 4) s += char(std::stoi(x.substr(i + 2, 2), nullptr, 16));
    }
    return s;
}
const json::Value& choice0(const Answer& a) { return a.body["choices"].as_array()[0]; }
}  // namespace

// The prompt's and the answer's log probabilities against the shared data's exact logits (float64
// math): the server scores a reference model's 38-token prompt (echo, max_tokens 1) and its greedy
// token. Tolerance: F32 weights and KV cache move logits by at most 2e-3 (the data's README), and a
// log-softmax value by at most twice that. Streamed, the same lists.
TEST(Serve, LogprobsMatchTheReferenceLogits) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::vector<int32_t> prompt = test::read_prompt(dir);
    ASSERT_EQ(prompt.size(), 38u);
    const std::vector<float> exact = test::read_f32(dir + "/reference/ref-llama-f32.exact.f32");
    ASSERT_EQ(exact.size(), size_t(test::kReferenceRows) * test::kReferenceVocab);
    const int V = test::kReferenceVocab;
    auto exact_logprob = [&](int row, int32_t tok) {
        const float* x = exact.data() + size_t(row) * V;
        double mx = x[0], sum = 0;
        for (int i = 0; i < V; ++i) mx = std::max(mx, double(x[i]));
        for (int i = 0; i < V; ++i) sum += std::exp(double(x[i]) - mx);
        return double(x[tok]) - mx - std::log(sum);
    };
    TestServer s;
    s.kv_type = "f32";
    ASSERT_EQ(s.start(dir + "/reference/ref-llama-f32.gguf", 2, 256), "");
    json::Value ids = json::Value::array();
    for (int32_t t : prompt) ids.push_back(int64_t(t));
    const std::string body = R"({"prompt": )" + ids.dump() + R"(, "echo": true, "logprobs": 5, "max_tokens": 1, "temperature": 0})";
    const Answer a = post(s, "/v1/completions", body);
    ASSERT_EQ(a.status, 200) << a.body.dump();
    const json::Value& lp = choice0(a)["logprobs"];
    ASSERT_EQ(lp["tokens"].size(), 39u) << lp.dump();
    ASSERT_EQ(lp["token_logprobs"].size(), 39u);
    EXPECT_TRUE(lp["token_logprobs"].as_array()[0].is_null());  // nothing predicts the first token
    EXPECT_TRUE(lp["top_logprobs"].as_array()[0].is_null());
    EXPECT_EQ(a.body["usage"]["prompt_tokens"].as_int(), 38);
    EXPECT_EQ(a.body["usage"]["completion_tokens"].as_int(), 1);
    // Rows 0..6 hold positions 30..36: the distributions of prompt tokens 31..37.
    for (int r = 0; r < 7; ++r)
        EXPECT_NEAR(lp["token_logprobs"].as_array()[size_t(31 + r)].as_double(), exact_logprob(r, prompt[size_t(31 + r)]), 4e-3)
            << "prompt token " << 31 + r;
    // Row 7 (position 37): the greedy answer token is its argmax, its top 5 the row's top 5.
    const float* last = exact.data() + size_t(7) * V;
    std::vector<int32_t> order(static_cast<size_t>(V));
    for (int i = 0; i < V; ++i) order[size_t(i)] = i;
    std::partial_sort(order.begin(), order.begin() + 5, order.end(), [&](int32_t x, int32_t y) { return last[x] > last[y]; });
    EXPECT_NEAR(lp["token_logprobs"].as_array()[38].as_double(), exact_logprob(7, order[0]), 4e-3);
    const json::Value& top = lp["top_logprobs"].as_array()[38];
    double previous = 0;
    for (int k = 0; k < 5; ++k) {
        const std::string piece = s.sched->tokenizer().token_to_piece(order[size_t(k)]);
        ASSERT_TRUE(top.find(piece)) << piece << " in " << top.dump();
        EXPECT_NEAR(top[piece].as_double(), exact_logprob(7, order[size_t(k)]), 4e-3);
        EXPECT_LE(top[piece].as_double(), previous + 1e-6);
        previous = top[piece].as_double();
    }
    EXPECT_EQ(lp["tokens"].as_array()[38].as_string(), s.sched->tokenizer().token_to_piece(order[0]));
    // Offsets: where each token's text begins in the returned text (BOS renders as nothing).
    const std::string text = choice0(a)["text"].as_string();
    EXPECT_EQ(lp["text_offset"].as_array()[0].as_int(), 0);
    EXPECT_EQ(lp["text_offset"].as_array()[1].as_int(), 0);
    EXPECT_EQ(text, joined([&] {
                  std::vector<std::string> v;
                  for (const json::Value& t : lp["tokens"].as_array()) v.push_back(t.as_string());
                  return v;
              }()));
    // Streamed: the prompt's text and scores first, then the answer's; the same values in order.
    const Streamed st = stream(s, "/v1/completions", body.substr(0, body.size() - 1) + R"(, "stream": true})");
    ASSERT_TRUE(st.done);
    EXPECT_EQ(st.text, text);
    ASSERT_EQ(st.token_logprobs.size(), 39u);
    for (size_t i = 0; i < 39; ++i) {
        EXPECT_EQ(st.tokens[i].as_string(), lp["tokens"].as_array()[i].as_string());
        // (The second request takes the first's scored prompt from the slot and evaluates only the
        // last position again: F32 weights move that row by float rounding, context.h.)
        const json::Value& x = st.token_logprobs[i];
        const json::Value& y = lp["token_logprobs"].as_array()[i];
        if (x.is_null() || y.is_null()) EXPECT_EQ(x.is_null(), y.is_null()) << i;
        else EXPECT_NEAR(x.as_double(), y.as_double(), 1e-5) << i;
        EXPECT_EQ(st.text_offsets[i].as_int(), lp["text_offset"].as_array()[i].as_int()) << i;
    }
    // Scoring only: max_tokens 0 with echo and logprobs; 0 otherwise is an error.
    const Answer scored = post(s, "/v1/completions", R"({"prompt": )" + ids.dump() + R"(, "echo": true, "logprobs": 0, "max_tokens": 0})");
    ASSERT_EQ(scored.status, 200) << scored.body.dump();
    EXPECT_EQ(choice0(scored)["logprobs"]["tokens"].size(), 38u);
    EXPECT_EQ(choice0(scored)["finish_reason"].as_string(), "length");
    EXPECT_EQ(scored.body["usage"]["completion_tokens"].as_int(), 0);
    for (size_t i = 1; i < 38; ++i)
        EXPECT_EQ(choice0(scored)["logprobs"]["token_logprobs"].as_array()[i].dump(), lp["token_logprobs"].as_array()[i].dump());
    EXPECT_EQ(post(s, "/v1/completions", R"({"prompt": "x", "max_tokens": 0})").status, 400);
}

// The entries follow the text: one per answer token (not the end-of-generation token), whole and
// streamed alike; a stop string drops the tokens inside it but keeps the one it cuts; a character
// split across tokens shows as OpenAI's "bytes:" tokens with the exact bytes; a reasoning model's
// entries cover its thinking and its answer.
TEST(Serve, LogprobsFollowTheTextThroughStopsAndSplitCharacters) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().scripted, 2, 256), "");
    Answer a = post(s, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true, "top_logprobs": 2)"));
    ASSERT_EQ(a.status, 200) << a.body.dump();
    const json::Value& entries = choice0(a)["logprobs"]["content"];
    EXPECT_EQ(joined(chat_tokens(entries)), "reas</think>OK");
    EXPECT_EQ(int64_t(entries.size()), a.body["usage"]["completion_tokens"].as_int());
    for (const json::Value& e : entries.as_array()) {
        // Greedy over a scripted model: the chosen token is the most likely one.
        ASSERT_EQ(e["top_logprobs"].size(), 2u);
        EXPECT_EQ(e["top_logprobs"].as_array()[0]["token"].as_string(), e["token"].as_string());
        EXPECT_EQ(e["top_logprobs"].as_array()[0]["logprob"].as_double(), e["logprob"].as_double());
        EXPECT_LE(e["logprob"].as_double(), 0.0);
        EXPECT_GE(e["top_logprobs"].as_array()[0]["logprob"].as_double(), e["top_logprobs"].as_array()[1]["logprob"].as_double());
    }
    Streamed st = stream(s, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true, "top_logprobs": 2, "stream": true)"));
    ASSERT_EQ(st.chat_logprobs.size(), entries.size());
    for (size_t i = 0; i < st.chat_logprobs.size(); ++i) EXPECT_EQ(st.chat_logprobs[i].dump(), entries.as_array()[i].dump());
    // Stop "as<": "re" is the answer; "a", "s" and "<" are the stop string's, so no entries.
    a = post(s, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true, "stop": "as<")"));
    EXPECT_EQ(content_of(a), "re");
    EXPECT_EQ(chat_tokens(choice0(a)["logprobs"]["content"]), (std::vector<std::string>{"r", "e"}));
    st = stream(s, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true, "stop": "as<", "stream": true)"));
    EXPECT_EQ(chat_tokens(st.chat_logprobs), (std::vector<std::string>{"r", "e"}));
    // Without logprobs there are none.
    a = post(s, "/v1/chat/completions", chat_body("Hello", 100));
    EXPECT_TRUE(choice0(a)["logprobs"].is_null());

    // A token the stop string cuts: "Let me check." stopped at "check" still has its entry.
    TestServer t;
    ASSERT_EQ(t.start(models().scripted_tools, 1, 256), "");
    a = post(t, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true, "stop": "check")"));
    EXPECT_EQ(content_of(a), "Let me ");
    EXPECT_EQ(chat_tokens(choice0(a)["logprobs"]["content"]), (std::vector<std::string>{"Let me check."}));

    // A split character: the two bytes of "é" are two tokens.
    TestServer b;
    ASSERT_EQ(b.start(models().scripted_bytes, 1, 256), "");
    a = post(b, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true)"));
    EXPECT_EQ(content_of(a), "n\xC3\xA9!");
    const json::Value& be = choice0(a)["logprobs"]["content"];
    EXPECT_EQ(chat_tokens(be), (std::vector<std::string>{"n", "bytes:\\xc3", "bytes:\\xa9", "!"}));
    ASSERT_EQ(be.size(), 4u);
    EXPECT_EQ(be.as_array()[1]["bytes"].dump(), "[195]");
    EXPECT_EQ(be.as_array()[2]["bytes"].dump(), "[169]");
    st = stream(b, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true, "stream": true)"));
    EXPECT_EQ(st.content, "n\xC3\xA9!");
    EXPECT_EQ(chat_tokens(st.chat_logprobs), chat_tokens(be));
    // The completions form: offsets in characters of the text ("é" is one).
    a = post(b, "/v1/completions", R"({"prompt": "x\n", "temperature": 0, "max_tokens": 10, "logprobs": 1})");
    const json::Value& cl = choice0(a)["logprobs"];
    EXPECT_EQ(cl["text_offset"].dump(), "[0, 1, 2, 2]");
    EXPECT_EQ(cl["tokens"].as_array()[1].as_string(), "bytes:\\xc3");

    // A reasoning model: the entries cover the thinking and the answer, in order.
    TestServer r;
    ASSERT_EQ(r.start(models().scripted_think, 1, 256), "");
    a = post(r, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true)"));
    EXPECT_EQ(choice0(a)["message"]["reasoning_content"].as_string(), "reas");
    EXPECT_EQ(joined(chat_tokens(choice0(a)["logprobs"]["content"])), "reas</think>OK");
    st = stream(r, "/v1/chat/completions", chat_body("Hello", 100, R"("logprobs": true, "stream": true)"));
    EXPECT_EQ(joined(chat_tokens(st.chat_logprobs)), "reas</think>OK");
}

// logit_bias steers a random model's greedy answer (+100: that token every time; -100: never the
// token it chose before); llama.cpp's and vLLM's sampling fields are taken; echo returns the
// prompt, and a prompt of token ids is used as given.
TEST(Serve, LogitBiasEchoAndTokenPrompts) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 1, 256), "");
    const std::string base = R"({"prompt": "The lighthouse keeper", "temperature": 0, "max_tokens": 6, "logprobs": 0)";
    Answer a = post(s, "/v1/completions", base + "}");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    const std::string first = choice0(a)["logprobs"]["tokens"].as_array()[0].as_string();
    // The id of that first token: the one whose piece it is among those the top list would name.
    int32_t first_id = -1;
    for (int32_t id = 0; id < s.sched->info().n_vocab && first_id < 0; ++id)
        if (s.sched->tokenizer().token_to_piece(id) == first) first_id = id;
    ASSERT_GE(first_id, 0);
    a = post(s, "/v1/completions", base + R"(, "logit_bias": {")" + std::to_string(first_id) + R"(": -100}})");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    for (const json::Value& t : choice0(a)["logprobs"]["tokens"].as_array()) EXPECT_NE(t.as_string(), first);
    const int32_t forced = 300;
    a = post(s, "/v1/completions", base + R"(, "logit_bias": {")" + std::to_string(forced) + R"(": 100}})");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    std::string six;
    for (int i = 0; i < 6; ++i) six += s.sched->tokenizer().token_to_piece(forced);
    EXPECT_EQ(choice0(a)["text"].as_string(), six);
    // The extensions: accepted, and top_k 1 is greedy even at temperature 1.
    a = post(s, "/v1/completions", R"({"prompt": "The lighthouse keeper", "temperature": 1, "top_k": 1, "min_p": 0.1,
                                       "repeat_penalty": 1.0, "max_tokens": 6, "seed": 9})");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    const std::string greedy = choice0(post(s, "/v1/completions", base + "}"))["text"].as_string();
    EXPECT_EQ(choice0(a)["text"].as_string(), greedy);
    // echo: the prompt, then the answer; streamed, the prompt is the first chunk.
    a = post(s, "/v1/completions", R"({"prompt": "The lighthouse keeper", "temperature": 0, "max_tokens": 6, "echo": true})");
    EXPECT_EQ(choice0(a)["text"].as_string(), "The lighthouse keeper" + greedy);
    Streamed st = stream(s, "/v1/completions", R"({"prompt": "The lighthouse keeper", "temperature": 0, "max_tokens": 6, "echo": true, "stream": true})");
    EXPECT_EQ(st.text, "The lighthouse keeper" + greedy);
    // Token ids: the same prompt's ids give the same answer; an id outside the vocabulary is a 400.
    std::vector<int32_t> ids = *tokenize_prompt(s.sched->chat_format(), "The lighthouse keeper", true);
    json::Value arr = json::Value::array();
    for (int32_t t : ids) arr.push_back(int64_t(t));
    a = post(s, "/v1/completions", R"({"prompt": )" + arr.dump() + R"(, "temperature": 0, "max_tokens": 6})");
    EXPECT_EQ(choice0(a)["text"].as_string(), greedy);
    a = post(s, "/v1/completions", R"({"prompt": [[1, 99999]], "max_tokens": 2})");
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.body["error"]["param"].as_string(), "prompt");
    a = post(s, "/v1/completions", R"({"prompt": "x", "logit_bias": {"99999": 5}})");
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.body["error"]["param"].as_string(), "logit_bias");
}

// The tokenizer routes lm-evaluation-harness and other clients use (vLLM's and llama.cpp's forms):
// /tokenize gives the ids the completions endpoint would use (with BOS by the vocabulary's rule, or
// without), /detokenize turns them back into the text, /tokenizer_info names the special tokens;
// wrong bodies are 400s naming the field.
TEST(Serve, TokenizeDetokenizeAndTokenizerInfo) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 1, 256), "");
    const tokenizer::Tokenizer& tok = s.sched->tokenizer();
    const std::string text = "The lighthouse keeper";
    const std::vector<int32_t> with_bos = *tokenize_prompt(s.sched->chat_format(), text, true);
    ASSERT_TRUE(tok.add_bos());
    ASSERT_EQ(with_bos[0], tok.bos_id());
    auto ids_of = [](const Answer& a) {
        std::vector<int32_t> v;
        for (const json::Value& t : a.body["tokens"].as_array()) v.push_back(int32_t(t.as_int()));
        return v;
    };
    // vLLM's form: BOS unless add_special_tokens is false.
    Answer a = post(s, "/tokenize", R"({"prompt": "The lighthouse keeper"})");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(ids_of(a), with_bos);
    EXPECT_EQ(a.body["count"].as_int(), int64_t(with_bos.size()));
    EXPECT_EQ(a.body["max_model_len"].as_int(), 256);
    a = post(s, "/tokenize", R"({"prompt": "The lighthouse keeper", "add_special_tokens": false})");
    const std::vector<int32_t> plain(with_bos.begin() + 1, with_bos.end());
    EXPECT_EQ(ids_of(a), plain);
    // llama.cpp's form: no BOS unless add_special; pieces on request.
    a = post(s, "/tokenize", R"({"content": "The lighthouse keeper"})");
    EXPECT_EQ(ids_of(a), plain);
    a = post(s, "/tokenize", R"({"content": "The lighthouse keeper", "add_special": true, "with_pieces": true})");
    ASSERT_EQ(a.body["tokens"].size(), with_bos.size());
    EXPECT_EQ(a.body["tokens"].as_array()[0]["id"].as_int(), tok.bos_id());
    EXPECT_EQ(a.body["tokens"].as_array()[0]["piece"].as_string(), tok.token_to_piece(tok.bos_id(), true));
    // Control tokens written in the text are parsed.
    const std::string eos = tok.token_to_piece(tok.eos_id(), true);
    a = post(s, "/tokenize", R"({"prompt": ")" + eos + R"(", "add_special_tokens": false})");
    EXPECT_EQ(ids_of(a), std::vector<int32_t>{tok.eos_id()});
    // Back to text: the same text; special tokens as their text.
    json::Value arr = json::Value::array();
    for (int32_t t : plain) arr.push_back(int64_t(t));
    a = post(s, "/detokenize", R"({"tokens": )" + arr.dump() + "}");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.body["prompt"].as_string(), text);
    EXPECT_EQ(a.body["content"].as_string(), text);
    // The ids /tokenize gives are the ones /v1/completions uses: the same answer either way.
    const Answer by_text = post(s, "/v1/completions", R"({"prompt": "The lighthouse keeper", "temperature": 0, "max_tokens": 5})");
    arr = json::Value::array();
    for (int32_t t : with_bos) arr.push_back(int64_t(t));
    const Answer by_ids = post(s, "/v1/completions", R"({"prompt": )" + arr.dump() + R"(, "temperature": 0, "max_tokens": 5})");
    EXPECT_EQ(choice0(by_ids)["text"].as_string(), choice0(by_text)["text"].as_string());
    // /tokenizer_info: what lm-evaluation-harness checks before using /tokenize.
    httplib::Client c = s.client();
    auto r = c.Get("/tokenizer_info");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    auto info = json::parse(r->body);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ((*info)["eos_token"].as_string(), eos);
    EXPECT_EQ((*info)["bos_token"].as_string(), tok.token_to_piece(tok.bos_id(), true));
    EXPECT_EQ((*info)["vocab_size"].as_int(), tok.n_vocab());
    EXPECT_TRUE((*info)["add_bos_token"].as_bool());
    // Errors.
    const std::pair<std::string, std::string> bad[] = {
        {"/tokenize", R"({"prompt": 5})"},       {"/tokenize", R"({})"},
        {"/tokenize", R"({"content": "x", "add_special": "yes"})"}, {"/tokenize", "not json"},
        {"/detokenize", R"({"tokens": [1, -1]})"}, {"/detokenize", R"({"tokens": "1 2"})"},
        {"/detokenize", R"({"tokens": [99999]})"},
    };
    for (const auto& [path, body] : bad) {
        a = post(s, path, body);
        EXPECT_EQ(a.status, 400) << path << " " << body;
        EXPECT_TRUE(a.body["error"]["message"].is_string()) << a.body.dump();
    }
}

// n choices, and several prompts in one completions request: choice p·n + j answers prompt p with
// seed + j, exactly as that request alone would; streamed, each choice's chunks carry its index and
// its own finish; prompt tokens count once per prompt; too many choices are refused.
TEST(Serve, SeveralChoicesAndPrompts) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 4, 256), "");
    auto alone = [&](const std::string& path, const std::string& body) { return post(s, path, body); };
    auto sampled = [](int seed, const std::string& extra) {
        return R"({"messages": [{"role": "user", "content": "Tell me a story."}], "temperature": 1.0, "max_tokens": 12, "seed": )" +
               std::to_string(seed) + extra + "}";
    };
    const std::string chat = sampled(5, R"(, "n": 3)");
    const Answer a = post(s, "/v1/chat/completions", chat);
    ASSERT_EQ(a.status, 200) << a.body.dump();
    ASSERT_EQ(a.body["choices"].size(), 3u);
    std::set<std::string> distinct;
    int64_t generated = 0;
    for (int j = 0; j < 3; ++j) {
        const json::Value& c = a.body["choices"].as_array()[size_t(j)];
        EXPECT_EQ(c["index"].as_int(), j);
        const Answer one = alone("/v1/chat/completions", sampled(5 + j, ""));
        EXPECT_EQ(c["message"]["content"].as_string(), content_of(one)) << "choice " << j;
        EXPECT_EQ(c["finish_reason"].as_string(), finish_of(one));
        generated += one.body["usage"]["completion_tokens"].as_int();
        distinct.insert(c["message"]["content"].as_string());
        if (j == 0) EXPECT_EQ(a.body["usage"]["prompt_tokens"].as_int(), one.body["usage"]["prompt_tokens"].as_int());
    }
    EXPECT_GT(distinct.size(), 1u) << "three seeds gave one answer: the test shows little";
    EXPECT_EQ(a.body["usage"]["completion_tokens"].as_int(), generated);
    const Streamed st = stream(s, "/v1/chat/completions", chat.substr(0, chat.size() - 1) + R"(, "stream": true})");
    ASSERT_TRUE(st.done);
    EXPECT_FALSE(st.malformed);
    ASSERT_EQ(st.by_index.size(), 3u);
    for (int j = 0; j < 3; ++j) {
        EXPECT_EQ(st.by_index.at(j), a.body["choices"].as_array()[size_t(j)]["message"]["content"].as_string());
        EXPECT_EQ(st.finish_by_index.at(j), a.body["choices"].as_array()[size_t(j)]["finish_reason"].as_string());
    }
    EXPECT_EQ(st.usage["completion_tokens"].as_int(), generated);

    // Completions: two prompts × two choices, in order.
    const Answer c = post(s, "/v1/completions", R"({"prompt": ["The lighthouse", "A ship"], "n": 2, "temperature": 0.9, "seed": 11, "max_tokens": 8})");
    ASSERT_EQ(c.status, 200) << c.body.dump();
    ASSERT_EQ(c.body["choices"].size(), 4u);
    int64_t prompt_tokens = 0;
    for (int i = 0; i < 4; ++i) {
        const std::string prompt = i < 2 ? "The lighthouse" : "A ship";
        const Answer one = alone("/v1/completions", R"({"prompt": ")" + prompt + R"(", "temperature": 0.9, "max_tokens": 8, "seed": )" +
                                                        std::to_string(11 + i % 2) + "}");
        EXPECT_EQ(c.body["choices"].as_array()[size_t(i)]["text"].as_string(), choice0(one)["text"].as_string()) << "choice " << i;
        if (i % 2 == 0) prompt_tokens += one.body["usage"]["prompt_tokens"].as_int();
    }
    EXPECT_EQ(c.body["usage"]["prompt_tokens"].as_int(), prompt_tokens);
    const Streamed cs = stream(s, "/v1/completions", R"({"prompt": ["The lighthouse", "A ship"], "n": 2, "temperature": 0.9, "seed": 11, "max_tokens": 8, "stream": true})");
    ASSERT_TRUE(cs.done);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(cs.by_index.count(i) ? cs.by_index.at(i) : "<none>", c.body["choices"].as_array()[size_t(i)]["text"].as_string());

    // Scoring two token prompts at once, as lm-evaluation-harness does with a batch size above 1.
    const Answer sc = post(s, "/v1/completions", R"({"prompt": [[1, 40, 41, 42], [1, 50, 51]], "echo": true, "logprobs": 0, "max_tokens": 0})");
    ASSERT_EQ(sc.status, 200) << sc.body.dump();
    ASSERT_EQ(sc.body["choices"].size(), 2u);
    EXPECT_EQ(sc.body["choices"].as_array()[0]["logprobs"]["tokens"].size(), 4u);
    EXPECT_EQ(sc.body["choices"].as_array()[1]["logprobs"]["tokens"].size(), 3u);
    const Answer sc1 = post(s, "/v1/completions", R"({"prompt": [1, 50, 51], "echo": true, "logprobs": 0, "max_tokens": 0})");
    // F32 weights: batched with another sequence, a logit moves by float rounding (context.h).
    const json::Value& batched = sc.body["choices"].as_array()[1]["logprobs"]["token_logprobs"];
    const json::Value& single = choice0(sc1)["logprobs"]["token_logprobs"];
    ASSERT_EQ(batched.size(), single.size());
    for (size_t i = 1; i < single.size(); ++i) EXPECT_NEAR(batched.as_array()[i].as_double(), single.as_array()[i].as_double(), 1e-5);

    EXPECT_EQ(post(s, "/v1/chat/completions", chat_body("x", 2, R"("n": 65)")).status, 400);
    EXPECT_EQ(post(s, "/v1/completions", R"({"prompt": ["a", "b", "c"], "n": 22})").status, 400);
}

// /v1/embeddings. The vector is the last token's final hidden state after the output norm, the
// very input of the output head: so on the shared data's F32 llama model the head applied to it
// (its F32 output.weight, on the host, in double) must give the exact reference logits of the last
// prompt position, within the data's 2e-3 for F32 weights and KV cache. Then the API: unit vectors
// in input order, the same text alone or among others the same vector (F32: to float rounding),
// base64 the same floats, dimensions a renormalized prefix, token-id inputs, and the errors.
TEST(Serve, EmbeddingsAreTheHeadsInput) {
    HEARTH_REQUIRE_TESTDATA(dir);
    const std::vector<int32_t> prompt = test::read_prompt(dir);
    const std::vector<float> exact = test::read_f32(dir + "/reference/ref-llama-f32.exact.f32");
    const std::string path = dir + "/reference/ref-llama-f32.gguf";
    auto file = gguf::File::open(path);
    ASSERT_TRUE(file.ok()) << file.message();
    const gguf::TensorInfo* out = (*file)->tensor("output.weight");
    ASSERT_TRUE(out && out->type == GgmlType::F32);
    const int64_t n_embd = out->ne(0), V = out->ne(1);
    ASSERT_EQ(V, test::kReferenceVocab);
    {
        SchedulerOptions so;
        so.model.path = path;
        so.model.n_ctx = 256;
        so.model.kv_type = "f32";
        so.model.backend = "cpu";
        so.model.n_threads = 2;
        so.n_parallel = 2;
        auto sched = Scheduler::create(so);
        ASSERT_TRUE(sched.ok()) << sched.message();
        ServeRequest r;
        r.prompt = prompt;
        r.embed = true;
        std::promise<ServeEvent> done;
        ASSERT_TRUE((*sched)->submit(r, [&](const ServeEvent& e) {
            if (e.kind != ServeEvent::Kind::Text) done.set_value(e);
        }).ok());
        const ServeEvent e = done.get_future().get();
        ASSERT_EQ(e.kind, ServeEvent::Kind::Done) << e.error;
        EXPECT_EQ(e.n_generated, 0);
        ASSERT_EQ(int64_t(e.embedding.size()), n_embd);
        const float* w = reinterpret_cast<const float*>(out->data);
        const float* row7 = exact.data() + size_t(7) * size_t(V);
        double worst = 0;
        for (int64_t t = 0; t < V; ++t) {
            double dot = 0;
            for (int64_t j = 0; j < n_embd; ++j) dot += double(w[t * n_embd + j]) * e.embedding[size_t(j)];
            worst = std::max(worst, std::abs(dot - double(row7[t])));
        }
        EXPECT_LT(worst, 2e-3) << "max |head(embedding) - exact logits|";
        std::printf("head(embedding) against the exact logits: max |diff| %.2e\n", worst);
    }

    ASSERT_EQ(models().error, "");
    TestServer s;
    ASSERT_EQ(s.start(models().random, 2, 256), "");
    auto vectors = [](const Answer& a) {
        std::vector<std::vector<double>> v;
        for (const json::Value& d : a.body["data"].as_array()) {
            v.emplace_back();
            for (const json::Value& x : d["embedding"].as_array()) v.back().push_back(x.as_double());
        }
        return v;
    };
    const Answer a = post(s, "/v1/embeddings", R"({"input": ["The lighthouse keeper", "A ship at sea", "The lighthouse keeper"]})");
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.body["object"].as_string(), "list");
    const auto v = vectors(a);
    ASSERT_EQ(v.size(), 3u);
    const size_t dim = size_t(s.sched->info().n_embd);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(a.body["data"].as_array()[i]["index"].as_int(), int64_t(i));
        ASSERT_EQ(v[i].size(), dim);
        double norm = 0;
        for (double x : v[i]) norm += x * x;
        EXPECT_NEAR(norm, 1.0, 1e-5);
    }
    // (A text met again may take its prompt from a slot's cache and evaluate only its last token:
    // with F32 weights that moves values by float rounding, context.h. Hence 1e-5, not equality.)
    for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(v[0][j], v[2][j], 1e-5);
    double cos01 = 0;
    for (size_t j = 0; j < dim; ++j) cos01 += v[0][j] * v[1][j];
    EXPECT_LT(cos01, 0.999) << "two texts gave one vector";
    const Answer alone = post(s, "/v1/embeddings", R"({"input": "A ship at sea"})");
    for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(vectors(alone)[0][j], v[1][j], 1e-5);
    EXPECT_GT(a.body["usage"]["prompt_tokens"].as_int(), 6);
    // base64: the same floats, little-endian.
    const Answer b = post(s, "/v1/embeddings", R"({"input": "A ship at sea", "encoding_format": "base64"})");
    ASSERT_EQ(b.status, 200);
    const std::string b64 = b.body["data"].as_array()[0]["embedding"].as_string();
    std::string bytes;
    auto val = [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : 63; };
    for (size_t i = 0; i + 4 <= b64.size(); i += 4) {
        const uint32_t x = uint32_t(val(b64[i])) << 18 | uint32_t(val(b64[i + 1])) << 12 | uint32_t(b64[i + 2] == '=' ? 0 : val(b64[i + 2])) << 6 |
                           uint32_t(b64[i + 3] == '=' ? 0 : val(b64[i + 3]));
        bytes += char(x >> 16);
        if (b64[i + 2] != '=') bytes += char(x >> 8 & 0xff);
        if (b64[i + 3] != '=') bytes += char(x & 0xff);
    }
    ASSERT_EQ(bytes.size(), dim * 4);
    for (size_t j = 0; j < dim; ++j) {
        float f;
        std::memcpy(&f, bytes.data() + 4 * j, 4);
        EXPECT_NEAR(double(f), vectors(alone)[0][j], 1e-5);
    }
    // dimensions: the prefix, normalized again.
    const Answer d = post(s, "/v1/embeddings", R"({"input": "A ship at sea", "dimensions": 16})");
    ASSERT_EQ(d.status, 200) << d.body.dump();
    const auto dv = vectors(d)[0];
    ASSERT_EQ(dv.size(), 16u);
    double n16 = 0;
    for (size_t j = 0; j < 16; ++j) n16 += v[1][j] * v[1][j];
    for (size_t j = 0; j < 16; ++j) EXPECT_NEAR(dv[j], v[1][j] / std::sqrt(n16), 1e-5);
    // Token ids, as the text's.
    const std::vector<int32_t> ids = *s.sched->chat_format().tokenize("A ship at sea", true, false);
    json::Value arr = json::Value::array();
    for (int32_t t : ids) arr.push_back(int64_t(t));
    const Answer t = post(s, "/v1/embeddings", R"({"input": )" + arr.dump() + "}");
    for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(vectors(t)[0][j], vectors(alone)[0][j], 1e-5);
    // Errors.
    for (const std::string& body : {std::string(R"({"input": ""})"), std::string(R"({"input": "x", "dimensions": 100000})"),
                                    std::string(R"({"input": "x", "encoding_format": "hex"})"), std::string(R"({"input": [[1, 99999]]})"),
                                    std::string(R"({})"), std::string(R"({"input": "x", "model": "other"})")}) {
        const Answer e = post(s, "/v1/embeddings", body);
        EXPECT_GE(e.status, 400) << body;
        EXPECT_TRUE(e.body["error"]["message"].is_string()) << body;
    }
}

// The tiny BERT fixture (tests/engine/data/tiny-bert) converted to F32 and opened on the CPU.
struct TinyBert {
    std::string path;
    std::unique_ptr<Backend> cpu;
    std::unique_ptr<embed::TextEmbedder> em;
    std::string error;  // empty when em is open
    explicit TinyBert(const std::string& name) {
        convert::ConvertOptions co;
        co.hf_dir = test::fixture_path("tiny-bert");
        co.out_path = path = test::temp_file(name + ".gguf");
        co.type = "F32";
        if (auto r = convert::convert_hf_to_gguf(co); !r.ok()) { error = r.message(); return; }
        auto b = create_backend("cpu", 0, BackendOptions{2});
        if (!b.ok()) { error = b.message(); return; }
        cpu = std::move(*b);
        auto e = embed::TextEmbedder::open(path, *cpu);
        if (!e.ok()) { error = e.message(); return; }
        em = std::move(*e);
    }
    ~TinyBert() {
        em.reset();
        std::filesystem::remove(path);
    }
};

// An embedding model beside the chat model (hearth-cli serve --embedding-model): /v1/embeddings
// answers from it when a request names it or no model, with sentence-transformers' vectors for the
// tiny BERT fixture (tests/engine/data/tiny-bert, expected.json; F32 on the CPU: max |Δ| 2e-6, as
// test_bert.cpp); the chat model's own embeddings stay reachable by its name; /v1/models lists both.
TEST(Serve, AnEmbeddingModelServesEmbeddings) {
    ASSERT_EQ(models().error, "");
    TinyBert bert("serve_tiny_bert");
    ASSERT_EQ(bert.error, "");
    auto expected = json::parse_file(test::fixture_path("tiny-bert") + "/expected.json");
    ASSERT_TRUE(expected.ok());
    const auto& cases = (*expected)["texts"].as_array();

    ServerOptions opt;
    opt.embedder = bert.em.get();
    opt.embedding_model_id = "tiny-bert";
    TestServer s;
    ASSERT_EQ(s.start(models().random, 1, 256, opt), "");

    // Every fixture text in one request, by no model name; then the first by the model's name.
    json::Value inputs = json::Value::array();
    for (const json::Value& c : cases) inputs.push_back(c["text"].as_string());
    json::Value body = json::Value::object();
    body.set("input", inputs);
    const Answer a = post(s, "/v1/embeddings", body.dump());
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.body["model"].as_string(), "tiny-bert");
    const auto& data = a.body["data"].as_array();
    ASSERT_EQ(data.size(), cases.size());
    int64_t tokens = 0;
    double worst = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& got = data[i]["embedding"].as_array();
        const auto& want = cases[i]["embedding"].as_array();
        ASSERT_EQ(got.size(), want.size());
        for (size_t j = 0; j < got.size(); ++j) worst = std::max(worst, std::fabs(got[j].as_double() - want[j].as_double()));
        tokens += int64_t(cases[i]["ids"].size());
    }
    EXPECT_LE(worst, 2e-6);
    EXPECT_EQ(a.body["usage"]["prompt_tokens"].as_int(), tokens);
    const Answer named = post(s, "/v1/embeddings", R"({"model": "tiny-bert", "input": "A cat sits on the mat.", "dimensions": 8})");
    ASSERT_EQ(named.status, 200) << named.body.dump();
    const auto& short_vec = named.body["data"].as_array()[0]["embedding"].as_array();
    ASSERT_EQ(short_vec.size(), 8u);
    double norm = 0;
    for (const json::Value& x : short_vec) norm += x.as_double() * x.as_double();
    EXPECT_NEAR(norm, 1.0, 1e-5);

    // The chat model by its name: its own vectors (n_embd of the random model), not the encoder's.
    const std::string chat_id = std::filesystem::path(models().random).stem().string();
    const Answer chat = post(s, "/v1/embeddings", R"({"model": ")" + chat_id + R"(", "input": "A cat sits on the mat."})");
    ASSERT_EQ(chat.status, 200) << chat.body.dump();
    EXPECT_NE(chat.body["data"].as_array()[0]["embedding"].size(), 32u);

    // Errors: too long for the encoder (64 positions), too many dimensions, a model not served.
    std::string long_text;
    for (int i = 0; i < 80; ++i) long_text += "cat ";
    const Answer too_long = post(s, "/v1/embeddings", R"({"input": ")" + long_text + R"("})");
    EXPECT_EQ(too_long.status, 400);
    EXPECT_EQ(too_long.body["error"]["code"].as_string(), "context_length_exceeded") << too_long.body.dump();
    EXPECT_EQ(post(s, "/v1/embeddings", R"({"input": "x", "dimensions": 33})").status, 400);
    const Answer other = post(s, "/v1/embeddings", R"({"model": "nope", "input": "x"})");
    EXPECT_EQ(other.status, 404);
    EXPECT_NE(other.body["error"]["message"].as_string().find("'tiny-bert'"), std::string::npos) << other.body.dump();

    auto c = s.client();
    auto listed = c.Get("/v1/models");
    ASSERT_TRUE(listed);
    auto models_json = json::parse(listed->body);
    ASSERT_TRUE(models_json.ok());
    const auto& entries = (*models_json)["data"].as_array();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[1]["id"].as_string(), "tiny-bert");
    EXPECT_EQ(entries[1]["max_model_len"].as_int(), 64);
    EXPECT_EQ(entries[1]["meta"]["pooling"].as_string(), "mean");
}

// An embedding model alone (hearth-cli serve -m bert.gguf, as llama-server takes one): embeddings,
// models and health answer; every route that needs a model that writes text is a 404 saying why.
TEST(Serve, AnEmbeddingModelAlone) {
    TinyBert bert("serve_tiny_bert_alone");
    ASSERT_EQ(bert.error, "");
    ServerOptions opt;
    opt.embedder = bert.em.get();
    TestServer s;
    ASSERT_EQ(s.start("", 0, 0, opt), "");
    EXPECT_EQ(s.server->model_id(), "hearth_test_" + std::to_string(::getpid()) + "_serve_tiny_bert_alone");
    const Answer emb = post(s, "/v1/embeddings", R"({"input": ["A cat sits on the mat.", "a"]})");
    ASSERT_EQ(emb.status, 200) << emb.body.dump();
    EXPECT_EQ(emb.body["data"].size(), 2u);
    EXPECT_EQ(emb.body["data"].as_array()[0]["embedding"].size(), 32u);
    auto c = s.client();
    auto models_r = c.Get("/v1/models");
    ASSERT_TRUE(models_r);
    auto models_j = json::parse(models_r->body);
    ASSERT_TRUE(models_j.ok());
    EXPECT_EQ((*models_j)["data"].size(), 1u);
    for (const char* path : {"/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize"}) {
        const Answer r = post(s, path, R"({"messages": [{"role": "user", "content": "hi"}], "prompt": "hi", "tokens": [1]})");
        EXPECT_EQ(r.status, 404) << path;
        EXPECT_NE(r.body["error"]["message"].as_string().find("only the embedding model"), std::string::npos) << r.body.dump();
    }
    EXPECT_EQ(post(s, "/v1/embeddings", R"({"model": "chat", "input": "x"})").status, 404);
}

TEST(Serve, ApiKeyAndCors) {
    ASSERT_EQ(models().error, "");
    TestServer s;
    ServerOptions opt;
    opt.api_key = "sekret";
    opt.cors_origin = "http://localhost:3000";
    ASSERT_EQ(s.start(models().random, 1, 128, opt), "");
    const std::string body = chat_body("hi", 2);
    Answer a = post(s, "/v1/chat/completions", body);
    EXPECT_EQ(a.status, 401);
    EXPECT_EQ(a.body["error"]["code"].as_string(), "invalid_api_key");
    a = post(s, "/v1/chat/completions", body, {{"Authorization", "Bearer wrong"}});
    EXPECT_EQ(a.status, 401);
    a = post(s, "/v1/chat/completions", body, {{"Authorization", "Bearer sekret"}});
    EXPECT_EQ(a.status, 200);
    auto c = s.client();
    auto r = c.Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    r = c.Get("/health");  // health needs no key (monitoring)
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://localhost:3000");
}

namespace {
// An IPv4 address of this machine that is not loopback, or "".
std::string other_address() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return {};
    std::string out;
    for (ifaddrs* a = list; a && out.empty(); a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        char buf[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
        if (std::string(buf).rfind("127.", 0) != 0) out = buf;
    }
    freeifaddrs(list);
    return out;
}
}  // namespace

TEST(Serve, ListensOnLoopbackOnly) {
    ASSERT_EQ(models().error, "");
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("localhost"));
    EXPECT_TRUE(is_loopback_host("::1"));
    EXPECT_FALSE(is_loopback_host("0.0.0.0"));
    EXPECT_FALSE(is_loopback_host("192.168.1.5"));
    EXPECT_EQ(ServerOptions().host, "127.0.0.1");
    const std::string addr = other_address();
    if (addr.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address to try";
    TestServer s;
    ASSERT_EQ(s.start(models().random, 1, 128), "");
    httplib::Client outside(addr, s.port);
    outside.set_connection_timeout(2, 0);
    EXPECT_FALSE(outside.Get("/health")) << "the default server answered on " << addr;
    // The same probe reaches a server that was asked to listen everywhere (so the check above means something).
    TestServer all;
    ServerOptions opt;
    opt.host = "0.0.0.0";
    ASSERT_EQ(all.start(models().random, 1, 128, opt), "");
    httplib::Client outside2(addr, all.port);
    outside2.set_connection_timeout(2, 0);
    EXPECT_TRUE(outside2.Get("/health"));
}

// A port one server listens on is refused to a second one ("in use"), whoever started it, and is
// free again for a new server as soon as the first stops, although its closed connections are in
// TIME_WAIT. (cpp-httplib's default SO_REUSEPORT would let both listen and split the connections.)
TEST(Serve, APortInUseIsRefusedAndFreedByStop) {
    ASSERT_EQ(models().error, "");
    auto first = std::make_unique<TestServer>();
    ASSERT_EQ(first->start(models().random, 1, 128), "");
    const int port = first->port;
    for (int i = 0; i < 3; ++i) {  // connections the server closes: TIME_WAIT on its side of them
        httplib::Client c("127.0.0.1", port);
        c.set_keep_alive(false);
        ASSERT_TRUE(c.Get("/health"));
    }
    ServerOptions opt;
    opt.port = port;
    OpenAiServer second(*first->sched, opt, models().random);
    auto refused = second.bind();
    ASSERT_FALSE(refused.ok()) << "a second server listens on port " << port << " beside the first";
    EXPECT_NE(refused.message().find("in use"), std::string::npos) << refused.message();
    first.reset();
    auto sched = Scheduler::create([] {
        SchedulerOptions so;
        so.model.path = models().random;
        so.model.n_ctx = 128;
        so.model.backend = "cpu";
        so.n_parallel = 1;
        return so;
    }());
    ASSERT_TRUE(sched.ok()) << sched.message();
    OpenAiServer again(**sched, opt, models().random);
    auto bound = again.bind();
    ASSERT_TRUE(bound.ok()) << bound.message();
    EXPECT_EQ(*bound, port);
    std::atomic<bool> ended{false};
    std::thread t([&] { again.run(); ended = true; });
    httplib::Client c("127.0.0.1", port);
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
        if (auto r = c.Get("/health"); r && r->status == 200) up = true;
        else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(up);
    while (!ended) {  // stop() does nothing until run() has entered its accept loop
        again.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    t.join();
}

// --lora: every API request runs with the server's adapters, and answers as a Session with the
// same adapters does (greedy, the same prompt tokens).
TEST(Serve, LoraAdaptersApplyToRequests) {
    HEARTH_REQUIRE_TESTDATA(data);
    const std::string base = data + "/hf-models/tiny-llama/base-f32.gguf";
    const LoraSpec adapter{data + "/hf-models/tiny-llama/lora/qv-r16.gguf", 1.0f};
    ModelOptions mo;
    mo.path = base;
    mo.n_ctx = 256;
    mo.backend = "cpu";
    mo.n_threads = 2;
    mo.loras = {adapter};
    auto session = Session::open(mo);
    ASSERT_TRUE(session.ok()) << session.message();
    const std::string prompt = "The quick brown fox";
    auto ids = tokenize_prompt(**session, prompt, true);
    ASSERT_TRUE(ids.ok());
    SamplingParams sp;
    sp.temperature = 0;
    sp.repeat_penalty = 1.0f;
    sp.max_new_tokens = 12;
    std::string expected;
    auto g = (*session)->generate(*ids, sp, [&](std::string_view p) { expected += p; return true; });
    ASSERT_TRUE(g.ok()) << g.message();

    const std::string body = R"({"prompt": "The quick brown fox", "temperature": 0, "max_tokens": 12})";
    TestServer with;
    ServerOptions opt;
    opt.loras = {adapter};
    ASSERT_EQ(with.start(base, 2, 256, opt), "");
    const Answer a = post(with, "/v1/completions", body);
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.body["choices"].as_array()[0]["text"].as_string(), expected);

    TestServer without;
    ASSERT_EQ(without.start(base, 1, 256), "");
    const Answer b = post(without, "/v1/completions", body);
    ASSERT_EQ(b.status, 200);
    EXPECT_NE(b.body["choices"].as_array()[0]["text"].as_string(), expected) << "the adapter changed nothing: the test shows nothing";
}

// hearth-cli generate --json-schema / --json: the same constraint as the server's response_format,
// through the Session: a sampled random-weight model's answer is JSON the schema admits, and the
// generation ends when the value closes; a schema it cannot enforce is refused with its keyword.
TEST(GenerateCli, JsonSchemaAnswersAreJsonTheSchemaAdmits) {
    REQUIRE_CLI();
    ASSERT_EQ(models().error, "");
    const std::string schema_path = test::temp_file("cli_schema.json");
    const std::string bad_path = test::temp_file("cli_bad_schema.json");
    {
        std::ofstream(schema_path) << R"({"type": "object", "properties": {"ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"enum": ["x", "y"]}, "maxItems": 2}, "name": {"type": "string", "maxLength": 5}},
            "required": ["ok", "tags", "name"]})";
        std::ofstream(bad_path) << R"({"type": "string", "pattern": "^a"})";
    }
    for (int seed = 1; seed <= 3; ++seed) {
        const cli::Run r = cli::run("generate -m " + models().random + " --chat Hello --temp 1 --seed " + std::to_string(seed) +
                                    " -n 1500 -c 2048 -q --json-schema " + schema_path);
        ASSERT_EQ(r.rc, 0) << r.out;
        auto v = json::parse(r.out);  // all of stdout: the JSON and a newline
        ASSERT_TRUE(v.ok()) << r.out << ": " << v.message();
        EXPECT_TRUE((*v)["ok"].is_bool()) << r.out;
        EXPECT_TRUE((*v)["tags"].is_array() && (*v)["tags"].size() <= 2) << r.out;
        EXPECT_TRUE((*v)["name"].is_string()) << r.out;
    }
    const cli::Run any = cli::run("generate -m " + models().random + " --chat Hello --temp 0 -n 400 --json");
    ASSERT_EQ(any.rc, 0) << any.out;
    EXPECT_EQ(any.out.find_first_not_of(" \t\r\n"), any.out.find('{')) << any.out;
    const cli::Run bad = cli::run("generate -m " + models().random + " --chat Hello --json-schema " + bad_path);
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.out.find("'pattern' is not supported"), std::string::npos) << bad.out;
    const cli::Run both = cli::run("generate -m " + models().random + " --chat Hello --json --json-schema " + schema_path);
    EXPECT_NE(both.rc, 0);
    std::filesystem::remove(schema_path);
    std::filesystem::remove(bad_path);
}

// hearth-cli serve: answers /v1/models within seconds of starting (loading included), stops
// cleanly on Ctrl-C (SIGINT), and refuses bad options with a message.
TEST(ServeCli, StartsAnswersAndStopsOnCtrlC) {
    REQUIRE_CLI();
    ASSERT_EQ(models().error, "");
    const cli::Run bad = cli::run("serve --parallel 2");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.out.find("-m MODEL is required"), std::string::npos) << bad.out;
    const cli::Run zero = cli::run("serve -m " + models().random + " --parallel 0");
    EXPECT_NE(zero.rc, 0);
    EXPECT_NE(zero.out.find("--parallel"), std::string::npos) << zero.out;

    int out_pipe[2];
    ASSERT_EQ(pipe(out_pipe), 0);
    const auto t0 = Clock::now();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        close(out_pipe[0]);
        execl(HEARTH_CLI_PATH, HEARTH_CLI_PATH, "serve", "-m", models().random.c_str(), "--port", "0", "--parallel", "2", "-c", "128",
              "-t", "1", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out_pipe[1]);
    // "listening on http://127.0.0.1:PORT/v1"
    std::string line;
    char ch;
    while (line.find('\n') == std::string::npos && read(out_pipe[0], &ch, 1) == 1) line += ch;
    close(out_pipe[0]);
    const size_t colon = line.rfind(':');
    ASSERT_NE(colon, std::string::npos) << line;
    const int port = std::atoi(line.c_str() + colon + 1);
    ASSERT_GT(port, 0) << line;
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/v1/models");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    const double ready = seconds_since(t0);
    EXPECT_LT(ready, 5.0);
    kill(pid, SIGINT);
    int status = 0;
    const auto t1 = Clock::now();
    while (waitpid(pid, &status, WNOHANG) == 0 && seconds_since(t1) < 15) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const double stopped = seconds_since(t1);
    ASSERT_TRUE(WIFEXITED(status)) << "hearth-cli serve did not exit on SIGINT";
    EXPECT_EQ(WEXITSTATUS(status), 0);
    std::printf("hearth-cli serve answered /v1/models %.2f s after it started; stopped %.2f s after SIGINT\n", ready, stopped);
}
