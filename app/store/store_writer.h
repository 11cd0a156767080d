// StoreWriter: the one thread that writes the conversation database, over its own connection.
// Jobs run in the order they were posted, each committing by itself (or in its own transaction),
// so the file on disk is always some prefix of what the app asked for. flush() is the barrier that
// tests, reads that must see earlier writes, and shutdown use.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "app/store/sqlite_db.h"

namespace hearth::app {

class StoreWriter {
public:
    using Job = std::function<Status(SqliteDb&)>;
    using ErrorHandler = std::function<void(const Status&)>;

    StoreWriter() = default;
    ~StoreWriter() { stop(); }
    StoreWriter(const StoreWriter&) = delete;
    StoreWriter& operator=(const StoreWriter&) = delete;

    // The connection, for the open-time work (migration, recovery) done before start().
    SqliteDb& db() { return db_; }
    void start();
    // Runs every queued job, then ends the thread and closes the connection.
    void stop();
    bool running() const { return thread_.joinable(); }

    void post(Job job);
    // Waits until every job posted before the call has run; returns the first error since the last
    // flush (later errors of the same batch went to the error handler too).
    Status flush();
    // Waits like flush() but leaves the error for flush() to report (reads use it).
    void waitIdle();
    // Called on the writer thread for every failed job; keep it short (post to another thread).
    void setErrorHandler(ErrorHandler handler);

private:
    void run();

    SqliteDb db_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;   // the writer: a job or stop arrived
    std::condition_variable done_;   // flush(): the queue ran dry
    std::deque<Job> queue_;
    bool busy_ = false;
    bool stopping_ = false;
    Status firstError_;
    ErrorHandler onError_;
};

}  // namespace hearth::app
