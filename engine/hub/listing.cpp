#include "engine/hub/listing.h"

#include <chrono>
#include <set>
#include <thread>

#include "engine/hub/fetch.h"
#include "engine/util/json.h"

namespace hearth::hub {
namespace {

constexpr size_t kMaxPageBytes = 64u << 20;  // a listing page larger than this is not the hub's

bool is_hex(const std::string& s, size_t len) {
    if (s.size() != len) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Result<std::string> get_page(const HubOptions& o, const std::string& url, const ErrorContext& ctx, std::string* link) {
    for (int attempt = 1;; ++attempt) {
        std::string body;
        HttpRequest req;
        req.url = url;
        req.headers.push_back("Accept: application/json");
        req.on_body = [&](const HttpResponse&, const char* d, size_t n) {
            if (body.size() + n > kMaxPageBytes) return false;
            body.append(d, n);
            return true;
        };
        auto f = fetch_following(o, req);
        if (!f.ok()) return f.status();
        const HttpResponse& r = f->final;
        if (r.aborted) return make_error("listing page from " + url + " is larger than " + std::to_string(kMaxPageBytes >> 20) + " MB");
        if (r.transport_ok && r.status == 200) {
            *link = r.header("link");
            return body;
        }
        if (!is_retryable(r) || attempt >= o.max_attempts) {
            std::string msg = hub_error_message(r, ctx);
            if (is_retryable(r)) msg += " (after " + std::to_string(attempt) + " attempts)";
            return make_error(msg);
        }
        int delay = o.retry_base_ms << std::min(attempt - 1, 5);
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(delay, 30000)));
    }
}

}  // namespace

std::string next_link(const std::string& h) {
    // Link: <url1>; rel="next", <url2>; rel="last"
    size_t pos = 0;
    while (pos < h.size()) {
        size_t lt = h.find('<', pos);
        if (lt == std::string::npos) break;
        size_t gt = h.find('>', lt);
        if (gt == std::string::npos) break;
        size_t end = h.find('<', gt);
        std::string params = h.substr(gt + 1, end == std::string::npos ? std::string::npos : end - gt - 1);
        if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
            return h.substr(lt + 1, gt - lt - 1);
        pos = gt + 1;
    }
    return {};
}

Status read_listing_page(const std::string& repo, std::string_view body, std::vector<RepoFile>* files) {
    auto doc = json::parse(body);
    if (!doc.ok()) return make_error("the listing of " + repo + " is not JSON: " + doc.message());
    if (!doc->is_array()) return make_error("the listing of " + repo + " is not a JSON array");
    for (const json::Value& e : doc->as_array()) {
        if (e["type"].as_string() != "file") continue;  // directories are implied by paths
        RepoFile f;
        f.path = e["path"].as_string();
        HEARTH_RETURN_IF_ERROR(check_repo_path(f.path));
        if (!e["size"].is_int() || e["size"].as_int() < 0)
            return make_error("the listing of " + repo + " gives no size for '" + f.path + "'");
        f.size = uint64_t(e["size"].as_int());
        f.git_oid = e["oid"].as_string();
        if (const json::Value* lfs = e.find("lfs"); lfs && lfs->is_object()) {
            f.sha256 = (*lfs)["oid"].as_string();
            if (!is_hex(f.sha256, 64))
                return make_error("the listing of " + repo + " gives '" + f.path + "' an LFS oid that is not a sha256");
            if ((*lfs)["size"].is_int()) f.size = uint64_t((*lfs)["size"].as_int());
        } else if (!is_hex(f.git_oid, 40)) {
            return make_error("the listing of " + repo + " gives '" + f.path + "' no git blob id to check it against");
        }
        files->push_back(std::move(f));
    }
    return {};
}

Result<std::vector<RepoFile>> list_repo_files(const HubOptions& o, const std::string& repo) {
    HEARTH_RETURN_IF_ERROR(check_repo_id(repo));
    HEARTH_RETURN_IF_ERROR(check_revision(o.revision));
    HEARTH_RETURN_IF_ERROR(check_endpoint(o.endpoint));
    ErrorContext ctx{repo, o.revision, "", !o.token.empty()};
    std::vector<RepoFile> files;
    std::set<std::string> seen_pages;
    std::string url = tree_url(o, repo);
    while (!url.empty()) {
        if (!seen_pages.insert(url).second) return make_error("the listing of " + repo + " loops (page " + url + " twice)");
        std::string link;
        auto body = get_page(o, url, ctx, &link);
        if (!body.ok()) return body.status();
        HEARTH_RETURN_IF_ERROR(read_listing_page(repo, *body, &files));
        url = next_link(link);
        if (!url.empty()) {
            std::string s = url_scheme(url);
            if (s != "http" && s != "https") return make_error("the listing's next page is not an HTTP URL: " + url);
        }
    }
    return files;
}

bool glob_match(const std::string& p, const std::string& s) {
    // Iterative matcher with backtracking to the last '*' (and to the last "**" across '/').
    size_t pi = 0, si = 0, star_p = std::string::npos, star_s = 0;
    bool star_crosses = false;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '*') {
            star_crosses = pi + 1 < p.size() && p[pi + 1] == '*';
            pi += star_crosses ? 2 : 1;
            star_p = pi;
            star_s = si;
        } else if (pi < p.size() && (p[pi] == s[si] || (p[pi] == '?' && s[si] != '/'))) {
            ++pi;
            ++si;
        } else if (star_p != std::string::npos && (star_crosses || s[star_s] != '/')) {
            pi = star_p;
            si = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

}  // namespace hearth::hub
