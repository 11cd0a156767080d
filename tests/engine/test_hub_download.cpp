// The hub client against a fake hub on 127.0.0.1 (fake_hub.h), no network: listing (pagination,
// refused paths, the hub's error answers), downloads (whole repository, resume after a cut, after a
// cancel and after a restart, Range only when resuming, a 200 to a Range request, hash mismatch,
// oversize body, disk write failure, free space), and where the token goes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/hub/download.h"
#include "engine/hub/listing.h"
#include "tests/engine/fake_hub.h"

namespace {

namespace fs = std::filesystem;
using hearth::hub::DownloadJob;
using hearth::hub::HubOptions;
using hearth::hub::RepoFile;
using hearth::test::FakeHub;
using hearth::test::pattern_bytes;

constexpr size_t kBig = 3u << 20;  // the LFS file: big enough that a cut leaves a real part

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class HubDownload : public ::testing::Test {
protected:
    void SetUp() override {
        hub.files = {
            {"config.json", "{\"architectures\": [\"LlamaForCausalLM\"]}\n", false},
            {"model.safetensors", pattern_bytes(kBig, 1), true},
            {"sub/tokenizer.json", pattern_bytes(5000, 2), false},
        };
        dir = fs::temp_directory_path() / ("hearth_hub_" + std::to_string(::getpid()) + "_" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        opts.endpoint = hub.endpoint();
        opts.retry_base_ms = 1;  // backoff still runs, in milliseconds
    }
    void TearDown() override { fs::remove_all(dir); }

    std::vector<RepoFile> listing() {
        auto l = hearth::hub::list_repo_files(opts, hub.repo);
        EXPECT_TRUE(l.ok()) << l.message();
        return l.ok() ? *l : std::vector<RepoFile>{};
    }
    RepoFile only(const std::string& path) {
        for (auto& f : listing())
            if (f.path == path) return f;
        ADD_FAILURE() << path << " not listed";
        return {};
    }
    void expect_complete(const std::string& path) {
        for (auto& f : hub.files)
            if (f.path == path) EXPECT_EQ(read_file(dir / path), f.content) << path;
        EXPECT_FALSE(fs::exists(dir / (path + ".part")));
        EXPECT_FALSE(fs::exists(dir / (path + ".part.json")));
    }

    FakeHub hub;
    HubOptions opts;
    fs::path dir;
};

TEST_F(HubDownload, WholeRepositoryVerifiedAndTokenStaysOnTheHub) {
    opts.token = "secret";
    auto files = listing();
    ASSERT_EQ(files.size(), 3u);  // the directory entry is skipped
    EXPECT_EQ(files[1].sha256, FakeHub::sha256_hex(hub.files[1].content));
    EXPECT_EQ(files[0].git_oid, FakeHub::git_oid(hub.files[0].content));
    DownloadJob job(opts, hub.repo, files, dir.string());
    std::vector<hearth::hub::JobProgress> seen_progress;
    job.on_progress = [&](const hearth::hub::JobProgress& p) { seen_progress.push_back(p); };
    ASSERT_TRUE(job.run().ok());
    for (const auto& o : job.outcomes()) EXPECT_TRUE(o.ok) << o.error;
    EXPECT_TRUE(job.all_ok());
    for (const auto& f : hub.files) expect_complete(f.path);
    ASSERT_FALSE(seen_progress.empty());
    EXPECT_EQ(seen_progress.back().done_bytes, seen_progress.back().total_bytes);
    EXPECT_EQ(seen_progress.back().files_done, 3u);

    int hub_requests = 0, cdn_requests = 0;
    for (const auto& s : hub.seen()) {
        EXPECT_EQ(s.range, "") << "a fresh download sends no Range: " << s.path;
        if (s.server == "hub") {
            ++hub_requests;
            EXPECT_EQ(s.auth, "Bearer secret") << s.path;  // same origin, also after the relative redirect
        } else {
            ++cdn_requests;
            EXPECT_EQ(s.auth, "") << "the token went to the CDN: " << s.path;
        }
    }
    EXPECT_EQ(cdn_requests, 1);
    EXPECT_GE(hub_requests, 5);  // listing, 3 resolves, 2 same-origin raw fetches
}

TEST_F(HubDownload, PaginatedListing) {
    hub.page_size = 1;
    auto files = listing();
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[2].path, "sub/tokenizer.json");
    int pages = 0;
    for (const auto& s : hub.seen()) pages += s.path.find("/tree/") != std::string::npos;
    EXPECT_EQ(pages, 4);  // the directory entry takes a page too
}

TEST_F(HubDownload, ListingPathsWithDotDotOrLeadingSlashRefused) {
    for (std::string bad : {"../evil.sh", "sub/../../evil.sh", "/etc/evil"}) {
        hub.extra_listing_paths = {bad};
        auto l = hearth::hub::list_repo_files(opts, hub.repo);
        ASSERT_FALSE(l.ok()) << bad;
        EXPECT_NE(l.message().find("refusing repository path '" + bad + "'"), std::string::npos) << l.message();
    }
}

TEST_F(HubDownload, ResumesAfterACutConnectionWithRange) {
    hub.cut_after = 1 << 20;
    DownloadJob job(opts, hub.repo, {only("model.safetensors")}, dir.string());
    ASSERT_TRUE(job.run().ok());
    ASSERT_TRUE(job.all_ok()) << job.outcomes()[0].error;
    expect_complete("model.safetensors");
    auto reqs = hub.content_requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].range, "");
    EXPECT_EQ(reqs[1].range, "bytes=1048576-");
}

