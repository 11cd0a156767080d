// What the Models page shows about a .gguf file, read from its metadata and tensor table without
// loading weights (gguf::File maps the file and parses only the header): name, architecture,
// parameters, quantization, size, context length, and the shapes the memory estimate needs.
// A split model (name-00001-of-00003.gguf …) is one entry whose parts are all checked.
#pragma once

#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

#include "engine/util/status.h"

namespace hearth::app {

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
    int nLayer = 0, nEmbd = 0, nHead = 0, nKvHead = 0, headDim = 0;
    bool thinkTemplate = false;  // the chat template mentions <think>
    QString error;          // set when the file is not a usable model (listed so the user sees why)
};

// Reads one model (a path to any part of a split model finds the others next to it).
Result<ModelFileInfo> readModelFileInfo(const QString& path);

// Every model in `folder` (not recursive), sorted by name. Unreadable files are listed with error set.
std::vector<ModelFileInfo> scanModelsFolder(const QString& folder);

// Split-file naming: returns true and fills prefix/index/count for "<prefix>-00001-of-00003.gguf".
bool parseSplitName(const QString& fileName, QString* prefix, int* index, int* count);

struct MemoryEstimate {
    uint64_t weightBytes = 0;  // the file's tensor bytes (mmapped)
    uint64_t kvBytes = 0;      // K and V caches at the chosen context, F16
    uint64_t overheadBytes = 0;  // activations, logits, scratch
    uint64_t total() const { return weightBytes + kvBytes + overheadBytes; }
};

MemoryEstimate estimateMemory(const ModelFileInfo& info, int nCtx);

}  // namespace hearth::app
