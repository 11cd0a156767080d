#include "app/store/sqlite_db.h"

namespace hearth::app {

namespace {
Status sqliteError(sqlite3* db, const char* what) {
    return make_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}
}  // namespace

Statement::~Statement() {
    if (st_) sqlite3_finalize(st_);
}

Statement& Statement::bind(int index, int64_t v) {
    if (st_ && status_.ok() && sqlite3_bind_int64(st_, index, v) != SQLITE_OK) status_ = sqliteError(db_, "bind");
    return *this;
}

Statement& Statement::bind(int index, double v) {
    if (st_ && status_.ok() && sqlite3_bind_double(st_, index, v) != SQLITE_OK) status_ = sqliteError(db_, "bind");
    return *this;
}

Statement& Statement::bind(int index, const QString& v) {
    if (!st_ || !status_.ok()) return *this;
    const QByteArray utf8 = v.toUtf8();
    if (sqlite3_bind_text(st_, index, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT) != SQLITE_OK)
        status_ = sqliteError(db_, "bind");
    return *this;
}

Statement& Statement::bindNull(int index) {
    if (st_ && status_.ok() && sqlite3_bind_null(st_, index) != SQLITE_OK) status_ = sqliteError(db_, "bind");
    return *this;
}

Statement& Statement::bindBlob(int index, const QByteArray& v) {
    if (!st_ || !status_.ok()) return *this;
    if (sqlite3_bind_blob(st_, index, v.constData(), int(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
        status_ = sqliteError(db_, "bind");
    return *this;
}

bool Statement::step() {
    if (!st_ || !status_.ok()) return false;
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) status_ = sqliteError(db_, "step");
    return false;
}

Status Statement::exec() {
    while (step()) {
    }
    return status_;
}

void Statement::reset() {
    if (!st_) return;
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    status_ = Status();
}

QString Statement::text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    const int n = sqlite3_column_bytes(st_, col);
    return p ? QString::fromUtf8(p, n) : QString();
}

QByteArray Statement::blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(st_, col));
    const int n = sqlite3_column_bytes(st_, col);
    return p ? QByteArray(p, n) : QByteArray();
}

SqliteDb::~SqliteDb() { close(); }

Status SqliteDb::open(const QString& path) {
    close();
    const QByteArray p = path.toUtf8();
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(p.constData(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        Status st = make_error("cannot open database " + p.toStdString() + ": " +
                               (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
        if (db) sqlite3_close(db);
        return st;
    }
    db_ = db;
    path_ = path;
    // Another process (a second window, a backup tool) may hold a lock for a moment: wait for it.
    sqlite3_busy_timeout(db_, 5000);
    return Status();
}

void SqliteDb::close() {
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
}

Status SqliteDb::exec(const char* sql) {
    if (!db_) return make_error("database is not open");
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        return make_error("SQL error: " + msg);
    }
    return Status();
}

Statement SqliteDb::prepare(const char* sql) {
    Statement s;
    s.db_ = db_;
    if (!db_) {
        s.status_ = make_error("database is not open");
        return s;
    }
    if (sqlite3_prepare_v2(db_, sql, -1, &s.st_, nullptr) != SQLITE_OK) s.status_ = sqliteError(db_, "prepare");
    return s;
}

Result<int64_t> SqliteDb::scalarInt(const char* sql) {
    Statement s = prepare(sql);
    if (!s.step()) return s.ok() ? make_error(std::string("no row from: ") + sql) : s.status();
    return s.int64(0);
}

QString SqliteDb::lastError() const { return db_ ? QString::fromUtf8(sqlite3_errmsg(db_)) : QString(); }

Transaction::Transaction(SqliteDb& db) : db_(db) { begin_ = db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    if (!done_ && begin_.ok()) (void)db_.exec("ROLLBACK");
}

Status Transaction::commit() {
    if (!begin_.ok()) return begin_;
    done_ = true;
    Status st = db_.exec("COMMIT");
    if (!st.ok()) (void)db_.exec("ROLLBACK");
    return st;
}

}  // namespace hearth::app
