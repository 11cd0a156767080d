// What a person pastes to name a model on a hub: "ORG/NAME", "https://huggingface.co/ORG/NAME",
// "hf.co/ORG/NAME", a mirror's URL ("https://hf-mirror.com/ORG/NAME"), each optionally with the
// hub's page tails "/tree/REV[/FOLDER]", "/blob/REV/PATH" or "/resolve/REV/PATH". Parsed into the
// parts the hub client needs, each checked with endpoint.h's rules.
#pragma once

#include <string>

#include "engine/util/status.h"

namespace hearth::hub {

struct RepoRef {
    // Empty for a bare id and for huggingface.co / hf.co URLs: those mean "the hub", and the
    // configured endpoint (HF_ENDPOINT, --endpoint, Settings) is used, so a person behind a mirror
    // can paste a huggingface.co link. Any other host is a mirror: its origin, e.g. "https://hf-mirror.com".
    std::string endpoint;
    std::string repo;      // "ORG/NAME" (or "NAME")
    std::string revision;  // empty: not given (the caller's default, "main")
    std::string path;      // a file (blob/resolve) or folder (tree) inside the repository; empty: none
    bool folder = false;   // path came from "/tree/REV/PATH"
};

Result<RepoRef> parse_repo_ref(const std::string& text);

}  // namespace hearth::hub
