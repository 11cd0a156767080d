#include "engine/hub/download.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/hub/fetch.h"
#include "engine/util/json.h"
#include "engine/util/sha1.h"
#include "engine/util/sha256.h"

namespace hearth::hub {
namespace fs = std::filesystem;
namespace {

double now_s() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// The hash a file is checked against: sha256 for LFS files, the git blob SHA-1 for small ones.
class Verifier {
public:
    explicit Verifier(const RepoFile& f) : lfs_(!f.sha256.empty()), size_(f.size) {
        expected_ = lfs_ ? f.sha256 : f.git_oid;
        reset();
    }
    void reset() {
        s256_.reset();
        s1_.reset();
        if (!lfs_) s1_.update(git_blob_prefix(size_));
    }
    void update(const void* d, size_t n) { lfs_ ? s256_.update(d, n) : s1_.update(d, n); }
    std::string hex() { return lfs_ ? s256_.hex_digest() : s1_.hex_digest(); }
    const std::string& expected() const { return expected_; }
    const char* name() const { return lfs_ ? "sha256" : "git blob sha1"; }

private:
    bool lfs_;
    uint64_t size_;
    std::string expected_;
    Sha256 s256_;
    Sha1 s1_;
};

struct Sidecar {
    std::string url, hash, etag;
    uint64_t size = 0;
    bool valid = false;
};

Sidecar read_sidecar(const std::string& path) {
    Sidecar s;
    std::error_code ec;
    if (!fs::exists(path, ec)) return s;
    auto v = json::parse_file(path);
    if (!v.ok() || !v->is_object() || !(*v)["size"].is_int()) return s;
    s.url = (*v)["url"].as_string();
    s.hash = (*v)["sha256"].as_string();
    s.etag = (*v)["etag"].as_string();
    s.size = uint64_t((*v)["size"].as_int());
    s.valid = true;
    return s;
}

Status write_sidecar(const std::string& path, const Sidecar& s) {
    json::Value v = json::Value::object();
    v.set("url", s.url);
    v.set("size", int64_t(s.size));
    v.set("sha256", s.hash);  // for a small file: its git blob sha1, what the part is checked against
    v.set("etag", s.etag);
    std::ofstream out(path, std::ios::trunc);
    out << v.dump() << "\n";
    out.close();
    if (!out) return make_error("cannot write " + path + ": " + std::strerror(errno) + " (is the disk full?)");
    return {};
}

// Feeds the first `n` bytes of `path` to the verifier (resuming a part left by an earlier run).
Status hash_prefix(const std::string& path, uint64_t n, Verifier& v, const std::atomic<bool>& cancel) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 20);
    while (n > 0) {
        if (cancel.load()) return make_error("cancelled");
        size_t want = size_t(std::min<uint64_t>(n, buf.size()));
        in.read(buf.data(), std::streamsize(want));
        if (size_t(in.gcount()) != want) return make_error("cannot read " + path);
        v.update(buf.data(), want);
        n -= want;
    }
    return {};
}

bool write_all(int fd, const char* d, size_t n, std::string* err) {
    while (n > 0) {
        ssize_t w = ::write(fd, d, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            *err = std::strerror(errno);
            return false;
        }
        d += w;
        n -= size_t(w);
    }
    return true;
}

// "bytes 100-199/200" → 100; -1 when unparsable.
int64_t content_range_start(const std::string& h) {
    if (h.rfind("bytes ", 0) != 0) return -1;
    try {
        return std::stoll(h.substr(6));
    } catch (...) {
        return -1;
    }
}

std::string strip_etag(std::string e) {
    if (e.rfind("W/", 0) == 0) e = e.substr(2);
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    return e;
}

void remove_quietly(const std::string& p) {
    std::error_code ec;
    fs::remove(p, ec);
}

}  // namespace

std::string git_blob_prefix(uint64_t size) {
    std::string p = "blob " + std::to_string(size);
    p.push_back('\0');
    return p;
}

Result<uint64_t> free_disk_bytes(const std::string& dir) {
    fs::path p = dir;
    std::error_code ec;
    while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
    if (p.empty()) p = ".";
    struct statvfs st {};
    if (::statvfs(p.c_str(), &st) != 0) return make_error("cannot ask the free space of " + p.string() + ": " + std::strerror(errno));
    return uint64_t(st.f_bavail) * uint64_t(st.f_frsize);
}

DownloadJob::DownloadJob(HubOptions options, std::string repo, std::vector<RepoFile> files, std::string out_dir)
    : o_(std::move(options)), repo_(std::move(repo)), out_dir_(std::move(out_dir)), files_(std::move(files)) {}

bool DownloadJob::all_ok() const {
    if (outcomes_.size() != files_.size()) return false;
    for (const auto& o : outcomes_)
        if (!o.ok) return false;
    return true;
}

