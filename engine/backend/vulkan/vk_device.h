// One logical Vulkan device with everything the backend's ops need: memory (device buffers split
// into segments and storage-buffer windows), lazily built compute pipelines, and the op recorder.
//
// Execution: ops append Op records; flush() turns the list into one command buffer, submits it
// once and waits. A list identical to one flushed before (same pipelines, bindings, push constants
// and grid: true for every generated token, since positions and ids live in device buffers) reuses
// that recorded command buffer and its descriptor sets instead of recording again.
//
// Memory: a buffer is one VkBuffer, or for sizes past maxMemoryAllocationSize several overlapping
// segments; a shader binding is a window of at most maxStorageBufferRange bytes (128 MiB on
// lavapipe), so ops on larger tensors are split into pieces that each fit one window.
// Test switches: HEARTH_VULKAN_MAX_MEMORY (bytes of device memory this device may allocate),
// HEARTH_VULKAN_MAX_BINDING and HEARTH_VULKAN_MAX_SEGMENT (smaller limits to exercise splitting),
// HEARTH_VULKAN_ATTN_CHUNK (cells per workgroup of split attention, to put split boundaries at
// small n_kv in tests).
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/vulkan/vk_instance.h"

namespace hearth::vk {

class Device;

struct Segment {
    VkBuffer buf = VK_NULL_HANDLE;
    VkDeviceMemory mem = VK_NULL_HANDLE;
    size_t base = 0, size = 0;  // bytes of the logical buffer this segment holds
    size_t alloc = 0;           // bytes of device memory
};

class VkBuf final : public Buffer {
public:
    VkBuf(std::shared_ptr<Device> dev, size_t size, std::vector<Segment> segs) : Buffer(size), dev_(std::move(dev)), segs_(std::move(segs)) {}
    ~VkBuf() override;
    const std::vector<Segment>& segments() const { return segs_; }
    // The segment holding all of [off, off + len), or null.
    const Segment* find(size_t off, size_t len) const;

private:
    std::shared_ptr<Device> dev_;
    std::vector<Segment> segs_;
};

struct BindRange {
    VkBuffer buf = VK_NULL_HANDLE;
    VkDeviceSize off = 0, range = 0;
    bool operator==(const BindRange&) const = default;
};

// A resolved shader binding: the descriptor window and where the tensor starts inside it.
struct Binding {
    BindRange range;
    uint32_t delta = 0;  // bytes from the window start to the requested offset
    bool ok = false;
};

struct Pipeline {
    VkDescriptorSetLayout dsl = VK_NULL_HANDLE;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    VkPipeline pipe = VK_NULL_HANDLE;
    uint32_t nbind = 0;
    uint64_t uses = 0;  // dispatches recorded with it (tests check which variant ran)
};

constexpr int kMaxBindings = 8;  // attention over block tables binds 7
constexpr int kMaxPushWords = 32;

struct Op {
    enum Kind : uint8_t { Dispatch, Copy, Fill } kind = Dispatch;
    const Pipeline* pipe = nullptr;
    uint32_t nbind = 0;
    std::array<BindRange, kMaxBindings> bind{};
    uint32_t npush = 0;
    std::array<uint32_t, kMaxPushWords> push{};
    uint32_t gx = 1, gy = 1, gz = 1;
    VkBuffer src = VK_NULL_HANDLE, dst = VK_NULL_HANDLE;  // Copy (src, dst) / Fill (dst)
    std::vector<VkBufferCopy> regions;                    // Copy; Fill uses regions[0].dstOffset/size
    bool operator==(const Op& o) const;
};

class Device : public std::enable_shared_from_this<Device> {
public:
    static Result<std::shared_ptr<Device>> create(std::shared_ptr<Instance> inst, const PhysicalDevice& pd);
    ~Device();

    const PhysicalDevice& physical() const { return pd_; }
    bool use_subgroup() const { return pd_.features.subgroup; }
    // The (masked) features this device was opened with: each one is enabled on the VkDevice.
    const Features& features() const { return pd_.features; }
    // Cells per workgroup of split attention (0 = the backend's default).
    size_t attn_chunk() const { return attn_chunk_; }

    // ---- memory
    Result<BufferPtr> create_buffer(size_t bytes);
    size_t binding_limit() const { return bind_limit_; }
    // Largest byte range an op may bind as one piece (fits one window and one segment).
    size_t max_piece() const { return max_piece_; }
    Binding resolve(const Buffer* b, size_t off, size_t len) const;
    uint64_t allocated() const { return allocated_; }
    // How many dispatches of the named shader were recorded so far (0 if never built).
    uint64_t shader_uses(const std::string& name) const {
        auto it = pipelines_.find(name);
        return it == pipelines_.end() ? 0 : it->second.uses;
    }
    // Device-local bytes Hearth could still allocate now: the driver's budget (VK_EXT_memory_budget,
    // which already counts what this process holds) or else the heap size minus what Hearth has
    // allocated (for a CPU implementation also at most the host's MemAvailable); never more than
    // HEARTH_VULKAN_MAX_MEMORY minus what is allocated.
    uint64_t memory_free() const;

    // ---- recording (all asynchronous until flush)
    void dispatch(const std::string& shader, uint32_t nbind, const Binding* binds, const void* push, size_t push_bytes,
                  uint32_t gx, uint32_t gy, uint32_t gz);
    void copy(const Buffer* src, size_t src_off, const Buffer* dst, size_t dst_off, size_t len);
    void fill_zero(const Buffer* dst);
    Status write(const Buffer* dst, size_t off, const void* data, size_t len);  // via staging
    Status read(const Buffer* src, size_t off, void* data, size_t len);         // flushes, waits
    Status flush();
    void set_error(std::string msg);
    bool has_error() const { return !error_.empty(); }

    // called by ~VkBuf
    void release(std::vector<Segment>& segs, size_t bytes);

private:
    Device(std::shared_ptr<Instance> inst, const PhysicalDevice& pd) : inst_(std::move(inst)), pd_(pd) {}
    Status init();
    Result<const Pipeline*> pipeline(const std::string& name, uint32_t nbind);
    Result<Segment> make_segment(size_t base, size_t size, bool host_visible);
    void destroy_segment(Segment& s);
    Status ensure_staging(size_t bytes);
    struct Recorded;
    Result<Recorded*> record(const std::vector<Op>& ops);
    void clear_cache();

    std::shared_ptr<Instance> inst_;
    PhysicalDevice pd_;
    VkDevice dev_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    uint32_t mem_device_ = UINT32_MAX, mem_host_ = UINT32_MAX;
    size_t align_ = 256, bind_limit_ = 0, seg_max_ = 0, overlap_ = 0, max_piece_ = 0;
    uint64_t mem_cap_ = 0, allocated_ = 0;
    size_t attn_chunk_ = 0;

    std::map<std::string, Pipeline> pipelines_;
    std::vector<Op> ops_;
    std::string error_;

    Segment staging_{};
    void* staging_map_ = nullptr;
    size_t staging_used_ = 0;

    struct Recorded {
        std::vector<Op> ops;
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        VkDescriptorPool pool = VK_NULL_HANDLE;
        uint64_t last_use = 0;
    };
    std::vector<std::unique_ptr<Recorded>> cache_;
    uint64_t tick_ = 0;

public:
    // statistics for tests and bench
    uint64_t submits = 0, recordings = 0, replays = 0;
};

}  // namespace hearth::vk
