// Downloading repository files: each file goes to `<dest>.part` with a sidecar `<dest>.part.json`
// (url, size, sha256, etag) so that a later run — after a cut connection, a cancel or a restart —
// resumes it with `Range: bytes=N-`. The hash is computed while the bytes arrive; the file is renamed
// into place only when its size and hash match (sha256 for LFS files, the git blob SHA-1 for small
// ones). Several files form one job with overall progress and one cancel flag.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/hub/endpoint.h"
#include "engine/hub/listing.h"
#include "engine/util/status.h"

namespace hearth::hub {

struct JobProgress {
    uint64_t total_bytes = 0;  // all files of the job
    uint64_t done_bytes = 0;   // on disk, including resumed parts and files already complete
    double bytes_per_s = 0;    // over the last few seconds
    double eta_s = -1;         // -1 while unknown
    size_t files_done = 0, files_total = 0;
    std::string current;       // the file being downloaded
};

struct FileOutcome {
    std::string path;
    bool ok = false;
    bool cancelled = false;
    bool resumed = false;  // some bytes came from an earlier .part
    std::string error;     // one sentence, names the file
};

class DownloadJob {
public:
    DownloadJob(HubOptions options, std::string repo, std::vector<RepoFile> files, std::string out_dir);

    // Downloads every file in turn; a failed file does not stop the others (a cancel does). Returns an
    // error only for what stops the whole job before it starts (e.g. not enough free disk space).
    Status run();
    const std::vector<FileOutcome>& outcomes() const { return outcomes_; }
    bool all_ok() const;

    void cancel() { cancel_.store(true); }  // from any thread; parts stay for a later resume
    // Called from run()'s thread, at most ~10 times a second and once at the end.
    std::function<void(const JobProgress&)> on_progress;

private:
    FileOutcome download_one(const RepoFile& f);
    void report(bool force);

    HubOptions o_;
    std::string repo_, out_dir_;
    std::vector<RepoFile> files_;
    std::vector<FileOutcome> outcomes_;
    std::atomic<bool> cancel_{false};
    JobProgress progress_;
    uint64_t done_before_current_ = 0;  // bytes of files finished before the current one
    uint64_t current_bytes_ = 0;        // bytes of the current file on disk
    // Speed over a sliding window of (time, bytes) samples.
    std::vector<std::pair<double, uint64_t>> samples_;
    double last_report_ = -1;
};

// Free bytes for an unprivileged writer on the file system holding `dir` (or its nearest existing
// parent); error when it cannot be asked.
Result<uint64_t> free_disk_bytes(const std::string& dir);

// The git blob id of `size` bytes is sha1("blob <size>\0" + bytes): the prefix a hasher starts with.
std::string git_blob_prefix(uint64_t size);

}  // namespace hearth::hub
