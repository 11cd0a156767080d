#include "engine/hub/fetch.h"

namespace hearth::hub {

Result<Fetched> fetch_following(const HubOptions& o, HttpRequest request) {
    const std::string endpoint_origin = url_origin(o.endpoint);
    const std::vector<std::string> base_headers = request.headers;
    Fetched out;
    std::string url = request.url;
    for (int hop = 0;; ++hop) {
        request.url = url;
        request.headers = base_headers;
        request.ca_file = o.ca_file;
        if (!o.token.empty() && url_origin(url) == endpoint_origin)
            request.headers.push_back("Authorization: Bearer " + o.token);
        HttpResponse r = http_get(request);
        if (hop == 0) out.first = r;
        bool redirect = r.transport_ok && r.status >= 300 && r.status < 400 && r.status != 304;
        if (!redirect) {
            out.final = std::move(r);
            out.final_url = url;
            return out;
        }
        if (hop >= o.max_redirects) return make_error("too many redirects starting at " + out.first.redirect_url);
        if (r.redirect_url.empty()) return make_error("redirect " + std::to_string(r.status) + " from " + url + " has no Location");
        std::string from = url_scheme(url), to = url_scheme(r.redirect_url);
        if (to != "http" && to != "https")
            return make_error("refusing redirect from " + url + " to a non-HTTP URL " + r.redirect_url);
        if (from == "https" && to == "http")
            return make_error("refusing redirect from https to plain http (" + r.redirect_url + ")");
        url = r.redirect_url;
    }
}

bool is_retryable(const HttpResponse& r) {
    if (r.aborted) return false;
    if (!r.transport_ok) return r.status == 0 || r.status < 300;  // no answer, or cut mid-body
    return r.status == 429 || r.status >= 500;
}

std::string hub_error_message(const HttpResponse& r, const ErrorContext& c) {
    const std::string code = r.header("x-error-code");
    const std::string repo = "repository '" + c.repo + "'";
    const std::string token_hint = c.has_token ? "" : " (if it is private or gated, give an access token: HF_TOKEN)";
    if (!r.transport_ok && r.status < 300) return "connection failed: " + r.transport_error;
    if (code == "RepoNotFound" || (r.status == 401 && code.empty()))
        return repo + " not found" + token_hint;
    if (code == "GatedRepo" || r.status == 403) {
        if (c.has_token)
            return repo + " is gated and this token has not been granted access yet: accept its conditions on the hub's page for it";
        return repo + " is gated: accept its conditions on the hub's page, then give an access token (HF_TOKEN)";
    }
    if (code == "RevisionNotFound") return "revision '" + c.revision + "' not found in " + repo;
    if (code == "EntryNotFound" || (r.status == 404 && !c.path.empty()))
        return "file '" + c.path + "' not found in " + repo + " at revision '" + c.revision + "'";
    if (r.status == 404) return repo + " or revision '" + c.revision + "' not found";
    if (r.status == 429) return "the hub is rate-limiting requests (429); try again later";
    if (r.status >= 500) return "the hub answered with a server error " + std::to_string(r.status);
    std::string msg = "unexpected answer " + std::to_string(r.status);
    std::string hub_msg = r.header("x-error-message");
    if (!hub_msg.empty()) msg += ": " + hub_msg;
    return msg;
}

}  // namespace hearth::hub
