// A GET that follows redirects one hop at a time, deciding per hop: an https→http hop is refused,
// the token goes only to the endpoint's own origin (never to a CDN the hub redirects to), and only
// http/https locations are followed. Also turns the hub's error answers into sentences.
#pragma once

#include <string>

#include "engine/hub/endpoint.h"
#include "engine/hub/http.h"
#include "engine/util/status.h"

namespace hearth::hub {

struct Fetched {
    HttpResponse final;       // the last hop's answer (2xx or an error)
    HttpResponse first;       // the first hop's answer (the hub's own headers: X-Linked-Etag, X-Error-Code)
    std::string final_url;
};

// `request.url` is the starting URL; headers given in `request` go to every hop, the token's
// Authorization header only to hops whose origin is the endpoint's. A refused redirect is an error
// Status; transport failures and HTTP errors come back in `final` for the caller to judge (retry or not).
Result<Fetched> fetch_following(const HubOptions& o, HttpRequest request);

// What the hub means by an error answer, as one sentence. `what` names the request ("repository
// 'a/b'" or "file 'x' of a/b"), used where the hub's code does not say more.
struct ErrorContext {
    std::string repo, revision, path;  // path empty for a listing
    bool has_token = false;
};
std::string hub_error_message(const HttpResponse& r, const ErrorContext& c);

// Whether an answer is worth retrying: transport failures (not an abort) and 5xx/429.
bool is_retryable(const HttpResponse& r);

}  // namespace hearth::hub
