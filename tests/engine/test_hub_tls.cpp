// TLS in the hub client: a local HTTPS server with a self-signed certificate is refused (peer
// verification is always on), the same server is accepted only when its certificate is given as the
// CA file, and an https→http redirect is refused. The certificate: data/hub (make_cert.sh).
#include <gtest/gtest.h>

#include <httplib.h>

#include <filesystem>
#include <thread>

#include "engine/hub/download.h"
#include "engine/hub/listing.h"
#include "tests/engine/fake_hub.h"
#include "tests/engine/fixture_path.h"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "cpp-httplib without OpenSSL: the HTTPS tests need it (pkg-config cpp-httplib defines it on Debian)"
#endif

namespace {

namespace fs = std::filesystem;
using hearth::test::FakeHub;
using hearth::test::fixture_path;

class HubTls : public ::testing::Test {
protected:
    void SetUp() override {
        cert = fixture_path("hub/selfsigned.crt");
        server = std::make_unique<httplib::SSLServer>(cert.c_str(), fixture_path("hub/selfsigned.key").c_str());
        ASSERT_TRUE(server->is_valid()) << "cannot load " << cert;
        plain.files = {{"model.bin", hearth::test::pattern_bytes(1000, 3), true}};
        // The HTTPS "hub" lists one file and redirects its resolve to the plain-http CDN.
        server->Get(R"(/api/models/org/model/tree/main)", [this](const httplib::Request&, httplib::Response& res) {
            ++requests;
            res.set_content("[{\"type\":\"file\",\"oid\":\"" + std::string(40, '0') + "\",\"size\":1000,\"path\":\"model.bin\","
                            "\"lfs\":{\"oid\":\"" + FakeHub::sha256_hex(plain.files[0].content) + "\",\"size\":1000}}]",
                            "application/json");
        });
        server->Get(R"(/org/model/resolve/main/model.bin)", [this](const httplib::Request&, httplib::Response& res) {
            ++requests;
            res.set_redirect(plain.cdn_origin() + "/blobs/model.bin", 302);
        });
        port = server->bind_to_any_port("127.0.0.1");
        thread = std::thread([this] { server->listen_after_bind(); });
        opts.endpoint = "https://127.0.0.1:" + std::to_string(port);
        opts.retry_base_ms = 1;
        opts.max_attempts = 1;
    }
    void TearDown() override {
        server->stop();
        thread.join();
    }

    FakeHub plain;
    std::string cert;
    std::unique_ptr<httplib::SSLServer> server;
    std::thread thread;
    int port = 0;
    std::atomic<int> requests{0};
    hearth::hub::HubOptions opts;
};

TEST_F(HubTls, SelfSignedCertificateRefused) {
    auto l = hearth::hub::list_repo_files(opts, "org/model");
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.message().find("connection failed"), std::string::npos) << l.message();
    EXPECT_NE(l.message().find("certificate"), std::string::npos) << l.message();
    EXPECT_EQ(requests.load(), 0);  // refused in the handshake, before any request
}

TEST_F(HubTls, TrustedThroughCaFileButHttpsToHttpRedirectRefused) {
    opts.ca_file = cert;
    auto l = hearth::hub::list_repo_files(opts, "org/model");
    ASSERT_TRUE(l.ok()) << l.message();
    fs::path dir = fs::temp_directory_path() / ("hearth_hub_tls_" + std::to_string(::getpid()));
    hearth::hub::DownloadJob job(opts, "org/model", *l, dir.string());
    ASSERT_TRUE(job.run().ok());
    ASSERT_FALSE(job.all_ok());
    EXPECT_NE(job.outcomes()[0].error.find("refusing redirect from https to plain http"), std::string::npos)
        << job.outcomes()[0].error;
    EXPECT_TRUE(plain.content_requests().empty());  // the http host was never asked
    fs::remove_all(dir);
}

}  // namespace
