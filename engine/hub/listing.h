// A repository's files from the hub's tree listing
// (GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true), following `Link: rel="next"`
// pages. Every path is checked (check_repo_path) before anything can be written under it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/hub/endpoint.h"
#include "engine/util/status.h"

namespace hearth::hub {

struct RepoFile {
    std::string path;
    uint64_t size = 0;
    std::string git_oid;  // git blob SHA-1 (hex), what a small file is checked against
    std::string sha256;   // lfs.oid for LFS files (hex), "" for small files
};

Result<std::vector<RepoFile>> list_repo_files(const HubOptions& o, const std::string& repo);

// One page of the listing (a JSON array of {type, path, size, oid, lfs}) appended to `files`; every
// path checked, every file given a size and a hash to verify it against. `repo` names it in errors.
Status read_listing_page(const std::string& repo, std::string_view body, std::vector<RepoFile>* files);

// The next page's URL from a Link header (`<url>; rel="next"`), "" when there is none.
std::string next_link(const std::string& link_header);

// Shell-style glob on repository paths: '*' and '?' do not cross '/', "**" does.
bool glob_match(const std::string& pattern, const std::string& path);

}  // namespace hearth::hub
