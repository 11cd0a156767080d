#include "engine/hub/endpoint.h"

#include <cstdlib>

#include "engine/hub/http.h"

namespace hearth::hub {
namespace {

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

std::string strip_trailing_slashes(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

}  // namespace

HubOptions options_from_environment() {
    HubOptions o;
    if (const char* e = std::getenv("HF_ENDPOINT"); e && *e) o.endpoint = strip_trailing_slashes(e);
    if (const char* t = std::getenv("HF_TOKEN"); t && *t) o.token = t;
    return o;
}

Status check_repo_id(const std::string& repo) {
    auto bad = [&] {
        return make_error("'" + repo + "' is not a repository id (expected owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct)");
    };
    if (repo.empty() || repo.size() > 200) return bad();
    size_t slash = repo.find('/');
    if (slash != std::string::npos && repo.find('/', slash + 1) != std::string::npos) return bad();
    for (char c : repo)
        if (c != '/' && !name_char(c)) return bad();
    if (repo.front() == '/' || repo.back() == '/' || repo.find("..") != std::string::npos) return bad();
    if (repo.front() == '.' || (slash != std::string::npos && repo[slash + 1] == '.')) return bad();
    return {};
}

Status check_repo_path(const std::string& path) {
    auto bad = [&](const char* why) { return make_error("refusing repository path '" + path + "': " + why); };
    if (path.empty()) return bad("empty");
    if (path.front() == '/') return bad("it is absolute");
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        std::string part = path.substr(start, end - start);
        if (part.empty()) return bad("it has an empty component");
        if (part == "..") return bad("it has a '..' component");
        if (part == ".") return bad("it has a '.' component");
        start = end + 1;
    }
    for (unsigned char c : path) {
        if (c < 0x20 || c == 0x7f) return bad("it has a control character");
        if (c == '\\') return bad("it has a backslash");
    }
    return {};
}

Status check_revision(const std::string& revision) {
    if (revision.empty()) return make_error("the revision is empty");
    for (unsigned char c : revision)
        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#' || c == '%')
            return make_error("revision '" + revision + "' has a character a URL cannot carry as given");
    if (revision.find("..") != std::string::npos) return make_error("revision '" + revision + "' has '..'");
    return {};
}

Status check_endpoint(const std::string& endpoint) {
    std::string scheme = url_scheme(endpoint);
    if ((scheme != "http" && scheme != "https") || url_origin(endpoint).empty())
        return make_error("endpoint '" + endpoint + "' is not an http:// or https:// URL");
    return {};
}

std::string percent_encode_path(const std::string& path) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : path) {
        if (name_char(char(c)) || c == '/' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string tree_url(const HubOptions& o, const std::string& repo) {
    return strip_trailing_slashes(o.endpoint) + "/api/models/" + repo + "/tree/" + o.revision + "?recursive=true";
}

std::string resolve_url(const HubOptions& o, const std::string& repo, const std::string& path) {
    return strip_trailing_slashes(o.endpoint) + "/" + repo + "/resolve/" + o.revision + "/" + percent_encode_path(path);
}

}  // namespace hearth::hub
