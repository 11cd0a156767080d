// The conversation database schema and its forward migrations. PRAGMA user_version holds the
// number of migrations applied; opening a database runs the missing ones, each in a transaction, so
// a database from any older Hearth is brought up to date and a newer one is refused (not damaged).
#pragma once

#include "app/store/sqlite_db.h"

namespace hearth::app::schema {

// Version 1: conversations and messages (the first release's tables).
// Version 2: per-conversation settings, per-message generation settings and in_context flags, and
//            the FTS5 (trigram) index over message text with the triggers that keep it in step.
// Version 3: how an answer ended (status), regenerated alternatives (slot: the id of the slot's first
//            message; shown: the one alternative of a slot that is displayed and sent as history),
//            and message_chunks, the append-only text of answers still streaming (content and its
//            index are written once, when the answer ends).
// Version 4: conversation_adapters, the LoRA adapters of each conversation (path, scale, on/off, in order).
// Version 5: downloads, the model wizard's download queue (repository, files, destination, state, bytes).
// Version 6: images, the Image tab's gallery (PNG file, prompt, negative, seed, size, steps, guidance,
//            sampler, model, seconds, time).
inline constexpr int kCurrentVersion = 7;

// The SQL of one migration step (from `version - 1` to `version`); tests use it to build old databases.
const char* migrationSql(int version);

// Sets the connection pragmas (WAL, foreign keys, synchronous) and applies missing migrations.
// Each migration is one transaction with its user_version bump, so a process killed part-way leaves
// the previous version intact. Test hook: HEARTH_TEST_SLOW_MIGRATION_MS makes each step wait that
// long inside its transaction (and say so on stderr), so a kill can land inside one.
Status prepareDatabase(SqliteDb& db);

// Sets the connection pragmas only (a second connection to a prepared database).
Status setPragmas(SqliteDb& db);

}  // namespace hearth::app::schema