void DownloadJob::report(bool force) {
    double t = now_s();
    if (!force && last_report_ >= 0 && t - last_report_ < 0.1) return;
    last_report_ = t;
    progress_.done_bytes = done_before_current_ + current_bytes_;
    samples_.emplace_back(t, progress_.done_bytes);
    while (samples_.size() > 2 && t - samples_.front().first > 5.0) samples_.erase(samples_.begin());
    double dt = t - samples_.front().first;
    if (dt > 1.0) {  // a shorter window gives wild first estimates (connection set-up)
        progress_.bytes_per_s = double(progress_.done_bytes - samples_.front().second) / dt;
        progress_.eta_s = progress_.bytes_per_s > 0
                              ? double(progress_.total_bytes - progress_.done_bytes) / progress_.bytes_per_s
                              : -1;
    }
    if (on_progress) on_progress(progress_);
}

Status DownloadJob::run() {
    HEARTH_RETURN_IF_ERROR(check_repo_id(repo_));
    HEARTH_RETURN_IF_ERROR(check_revision(o_.revision));
    HEARTH_RETURN_IF_ERROR(check_endpoint(o_.endpoint));
    std::error_code ec;
    fs::create_directories(out_dir_, ec);
    if (ec) return make_error("cannot create " + out_dir_ + ": " + ec.message());

    // Free space: what is still to come, counting parts already on disk.
    uint64_t need = 0;
    progress_ = {};
    for (const auto& f : files_) {
        HEARTH_RETURN_IF_ERROR(check_repo_path(f.path));
        progress_.total_bytes += f.size;
        fs::path dest = fs::path(out_dir_) / f.path;
        if (fs::exists(dest, ec) && fs::file_size(dest, ec) == f.size) continue;
        uint64_t have = fs::exists(dest.string() + ".part", ec) ? fs::file_size(dest.string() + ".part", ec) : 0;
        if (ec || have > f.size) have = 0;
        need += f.size - have;
    }
    auto free_bytes = free_disk_bytes(out_dir_);
    if (!free_bytes.ok()) return free_bytes.status();
    if (need > *free_bytes)
        return make_error("not enough free disk space in " + out_dir_ + ": the download needs " + std::to_string(need) +
                          " bytes, " + std::to_string(*free_bytes) + " are free");

    progress_.files_total = files_.size();
    outcomes_.clear();
    done_before_current_ = 0;
    samples_.clear();
    for (const auto& f : files_) {
        progress_.current = f.path;
        current_bytes_ = 0;
        if (cancel_.load()) {
            outcomes_.push_back({f.path, false, true, false, f.path + ": cancelled"});
            continue;
        }
        outcomes_.push_back(download_one(f));
        done_before_current_ += outcomes_.back().ok ? f.size : current_bytes_;
        current_bytes_ = 0;
        if (outcomes_.back().ok) ++progress_.files_done;
        report(true);
    }
    return {};
}

