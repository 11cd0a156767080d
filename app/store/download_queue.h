// DownloadQueue: the model downloads a person started, in the conversation database's `downloads`
// table (schema v5), so that they survive a restart of the app. It holds what to download and how
// far it got; the bytes are in the engine's .part files beside each destination file, which the
// engine's DownloadJob resumes from. Writes go through the store's one writer thread (they return at
// once); reads wait for the writes queued before them. Never holds the hub access token.
#pragma once

#include <QJsonArray>
#include <QString>
#include <cstdint>
#include <vector>

#include "engine/util/status.h"

namespace hearth::app {

class ChatStore;

struct DownloadRecord {
    int64_t id = 0;
    QString label;        // what the person chose, e.g. "Qwen2.5 1.5B Instruct · Q4_K_M"
    QString repo;         // "org/name"
    QString revision = QStringLiteral("main");
    QString endpoint;     // the hub endpoint the listing came from
    QJsonArray files;     // [{path, size, sha256, oid}] as the listing gave them
    QString destination;  // folder the files go to (under their repository paths)
    QString state = QStringLiteral("queued");  // queued | running | paused | failed | done | cancelled
    int64_t totalBytes = 0, doneBytes = 0;
    QString error;
    int64_t createdAt = 0, updatedAt = 0;
};

class DownloadQueue {
public:
    explicit DownloadQueue(ChatStore* store) : store_(store) {}

    // Every download, oldest first.
    Result<std::vector<DownloadRecord>> all();
    // Queues the insert and returns the new row's id (allocated here, as ChatStore does).
    Result<int64_t> add(DownloadRecord r);
    Status setState(int64_t id, const QString& state, const QString& error = {});
    Status setBytes(int64_t id, int64_t doneBytes, int64_t totalBytes);
    Status remove(int64_t id);

private:
    ChatStore* store_;
    int64_t nextId_ = 0;  // 0: not read yet
};

}  // namespace hearth::app
