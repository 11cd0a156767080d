// A full disk, for the length of a scope: every write past `bytes` into any file of this process fails
// with EFBIG (RLIMIT_FSIZE), and SIGXFSZ is ignored so that write returns the error instead of ending
// the process. Files already longer than the limit keep their bytes; only writes past it fail. Keep
// the scope short: it holds for every thread (a log line written meanwhile may be lost).
#pragma once

#include <sys/resource.h>

#include <csignal>

namespace hearth::app::test {

class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        getrlimit(RLIMIT_FSIZE, &old_);
        oldHandler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lim = old_;
        lim.rlim_cur = bytes;
        ok_ = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    }
    ~FileSizeLimit() {
        setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, oldHandler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    bool ok() const { return ok_; }

private:
    rlimit old_{};
    void (*oldHandler_)(int) = nullptr;
    bool ok_ = false;
};

}  // namespace hearth::app::test
