// A thin RAII layer over the sqlite3 C API: one connection, prepared statements with typed binds,
// and errors returned as hearth::Status values that carry SQLite's own message.
#pragma once

#include <sqlite3.h>

#include <QByteArray>
#include <QString>
#include <cstdint>
#include <utility>

#include "engine/util/status.h"

namespace hearth::app {

class SqliteDb;

// One prepared statement. step() returns true while a row is available; done() tells whether the
// last step finished without error (check status() otherwise).
class Statement {
public:
    Statement() = default;
    Statement(Statement&& o) noexcept : db_(o.db_), st_(std::exchange(o.st_, nullptr)), status_(std::move(o.status_)) {}
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    ~Statement();

    Statement& bind(int index, int64_t v);
    Statement& bind(int index, int v) { return bind(index, int64_t(v)); }
    Statement& bind(int index, double v);
    Statement& bind(int index, const QString& v);
    Statement& bindNull(int index);
    Statement& bindBlob(int index, const QByteArray& v);

    bool step();                       // true: a row is ready
    Status exec();                     // steps to the end; error if any step failed
    void reset();

    int64_t int64(int col) const { return sqlite3_column_int64(st_, col); }
    int integer(int col) const { return sqlite3_column_int(st_, col); }
    double real(int col) const { return sqlite3_column_double(st_, col); }
    QString text(int col) const;
    QByteArray blob(int col) const;  // a copy of the column's bytes
    bool isNull(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

    const Status& status() const { return status_; }
    bool ok() const { return status_.ok(); }

private:
    friend class SqliteDb;
    sqlite3* db_ = nullptr;
    sqlite3_stmt* st_ = nullptr;
    Status status_;
};

class SqliteDb {
public:
    SqliteDb() = default;
    ~SqliteDb();
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;

    Status open(const QString& path);  // creates the file if missing
    void close();
    bool isOpen() const { return db_ != nullptr; }

    Status exec(const char* sql);           // one or more statements, no results
    Statement prepare(const char* sql);     // check statement.status() before use
    Result<int64_t> scalarInt(const char* sql);
    int64_t lastInsertId() const { return sqlite3_last_insert_rowid(db_); }
    int changes() const { return sqlite3_changes(db_); }
    QString lastError() const;
    sqlite3* handle() const { return db_; }

private:
    sqlite3* db_ = nullptr;
    QString path_;
};

// Runs a transaction; rolls back unless commit() is called (errors leave the database untouched).
class Transaction {
public:
    explicit Transaction(SqliteDb& db);
    ~Transaction();
    Status commit();
    const Status& status() const { return begin_; }

private:
    SqliteDb& db_;
    Status begin_;
    bool done_ = false;
};

}  // namespace hearth::app
