// A model file opened and placed, with its tokenizer and description, ready for contexts: what a
// Session holds under its one context, and what the server's scheduler shares between its
// sequence slots (one load, N contexts). Kept in one place so both load a model the same way.
#pragma once

#include <memory>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/model/model.h"
#include "engine/model/placement.h"
#include "engine/sampling/token_constraint.h"
#include "engine/session/session.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth {

struct LoadedModel {
    std::unique_ptr<gguf::File> file;
    Placement placement;  // the backend(s); declared before the model that uses them
    std::unique_ptr<Model> model;
    std::unique_ptr<tokenizer::Tokenizer> tok;
    ModelInfo info;       // everything but kv_bytes (the contexts' business)
    int n_ctx = 0;        // per context: the options' n_ctx clamped to the training context
    GgmlType kv_type = GgmlType::F16;
};

// The model's vocabulary as constrained sampling reads it (token_constraint.h): each id's text and
// its end-of-generation flag; ids past the tokenizer's vocabulary (padded output rows) are empty.
std::shared_ptr<const VocabPieces> vocab_pieces(const LoadedModel& lm);

// Opens, places and loads opt.path; `progress` sees [0, 0.98] (the rest is the caller's contexts).
// opt.loras is not applied here: adapters attach to contexts.
Result<std::unique_ptr<LoadedModel>> load_model(const ModelOptions& opt, const ProgressFn& progress);

}  // namespace hearth
