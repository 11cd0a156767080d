// pick_device (engine/backend/registry.cpp): the device create_backend would open, read from a
// listing — the app's memory check asks it before the first image run. "auto" is CUDA device N,
// else the preferred (first listed) Vulkan device unless it is a CPU implementation, else the CPU;
// a named backend is its device N or nothing. On a made-up listing, so every machine checks the
// same cases; the last test checks it against create_backend on this machine's real devices.
#include <gtest/gtest.h>

#include "engine/backend/backend.h"

using namespace hearth;

namespace {

DeviceInfo device(const std::string& backend, int index, const std::string& type, const std::string& name) {
    DeviceInfo d;
    d.backend = backend;
    d.index = index;
    d.type = type;
    d.name = name;
    return d;
}

DeviceList listing(bool cuda, bool vulkan_gpu) {
    DeviceList l;
    l.devices.push_back(device("cpu", 0, "cpu", "EPYC"));
    l.devices.push_back(device("reference", 0, "cpu", "Reference"));
    if (cuda) l.devices.push_back(device("cuda", 0, "discrete", "H200"));
    if (vulkan_gpu) l.devices.push_back(device("vulkan", 0, "discrete", "RTX"));
    l.devices.push_back(device("vulkan", vulkan_gpu ? 1 : 0, "cpu-implementation", "llvmpipe"));
    return l;
}

std::string picked(const DeviceList& l, const std::string& backend, int index) {
    auto d = pick_device(l, backend, index);
    return d ? device_label(*d) : "none";
}

TEST(PickDevice, AutoPrefersCudaThenAVulkanGpuNeverLavapipe) {
    EXPECT_EQ(picked(listing(true, true), "auto", 0), "CUDA: H200");
    EXPECT_EQ(picked(listing(false, true), "auto", 0), "Vulkan: RTX");
    EXPECT_EQ(picked(listing(false, false), "auto", 0), "CPU: EPYC");
    EXPECT_EQ(picked(listing(true, true), "auto", 3), "Vulkan: RTX");  // no CUDA device 3: as create_backend falls through
}

TEST(PickDevice, NamedBackendsAreTheirDeviceOrNothing) {
    EXPECT_EQ(picked(listing(false, true), "vulkan", 1), "Vulkan: llvmpipe");
    EXPECT_EQ(picked(listing(false, false), "vulkan", 0), "Vulkan: llvmpipe");
    EXPECT_EQ(picked(listing(true, false), "cuda", 0), "CUDA: H200");
    EXPECT_EQ(picked(listing(false, false), "cuda", 0), "none");
    EXPECT_EQ(picked(listing(false, false), "vulkan", 5), "none");
    EXPECT_EQ(picked(listing(false, false), "cpu", 0), "CPU: EPYC");
    EXPECT_EQ(picked(listing(false, false), "reference", 0), "Reference: Reference");
}

TEST(PickDevice, AgreesWithCreateBackendHere) {
    const DeviceList real = list_devices();
    for (const std::string name : {"auto", "cpu", "vulkan", "cuda"}) {
        auto be = create_backend(name, 0, BackendOptions{1});
        auto d = pick_device(real, name, 0);
        if (!be.ok()) {
            EXPECT_TRUE(!d || name == "cuda" || name == "vulkan") << name << ": " << be.message();
            continue;
        }
        ASSERT_TRUE(d.has_value()) << name;
        EXPECT_EQ(device_label(*d), device_label((*be)->device())) << name;
    }
}

}  // namespace
