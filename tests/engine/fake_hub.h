// A local stand-in for a Hugging Face hub, for the hub client's tests without network: cpp-httplib
// servers on 127.0.0.1 that play the tree listing and resolve endpoints, with LFS files redirected
// to a second "CDN" server (another origin), small files through a same-origin relative redirect
// as the real hub does. Switches inject the faults the client must survive or report.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/util/json.h"
#include "engine/util/sha1.h"
#include "engine/util/sha256.h"

namespace hearth::test {

struct FakeFile {
    std::string path, content;
    bool lfs = false;
};

struct SeenRequest {
    std::string server;  // "hub" or "cdn"
    std::string path, range, auth;
};

class FakeHub {
public:
    std::string repo = "org/model";
    std::vector<FakeFile> files;
    // Faults (set before or between downloads):
    std::atomic<long> cut_after{-1};      // the next body sent stops after this many bytes (one-shot)
    std::atomic<bool> ignore_range{false};  // answer Range requests with the whole file (200)
    std::atomic<int> extra_bytes{0};      // serve this many bytes more than listed
    std::string corrupt_path;             // serve this file with its first byte changed
    int page_size = 0;                    // >0: the listing is paginated with Link headers
    std::vector<std::string> extra_listing_paths;  // entries added to the listing (bad paths)
    int fail_status = 0;                  // every hub answer: this status with…
    std::string fail_code;                // …this X-Error-Code (when not empty)
    std::atomic<int> fail_count{-1};      // when >0, only that many answers fail (then it counts down)
    std::atomic<int> chunk_delay_ms{0};   // >0: bodies go out in 64 KiB pieces with this pause between
    std::string redirect_lfs_to;          // when set, LFS files redirect there instead of the CDN

    FakeHub() {
        hub_port_ = hub_.bind_to_any_port("127.0.0.1");
        cdn_port_ = cdn_.bind_to_any_port("127.0.0.1");
        setup_hub();
        setup_cdn();
        hub_thread_ = std::thread([this] { hub_.listen_after_bind(); });
        cdn_thread_ = std::thread([this] { cdn_.listen_after_bind(); });
    }
    ~FakeHub() {
        hub_.stop();
        cdn_.stop();
        hub_thread_.join();
        cdn_thread_.join();
    }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(hub_port_); }
    std::string cdn_origin() const { return "http://127.0.0.1:" + std::to_string(cdn_port_); }

    std::vector<SeenRequest> seen() {
        std::lock_guard<std::mutex> lock(mu_);
        return seen_;
    }
    void clear_seen() {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.clear();
    }
    // The requests for one file's bytes (a CDN blob or a same-origin small file), in order.
    std::vector<SeenRequest> content_requests() {
        std::vector<SeenRequest> out;
        for (auto& s : seen())
            if (s.path.rfind("/blobs/", 0) == 0 || s.path.rfind("/raw/", 0) == 0) out.push_back(s);
        return out;
    }

    // sha256 of a served file, computed once per path and size (a 200 MB benchmark file would
    // otherwise be hashed on every request).
    std::string file_sha256(const FakeFile& f) {
        std::lock_guard<std::mutex> lock(mu_);
        auto key = f.path + "#" + std::to_string(f.content.size());
        auto it = sha_cache_.find(key);
        if (it == sha_cache_.end()) it = sha_cache_.emplace(key, sha256_hex(f.content)).first;
        return it->second;
    }

    static std::string sha256_hex(const std::string& s) {
        Sha256 h;
        h.update(s);
        return h.hex_digest();
    }
    static std::string git_oid(const std::string& s) {
        Sha1 h;
        std::string prefix = "blob " + std::to_string(s.size());
        prefix.push_back('\0');
        h.update(prefix);
        h.update(s);
        return h.hex_digest();
    }

private:
    void record(const char* server, const httplib::Request& req) {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back({server, req.path, req.get_header_value("Range"), req.get_header_value("Authorization")});
    }

    bool inject_failure(httplib::Response& res) {
        if (fail_status == 0) return false;
        if (fail_count.load() == 0) return false;
        if (fail_count.load() > 0) --fail_count;
        res.status = fail_status;
        if (!fail_code.empty()) res.set_header("X-Error-Code", fail_code);
        res.set_content("{\"error\":\"injected\"}", "application/json");
        return true;
    }

    const FakeFile* find(const std::string& path) const {
        for (const auto& f : files)
            if (f.path == path) return &f;
        return nullptr;
    }

    json::Value entry(const std::string& path, const std::string& content, bool lfs, const std::string& sha = "") {
        json::Value e = json::Value::object();
        e.set("type", "file");
        e.set("oid", lfs ? std::string(40, 'e') : git_oid(content));  // an LFS file's oid is its pointer's
        e.set("size", int64_t(content.size()));
        e.set("path", path);
        if (lfs) {
            json::Value l = json::Value::object();
            l.set("oid", sha.empty() ? sha256_hex(content) : sha);
            l.set("size", int64_t(content.size()));
            l.set("pointerSize", 134);
            e.set("lfs", l);
        }
        return e;
    }

