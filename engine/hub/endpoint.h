// Where the hub is and how its URLs are made: the endpoint (https://huggingface.co, or a mirror from
// HF_ENDPOINT or --endpoint), the revision (used as given), the optional access token (HF_TOKEN),
// and the two URL shapes the client uses (tree listing, resolve).
#pragma once

#include <string>

#include "engine/util/status.h"

namespace hearth::hub {

struct HubOptions {
    std::string endpoint = "https://huggingface.co";  // no trailing slash
    std::string revision = "main";
    std::string token;  // sent only to the endpoint's own origin
    int max_attempts = 6;        // per request, transport errors and 5xx/429 answers
    int retry_base_ms = 1000;    // backoff: base, 2×base, 4×base … capped at 30 s
    int max_redirects = 10;
    // Extra trust: a PEM file of CA certificates used instead of the system's (a company's TLS
    // proxy, the tests' self-signed server). Verification itself is never turned off.
    std::string ca_file;
};

// Defaults overridden by HF_ENDPOINT and HF_TOKEN when they are set and non-empty.
HubOptions options_from_environment();

// "owner/name" or "name": letters, digits, '-', '_', '.', no "..", no leading/trailing separator.
Status check_repo_id(const std::string& repo);
// A path inside a repository as the listing gives it: relative, no "..", "." or empty component,
// no backslash or control character. Anything else could write outside the output folder.
Status check_repo_path(const std::string& path);
Status check_revision(const std::string& revision);
Status check_endpoint(const std::string& endpoint);  // http:// or https://, parsable

std::string tree_url(const HubOptions& o, const std::string& repo);
std::string resolve_url(const HubOptions& o, const std::string& repo, const std::string& path);
std::string percent_encode_path(const std::string& path);  // keeps '/', encodes all but unreserved

}  // namespace hearth::hub
