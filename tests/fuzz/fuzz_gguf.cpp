// GGUF model files (engine/gguf and everything that reads one): the header, the vocabulary, the
// prompt built with the file's chat template (engine/session/prompt_policy), the hyperparameters, the memory estimate, loading the weights onto the CPU
// backend, and one short evaluation; a LoRA adapter file opened as one; a BERT embedding model's
// encoder loaded and run on three tokens. A file that opens must
// load or be refused with a Status, and a model that loads must run.
#include "engine/backend/backend.h"
#include "engine/convert/convert.h"
#include "engine/embed/bert_encoder.h"
#include "engine/embed/text_embedder.h"
#include "engine/gguf/gguf.h"
#include "engine/lora/lora_adapter.h"
#include "engine/model/context.h"
#include "engine/model/hparams.h"
#include "engine/model/model.h"
#include "engine/model/placement.h"
#include "engine/session/chat_render.h"
#include "engine/session/prompt_policy.h"
#include "engine/testmodels/random_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto f = gguf::File::from_memory(data, size);
    if (!f.ok()) return -1;
    const gguf::File& file = **f;
    if (auto tok = tokenizer::Tokenizer::from_gguf(file); tok.ok()) {
        const auto ids = (*tok)->encode("Hello, 世界! <s></s>\xff\xfe  x", true, true);
        (void)(*tok)->decode(ids, true);
        for (int32_t id : ids) (void)(*tok)->token_to_piece(id, false);
        // The prompt the app would build from the file's own template and vocabulary: rendering,
        // the BOS rule, a context window small enough that old turns leave, the end-of-turn stops.
        auto tmpl = file.get_string("tokenizer.chat_template");
        const ModelChatFormat format(tmpl.ok() ? *tmpl : std::string(), **tok);
        ChatPromptRequest req;
        req.messages = {{"system", "Be brief."}, {"user", "Hi there, how are you today?"}, {"assistant", "<think>x</think>Fine."},
                        {"user", "And now?"}};
        req.n_ctx = 48;
        req.reserve = 8;
        (void)build_chat_prompt(format, req);
        (void)end_of_turn_stops(format);
    }
    if (auto type = file.get_string("general.type"); type.ok() && *type == "adapter") {
        const std::string path = fuzz::Scratch::get().write("adapter.gguf",
                                                            std::string_view(reinterpret_cast<const char*>(data), size));
        return LoraAdapter::open_gguf(path).ok() ? 0 : -1;
    }
    static std::unique_ptr<Backend> cpu = [] {
        BackendOptions o;
        o.n_threads = 1;
        auto b = create_backend("cpu", 0, o);
        if (!b.ok()) std::abort();
        return std::move(*b);
    }();
    if (auto arch = file.get_string("general.architecture"); arch.ok() && embed::is_encoder_architecture(*arch)) {
        // An embedding model: its encoder on the CPU, one short input, pooled.
        auto enc = embed::BertEncoder::load(file, *cpu);
        if (!enc.ok()) return -1;
        const auto& h = (*enc)->hparams();
        const std::vector<int32_t> ids = {0, 1 % h.n_vocab, 2 % h.n_vocab};
        auto rows = (*enc)->encode(ids);
        if (!rows.ok()) return -1;
        (void)embed::pool_rows(*rows, 3, h.n_embd, h.pooling);
        return 0;
    }
    auto hp = read_hparams(file);
    if (!hp.ok()) return -1;
    (void)model_footprint(file, *hp, 64, GgmlType::F16, 16);
    auto model = Model::load(file, *cpu);
    if (!model.ok()) return -1;
    auto ctx = ModelContext::create(**model, 32, GgmlType::F16, 8);
    if (!ctx.ok()) return -1;
    const int32_t n_vocab = (*model)->hparams().n_vocab;
    const int32_t tokens[3] = {1 % n_vocab, 2 % n_vocab, 3 % n_vocab};
    std::vector<float> logits;
    return (*ctx)->eval(tokens, 3, 0, 1, &logits).ok() ? 0 : -1;
}

std::vector<std::string> hearth::fuzz::seeds() {
    std::vector<std::string> s;
    // Tiny models of each architecture (32 wide, one layer; a generated vocabulary), quantized and not.
    int i = 0;
    // qwen3moe and "mixtral" (llama with experts): 4 experts of width 16, 2 per token (every seed
    // stays under the driver's --max-len).
    for (const char* arch : {"llama", "qwen2", "qwen3", "gemma3", "phi3", "qwen3moe", "mixtral"})
        for (GgmlType t : {GgmlType::F32, GgmlType::Q8_0}) {
            RandomModelShape shape;
            shape.arch = std::string(arch) == "mixtral" ? "llama" : arch;
            if (shape.arch != arch || shape.arch == "qwen3moe") {
                shape.n_expert = 4;
                shape.n_expert_used = 2;
                shape.n_ff_exp = 16;
            }
            shape.n_vocab = 300;
            shape.n_embd = 32;
            shape.n_layer = 1;
            shape.n_head = 2;
            shape.n_kv_head = 1;
            shape.n_ff = 64;
            shape.chat_template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}";
            const std::string path = fuzz::Scratch::get().dir() + "/seed-" + std::to_string(i++) + ".gguf";
            if (!write_random_llama_model(path, shape, t, 5).ok()) std::abort();
            s.push_back(read_file(path));
        }
    s.push_back(read_file(HEARTH_SOURCE_DIR "/tests/engine/data/lora/tiny-phi3/fused-r4.gguf"));
    // A BERT embedding model, converted from the tiny sentence-transformers fixture, F32 and Q8_0.
    for (const char* type : {"F32", "Q8_0"}) {
        convert::ConvertOptions o;
        o.hf_dir = HEARTH_SOURCE_DIR "/tests/engine/data/tiny-bert";
        o.out_path = fuzz::Scratch::get().dir() + "/seed-bert-" + type + ".gguf";
        o.type = type;
        if (!convert::convert_hf_to_gguf(o).ok()) std::abort();
        s.push_back(read_file(o.out_path));
    }
    return s;
}