TEST_F(HubDownload, GivesUpAfterRetriesThenAFreshClientResumes) {
    opts.max_attempts = 1;
    hub.cut_after = 1 << 20;
    RepoFile f = only("model.safetensors");
    {
        DownloadJob job(opts, hub.repo, {f}, dir.string());
        ASSERT_TRUE(job.run().ok());
        ASSERT_FALSE(job.all_ok());
        EXPECT_NE(job.outcomes()[0].error.find("gave up after 1 attempts"), std::string::npos) << job.outcomes()[0].error;
        EXPECT_EQ(fs::file_size(dir / "model.safetensors.part"), 1u << 20);
        EXPECT_TRUE(fs::exists(dir / "model.safetensors.part.json"));
    }
    hub.clear_seen();
    DownloadJob again(opts, hub.repo, {f}, dir.string());  // as after an app restart
    ASSERT_TRUE(again.run().ok());
    ASSERT_TRUE(again.all_ok()) << again.outcomes()[0].error;
    EXPECT_TRUE(again.outcomes()[0].resumed);
    expect_complete("model.safetensors");
    auto reqs = hub.content_requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].range, "bytes=1048576-");
}

TEST_F(HubDownload, A200ToARangeRequestRestartsTheFile) {
    opts.max_attempts = 1;
    hub.cut_after = 1 << 20;
    RepoFile f = only("model.safetensors");
    DownloadJob cut(opts, hub.repo, {f}, dir.string());
    ASSERT_TRUE(cut.run().ok());
    ASSERT_FALSE(cut.all_ok());
    hub.ignore_range = true;
    hub.clear_seen();
    DownloadJob job(opts, hub.repo, {f}, dir.string());
    ASSERT_TRUE(job.run().ok());
    ASSERT_TRUE(job.all_ok()) << job.outcomes()[0].error;
    expect_complete("model.safetensors");  // not the first MiB twice
    ASSERT_EQ(hub.content_requests().size(), 1u);
    EXPECT_EQ(hub.content_requests()[0].range, "bytes=1048576-");
}

