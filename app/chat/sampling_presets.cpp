#include "app/chat/sampling_presets.h"

namespace hearth::app {

QJsonObject SamplingValues::toJson() const {
    return QJsonObject{{"temperature", temperature}, {"top_k", topK},     {"top_p", topP},
                       {"min_p", minP},              {"repeat_penalty", repeatPenalty},
                       {"seed", double(seed)},       {"max_new_tokens", maxNewTokens}};
}

std::optional<FamilyPreset> presetForModel(const QString& modelName, const QString& fileName) {
    const QString hay = (modelName + QLatin1Char(' ') + fileName).toLower();
    if (hay.contains(QLatin1String("deepseek-r1")) || hay.contains(QLatin1String("deepseek r1")) ||
        hay.contains(QLatin1String("r1-distill")))
        return FamilyPreset{QStringLiteral("DeepSeek-R1 distill"), 0.6, 0.95};
    if (hay.contains(QLatin1String("qwq")))
        return FamilyPreset{QStringLiteral("QwQ"), 0.6, 0.95};
    if (hay.contains(QLatin1String("qwen3")))
        return FamilyPreset{QStringLiteral("Qwen3"), 0.6, 0.95};
    return std::nullopt;
}

SamplingValues effectiveSampling(const SamplingValues& global, const std::optional<FamilyPreset>& preset,
                                 bool applyPresets, const QJsonObject& o) {
    SamplingValues v = global;
    if (applyPresets && preset) {
        if (preset->temperature) v.temperature = *preset->temperature;
        if (preset->topP) v.topP = *preset->topP;
    }
    if (o.contains("temperature")) v.temperature = o.value("temperature").toDouble(v.temperature);
    if (o.contains("top_k")) v.topK = o.value("top_k").toInt(v.topK);
    if (o.contains("top_p")) v.topP = o.value("top_p").toDouble(v.topP);
    if (o.contains("min_p")) v.minP = o.value("min_p").toDouble(v.minP);
    if (o.contains("repeat_penalty")) v.repeatPenalty = o.value("repeat_penalty").toDouble(v.repeatPenalty);
    if (o.contains("seed")) v.seed = qint64(o.value("seed").toDouble(double(v.seed)));
    if (o.contains("max_new_tokens")) v.maxNewTokens = o.value("max_new_tokens").toInt(v.maxNewTokens);
    return v;
}

}  // namespace hearth::app
