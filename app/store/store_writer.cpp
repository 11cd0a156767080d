#include "app/store/store_writer.h"

namespace hearth::app {

void StoreWriter::start() {
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void StoreWriter::stop() {
    if (thread_.joinable()) {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }
    db_.close();
}

void StoreWriter::post(Job job) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
}

Status StoreWriter::flush() {
    waitIdle();
    std::lock_guard lock(mutex_);
    return std::exchange(firstError_, Status());
}

void StoreWriter::waitIdle() {
    std::unique_lock lock(mutex_);
    if (thread_.joinable()) done_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void StoreWriter::setErrorHandler(ErrorHandler handler) {
    std::lock_guard lock(mutex_);
    onError_ = std::move(handler);
}

void StoreWriter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) break;  // stopping, and everything queued has run
        Job job = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        const Status st = job(db_);
        lock.lock();
        busy_ = false;
        if (!st.ok()) {
            if (firstError_.ok()) firstError_ = st;
            if (onError_) onError_(st);
        }
        if (queue_.empty()) done_.notify_all();
    }
    done_.notify_all();
}

}  // namespace hearth::app
