// What the hub client reads from the network or from a person (engine/hub): a page of a
// repository's tree listing, the Link header that names the next page, a pasted model URL or
// repository name, and glob patterns over listed paths. Parts: body, Link header, pasted text, glob.
#include "engine/hub/endpoint.h"
#include "engine/hub/http.h"
#include "engine/hub/listing.h"
#include "engine/hub/repo_ref.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto parts = fuzz::split_parts(data, size, 4);
    std::vector<hub::RepoFile> files;
    const bool listed = hub::read_listing_page("org/model", parts[0], &files).ok();
    if (listed)
        for (const hub::RepoFile& f : files) {
            if (!hub::check_repo_path(f.path).ok()) std::abort();  // a listed path must be safe to write under
            (void)hub::glob_match(std::string(parts[3]), f.path);
        }
    const std::string next = hub::next_link(std::string(parts[1]));
    (void)hub::url_scheme(next);
    (void)hub::url_origin(next);
    auto ref = hub::parse_repo_ref(std::string(parts[2]));
    if (ref.ok()) (void)hub::check_repo_id(ref->repo);
    (void)hub::check_endpoint(std::string(parts[2]));
    (void)hub::percent_encode_path(std::string(parts[2]));
    return listed || ref.ok() ? 0 : -1;
}

std::vector<std::string> hearth::fuzz::seeds() {
    return {
        fuzz::join_parts({R"([{"type": "directory", "path": "sub", "oid": "x", "size": 0},
            {"type": "file", "path": "config.json", "size": 712, "oid": "0123456789abcdef0123456789abcdef01234567"},
            {"type": "file", "path": "sub/model-q4_k_m.gguf", "size": 1, "oid": "89abcdef0123456789abcdef0123456789abcdef",
             "lfs": {"oid": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "size": 4683073952}}])",
                          R"(<https://hf-mirror.com/api/models/org/model/tree/main?recursive=true&cursor=abc>; rel="next", <https://x/last>; rel="last")",
                          "https://hf-mirror.com/Qwen/Qwen2.5-7B-Instruct-GGUF/blob/main/qwen2.5-7b-instruct-q4_k_m.gguf",
                          "**/*q4_k_m*.gguf"}),
        fuzz::join_parts({"[]", "<a>; rel=next", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "*.safetensors"}),
        fuzz::join_parts({R"([{"type": "file", "path": "../etc/passwd", "size": 1, "oid": "0123456789abcdef0123456789abcdef01234567"}])",
                          "", "https://huggingface.co/org/name/tree/refs%2Fpr%2F1", "model-0000?-of-0000?.gguf"}),
    };
}