FileOutcome DownloadJob::download_one(const RepoFile& f) {
    FileOutcome out;
    out.path = f.path;
    auto fail = [&](const std::string& msg) {
        out.error = f.path + ": " + msg;
        return out;
    };
    const fs::path dest = fs::path(out_dir_) / f.path;
    const std::string part = dest.string() + ".part", side = dest.string() + ".part.json";
    const std::string url = resolve_url(o_, repo_, f.path);
    const ErrorContext ctx{repo_, o_.revision, f.path, !o_.token.empty()};
    Verifier verifier(f);
    if (verifier.expected().empty()) return fail("the listing gives no hash to check it against");

    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return fail("cannot create " + dest.parent_path().string() + ": " + ec.message());

    // A complete file from an earlier run is kept when it still matches.
    if (fs::is_regular_file(dest, ec) && fs::file_size(dest, ec) == f.size) {
        Status st = hash_prefix(dest.string(), f.size, verifier, cancel_);
        if (st.ok() && verifier.hex() == verifier.expected()) {
            out.ok = true;
            return out;
        }
        verifier.reset();
    }

    Sidecar sc = read_sidecar(side);
    uint64_t offset = 0;
    bool resume = sc.valid && sc.url == url && sc.size == f.size && sc.hash == verifier.expected() && fs::exists(part, ec);
    if (resume) {
        offset = fs::file_size(part, ec);
        if (ec || offset > f.size) offset = 0, resume = false;
    }
    if (!resume) {
        sc = Sidecar{url, verifier.expected(), "", f.size, true};
        Status st = write_sidecar(side, sc);
        if (!st.ok()) return fail(st.message());
    }
    if (offset > 0) {
        Status st = hash_prefix(part, offset, verifier, cancel_);
        if (!st.ok()) {
            if (cancel_.load()) {
                out.cancelled = true;
                return fail("cancelled");
            }
            offset = 0;
            verifier.reset();
        }
    }
    out.resumed = offset > 0;

    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0644);
    if (fd < 0) return fail("cannot open " + part + ": " + std::strerror(errno));
    struct FdCloser {
        int& fd;
        ~FdCloser() { if (fd >= 0) ::close(fd); }
    } closer{fd};
    if (offset > 0 && ::lseek(fd, off_t(offset), SEEK_SET) < 0) return fail("cannot seek in " + part + ": " + std::strerror(errno));
    auto restart_file = [&] {
        // ftruncate fails harmlessly on a device (the injected-failure test writes to /dev/full).
        if (::ftruncate(fd, 0) != 0) {}
        ::lseek(fd, 0, SEEK_SET);
        offset = 0;
        verifier.reset();
    };
    current_bytes_ = offset;
    report(true);

    std::string last_error;
    for (int attempt = 1;; ++attempt) {
        if (cancel_.load()) {
            out.cancelled = true;
            return fail("cancelled (the partial file is kept for a later resume)");
        }
        if (offset == f.size) break;
        HttpRequest req;
        req.url = url;
        if (offset > 0) req.headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
        bool started = false, oversize = false, bad_range = false, etag_changed = false;
        std::string write_error;
        const uint64_t asked_from = offset;
        req.on_body = [&](const HttpResponse& head, const char* d, size_t n) {
            if (!started) {
                started = true;
                std::string etag = strip_etag(head.header("etag"));
                if (asked_from > 0 && head.status == 206) {
                    if (content_range_start(head.header("content-range")) != int64_t(asked_from)) {
                        bad_range = true;
                        return false;
                    }
                    if (!sc.etag.empty() && !etag.empty() && etag != sc.etag) {
                        etag_changed = true;  // the file changed on the server since the part began
                        return false;
                    }
                } else if (asked_from > 0) {
                    restart_file();  // a 200 to a Range request is the whole file: start over
                }
                if (offset == 0 && sc.etag != etag) {
                    sc.etag = etag;
                    if (Status st = write_sidecar(side, sc); !st.ok()) {
                        write_error = st.message();
                        return false;
                    }
                }
            }
            if (offset + n > f.size) {
                oversize = true;
                return false;
            }
            if (!write_all(fd, d, n, &write_error)) return false;
            verifier.update(d, n);
            offset += n;
            current_bytes_ = offset;
            report(false);
            return true;
        };
        req.should_stop = [&] { return cancel_.load(); };
        auto fetched = fetch_following(o_, req);
        if (!fetched.ok()) return fail(fetched.message());
        const HttpResponse& r = fetched->final;
        if (!write_error.empty())
            return fail("cannot write " + part + ": " + write_error + " (is the disk full?); the partial file is kept");
        if (oversize) {
            ::close(fd);
            fd = -1;
            remove_quietly(part);
            remove_quietly(side);
            return fail("the server sent more bytes than the listed size " + std::to_string(f.size) +
                        "; the partial file was deleted");
        }
        if (cancel_.load()) {
            out.cancelled = true;
            return fail("cancelled (the partial file is kept for a later resume)");
        }
        std::string linked = strip_etag(fetched->first.header("x-linked-etag"));
        if (!f.sha256.empty() && linked.size() == 64 && linked != f.sha256)
            return fail("the hub's X-Linked-Etag " + linked + " disagrees with the listing's sha256 " + f.sha256);
        if (bad_range || etag_changed || (r.transport_ok && r.status == 416)) {
            restart_file();
            last_error = bad_range ? "the server answered a different range" : etag_changed ? "the file changed on the server" : "range not satisfiable";
        } else if (r.transport_ok && r.status >= 200 && r.status < 300) {
            if (offset == f.size) break;
            last_error = "the answer ended after " + std::to_string(offset) + " of " + std::to_string(f.size) + " bytes";
        } else if (!is_retryable(r)) {
            return fail(hub_error_message(r, ctx));
        } else {
            last_error = hub_error_message(r, ctx);
        }
        if (attempt >= o_.max_attempts)
            return fail("gave up after " + std::to_string(attempt) + " attempts: " + last_error + "; the partial file is kept");
        double delay_ms = std::min(30000.0, double(o_.retry_base_ms) * double(1 << std::min(attempt - 1, 5)));
        for (double waited = 0; waited < delay_ms && !cancel_.load(); waited += 20)
            std::this_thread::sleep_for(std::chrono::milliseconds(int(std::min(20.0, delay_ms - waited))));
    }

    if (::close(fd) != 0) {
        fd = -1;
        return fail("cannot write " + part + ": " + std::strerror(errno) + " (is the disk full?)");
    }
    fd = -1;
    std::string got = verifier.hex();
    if (got != verifier.expected()) {
        remove_quietly(part);
        remove_quietly(side);
        return fail(std::string(verifier.name()) + " mismatch: expected " + verifier.expected() + ", got " + got +
                    "; the partial file was deleted");
    }
    fs::rename(part, dest, ec);
    if (ec) return fail("cannot rename " + part + " to " + dest.string() + ": " + ec.message());
    remove_quietly(side);
    out.ok = true;
    return out;
}

}  // namespace hearth::hub
