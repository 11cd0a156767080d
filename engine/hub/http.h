// One HTTP GET over libcurl, one hop: redirects are not followed here, so that the caller (fetch.h)
// decides for each hop whether the token may go along and whether the scheme is acceptable. TLS
// peer and host verification stay libcurl's defaults (on); proxies come from the environment
// (http_proxy, https_proxy, no_proxy), which libcurl reads itself when no proxy is set here.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::hub {

struct HttpResponse {
    long status = 0;                                          // 0 when no answer came
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, of this hop
    std::string redirect_url;   // a 3xx's Location, made absolute by libcurl
    std::string error_body;     // the first bytes of a non-2xx answer's body
    bool transport_ok = true;   // false: connection refused, cut, timed out, TLS refused, aborted
    bool aborted = false;       // the body or stop callback asked to stop
    std::string transport_error;

    // Last value of a header (name in lower case), "" when absent.
    std::string header(std::string_view name) const;
};

struct HttpRequest {
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    // Receives a 2xx answer's body as it arrives; `head` has the status and headers. Return false to
    // stop the transfer (the response then has aborted = true).
    std::function<bool(const HttpResponse& head, const char* data, size_t n)> on_body;
    // Polled while the transfer runs (also when no bytes flow): true stops it (aborted = true).
    std::function<bool()> should_stop;
    std::string ca_file;  // "" = the system's CA store
    long connect_timeout_s = 30;
    long stall_timeout_s = 60;  // give up when under 1 byte/s for this long
};

HttpResponse http_get(const HttpRequest& request);

// scheme://host[:port] of an absolute URL, lower-cased host, default ports made explicit; "" if
// the URL cannot be parsed. Two URLs with the same origin may share credentials.
std::string url_origin(const std::string& url);
std::string url_scheme(const std::string& url);  // "http", "https", … lower case; "" when unparsable

}  // namespace hearth::hub
