#include "app/store/schema.h"

#include <QtGlobal>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace hearth::app::schema {

namespace {

// Times are milliseconds since the Unix epoch (UTC).
const char* const kV1 = R"SQL(
CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    model         TEXT    NOT NULL DEFAULT '',
    system_prompt TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content         TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    token_count     INTEGER NOT NULL DEFAULT 0,
    model           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
CREATE INDEX conversations_by_update ON conversations(updated_at DESC);
)SQL";

// The trigram tokenizer matches any substring of three or more characters, which is what a user
// expects from a search box in Chinese (no spaces between words) as much as in English.
const char* const kV2 = R"SQL(
ALTER TABLE conversations ADD COLUMN settings_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN gen_settings_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN in_context INTEGER NOT NULL DEFAULT 1;
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id', tokenize='trigram');
INSERT INTO messages_fts(rowid, content) SELECT id, content FROM messages;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
)SQL";

// Streaming answers append their text to message_chunks (one small row per save, so a save costs the
// same at 20,000 characters as at 100); when the answer ends the chunks are joined into content in
// one UPDATE, which the v2 trigger indexes once. A message's content stays '' while it streams.
const char* const kV3 = R"SQL(
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN shown INTEGER NOT NULL DEFAULT 1;
UPDATE messages SET slot = id;
CREATE INDEX messages_by_slot ON messages(conversation_id, slot, id);
CREATE TABLE message_chunks (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    PRIMARY KEY (message_id, seq)
) WITHOUT ROWID;
)SQL";

// The LoRA adapters a conversation uses, in the order the person added them: a PEFT folder or a
// .gguf file, the scale it is applied at, and whether it is switched on. Rows go with their
// conversation (ON DELETE CASCADE).
const char* const kV4 = R"SQL(
CREATE TABLE conversation_adapters (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    path            TEXT    NOT NULL,
    scale           REAL    NOT NULL DEFAULT 1.0,
    enabled         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (conversation_id, position)
) WITHOUT ROWID;
)SQL";

// The model downloads a person started (the wizard's queue): the hub repository, revision and
// endpoint, the chosen files as the listing gave them (path, size, sha256, git oid: JSON), the folder
// they go to, and how far it got. The bytes themselves live in the engine's .part files beside the
// destination, so a restart resumes from them; this table only says what to resume. The access
// token is never stored here (it lives in the settings file).
const char* const kV5 = R"SQL(
CREATE TABLE downloads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    label       TEXT    NOT NULL DEFAULT '',
    repo        TEXT    NOT NULL,
    revision    TEXT    NOT NULL DEFAULT 'main',
    endpoint    TEXT    NOT NULL DEFAULT '',
    files_json  TEXT    NOT NULL DEFAULT '[]',
    destination TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'paused', 'failed', 'done', 'cancelled')),
    total_bytes INTEGER NOT NULL DEFAULT 0,
    done_bytes  INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
)SQL";

// The Image tab's gallery: one row per generated picture, its PNG under <data>/images/ (file: the
// path), and everything needed to make it again (prompt, negative prompt, seed, size, steps,
// guidance, sampler, the pipeline folder) plus when it was made and how long it took.
const char* const kV6 = R"SQL(
CREATE TABLE images (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    file        TEXT    NOT NULL,
    prompt      TEXT    NOT NULL DEFAULT '',
    negative    TEXT    NOT NULL DEFAULT '',
    seed        INTEGER NOT NULL DEFAULT 0,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    steps       INTEGER NOT NULL,
    guidance    REAL    NOT NULL,
    sampler     TEXT    NOT NULL,
    model       TEXT    NOT NULL DEFAULT '',
    seconds     REAL    NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX images_by_time ON images(created_at DESC);
)SQL";

