// hearth-cli export-lora -m BASE.gguf --lora PATH -o OUT.gguf: an adapter (a PEFT folder or a GGUF
// adapter) written as a GGUF adapter in llama.cpp's form, checked against the base model it is for
// (the base also gives what a PEFT folder needs: architecture, and llama's head size for q/k rows).
// rsLoRA adapters come out with √r folded into adapter.lora.alpha, so llama.cpp scales them right.
#include <cstdio>

#include "app/cli/command.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/lora/lora_export.h"
#include "engine/lora/lora_targets.h"
#include "engine/model/arch/arch.h"
#include "engine/model/manifest.h"
#include "engine/model/hparams.h"

namespace {

int run_export_lora(const std::vector<std::string>& argv) {
    using namespace hearth;
    cli::Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto lora = args.take({"--lora"});
    const auto out = args.take({"-o", "--output"});
    if (const std::string u = args.unknown_option(); !u.empty()) return cli::fail("export-lora: unknown option " + u);
    if (!args.positionals().empty()) return cli::fail("export-lora: unexpected argument " + args.positionals().front());
    if (!model || !lora || !out) return cli::fail("export-lora: usage: export-lora -m BASE.gguf --lora PATH -o OUT.gguf");
    auto base = gguf::File::open(*model);
    if (!base.ok()) return cli::fail(base.message());
    auto hp = read_hparams(**base);
    if (!hp.ok()) return cli::fail(*model + ": " + hp.message());
    auto adapter = LoraAdapter::open(*lora, hp->arch, hp->head_dim);
    if (!adapter.ok()) return cli::fail(adapter.message());
    // The check attach_lora and merge-lora make, from the file's header alone.
    auto targets = match_lora_targets(**adapter, *hp, model_manifest(arch_def(hp->arch_id), *hp));
    if (!targets.ok()) return cli::fail(targets.message());
    if (Status st = export_lora_gguf(**adapter, *out); !st.ok()) return cli::fail(st.message());
    std::printf("wrote %s: %zu A/B pairs for %s, adapter.lora.alpha %g\n", out->c_str(), (*adapter)->pairs().size(),
                hp->arch.c_str(), double((*adapter)->alpha()));
    return 0;
}

const hearth::cli::Registrar reg{"export-lora", "-m BASE.gguf --lora PATH -o OUT.gguf",
                                 "write a PEFT or GGUF LoRA adapter as a GGUF adapter (llama.cpp's form)", run_export_lora};

}  // namespace
