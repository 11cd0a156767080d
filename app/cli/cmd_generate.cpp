// hearth-cli generate: complete token ids, a raw prompt or one chat message.
#include <cstdio>
#include <cstdlib>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "app/cli/lora_args.h"
#include "app/cli/token_list.h"
#include "engine/sampling/json_constraint.h"
#include "engine/session/prompt_policy.h"
#include "engine/session/session.h"
#include "engine/util/json.h"

namespace hearth::cli {
namespace {

bool parse_float(const std::optional<std::string>& s, float* out) {
    if (!s) return true;
    char* end = nullptr;
    *out = std::strtof(s->c_str(), &end);
    return !s->empty() && *end == 0;
}
bool parse_int(const std::optional<std::string>& s, long long* out) {
    if (!s) return true;
    char* end = nullptr;
    *out = std::strtoll(s->c_str(), &end, 10);
    return !s->empty() && *end == 0;
}

int run_generate(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto tokens = args.take({"--tokens"});
    const auto prompt = args.take({"-p", "--prompt"});
    const auto chat = args.take({"--chat"});
    const auto n = args.take({"-n", "--n-predict"});
    const auto temp = args.take({"--temp"});
    const auto top_k = args.take({"--top-k"});
    const auto top_p = args.take({"--top-p"});
    const auto min_p = args.take({"--min-p"});
    const auto rep = args.take({"--repeat-penalty"});
    const auto seed = args.take({"--seed"});
    const auto kv = args.take({"--kv"});
    BackendArgs be;
    if (std::string e = take_backend_args(args, &be); !e.empty()) return fail("generate: " + e);
    std::vector<LoraSpec> loras;
    if (std::string e = take_lora_args(args, &loras); !e.empty()) return fail("generate: " + e);
    const auto ctx = args.take({"-c", "--ctx"});
    std::vector<std::string> stops;
    while (auto s = args.take({"--stop"})) stops.push_back(*s);
    const auto json_schema = args.take({"--json-schema"});
    const bool json_any = args.flag({"--json"});
    const bool print_ids = args.flag({"--ids"});
    const bool quiet = args.flag({"-q", "--quiet"});
    if (auto u = args.unknown_option(); !u.empty()) return fail("generate: unknown option " + u);
    if (!args.positionals().empty()) return fail("generate: unexpected argument '" + args.positionals()[0] + "'");
    if (!model) return fail("generate: -m MODEL is required");
    if (int(bool(tokens)) + int(bool(prompt)) + int(bool(chat)) != 1)
        return fail("generate: give exactly one of --tokens, -p TEXT, --chat TEXT");

    // Structured output: a JSON object (--json) or JSON a schema file admits, enforced while sampling.
    JsonAnswer json;
    if (json_schema && json_any) return fail("generate: give --json or --json-schema FILE, not both");
    if (json_any) json.schema = any_json_object_schema();
    if (json_schema) {
        auto doc = json::parse_file(*json_schema);
        if (!doc.ok()) return fail("generate: " + *json_schema + ": " + doc.message());
        auto compiled = compile_json_schema(*doc);
        if (!compiled.ok()) return fail("generate: " + *json_schema + ": " + compiled.message());
        json.schema = *compiled;
    }

    SamplingParams sp;
    sp.repeat_penalty = 1.0f;  // off unless asked for, as in llama.cpp's CLI (so --temp 0 is plain greedy)
    long long max_new = 128, seed_v = (long long)sp.seed, k = sp.top_k, n_ctx = 4096;
    if (!parse_int(n, &max_new) || !parse_int(seed, &seed_v) || !parse_int(top_k, &k) || !parse_int(ctx, &n_ctx) ||
        !parse_float(temp, &sp.temperature) || !parse_float(top_p, &sp.top_p) || !parse_float(min_p, &sp.min_p) ||
        !parse_float(rep, &sp.repeat_penalty))
        return fail("generate: a numeric option has a value that is not a number");
    sp.max_new_tokens = int(max_new);
    sp.seed = uint64_t(seed_v);
    sp.top_k = int(k);
    sp.stop = stops;
    if (sp.repeat_penalty <= 0) return fail("generate: --repeat-penalty must be positive");

    ModelOptions opt;
    opt.path = *model;
    opt.kv_type = kv.value_or("f16");
    be.apply_to(opt);
    opt.loras = loras;
    opt.n_ctx = int(n_ctx);
    auto session = Session::open(opt);
    if (!session.ok()) return fail(session.message());
    Session& s = **session;

    std::vector<int32_t> ids;
    int n_keep = 0;
    bool think_open = false;
    if (tokens) {
        auto r = parse_token_list(*tokens);
        if (!r.ok()) return fail("generate: " + r.message());
        ids = *r;
    } else {
        // One user message goes through the engine's prompt policy (template, BOS rule, n_keep), as the
        // app's chat does; raw text gets the BOS rule only.
        if (chat) {
            ChatPromptRequest pr;
            pr.messages = {{"user", *chat}};
            pr.n_ctx = s.n_ctx();
            pr.drop_old_turns = false;
            const ChatPrompt cp = build_chat_prompt(s, pr);
            if (!cp.ok()) return fail("generate: " + std::string(cp.error == PromptError::Template ? "chat template: " : "") + cp.message);
            ids = cp.tokens;
            n_keep = cp.n_keep;
            think_open = cp.think_open;
        } else {
            auto r = tokenize_prompt(s, prompt.value_or(std::string()), false);
            if (!r.ok()) return fail("generate: tokenizing failed: " + r.message());
            ids = *r;
        }
    }
    PieceFn on_piece;
    if (!print_ids) on_piece = [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    };
    auto st = s.generate(ids, sp, on_piece, nullptr, n_keep, json.schema ? &json : nullptr, think_open);
    if (!st.ok()) return fail(st.message());
    if (print_ids) {
        for (size_t i = 0; i < st->tokens.size(); ++i) std::printf("%s%d", i ? " " : "", st->tokens[i]);
    }
    std::printf("\n");
    std::fflush(stdout);
    if (!quiet)
        std::fprintf(stderr, "[%s] prompt %d tokens (%d reused) %.1f tok/s; generated %d tokens %.1f tok/s; stop: %s\n",
                     s.info().backend_description.c_str(), st->n_prompt, st->n_reused, st->prompt_tps, st->n_generated,
                     st->gen_tps, st->stop_reason.c_str());
    return 0;
}

const Registrar reg{"generate",
                    "-m MODEL (--tokens \"ID ...\" | -p TEXT | --chat TEXT) [-n N] [--temp T] [--top-k K] [--top-p P] "
                    "[--min-p P] [--repeat-penalty R] [--seed S] [--stop S]... [--json | --json-schema FILE] [-c CTX] [--kv f16|f32] [--ids] "
                    "[--backend B] [--device N] [--gpu-layers N] [--n-cpu-moe N|--cpu-moe] [-t THREADS] [--lora PATH[:SCALE]]... [-q]",
                    "generate text (temperature 0 = greedy; repeat penalty off unless given; --ids prints ids; --json/--json-schema: the answer is JSON, enforced while sampling)",
                    run_generate};

}  // namespace
}  // namespace hearth::cli