TEST_F(HubDownload, CancelKeepsThePartAndALaterJobResumes) {
    RepoFile f = only("model.safetensors");
    hub.chunk_delay_ms = 10;  // ~0.5 s for the file: progress reports come mid-body
    {
        DownloadJob job(opts, hub.repo, {f}, dir.string());
        job.on_progress = [&](const hearth::hub::JobProgress& p) {
            if (p.done_bytes > 0) job.cancel();
        };
        ASSERT_TRUE(job.run().ok());
        ASSERT_FALSE(job.all_ok());
        EXPECT_TRUE(job.outcomes()[0].cancelled) << job.outcomes()[0].error;
        ASSERT_TRUE(fs::exists(dir / "model.safetensors.part"));
    }
    uint64_t kept = fs::file_size(dir / "model.safetensors.part");
    ASSERT_GT(kept, 0u);
    ASSERT_LT(kept, kBig);
    hub.clear_seen();
    hub.chunk_delay_ms = 0;
    DownloadJob job(opts, hub.repo, {f}, dir.string());
    ASSERT_TRUE(job.run().ok());
    ASSERT_TRUE(job.all_ok()) << job.outcomes()[0].error;
    expect_complete("model.safetensors");
    ASSERT_EQ(hub.content_requests().size(), 1u);
    EXPECT_EQ(hub.content_requests()[0].range, "bytes=" + std::to_string(kept) + "-");
}

// The file changed on the hub between two runs: the new listing's sha256 no longer matches the
// sidecar's, so the old part is dropped and the download starts fresh (no Range).
TEST_F(HubDownload, APartOfAnOlderVersionIsNotResumed) {
    opts.max_attempts = 1;
    hub.cut_after = 1 << 20;
    DownloadJob cut(opts, hub.repo, {only("model.safetensors")}, dir.string());
    ASSERT_TRUE(cut.run().ok());
    ASSERT_FALSE(cut.all_ok());
    hub.files[1].content = pattern_bytes(kBig + 100, 9);
    hub.clear_seen();
    DownloadJob job(opts, hub.repo, {only("model.safetensors")}, dir.string());
    ASSERT_TRUE(job.run().ok());
    ASSERT_TRUE(job.all_ok()) << job.outcomes()[0].error;
    EXPECT_FALSE(job.outcomes()[0].resumed);
    expect_complete("model.safetensors");
    ASSERT_EQ(hub.content_requests().size(), 1u);
    EXPECT_EQ(hub.content_requests()[0].range, "");
}

// A second run over complete files that still match their hashes asks the hub for nothing.
TEST_F(HubDownload, CompleteFilesAreNotFetchedAgain) {
    auto files = listing();
    DownloadJob first(opts, hub.repo, files, dir.string());
    ASSERT_TRUE(first.run().ok());
    ASSERT_TRUE(first.all_ok());
    hub.clear_seen();
    DownloadJob second(opts, hub.repo, files, dir.string());
    ASSERT_TRUE(second.run().ok());
    EXPECT_TRUE(second.all_ok());
    EXPECT_TRUE(hub.seen().empty());
}

TEST_F(HubDownload, HashMismatchDeletesThePart) {
    for (std::string path : {"model.safetensors", "config.json"}) {
        hub.corrupt_path = path;
        DownloadJob job(opts, hub.repo, {only(path)}, dir.string());
        ASSERT_TRUE(job.run().ok());
        ASSERT_FALSE(job.all_ok());
        const std::string& e = job.outcomes()[0].error;
        EXPECT_NE(e.find(path == "config.json" ? "git blob sha1 mismatch" : "sha256 mismatch"), std::string::npos) << e;
        EXPECT_NE(e.find("the partial file was deleted"), std::string::npos) << e;
        EXPECT_FALSE(fs::exists(dir / path));
        EXPECT_FALSE(fs::exists(dir / (path + ".part")));
        EXPECT_FALSE(fs::exists(dir / (path + ".part.json")));
    }
}

TEST_F(HubDownload, MoreBytesThanListedIsAnError) {
    hub.extra_bytes = 10;
    DownloadJob job(opts, hub.repo, {only("model.safetensors")}, dir.string());
    ASSERT_TRUE(job.run().ok());
    ASSERT_FALSE(job.all_ok());
    EXPECT_NE(job.outcomes()[0].error.find("more bytes than the listed size"), std::string::npos) << job.outcomes()[0].error;
    EXPECT_FALSE(fs::exists(dir / "model.safetensors.part"));
}

