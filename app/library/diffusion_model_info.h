// What the Models page and the Image tab show about a diffusion pipeline: a diffusers folder
// (model_index.json beside text_encoder/, unet/, vae/, tokenizer/, scheduler/). Read from the small
// JSON files only (no weights), so listing is cheap; the engine's Pipeline::open is the full check,
// done when the Image tab first runs it.
#pragma once

#include <QString>
#include <cstdint>
#include <vector>

namespace hearth::app {

struct DiffusionModelInfo {
    QString path;        // the folder
    QString name;        // the folder's name
    QString kind;        // "Stable Diffusion 1.x" | "Stable Diffusion 2.x" | "SD-Turbo" | the pipeline class
    uint64_t weightBytes = 0;  // the safetensors of text_encoder/, unet/ and vae/ (the memory basis)
    QString error;       // why it cannot be used (empty: it looks like a pipeline)
    bool usable() const { return error.isEmpty(); }
};

// True when `dir` holds a model_index.json (what "Add folder…" accepts as a diffusion model).
bool isDiffusionFolder(const QString& dir);

// Reads one folder; a folder that is not a pipeline comes back with error set.
DiffusionModelInfo readDiffusionModelInfo(const QString& dir);

// The pipelines among the direct subfolders of `folder` (the models folder), sorted by name.
std::vector<DiffusionModelInfo> scanDiffusionModels(const QString& folder);

}  // namespace hearth::app
