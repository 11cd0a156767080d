// ChatStore::search: every whitespace-separated term must occur (case-insensitively) in one message
// of the conversation, or the term list in its title. Terms of three characters or more use the
// trigram FTS5 index; shorter ones (a two-character Chinese word) fall back to a LIKE scan of the
// message table, which the trigram index cannot answer.
#include <QRegularExpression>
#include <QStringList>

#include "app/store/chat_store.h"

namespace hearth::app {

namespace {

QString likePattern(const QString& term) {
    QString p = term;
    p.replace(QLatin1Char('\\'), QLatin1String("\\\\"));
    p.replace(QLatin1Char('%'), QLatin1String("\\%"));
    p.replace(QLatin1Char('_'), QLatin1String("\\_"));
    return QLatin1Char('%') + p + QLatin1Char('%');
}

QString snippetAround(const QString& text, const QString& term, int radius = 40) {
    const QString flat = text.simplified();
    const int at = flat.indexOf(term, 0, Qt::CaseInsensitive);
    if (at < 0) return flat.left(2 * radius);
    int from = std::max(0, at - radius);
    int to = std::min<int>(flat.size(), at + int(term.size()) + radius);
    if (from > 0 && flat.at(from).isLowSurrogate()) --from;
    if (to < flat.size() && flat.at(to - 1).isHighSurrogate()) ++to;
    return (from > 0 ? QStringLiteral("…") : QString()) + flat.mid(from, to - from) +
           (to < flat.size() ? QStringLiteral("…") : QString());
}

}  // namespace

Result<std::vector<SearchHit>> ChatStore::search(const QString& query, int limit) {
    const QStringList terms = query.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts);
    std::vector<SearchHit> hits;
    if (terms.isEmpty()) return hits;
    waitForWrites();

    // One message must hold every term; the message matched first (lowest id) gives the snippet.
    QString sql = QStringLiteral(
        "SELECT c.id, c.title, c.updated_at, m.content FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE 1");
    for (const QString& t : terms) {
        if (t.toUcs4().size() >= 3)
            sql += QStringLiteral(" AND m.id IN (SELECT rowid FROM messages_fts WHERE content LIKE ? ESCAPE '\\')");
        else
            sql += QStringLiteral(" AND m.content LIKE ? ESCAPE '\\'");
    }
    sql += QStringLiteral(" ORDER BY c.updated_at DESC, m.id");
    const QByteArray sqlUtf8 = sql.toUtf8();
    auto s = read_.prepare(sqlUtf8.constData());
    for (int i = 0; i < terms.size(); ++i) s.bind(i + 1, likePattern(terms[i]));
    QList<int64_t> seen;
    while (s.step()) {
        const int64_t id = s.int64(0);
        if (seen.contains(id)) continue;
        seen.append(id);
        hits.push_back({id, s.text(1), snippetAround(s.text(3), terms.first()), s.int64(2)});
        if (int(hits.size()) >= limit) return hits;
    }
    if (!s.ok()) return s.status();

    // Conversations whose title holds every term, but none of whose messages matched.
    QString tsql = QStringLiteral("SELECT id, title, updated_at FROM conversations WHERE 1");
    for (int i = 0; i < terms.size(); ++i) tsql += QStringLiteral(" AND title LIKE ? ESCAPE '\\'");
    tsql += QStringLiteral(" ORDER BY updated_at DESC");
    const QByteArray tsqlUtf8 = tsql.toUtf8();
    auto ts = read_.prepare(tsqlUtf8.constData());
    for (int i = 0; i < terms.size(); ++i) ts.bind(i + 1, likePattern(terms[i]));
    while (ts.step()) {
        const int64_t id = ts.int64(0);
        if (seen.contains(id)) continue;
        seen.append(id);
        hits.push_back({id, ts.text(1), QString(), ts.int64(2)});
        if (int(hits.size()) >= limit) break;
    }
    if (!ts.ok()) return ts.status();
    return hits;
}

}  // namespace hearth::app