// /dev/full answers every write with ENOSPC: the disk is full for this file.
TEST_F(HubDownload, WriteFailureIsAClearError) {
    fs::create_directories(dir);
    fs::create_symlink("/dev/full", dir / "model.safetensors.part");
    DownloadJob job(opts, hub.repo, {only("model.safetensors")}, dir.string());
    ASSERT_TRUE(job.run().ok());
    ASSERT_FALSE(job.all_ok());
    const std::string& e = job.outcomes()[0].error;
    EXPECT_NE(e.find("No space left on device"), std::string::npos) << e;
    EXPECT_NE(e.find("is the disk full?"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
}

TEST_F(HubDownload, NotEnoughFreeSpaceStopsBeforeStarting) {
    RepoFile f = only("model.safetensors");
    f.size = uint64_t(1) << 60;
    DownloadJob job(opts, hub.repo, {f}, dir.string());
    auto st = job.run();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("not enough free disk space"), std::string::npos) << st.message();
    EXPECT_TRUE(hub.content_requests().empty());
}

TEST_F(HubDownload, MissingRepositoryIs401WithoutToken) {
    auto l = hearth::hub::list_repo_files(opts, "org/nothing-here");
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.message().find("repository 'org/nothing-here' not found"), std::string::npos) << l.message();
    EXPECT_NE(l.message().find("HF_TOKEN"), std::string::npos) << l.message();
}

TEST_F(HubDownload, HubErrorCodesChooseTheMessage) {
    struct Case {
        int status;
        std::string code, expect;
    };
    for (const Case& c : std::vector<Case>{
             {403, "GatedRepo", "is gated: accept its conditions"},
             {401, "GatedRepo", "is gated"},
             {404, "RevisionNotFound", "revision 'main' not found"},
             {404, "RepoNotFound", "repository 'org/model' not found"},
             {500, "", "server error 500 (after 2 attempts)"},
         }) {
        hub.fail_status = c.status;
        hub.fail_code = c.code;
        opts.max_attempts = 2;
        auto l = hearth::hub::list_repo_files(opts, hub.repo);
        ASSERT_FALSE(l.ok()) << c.code;
        EXPECT_NE(l.message().find(c.expect), std::string::npos) << c.status << " " << c.code << ": " << l.message();
    }
}

TEST_F(HubDownload, MissingFileAndTransientServerErrors) {
    RepoFile ghost{"ghost.bin", 10, "", std::string(64, 'a')};
    DownloadJob job(opts, hub.repo, {ghost}, dir.string());
    ASSERT_TRUE(job.run().ok());
    EXPECT_NE(job.outcomes()[0].error.find("file 'ghost.bin' not found in repository 'org/model'"), std::string::npos)
        << job.outcomes()[0].error;

    RepoFile f = only("model.safetensors");
    hub.fail_status = 503;
    hub.fail_count = 2;  // two 503s, then the file: retried with backoff
    DownloadJob retried(opts, hub.repo, {f}, dir.string());
    ASSERT_TRUE(retried.run().ok());
    EXPECT_TRUE(retried.all_ok()) << retried.outcomes()[0].error;
}

// libcurl takes proxies from the environment; no_proxy must let the loopback hub through.
TEST_F(HubDownload, NoProxyIsHonoured) {
    ::setenv("http_proxy", "http://127.0.0.1:9", 1);  // discard port: a proxy that is not there
    ::setenv("no_proxy", "127.0.0.1", 1);
    auto l = hearth::hub::list_repo_files(opts, hub.repo);
    ::unsetenv("no_proxy");
    auto through_dead_proxy = hearth::hub::list_repo_files(opts, hub.repo);
    ::unsetenv("http_proxy");
    EXPECT_TRUE(l.ok()) << l.message();
    EXPECT_FALSE(through_dead_proxy.ok()) << "the proxy variable was not used at all";
}

}  // namespace
