// Plain records the store reads and writes (no behaviour): one conversation, one message, one hit.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QMetaType>
#include <QString>
#include <cstdint>
#include <vector>

namespace hearth::app {

// One LoRA adapter of a conversation: a PEFT folder or a .gguf file, its scale, and its switch.
struct AdapterRecord {
    QString path;
    double scale = 1.0;
    bool enabled = true;

    bool operator==(const AdapterRecord&) const = default;
};

struct ConversationRecord {
    int64_t id = 0;
    QString title;
    int64_t createdAt = 0;  // ms since epoch, UTC
    int64_t updatedAt = 0;
    QString model;          // path of the model file last used
    QString systemPrompt;
    QJsonObject settings;   // per-conversation overrides: {"think": bool, "temperature": …}
    std::vector<AdapterRecord> adapters;  // in order; read by conversation(id), not by the list
};

struct MessageRecord {
    int64_t id = 0;
    int64_t conversationId = 0;
    QString role;           // "system" | "user" | "assistant"
    QString content;
    int64_t createdAt = 0;
    int tokenCount = 0;
    QString model;
    QJsonObject genSettings;
    bool inContext = true;  // false: the sliding window dropped it from the model's context
    // How an answer ended: "" complete, "streaming" being written now, "stopped" (the user stopped
    // it), "length" (cut by the answer-length limit), "interrupted" (the app ended while writing it),
    // "error" (generation failed part-way).
    QString status;
    // Regenerate keeps earlier answers as alternatives of one slot: this is alternative altIndex
    // (0-based) of altCount; altCount is 1 for a message that was never regenerated.
    int altIndex = 0;
    int altCount = 1;
    // A question answered from the conversation's documents: what the model was given instead of
    // `content` (the passages found, then the question; "" when it was given `content`), and the
    // passages: [{"name", "line", "heading", "score", "text"}].
    QString prompt;
    QJsonArray sources;
};

// One passage of an indexed document: where it starts (line, Markdown heading), its text, and its
// unit vector from the embedding model.
struct StoredPassage {
    int line = 0;
    QString heading;
    QString text;
    std::vector<float> vector;
};

// A document attached to a conversation (document_store.h).
struct DocumentRecord {
    int64_t id = 0;
    int64_t conversationId = 0;
    QString path;
    QString name;
    int64_t bytes = 0;
    int64_t modifiedAt = 0;  // the file's, ms since the epoch, when it was indexed
    QString embedModel;      // the embedding model's path
    QString state;           // "indexing" | "ready" | "failed"
    QString error;
    int passages = 0;
    bool enabled = true;
    int64_t addedAt = 0;
};

struct SearchHit {
    int64_t conversationId = 0;
    QString title;
    QString snippet;        // text around the first match ("…" at cut ends)
    int64_t updatedAt = 0;
};

}  // namespace hearth::app

Q_DECLARE_METATYPE(hearth::app::MessageRecord)
