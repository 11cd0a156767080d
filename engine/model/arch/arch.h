// One builder per architecture. Each architecture is one small file in this folder that says, top
// to bottom, what its file holds (its layer tensors, through the shared Manifest pieces), which
// metadata it reads beyond the shared keys, and what one layer computes (through the shared
// blocks of LayerRun). The loader, the forward pass, placement and the random-model writer all go
// through this table; nothing else compares architecture names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/hparams.h"
#include "engine/util/status.h"

namespace hearth {

class Manifest;
struct LayerRun;
struct LayerWeights;

struct ArchDef {
    Arch id;
    const char* name;             // general.architecture
    RopeMode rope_mode;
    std::vector<Op> ops;          // ops its forward uses beyond the first set (placement asks the backend for them)
    // Architecture-specific metadata and per-layer parameters, after the shared keys (null: none).
    Status (*read_hparams)(const gguf::File& f, ModelHParams& h);
    void (*layer_tensors)(Manifest& m, int layer);
    void (*forward_layer)(LayerRun& r, const LayerWeights& L);
    bool experts = false;         // its files may have a mixture-of-experts FFN ({arch}.expert_count > 0)
};

// llama's layer (arch/llama.cpp), which the architectures that differ from it only in their tensors
// or metadata (qwen2, qwen3, phi3) use as theirs.
void llama_layer(LayerRun& r, const LayerWeights& L);

const ArchDef* find_arch(std::string_view name);  // null when not supported
const ArchDef& arch_def(Arch id);
std::string supported_arch_names();                 // "llama, qwen2, …" for messages

}  // namespace hearth
