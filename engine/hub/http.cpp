#include "engine/hub/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace hearth::hub {
namespace {

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
    const HttpRequest* req;
    HttpResponse* res;
    CURL* curl;
    bool status_read = false;
};

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(std::string_view s) {
    size_t a = 0, b = s.size();
    while (a < b && (s[a] == ' ' || s[a] == '\t')) ++a;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r' || s[b - 1] == '\n')) --b;
    return std::string(s.substr(a, b - a));
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    if (line.substr(0, 5) == "HTTP/") {
        // A new status line (also after a "100 Continue"): headers start over.
        t->res->headers.clear();
        return size * n;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos)
        t->res->headers.emplace_back(lower(std::string(line.substr(0, colon))), trim(line.substr(colon + 1)));
    return size * n;
}

size_t on_data(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t bytes = size * n;
    if (!t->status_read) {
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->res->status);
        t->status_read = true;
    }
    long st = t->res->status;
    if (st >= 200 && st < 300) {
        if (t->req->on_body && !t->req->on_body(*t->res, data, bytes)) {
            t->res->aborted = true;
            return CURL_WRITEFUNC_ERROR;
        }
    } else if (t->res->error_body.size() < 4096) {
        t->res->error_body.append(data, std::min(bytes, 4096 - t->res->error_body.size()));
    }
    return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (t->req->should_stop && t->req->should_stop()) {
        t->res->aborted = true;
        return 1;
    }
    return 0;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
    for (auto it = headers.rbegin(); it != headers.rend(); ++it)
        if (it->first == name) return it->second;
    return {};
}

HttpResponse http_get(const HttpRequest& request) {
    global_init_once();
    HttpResponse res;
    CURL* curl = curl_easy_init();
    if (!curl) {
        res.transport_ok = false;
        res.transport_error = "cannot start libcurl";
        return res;
    }
    Transfer t{&request, &res, curl};
    curl_slist* headers = nullptr;
    for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
    char errbuf[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // fetch.cpp follows, one hop at a time
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "hearth/1");
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_s);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_s);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer callbacks on fast links
    // Verification is libcurl's default; set it anyway so that no build option can change it.
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!request.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);

    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
    if (res.status >= 300 && res.status < 400) {
        char* loc = nullptr;
        if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) res.redirect_url = loc;
    }
    if (rc != CURLE_OK) {
        res.transport_ok = false;
        res.transport_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return res;
}

std::string url_scheme(const std::string& url) {
    size_t p = url.find("://");
    if (p == std::string::npos || p == 0) return {};
    return lower(url.substr(0, p));
}

std::string url_origin(const std::string& url) {
    CURLU* u = curl_url();
    std::string out;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
        char *scheme = nullptr, *host = nullptr, *port = nullptr;
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        curl_url_get(u, CURLUPART_HOST, &host, 0);
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        if (scheme && host && port) out = lower(scheme) + "://" + lower(host) + ":" + port;
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
    }
    curl_url_cleanup(u);
    return out;
}

}  // namespace hearth::hub