// Documents a person attached to a conversation for the model to search (the chat's Documents):
// the file as it was when indexed (path, size, modification time), the embedding model that indexed
// it, and how far indexing got. Each passage keeps its text, where it starts (line, Markdown
// heading) and its unit vector (float32, little-endian, the model's width). A user turn answered
// with passages keeps the prompt the model was given (`prompt`, '' when it was the message itself)
// and which passages those were (`sources_json`), so a regenerated answer sees the same text.
const char* const kV7 = R"SQL(
CREATE TABLE documents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    path            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    bytes           INTEGER NOT NULL DEFAULT 0,
    modified_at     INTEGER NOT NULL DEFAULT 0,
    embed_model     TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'indexing' CHECK (state IN ('indexing', 'ready', 'failed')),
    error           TEXT    NOT NULL DEFAULT '',
    passages        INTEGER NOT NULL DEFAULT 0,
    enabled         INTEGER NOT NULL DEFAULT 1,
    added_at        INTEGER NOT NULL
);
CREATE INDEX documents_by_conversation ON documents(conversation_id, id);
CREATE TABLE document_passages (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    line        INTEGER NOT NULL DEFAULT 0,
    heading     TEXT    NOT NULL DEFAULT '',
    text        TEXT    NOT NULL,
    vector      BLOB    NOT NULL,
    PRIMARY KEY (document_id, seq)
) WITHOUT ROWID;
ALTER TABLE messages ADD COLUMN prompt TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN sources_json TEXT NOT NULL DEFAULT '[]';
)SQL";

int slowMigrationMs() {
    bool ok = false;
    const int ms = qEnvironmentVariableIntValue("HEARTH_TEST_SLOW_MIGRATION_MS", &ok);
    return ok && ms > 0 ? ms : 0;
}

}  // namespace

const char* migrationSql(int version) {
    switch (version) {
        case 1: return kV1;
        case 2: return kV2;
        case 3: return kV3;
        case 4: return kV4;
        case 5: return kV5;
        case 6: return kV6;
        case 7: return kV7;
        default: return nullptr;
    }
}

Status setPragmas(SqliteDb& db) {
    // WAL: readers never block the streaming writer, and a killed process leaves committed
    // transactions intact. synchronous=NORMAL is corruption-safe in WAL mode; a power cut may lose
    // the last commits, a crashed process loses nothing that was committed.
    {
        auto mode = db.prepare("PRAGMA journal_mode=WAL");
        if (!mode.step()) return mode.ok() ? make_error("cannot set WAL journal mode") : mode.status();
        if (mode.text(0).toLower() != QLatin1String("wal"))
            return make_error("the database does not support WAL mode (journal_mode is " + mode.text(0).toStdString() + ")");
    }  // the statement must be finished before a transaction can commit
    return db.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
}

Status prepareDatabase(SqliteDb& db) {
    HEARTH_RETURN_IF_ERROR(setPragmas(db));
    auto ver = db.scalarInt("PRAGMA user_version");
    HEARTH_RETURN_IF_ERROR(ver);
    const int have = int(*ver);
    if (have > kCurrentVersion)
        return make_error("the database was written by a newer Hearth (schema version " + std::to_string(have) +
                          ", this one knows up to " + std::to_string(kCurrentVersion) + ")");
    for (int v = have + 1; v <= kCurrentVersion; ++v) {
        Transaction tx(db);
        HEARTH_RETURN_IF_ERROR(tx.status());
        Status st = db.exec(migrationSql(v));
        if (!st.ok()) return make_error("migration to schema version " + std::to_string(v) + " failed: " + st.message());
        HEARTH_RETURN_IF_ERROR(db.exec(("PRAGMA user_version=" + std::to_string(v)).c_str()));
        if (const int ms = slowMigrationMs()) {
            std::fprintf(stderr, "MIGRATING %d\n", v);
            std::fflush(stderr);
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        }
        HEARTH_RETURN_IF_ERROR(tx.commit());
    }
    return Status();
}

}  // namespace hearth::app::schema
