#include "engine/hub/repo_ref.h"

#include <cctype>
#include <vector>

#include "engine/hub/endpoint.h"
#include "engine/hub/http.h"

namespace hearth::hub {
namespace {

// Hosts that are the Hugging Face hub itself (and its short link domain).
bool is_canonical_hub(const std::string& host) {
    return host == "huggingface.co" || host == "www.huggingface.co" || host == "hf.co";
}

std::vector<std::string> split_path(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < s.size()) {
        size_t end = s.find('/', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Page URLs percent-encode revisions ("refs%2Fpr%2F1") and file names ("my%20file.gguf").
Result<std::string> percent_decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1, lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) return make_error("'" + s + "' has a malformed %-escape");
        out += char(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string join(const std::vector<std::string>& parts, size_t from) {
    std::string out;
    for (size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
    return out;
}

}  // namespace

Result<RepoRef> parse_repo_ref(const std::string& input) {
    // Pasted text often carries spaces or a newline around it.
    size_t b = input.find_first_not_of(" \t\r\n"), e = input.find_last_not_of(" \t\r\n");
    if (b == std::string::npos) return make_error("nothing to download: give a repository id or a hub URL");
    std::string text = input.substr(b, e - b + 1);
    auto bad = [&](const std::string& why) {
        return make_error("'" + text + "' is not a repository id or hub URL: " + why);
    };

    RepoRef ref;
    std::string rest = text;
    size_t scheme_end = text.find("://");
    if (scheme_end != std::string::npos) {
        std::string scheme = url_scheme(text);
        if (scheme != "http" && scheme != "https") return bad("only http:// and https:// URLs are hub URLs");
        size_t host_start = scheme_end + 3;
        size_t host_end = text.find_first_of("/?#", host_start);
        std::string authority = text.substr(host_start, host_end == std::string::npos ? std::string::npos : host_end - host_start);
        if (authority.empty() || authority.find('@') != std::string::npos) return bad("the URL has no plain host");
        std::string host = authority.substr(0, authority.find(':'));
        for (char& c : host) c = char(std::tolower(static_cast<unsigned char>(c)));
        if (!is_canonical_hub(host)) ref.endpoint = scheme + "://" + authority;
        rest = host_end == std::string::npos ? "" : text.substr(host_end);
    } else {
        // "hf.co/ORG/NAME" without a scheme: a known hub host as the first component.
        std::string first = text.substr(0, text.find('/'));
        for (char& c : first) c = char(std::tolower(static_cast<unsigned char>(c)));
        if (is_canonical_hub(first)) rest = text.substr(first.size());
        else if (first == "hf-mirror.com") {
            ref.endpoint = "https://hf-mirror.com";
            rest = text.substr(first.size());
        }
    }
    // A page URL's query or fragment ("?show_file_info=…", "#L10") does not name anything we need.
    rest = rest.substr(0, rest.find_first_of("?#"));

    std::vector<std::string> parts = split_path(rest);
    if (!parts.empty() && (parts[0] == "datasets" || parts[0] == "spaces"))
        return bad("it names a " + parts[0].substr(0, parts[0].size() - 1) + ", not a model repository");
    if (!parts.empty() && parts[0] == "models") parts.erase(parts.begin());  // "/models/ORG/NAME" also works on the hub
    if (parts.empty()) return bad("it names no repository");

    // The repository is ORG/NAME unless the second component is already a page keyword ("gpt2/tree/main").
    auto keyword = [](const std::string& s) { return s == "tree" || s == "blob" || s == "resolve"; };
    size_t n_repo = parts.size() >= 2 && !keyword(parts[1]) ? 2 : 1;
    ref.repo = join(std::vector<std::string>(parts.begin(), parts.begin() + long(n_repo)), 0);
    if (auto st = check_repo_id(ref.repo); !st.ok()) return bad(st.message());

    if (parts.size() > n_repo) {
        const std::string& kind = parts[n_repo];
        if (!keyword(kind)) return bad("after the repository expected /tree/, /blob/ or /resolve/, found '/" + kind + "/'");
        if (parts.size() == n_repo + 1) return bad("'/" + kind + "/' is not followed by a revision");
        auto rev = percent_decode(parts[n_repo + 1]);
        if (!rev.ok()) return bad(rev.message());
        ref.revision = *rev;
        if (auto st = check_revision(ref.revision); !st.ok()) return bad(st.message());
        std::string path = join(parts, n_repo + 2);
        if (kind != "tree" && path.empty()) return bad("'/" + kind + "/" + parts[n_repo + 1] + "' names no file");
        if (!path.empty()) {
            auto decoded = percent_decode(path);
            if (!decoded.ok()) return bad(decoded.message());
            if (auto st = check_repo_path(*decoded); !st.ok()) return bad(st.message());
            ref.path = *decoded;
            ref.folder = kind == "tree";
        }
    }
    if (!ref.endpoint.empty())
        if (auto st = check_endpoint(ref.endpoint); !st.ok()) return bad(st.message());
    return ref;
}

}  // namespace hearth::hub
