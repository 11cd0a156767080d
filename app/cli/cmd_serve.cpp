// hearth-cli serve: the OpenAI-compatible local server (engine/serve) over one loaded model.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "app/cli/lora_args.h"
#include "engine/embed/bert_encoder.h"
#include "engine/embed/text_embedder.h"
#include "engine/serve/openai_server.h"
#include "engine/serve/scheduler.h"

namespace hearth::cli {
namespace {

bool parse_int(const std::optional<std::string>& s, long long* out) {
    if (!s) return true;
    char* end = nullptr;
    *out = std::strtoll(s->c_str(), &end, 10);
    return !s->empty() && *end == 0;
}

int run_serve(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto host = args.take({"--host"});
    const auto port = args.take({"--port"});
    const auto parallel = args.take({"--parallel", "-np"});
    const auto ctx = args.take({"-c", "--ctx"});
    const auto key = args.take({"--api-key"});
    const auto cors = args.take({"--cors"});
    const auto alias = args.take({"--alias"});
    const auto kv = args.take({"--kv"});
    // The KV pool in tokens, shared by all sequences (default --parallel × -c). Smaller lets more
    // sequences run than could all reach -c at once: when the pool runs out, the youngest is
    // preempted and later recomputed (vLLM's trade of memory for occasional recomputation).
    const auto kv_tokens = args.take({"--kv-tokens"});
    // A text embedding model (BERT family) for /v1/embeddings, beside the chat model.
    const auto embedding_model = args.take({"--embedding-model"});
    const auto embedding_alias = args.take({"--embedding-alias"});
    BackendArgs be;
    if (std::string e = take_backend_args(args, &be); !e.empty()) return fail("serve: " + e);
    std::vector<LoraSpec> loras;
    if (std::string e = take_lora_args(args, &loras); !e.empty()) return fail("serve: " + e);
    if (auto u = args.unknown_option(); !u.empty()) return fail("serve: unknown option " + u);
    if (!args.positionals().empty()) return fail("serve: unexpected argument '" + args.positionals()[0] + "'");
    // An embedding model alone (-m of a BERT file, as llama-server takes one, or only
    // --embedding-model) serves /v1/embeddings without a chat model.
    std::optional<std::string> chat_model = model, embedding_path = embedding_model;
    if (model && embed::is_encoder_file(*model)) {
        if (embedding_model) return fail("serve: -m " + *model + " is an embedding model, and so is --embedding-model: give one");
        embedding_path = model;
        chat_model.reset();
    }
    if (!chat_model && !embedding_path) return fail("serve: -m MODEL is required");
    if (!chat_model && !loras.empty()) return fail("serve: --lora needs a chat model (-m)");
    long long port_v = 8080, parallel_v = 4, ctx_v = 4096, kv_tokens_v = 0;
    if (!parse_int(port, &port_v) || !parse_int(parallel, &parallel_v) || !parse_int(ctx, &ctx_v) || !parse_int(kv_tokens, &kv_tokens_v))
        return fail("serve: a numeric option has a value that is not a number");
    if (port_v < 0 || port_v > 65535) return fail("serve: --port must be 0..65535");
    if (parallel_v < 1 || parallel_v > 256) return fail("serve: --parallel must be 1..256");
    if (ctx_v < 16) return fail("serve: -c must be at least 16");
    if (kv_tokens && (kv_tokens_v < 64 || kv_tokens_v > parallel_v * ctx_v))
        return fail("serve: --kv-tokens must be 64 .. --parallel × -c (" + std::to_string(parallel_v * ctx_v) + ")");
    if (key && key->empty()) return fail("serve: --api-key must not be empty");

    // SIGINT and SIGTERM are taken by one thread (sigwait), so every other thread, the scheduler's
    // and the HTTP handlers', runs without them: they are blocked before any thread starts.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);  // a client that hangs up is a failed write, not the end of the server

    SchedulerOptions so;
    so.model.path = chat_model.value_or("");
    so.model.n_ctx = int(ctx_v);
    so.model.kv_type = kv.value_or("f16");
    be.apply_to(so.model);
    so.model.loras = loras;  // checked against the model before the server listens
    so.n_parallel = int(parallel_v);
    so.kv_tokens = int(kv_tokens_v);
    std::unique_ptr<Scheduler> sched;
    if (chat_model) {
        auto s = Scheduler::create(so);
        if (!s.ok()) return fail(s.message());
        sched = std::move(*s);
    }

    std::unique_ptr<embed::TextEmbedder> embedder;
    if (embedding_path) {
        std::string note;
        auto em = embed::TextEmbedder::open(*embedding_path, be.backend, be.device, be.threads, &note);
        if (!em.ok()) return fail("serve: " + em.message());
        if (!note.empty()) std::fprintf(stderr, "hearth-cli: %s\n", note.c_str());
        embedder = std::move(*em);
    }

    ServerOptions opt;
    opt.embedder = embedder.get();
    opt.embedding_model_id = embedding_alias.value_or("");
    opt.host = host.value_or("127.0.0.1");
    opt.port = int(port_v);
    opt.api_key = key.value_or("");
    opt.cors_origin = cors.value_or("");
    opt.model_id = alias.value_or("");
    opt.loras = loras;
    if (!is_loopback_host(opt.host))
        std::fprintf(stderr, "hearth-cli: warning: listening on %s, not only this machine: anyone who can reach it can use "
                             "the model%s\n", opt.host.c_str(), opt.api_key.empty() ? " (no --api-key is set)" : "");
    std::unique_ptr<OpenAiServer> made = sched ? std::make_unique<OpenAiServer>(*sched, opt, *chat_model) : std::make_unique<OpenAiServer>(opt);
    OpenAiServer& server = *made;
    auto bound = server.bind();
    if (!bound.ok()) return fail("serve: " + bound.message());
    if (sched)
        std::fprintf(stderr, "[%s] %s: %d sequences × %d tokens of context\n", sched->info().backend_description.c_str(),
                     server.model_id().c_str(), sched->n_parallel(), sched->n_ctx());
    if (embedder)
        std::fprintf(stderr, "[%s] embeddings: %d dimensions, up to %d tokens, %s pooling\n",
                     device_label(embedder->backend().device()).c_str(), embedder->dim(), embedder->max_tokens(),
                     embed::pooling_name(embedder->pooling()));
    std::printf("listening on http://%s:%d/v1\n", opt.host.c_str(), *bound);
    std::fflush(stdout);

    std::thread waiter([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        server.stop();
    });
    server.run();
    // run() also ends without a signal (a failed listen): wake the waiter with one.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    std::fprintf(stderr, "hearth-cli: server stopped\n");
    return 0;
}

const Registrar reg{"serve",
                    "-m MODEL (a chat model, or an embedding model alone) [--host ADDR] [--port N] [--parallel N] [-c CTX] [--api-key KEY] [--cors ORIGIN] [--alias ID] "
                    "[--kv f16|f32] [--kv-tokens N] [--lora PATH[:SCALE]]... [--embedding-model GGUF [--embedding-alias ID]] [--backend B] [--device N] [--gpu-layers N] [--n-cpu-moe N|--cpu-moe] [-t THREADS]",
                    "OpenAI-compatible server on 127.0.0.1:8080: /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /tokenize, /health",
                    run_serve};

}  // namespace
}  // namespace hearth::cli
