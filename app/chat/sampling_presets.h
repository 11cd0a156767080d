// Recommended sampling per model family, from the model authors' own advice (DeepSeek-R1 distills:
// temperature 0.6, top-p 0.95 — lower temperatures loop, higher ones ramble), and the merge of
// global settings, family advice and per-conversation overrides into what the engine gets.
#pragma once

#include <QJsonObject>
#include <QString>
#include <optional>

namespace hearth::app {

struct SamplingValues {
    double temperature = 0.8;
    int topK = 40;
    double topP = 0.95;
    double minP = 0.05;
    double repeatPenalty = 1.1;
    qint64 seed = -1;       // -1: a new random seed each answer
    int maxNewTokens = 1024;

    QJsonObject toJson() const;
};

struct FamilyPreset {
    QString family;         // shown to the user: "DeepSeek-R1 distill"
    std::optional<double> temperature, topP;
};

// The preset for a model, recognised from its name, file name or architecture; nullopt if none.
std::optional<FamilyPreset> presetForModel(const QString& modelName, const QString& fileName);

// Global settings, then the family preset (when `applyPresets`), then the conversation's own
// overrides (keys "temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed", "max_new_tokens").
SamplingValues effectiveSampling(const SamplingValues& global, const std::optional<FamilyPreset>& preset,
                                 bool applyPresets, const QJsonObject& conversationOverrides);

}  // namespace hearth::app
