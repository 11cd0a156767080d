// The CUDA backend is a run-time loaded plugin: on a machine without an NVIDIA driver (or without
// the plugin, cuBLAS or a device) asking for it is a clear error, device listing carries a note
// saying why, "auto" still gives a backend, and hearth-cli still starts. On a machine with a usable
// GPU these tests check the other side: devices are listed with name, compute capability and memory.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/cuda_loader.h"
#include "tests/engine/testdata.h"

using namespace hearth;

namespace {

bool has_cuda_device() { return !cuda_loader::list_devices().devices.empty(); }

// Runs a shell command, returns its exit status and (merged) output.
int run(const std::string& cmd, std::string* out) { return hearth::test::run_shell(cmd + " 2>&1", out); }

}  // namespace

TEST(CudaLoader, WithoutDeviceCreateBackendSaysWhy) {
    if (has_cuda_device()) GTEST_SKIP() << "a CUDA device is present: the no-driver path is not observable here";
    auto b = create_backend("cuda", 0, {});
    ASSERT_FALSE(b.ok());
    const std::string msg = b.message();
    std::printf("[ cuda ] create_backend(\"cuda\"): %s\n", msg.c_str());
    EXPECT_NE(msg.find("CUDA"), std::string::npos) << msg;
    EXPECT_GT(msg.size(), 25u) << "the message must say why: " << msg;
    EXPECT_FALSE(cuda_loader::unavailable_reason().empty() && cuda_loader::list_devices().devices.empty());
}

TEST(CudaLoader, WithoutDeviceListDevicesCarriesANote) {
    if (has_cuda_device()) GTEST_SKIP() << "a CUDA device is present";
    const DeviceList l = list_devices();
    bool noted = false;
    for (const auto& n : l.notes) {
        if (n.rfind("CUDA: ", 0) == 0) noted = true;
        std::printf("[ note ] %s\n", n.c_str());
    }
    EXPECT_TRUE(noted) << "list_devices() has no note saying why CUDA is unusable";
    for (const auto& d : l.devices) EXPECT_NE(d.backend, "cuda");
    EXPECT_FALSE(l.devices.empty()) << "the CPU path must always be listed";
}

TEST(CudaLoader, AutoFallsBackWhenCudaIsUnusable) {
    if (has_cuda_device()) GTEST_SKIP() << "a CUDA device is present: auto picks it";
    auto b = create_backend("auto", 0, {});
    ASSERT_TRUE(b.ok()) << b.message();
    EXPECT_NE((*b)->device().backend, "cuda");
}

TEST(CudaLoader, CliStartsAndWrongPluginPathIsReported) {
    std::string out;
    EXPECT_EQ(run(std::string("'") + HEARTH_CLI_PATH + "' --help", &out), 0) << out;
    EXPECT_NE(out.find("hearth-cli"), std::string::npos) << out;
    // With a plugin path that does not exist the CLI still starts (the loader only runs on demand,
    // and then reports the path).
    out.clear();
    EXPECT_EQ(run(std::string("HEARTH_CUDA_PLUGIN=/nonexistent/libhearth-cuda.so '") + HEARTH_CLI_PATH + "' --help", &out), 0) << out;
}

TEST(CudaLoader, ListedDevicesDescribeThemselves) {
    const DeviceList l = cuda_loader::list_devices();
    if (l.devices.empty()) GTEST_SKIP() << "no CUDA device: " << (l.notes.empty() ? "(no note)" : l.notes[0]);
    for (const auto& d : l.devices) {
        std::printf("[ cuda ] %d: %s, %s, %llu MiB, driver %s\n", d.index, d.name.c_str(), d.details.c_str(),
                    (unsigned long long)(d.memory_total >> 20), d.driver.c_str());
        EXPECT_EQ(d.backend, "cuda");
        EXPECT_FALSE(d.name.empty());
        EXPECT_GT(d.memory_total, 0u);
        EXPECT_NE(d.details.find("compute capability"), std::string::npos);
    }
    auto b = create_backend("cuda", 0, {});
    ASSERT_TRUE(b.ok()) << b.message();
    auto bad = create_backend("cuda", 1000, {});
    EXPECT_FALSE(bad.ok());
}
