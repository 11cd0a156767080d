// The conversation database schema and its forward migrations. PRAGMA user_version holds the
// number of migrations applied; opening a database runs the missing ones, each in a transaction, so
// a database from any older Hearth is brought up to date and a newer one is refused (not damaged).
#pragma once

#include "app/store/sqlite_db.h"

namespace hearth::app::schema {

// Version 1: conversations and messages (the first release's tables).
// Version 2: per-conversation settings, per-message generation settings and in_context flags, and
//            the FTS5 (trigram) index over message text with the triggers that keep it in step.
inline constexpr int kCurrentVersion = 2;

// The SQL of one migration step (from `version - 1` to `version`); tests use it to build old databases.
const char* migrationSql(int version);

// Sets the connection pragmas (WAL, foreign keys, synchronous) and applies missing migrations.
Status prepareDatabase(SqliteDb& db);

}  // namespace hearth::app::schema
