// The hub client's pure parts: repository ids and paths accepted or refused, URL shapes (revision
// used as given, paths percent-encoded), Link headers, globs, origins, the environment.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/hub/endpoint.h"
#include "engine/hub/http.h"
#include "engine/hub/listing.h"

namespace {

using namespace hearth::hub;

TEST(HubUnit, RepoIds) {
    for (const char* ok : {"HuggingFaceTB/SmolLM2-135M-Instruct", "gpt2", "unsloth/Qwen2.5-7B-Instruct-GGUF", "a_b/c.d"})
        EXPECT_TRUE(check_repo_id(ok).ok()) << ok;
    for (const char* bad : {"", "/x", "x/", "a/b/c", "a/../b", "..", "a b/c", "a/.hidden", "https://huggingface.co/a/b"})
        EXPECT_FALSE(check_repo_id(bad).ok()) << bad;
}

TEST(HubUnit, RepoPaths) {
    for (const char* ok : {"model.safetensors", "sub/dir/file.json", "a..b", ".gitattributes"})
        EXPECT_TRUE(check_repo_path(ok).ok()) << ok;
    for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a/", "..", "x\n"})
        EXPECT_FALSE(check_repo_path(bad).ok()) << bad;
}

TEST(HubUnit, Urls) {
    HubOptions o;
    o.endpoint = "https://hf-mirror.com";
    o.revision = "refs/pr/1";  // used as given
    EXPECT_EQ(tree_url(o, "a/b"), "https://hf-mirror.com/api/models/a/b/tree/refs/pr/1?recursive=true");
    EXPECT_EQ(resolve_url(o, "a/b", "dir/my file+.gguf"), "https://hf-mirror.com/a/b/resolve/refs/pr/1/dir/my%20file%2B.gguf");
    EXPECT_FALSE(check_revision("main branch").ok());
    EXPECT_TRUE(check_endpoint("http://127.0.0.1:8080").ok());
    EXPECT_FALSE(check_endpoint("ftp://x").ok());
    EXPECT_FALSE(check_endpoint("huggingface.co").ok());
}

TEST(HubUnit, Origins) {
    EXPECT_EQ(url_origin("https://HuggingFace.co/a/b"), "https://huggingface.co:443");
    EXPECT_EQ(url_origin("https://huggingface.co:443/x"), url_origin("https://huggingface.co/y"));
    EXPECT_NE(url_origin("https://cdn-lfs.huggingface.co/x"), url_origin("https://huggingface.co/x"));
    EXPECT_NE(url_origin("http://huggingface.co/x"), url_origin("https://huggingface.co/x"));
    EXPECT_EQ(url_origin("not a url"), "");
}

TEST(HubUnit, LinkHeader) {
    EXPECT_EQ(next_link("<https://huggingface.co/api/models/a/b/tree/main?recursive=true&cursor=abc>; rel=\"next\""),
              "https://huggingface.co/api/models/a/b/tree/main?recursive=true&cursor=abc");
    EXPECT_EQ(next_link("<https://x/1>; rel=\"prev\", <https://x/3>; rel=\"next\""), "https://x/3");
    EXPECT_EQ(next_link("<https://x/1>; rel=\"last\""), "");
    EXPECT_EQ(next_link(""), "");
}

TEST(HubUnit, Globs) {
    EXPECT_TRUE(glob_match("*.gguf", "model-Q4_K_M.gguf"));
    EXPECT_FALSE(glob_match("*.gguf", "sub/model.gguf"));  // '*' stays in one folder
    EXPECT_TRUE(glob_match("**.gguf", "sub/model.gguf"));
    EXPECT_TRUE(glob_match("*Q4_K_M*", "qwen2.5-7b-instruct-Q4_K_M-00001-of-00002.gguf"));
    EXPECT_TRUE(glob_match("model-0000?-of-00002.safetensors", "model-00001-of-00002.safetensors"));
    EXPECT_FALSE(glob_match("config.json", "generation_config.json"));
    EXPECT_TRUE(glob_match("config.json", "config.json"));
}

TEST(HubUnit, Environment) {
    ::setenv("HF_ENDPOINT", "https://hf-mirror.com/", 1);
    ::setenv("HF_TOKEN", "hf_abc", 1);
    HubOptions o = options_from_environment();
    ::unsetenv("HF_ENDPOINT");
    ::unsetenv("HF_TOKEN");
    EXPECT_EQ(o.endpoint, "https://hf-mirror.com");
    EXPECT_EQ(o.token, "hf_abc");
    EXPECT_EQ(o.revision, "main");
    EXPECT_EQ(options_from_environment().endpoint, "https://huggingface.co");
}

}  // namespace