    void setup_hub() {
        hub_.Get(R"(/api/models/([^/]+)/([^/]+)/tree/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            record("hub", req);
            if (inject_failure(res)) return;
            if (req.matches[1].str() + "/" + req.matches[2].str() != repo) {
                res.status = 401;  // as the hub answers an unknown repository without a token
                res.set_header("X-Error-Code", "RepoNotFound");
                return;
            }
            std::vector<json::Value> all;
            json::Value dir = json::Value::object();
            dir.set("type", "directory");
            dir.set("oid", "0000000000000000000000000000000000000000");
            dir.set("size", 0);
            dir.set("path", "sub");
            all.push_back(dir);
            for (const auto& f : files) all.push_back(entry(f.path, f.content, f.lfs, f.lfs ? file_sha256(f) : ""));
            for (const auto& p : extra_listing_paths) all.push_back(entry(p, "x", false));
            size_t start = req.has_param("cursor") ? std::stoul(req.get_param_value("cursor")) : 0;
            size_t end = page_size > 0 ? std::min(all.size(), start + size_t(page_size)) : all.size();
            json::Value page = json::Value::array();
            for (size_t i = start; i < end; ++i) page.push_back(all[i]);
            if (end < all.size())
                res.set_header("Link", "<" + endpoint() + req.path + "?recursive=true&cursor=" + std::to_string(end) + ">; rel=\"next\"");
            res.set_content(page.dump(), "application/json");
        });
        hub_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            record("hub", req);
            if (inject_failure(res)) return;
            if (req.matches[1].str() + "/" + req.matches[2].str() != repo) {
                res.status = 401;
                res.set_header("X-Error-Code", "RepoNotFound");
                return;
            }
            const FakeFile* f = find(req.matches[4].str());
            if (!f) {
                res.status = 404;
                res.set_header("X-Error-Code", "EntryNotFound");
                return;
            }
            if (f->lfs) {
                res.set_header("X-Linked-Etag", "\"" + file_sha256(*f) + "\"");
                res.set_header("X-Linked-Size", std::to_string(f->content.size()));
                std::string target = redirect_lfs_to.empty() ? cdn_origin() : redirect_lfs_to;
                res.set_redirect(target + "/blobs/" + f->path, 302);  // the real CDN names blobs by sha256
            } else {
                res.set_redirect("/raw/" + f->path, 307);  // relative, same origin
            }
        });
        hub_.Get(R"(/raw/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            record("hub", req);
            const FakeFile* f = find(req.matches[1].str());
            if (!f) { res.status = 404; return; }
            serve(req, res, *f);
        });
    }

    void setup_cdn() {
        cdn_.Get(R"(/blobs/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            record("cdn", req);
            for (const auto& f : files)
                if (f.lfs && f.path == req.matches[1].str()) return serve(req, res, f);
            res.status = 404;
        });
    }

    // The file's bytes with the faults applied; Range is answered by httplib (206) unless ignored.
    void serve(const httplib::Request& req, httplib::Response& res, const FakeFile& f) {
        auto body = std::make_shared<std::string>(f.content);
        if (f.path == corrupt_path && !body->empty()) (*body)[0] = char((*body)[0] ^ 0x5a);
        body->append(size_t(extra_bytes.load()), 'X');
        if (ignore_range.load()) const_cast<httplib::Request&>(req).ranges.clear();  // a server that ignores Range
        res.set_header("ETag", "\"" + std::to_string(std::hash<std::string>{}(*body)) + "\"");
        long cut = cut_after.exchange(-1);
        int delay = chunk_delay_ms.load();
        res.set_content_provider(body->size(), "application/octet-stream",
                                 [body, cut, delay](size_t offset, size_t length, httplib::DataSink& sink) {
                                     size_t n = length;
                                     if (cut >= 0) n = std::min(n, size_t(cut));
                                     if (delay > 0) {
                                         n = std::min<size_t>(n, 64 * 1024);
                                         std::this_thread::sleep_for(std::chrono::milliseconds(delay));
                                     }
                                     if (n > 0 && !sink.write(body->data() + offset, n)) return false;
                                     if (cut >= 0) return n == length;  // false drops the connection mid-body
                                     return true;  // httplib calls again for the rest
                                 });
    }

    httplib::Server hub_, cdn_;
    int hub_port_ = 0, cdn_port_ = 0;
    std::thread hub_thread_, cdn_thread_;
    std::mutex mu_;
    std::vector<SeenRequest> seen_;
    std::map<std::string, std::string> sha_cache_;
};

// Deterministic bytes, different per seed.
inline std::string pattern_bytes(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        s[i] = char(x);
    }
    return s;
}

}  // namespace hearth::test
