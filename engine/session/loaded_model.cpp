#include "engine/session/loaded_model.h"

#include <algorithm>

#include "engine/session/model_info.h"

namespace hearth {

Result<std::unique_ptr<LoadedModel>> load_model(const ModelOptions& opt, const ProgressFn& progress) {
    if (opt.kv_type != "f16" && opt.kv_type != "f32") return make_error("KV cache type must be f16 or f32, not '" + opt.kv_type + "'");
    auto lm = std::make_unique<LoadedModel>();
    auto file = gguf::File::open(opt.path);
    if (!file.ok()) return file.status();
    lm->file = std::move(*file);
    auto hp = read_hparams(*lm->file);
    if (!hp.ok()) return make_error(opt.path + ": " + hp.message());
    lm->n_ctx = opt.n_ctx > 0 ? std::min(opt.n_ctx, hp->n_ctx_train) : hp->n_ctx_train;
    lm->kv_type = opt.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
    PlacementOptions po;
    po.backend = opt.backend;
    po.device = opt.device;
    po.n_threads = opt.n_threads;
    po.gpu_layers = opt.gpu_layers;
    po.cpu_moe_layers = opt.cpu_moe_layers;
    po.n_ctx = lm->n_ctx;
    po.kv_type = lm->kv_type;
    auto placed = place_model(*lm->file, po);
    if (!placed.ok()) return placed.status();
    lm->placement = std::move(*placed);
    auto tok = tokenizer::Tokenizer::from_gguf(*lm->file);
    if (!tok.ok()) return make_error(opt.path + ": vocabulary: " + tok.message());
    lm->tok = std::move(*tok);
    // Loading is most of the time; the last 2% are the caller's contexts and KV caches.
    auto model = Model::load(*lm->file, *lm->placement.main, [&](float f) { return !progress || progress(0.98f * f); },
                             lm->placement.host_or_null(), lm->placement.on_main, lm->placement.experts_on_host);
    if (!model.ok()) return model.status();
    lm->model = std::move(*model);
    const ModelHParams& h = lm->model->hparams();

    ModelInfo& info = lm->info;
    info.name = model_display_name(*lm->file);
    info.architecture = h.arch;
    info.n_params = lm->model->n_params();
    info.file_type = describe_file_type(*lm->file);
    info.n_ctx_train = h.n_ctx_train;
    info.n_ctx = lm->n_ctx;
    info.n_layer = h.n_layer;
    info.n_embd = h.n_embd;
    info.n_head = h.n_head;
    info.n_kv_head = h.n_kv_head;
    info.n_vocab = h.n_vocab;
    if (auto t = lm->file->get_string("tokenizer.chat_template", ""); t.ok()) info.chat_template = *t;
    info.template_has_think = info.chat_template.find("<think>") != std::string::npos;
    const DeviceInfo& dev = lm->placement.main->device();
    info.backend_description = device_label(dev) + (dev.details.empty() ? "" : " (" + dev.details + ")");
    // The placement's sentence when it says something: a split, or why a device was not used.
    if ((dev.backend != "cpu" && dev.backend != "reference") || lm->placement.summary.find(": ") != std::string::npos)
        info.backend_description += "; " + lm->placement.summary;
    info.n_gpu_layers = lm->placement.n_gpu_layers;
    info.weight_bytes = lm->model->weight_bytes();
    return lm;
}

std::shared_ptr<const VocabPieces> vocab_pieces(const LoadedModel& lm) {
    const int n = lm.info.n_vocab;
    std::vector<std::string> piece(static_cast<size_t>(n));
    std::vector<uint8_t> eog(static_cast<size_t>(n));
    for (int i = 0; i < std::min(n, int(lm.tok->n_vocab())); ++i) {
        piece[size_t(i)] = lm.tok->token_to_piece(i);
        eog[size_t(i)] = lm.tok->is_eog(i);
    }
    return make_vocab_pieces(std::move(piece), std::move(eog));
}

}  // namespace hearth
