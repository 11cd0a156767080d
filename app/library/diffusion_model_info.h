// What the Models page and the Image tab show about a diffusion pipeline: a diffusers folder
// (model_index.json beside text_encoder/, unet/, vae/, tokenizer/, scheduler/), or a single-file
// checkpoint (.safetensors with the original key names) with the diffusers folder its configs and
// tokenizer come from. Read from the small JSON files and the checkpoint's header only (no
// weights), so listing is cheap; the engine's Pipeline::open is the full check, done when the Image
// tab first runs it.
#pragma once

#include <QString>
#include <cstdint>
#include <vector>

namespace hearth::app {

struct DiffusionModelInfo {
    QString path;        // the folder, or the checkpoint file
    QString configDir;   // a checkpoint's: the diffusers folder of the same model for its configs and
                         // tokenizer (empty: the family's usual configs and tokenizer/ beside the file)
    bool singleFile = false;
    QString name;        // the folder's name, the file's without .safetensors
    QString kind;        // "Stable Diffusion 1.x" | "Stable Diffusion 2.x" | "SD-Turbo" | the pipeline class
    uint64_t weightBytes = 0;  // the safetensors of text_encoder/, unet/ and vae/ (the memory basis)
    QString error;       // why it cannot be used (empty: it looks like a pipeline)
    bool usable() const { return error.isEmpty(); }
};

// True when `dir` holds a model_index.json (what "Add folder…" accepts as a diffusion model).
bool isDiffusionFolder(const QString& dir);

// Reads one folder; a folder that is not a pipeline comes back with error set.
DiffusionModelInfo readDiffusionModelInfo(const QString& dir);

// True when `path` is a file named *.safetensors (what "Add checkpoint…" accepts to look at).
bool isCheckpointFile(const QString& path);
// Whether a checkpoint has CLIP's tokenizer/ folder beside it (else it needs a config folder).
bool checkpointHasTokenizer(const QString& file);
// Reads a single-file checkpoint's header (Pipeline::check_single_file: its family, and that the
// config folder, when given, is of the same family and a tokenizer is there); error set when not.
DiffusionModelInfo readCheckpointInfo(const QString& file, const QString& configDir);

// The pipelines among the direct subfolders of `folder` (the models folder), sorted by name.
std::vector<DiffusionModelInfo> scanDiffusionModels(const QString& folder);

}  // namespace hearth::app
