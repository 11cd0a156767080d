// ChatStore exports: Markdown for reading, JSON for other tools. Both hold the conversation's title,
// system prompt, model and messages in order; times are ISO 8601 UTC.
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>

#include "app/store/chat_store.h"

namespace hearth::app {

namespace {
QString isoTime(int64_t ms) {
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODate);
}

QString roleHeading(const QString& role) {
    if (role == QLatin1String("user")) return QStringLiteral("User");
    if (role == QLatin1String("assistant")) return QStringLiteral("Assistant");
    return QStringLiteral("System");
}
}  // namespace

Result<QString> ChatStore::exportMarkdown(int64_t conversationId) {
    auto conv = conversation(conversationId);
    HEARTH_RETURN_IF_ERROR(conv);
    auto msgs = messages(conversationId);
    HEARTH_RETURN_IF_ERROR(msgs);
    QString md;
    md += QStringLiteral("# ") + (conv->title.isEmpty() ? QStringLiteral("Untitled conversation") : conv->title) +
          QStringLiteral("\n\n");
    md += QStringLiteral("- Created: ") + isoTime(conv->createdAt) + QLatin1Char('\n');
    if (!conv->model.isEmpty()) md += QStringLiteral("- Model: ") + conv->model.section(QLatin1Char('/'), -1) + QLatin1Char('\n');
    md += QLatin1Char('\n');
    if (!conv->systemPrompt.isEmpty()) md += QStringLiteral("## System\n\n") + conv->systemPrompt + QStringLiteral("\n\n");
    for (const MessageRecord& m : *msgs) {
        md += QStringLiteral("## ") + roleHeading(m.role) + QStringLiteral("\n\n") + m.content.trimmed() +
              QStringLiteral("\n\n");
    }
    return md;
}

Result<QByteArray> ChatStore::exportJson(int64_t conversationId) {
    auto conv = conversation(conversationId);
    HEARTH_RETURN_IF_ERROR(conv);
    auto msgs = messages(conversationId);
    HEARTH_RETURN_IF_ERROR(msgs);
    QJsonArray arr;
    for (const MessageRecord& m : *msgs) {
        QJsonObject o{{"role", m.role}, {"content", m.content}, {"created_at", isoTime(m.createdAt)},
                      {"token_count", m.tokenCount}, {"in_context", m.inContext}};
        if (!m.model.isEmpty()) o.insert("model", m.model);
        if (!m.genSettings.isEmpty()) o.insert("generation_settings", m.genSettings);
        arr.append(o);
    }
    QJsonObject root{{"format", "hearth-conversation"},
                     {"version", 1},
                     {"title", conv->title},
                     {"created_at", isoTime(conv->createdAt)},
                     {"updated_at", isoTime(conv->updatedAt)},
                     {"model", conv->model},
                     {"system_prompt", conv->systemPrompt},
                     {"settings", conv->settings},
                     {"messages", arr}};
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

}  // namespace hearth::app
