// Where a model runs: the backend asked for and, for a device backend (Vulkan, CUDA), which of the
// model's layers go to the device. Layers that do not fit, and layers with a weight type or an op
// the device lacks (Backend::supports_op), run on the CPU backend (layer split, Model::load's
// `host`); a device that can run no layer at all is not used. "Auto" (gpu_layers < 0) sizes the
// split from the device's free memory; an explicit count is taken as asked (an allocation that then
// fails is a clear error).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/hparams.h"

namespace hearth {

struct PlacementOptions {
    std::string backend = "auto";  // as create_backend()
    int device = 0;
    int n_threads = 0;             // CPU threads (for the CPU backend and the CPU side of a split)
    int gpu_layers = -1;           // < 0: auto; else layers on the device (clamped to n_layer)
    // A mixture of experts on a device: the experts of the first N layers stay in system memory and
    // run on the CPU (llama.cpp's --n-cpu-moe). < 0: auto, as many as the rest needs to fit.
    int cpu_moe_layers = -1;
    int n_ctx = 4096;              // cells of the KV cache the context will have
    GgmlType kv_type = GgmlType::F16;
    int n_batch = 256;
};

struct Placement {
    std::unique_ptr<Backend> main;  // the backend asked for (the CPU when the device can run nothing)
    std::unique_ptr<Backend> host;  // the CPU side of a layer split; null when not split
    int n_layer = 0, n_gpu_layers = 0;  // layers on `main` (n_layer when not split)
    std::vector<bool> on_main;      // per layer, when split (Model::load's plan); empty otherwise
    std::vector<bool> experts_on_host;  // per layer: its experts on `host` (Model::load's); empty: none
    int n_expert_host_layers = 0;
    std::string summary;            // "22/22 layers on the device" / "auto: 14/22 layers fit in 2.0 GiB free; 8 on the CPU"
    bool is_split() const { return n_gpu_layers < n_layer; }
    Backend* host_or_null() const { return host.get(); }
};

// Device bytes a model needs, by part, for a context of n_ctx cells.
struct ModelFootprint {
    std::vector<uint64_t> layers;  // each layer's weights plus its KV cells
    std::vector<uint64_t> experts; // of which a mixture of experts' router and experts (0: dense)
    uint64_t input = 0;            // token_embd (the lookup runs on layer 0's side)
    uint64_t output = 0;           // output_norm + output (token_embd again when tied)
    uint64_t scratch = 0;          // activations of one batch and the logits
};
ModelFootprint model_footprint(const gguf::File& f, const ModelHParams& h, int n_ctx, GgmlType kv_type, int n_batch);

// How many layers fit in `free_bytes`: all of them with the output when everything fits,
// otherwise the longest prefix that fits beside the input and the scratch, keeping a reserve for
// the driver (5% of free + 32 MiB). `why` explains the choice in one sentence.
int fit_gpu_layers(const ModelFootprint& fp, uint64_t free_bytes, std::string* why);

// A mixture of experts that does not fit whole: how many leading layers must keep their experts in
// system memory for the rest (attention, norms, KV cache of every layer, the experts of the others)
// to fit, by fit_gpu_layers' rule; 0 when everything fits, n_layer when even that is not enough
// (then layers go to the CPU as well). `why` says so in one sentence.
int fit_expert_layers(const ModelFootprint& fp, uint64_t free_bytes, std::string* why);

// Why `be` cannot run layer `l` of `f` (a weight type or an op it lacks), or "" when it can. Layer 0
// also needs the embedding lookup of token_embd's type, and the last layer the output matrix.
std::string layer_unsupported(const Backend& be, const gguf::File& f, const ModelHParams& h, int l);

// Creates the backend(s) for `f` as asked. For a device backend with auto layers the free memory
// is read from Backend::memory_free().
Result<Placement> place_model(const gguf::File& f, const PlacementOptions& opt);

}  // namespace hearth
