// hearth-cli logits: evaluate a token sequence and print the last position's logits, one per line.
#include <cstdio>

#include "app/cli/backend_args.h"
#include "app/cli/command.h"
#include "app/cli/lora_args.h"
#include "app/cli/token_list.h"
#include "engine/session/session.h"

namespace hearth::cli {
namespace {

int run_logits(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto tokens = args.take({"--tokens", "-t"});
    const auto kv = args.take({"--kv"});
    BackendArgs be;
    if (std::string e = take_backend_args(args, &be, false); !e.empty()) return fail("logits: " + e);
    std::vector<LoraSpec> loras;
    if (std::string e = take_lora_args(args, &loras); !e.empty()) return fail("logits: " + e);
    if (auto u = args.unknown_option(); !u.empty()) return fail("logits: unknown option " + u);
    if (!args.positionals().empty()) return fail("logits: unexpected argument '" + args.positionals()[0] + "'");
    if (!model) return fail("logits: -m MODEL is required");
    if (!tokens) return fail("logits: --tokens \"ID ID ...\" is required");
    auto ids = parse_token_list(*tokens);
    if (!ids.ok()) return fail("logits: " + ids.message());

    ModelOptions opt;
    opt.path = *model;
    opt.kv_type = kv.value_or("f16");
    be.apply_to(opt);
    opt.loras = loras;
    opt.n_ctx = int(ids->size());  // only what the sequence needs (clamped to the model's context)
    auto session = Session::open(opt);
    if (!session.ok()) return fail(session.message());
    auto logits = (*session)->eval_logits(*ids, 1);
    if (!logits.ok()) return fail(logits.message());
    std::string out;
    char buf[32];
    for (float v : *logits) {
        std::snprintf(buf, sizeof buf, "%.9g\n", double(v));
        out += buf;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

const Registrar reg{"logits", "-m MODEL --tokens \"ID ID ...\" [--kv f16|f32] [--backend B] [--device N] [--gpu-layers N] [--threads N] "
                              "[--lora PATH[:SCALE]]...",
                    "evaluate tokens as one sequence; print the last position's logits, one per line", run_logits};

}  // namespace
}  // namespace hearth::cli
