// What the Models page shows about a .gguf file, read from its metadata and tensor table without
// loading weights (gguf::File maps the file and parses only the header): name, architecture,
// parameters, quantization, size, context length, and the engine's memory footprint.
// A split model (name-00001-of-00003.gguf …) is one entry whose parts are all checked.
// The whole model is checked as the engine will load it — hyperparameters (read_hparams) and the
// vocabulary (Tokenizer::from_gguf) — so a model that cannot be used is marked when it is scanned
// or imported (on a pool thread), not when the user first tries it.
#pragma once

#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

#include "engine/util/status.h"

namespace hearth::app {

// Why a listed model cannot be used, in words the Models page turns into a plain sentence.
// EmbeddingModel is not a fault: a text embedding model (BERT family) is kept and listed, but it
// does not chat; the local API server uses it for /v1/embeddings.
enum class ModelProblem { None, NotAModel, MissingPart, Architecture, Vocabulary, EmbeddingModel };

struct ModelFileInfo {
    QString path;           // the file to open (first part of a split model)
    QStringList parts;      // every file of the model (one unless split)
    QString fileName;       // shown name of the file ("model-00001-of-00002.gguf" → "model")
    QString name;           // general.name or the file stem
    QString architecture;
    QString quantization;   // "Q4_K_M"
    uint64_t nParams = 0;
    uint64_t fileSize = 0;  // all parts
    int contextLength = 0;  // training context
    bool thinkTemplate = false;  // the chat template mentions <think>
    int expertCount = 0, expertsUsed = 0;  // a mixture of experts: experts, and how many each token takes (0: dense)
    // The engine's own footprint (engine/model/placement.h, model_footprint) of this model: weights,
    // the scratch of one batch, and the KV cache per block of kKvBlockTokens cells (it grows
    // linearly with the context), so the Models page and the load check never re-read the file.
    uint64_t weightBytes = 0, scratchBytes = 0, kvBytesPerBlock = 0;
    ModelProblem problem = ModelProblem::None;
    QString error;          // the engine's technical text when the model cannot be used (shown under "Details")
    bool usable() const { return problem == ModelProblem::None; }  // for chat
    bool embeddingModel() const { return problem == ModelProblem::EmbeddingModel; }
};

// Reads one model (a path to any part of a split model finds the others next to it).
Result<ModelFileInfo> readModelFileInfo(const QString& path);

// Every model in `folder` (not recursive), sorted by name. Unreadable files are listed with error set.
std::vector<ModelFileInfo> scanModelsFolder(const QString& folder);

// Split-file naming: returns true and fills prefix/index/count for "<prefix>-00001-of-00003.gguf".
bool parseSplitName(const QString& fileName, QString* prefix, int* index, int* count);

struct MemoryEstimate {
    uint64_t weightBytes = 0;    // the model's tensors
    uint64_t kvBytes = 0;        // K and V caches at the chosen context (as the session clamps it), F16
    uint64_t overheadBytes = 0;  // activations of one batch and the logits
    uint64_t total() const { return weightBytes + kvBytes + overheadBytes; }
};

// The footprint placement.cpp computes for the context the session will get (nCtx clamped to the
// training context), from the figures cached at scan time.
MemoryEstimate estimateMemory(const ModelFileInfo& info, int nCtx);

}  // namespace hearth::app
