#include "engine/backend/vulkan/vk_device.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/backend/vulkan/vk_shaders.h"

namespace hearth::vk {

namespace {

constexpr size_t kPad = 16;                         // bytes past every segment: unaligned word reads at the end stay inside
constexpr size_t kStagingMax = size_t(64) << 20;    // largest staging buffer; bigger transfers go in chunks
constexpr size_t kCacheEntries = 16;                // recorded command buffers kept for replay

uint64_t env_u64(const char* name) {
    const char* v = std::getenv(name);
    if (!v || !*v) return 0;
    return std::strtoull(v, nullptr, 10);
}

std::string mib(uint64_t b) { return std::to_string((b + (1 << 19)) >> 20) + " MiB"; }

}  // namespace

bool Op::operator==(const Op& o) const {
    if (kind != o.kind || pipe != o.pipe || nbind != o.nbind || npush != o.npush || gx != o.gx || gy != o.gy || gz != o.gz ||
        src != o.src || dst != o.dst || regions.size() != o.regions.size())
        return false;
    for (uint32_t i = 0; i < nbind; ++i) if (!(bind[i] == o.bind[i])) return false;
    if (std::memcmp(push.data(), o.push.data(), npush * 4) != 0) return false;
    for (size_t i = 0; i < regions.size(); ++i)
        if (regions[i].srcOffset != o.regions[i].srcOffset || regions[i].dstOffset != o.regions[i].dstOffset ||
            regions[i].size != o.regions[i].size)
            return false;
    return true;
}

VkBuf::~VkBuf() { dev_->release(segs_, size_); }

const Segment* VkBuf::find(size_t off, size_t len) const {
    for (const auto& s : segs_)
        if (off >= s.base && off + len <= s.base + s.size) return &s;
    return nullptr;
}

Result<std::shared_ptr<Device>> Device::create(std::shared_ptr<Instance> inst, const PhysicalDevice& pd) {
    auto d = std::shared_ptr<Device>(new Device(std::move(inst), pd));
    Status st = d->init();
    if (!st.ok()) return st;
    return d;
}

Status Device::init() {
    const std::string name = pd_.props.deviceName;
    const float prio = 1.0f;
    VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qi.queueFamilyIndex = pd_.queue_family;
    qi.queueCount = 1;
    qi.pQueuePriorities = &prio;
    // The baseline shaders read every format through 32-bit words and compute in F32, so they need
    // no optional feature: any Vulkan 1.1 device runs them. The faster variants (vk_backend.cpp:
    // F16 tiles, 8-bit / integer-dot matrix-vector) need the features below, which are enabled
    // exactly when they are present and not masked (HEARTH_VULKAN_MASK_FEATURES).
    const Features& f = pd_.features;
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan13Features f13{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    f12.shaderFloat16 = f.fp16;
    f12.shaderInt8 = f.int8;
    f12.storageBuffer8BitAccess = f.int8;
    f13.shaderIntegerDotProduct = f.dot;
    VkDeviceCreateInfo ci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    if (pd_.props.apiVersion >= VK_API_VERSION_1_2 && inst_->api_version() >= VK_API_VERSION_1_2) {
        f2.pNext = &f12;
        if (pd_.props.apiVersion >= VK_API_VERSION_1_3 && inst_->api_version() >= VK_API_VERSION_1_3) f12.pNext = &f13;
        ci.pNext = &f2;
    } else {
        pd_.features.fp16 = pd_.features.int8 = pd_.features.dot = false;  // no way to enable them
    }
    ci.queueCreateInfoCount = 1;
    ci.pQueueCreateInfos = &qi;
    VkResult r = vkCreateDevice(pd_.handle, &ci, nullptr, &dev_);
    if (r != VK_SUCCESS) return make_error("Vulkan: could not open device '" + name + "' (" + vk_result_name(r) + ")");
    vkGetDeviceQueue(dev_, pd_.queue_family, 0, &queue_);
    VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pi.queueFamilyIndex = pd_.queue_family;
    if ((r = vkCreateCommandPool(dev_, &pi, nullptr, &pool_)) != VK_SUCCESS)
        return make_error("Vulkan: vkCreateCommandPool failed (" + vk_result_name(r) + ")");
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = vkCreateFence(dev_, &fi, nullptr, &fence_)) != VK_SUCCESS)
        return make_error("Vulkan: vkCreateFence failed (" + vk_result_name(r) + ")");

    const auto& lim = pd_.props.limits;
    align_ = std::max<size_t>(4, lim.minStorageBufferOffsetAlignment);
    bind_limit_ = size_t(lim.maxStorageBufferRange) & ~size_t(3);
    if (uint64_t b = env_u64("HEARTH_VULKAN_MAX_BINDING")) bind_limit_ = std::min<size_t>(bind_limit_, b & ~uint64_t(3));
    VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    p2.pNext = &m3;
    vkGetPhysicalDeviceProperties2(pd_.handle, &p2);
    seg_max_ = size_t(std::min<uint64_t>(m3.maxMemoryAllocationSize, uint64_t(1) << 32)) - 4096;
    if (uint64_t s = env_u64("HEARTH_VULKAN_MAX_SEGMENT")) seg_max_ = std::min<size_t>(seg_max_, s);
    seg_max_ &= ~(align_ - 1);
    if (bind_limit_ < 4 * align_ + 64 || seg_max_ < 2 * bind_limit_ / 64) return make_error("Vulkan: device limits too small");
    // Any range of at most `overlap_` bytes lies within one segment (segments overlap by that much);
    // capped at 256 MiB so a multi-GB model split into segments wastes little memory on the overlap.
    overlap_ = std::min({bind_limit_, seg_max_ / 2, size_t(256) << 20}) & ~(align_ - 1);
    max_piece_ = std::min(bind_limit_ - align_ - kPad, overlap_);
    mem_cap_ = env_u64("HEARTH_VULKAN_MAX_MEMORY");
    attn_chunk_ = size_t(env_u64("HEARTH_VULKAN_ATTN_CHUNK"));
    return {};
}

Device::~Device() {
    if (!dev_) return;
    vkDeviceWaitIdle(dev_);
    clear_cache();
    if (staging_.buf) destroy_segment(staging_);
    for (auto& [n, p] : pipelines_) {
        vkDestroyPipeline(dev_, p.pipe, nullptr);
        vkDestroyPipelineLayout(dev_, p.layout, nullptr);
        vkDestroyDescriptorSetLayout(dev_, p.dsl, nullptr);
    }
    if (fence_) vkDestroyFence(dev_, fence_, nullptr);
    if (pool_) vkDestroyCommandPool(dev_, pool_, nullptr);
    vkDestroyDevice(dev_, nullptr);
}

// ---------------------------------------------------------------- memory

Result<Segment> Device::make_segment(size_t base, size_t size, bool host_visible) {
    Segment s;
    s.base = base;
    s.size = size;
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = size + kPad;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkResult r = vkCreateBuffer(dev_, &bi, nullptr, &s.buf);
    if (r != VK_SUCCESS) return make_error("Vulkan: vkCreateBuffer of " + mib(size) + " failed (" + vk_result_name(r) + ")");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(dev_, s.buf, &req);
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd_.handle, &mp);
    const VkMemoryPropertyFlags want = host_visible ? (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                                                    : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags nice = host_visible ? VK_MEMORY_PROPERTY_HOST_CACHED_BIT : 0;
    uint32_t type = UINT32_MAX;
    for (int pass = 0; pass < 3 && type == UINT32_MAX; ++pass)
        for (uint32_t i = 0; i < mp.memoryTypeCount; ++i) {
            if (!(req.memoryTypeBits & (1u << i))) continue;
            const auto f = mp.memoryTypes[i].propertyFlags;
            const bool ok = pass == 0 ? (f & (want | nice)) == (want | nice) : pass == 1 ? (f & want) == want
                                                                                          : !host_visible;
            if (ok) { type = i; break; }
        }
    if (type == UINT32_MAX) {
        vkDestroyBuffer(dev_, s.buf, nullptr);
        return make_error("Vulkan: no suitable memory type on '" + std::string(pd_.props.deviceName) + "'");
    }
    if (!host_visible && mem_cap_ && allocated_ + req.size > mem_cap_) {
        vkDestroyBuffer(dev_, s.buf, nullptr);
        return make_error("Vulkan: out of device memory on '" + std::string(pd_.props.deviceName) + "': allocating " + mib(req.size) +
                          " with " + mib(allocated_) + " in use exceeds the " + mib(mem_cap_) + " limit (HEARTH_VULKAN_MAX_MEMORY)");
    }
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = type;
    r = vkAllocateMemory(dev_, &ai, nullptr, &s.mem);
    if (r != VK_SUCCESS) {
        vkDestroyBuffer(dev_, s.buf, nullptr);
        if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
            return make_error("Vulkan: out of device memory on '" + std::string(pd_.props.deviceName) + "': allocating " +
                              mib(req.size) + " with " + mib(allocated_) + " already in use (" + vk_result_name(r) + ")");
        return make_error("Vulkan: vkAllocateMemory of " + mib(req.size) + " failed (" + vk_result_name(r) + ")");
    }
    vkBindBufferMemory(dev_, s.buf, s.mem, 0);
    s.alloc = req.size;
    if (!host_visible) allocated_ += req.size;
    return s;
}

void Device::destroy_segment(Segment& s) {
    if (s.buf) vkDestroyBuffer(dev_, s.buf, nullptr);
    if (s.mem) vkFreeMemory(dev_, s.mem, nullptr);
    s = Segment{};
}

Result<BufferPtr> Device::create_buffer(size_t bytes) {
    bytes = std::max<size_t>(bytes, 16);
    std::vector<Segment> segs;
    const size_t step = seg_max_ - overlap_;
    for (size_t base = 0;; base += step) {
        const size_t size = std::min(seg_max_, bytes - base);
        auto s = make_segment(base, size, false);
        if (!s.ok()) {
            for (auto& x : segs) { allocated_ -= x.alloc; destroy_segment(x); }
            return s.status();
        }
        segs.push_back(*s);
        if (base + size >= bytes) break;
    }
    return BufferPtr(std::make_shared<VkBuf>(shared_from_this(), bytes, std::move(segs)));
}

void Device::release(std::vector<Segment>& segs, size_t) {
    if (!ops_.empty()) {  // pending work may still use this buffer
        Status st = flush();
        if (!st.ok()) error_ = st.message();
    }
    clear_cache();  // recorded command buffers may name it
    for (auto& s : segs) { allocated_ -= s.alloc; destroy_segment(s); }
}

uint64_t Device::memory_free() const { return query_memory_free(pd_, allocated_, mem_cap_); }

Binding Device::resolve(const Buffer* b, size_t off, size_t len) const {
    Binding out;
    const auto* vb = dynamic_cast<const VkBuf*>(b);
    if (!vb || off + len > vb->size()) return out;
    const Segment* s = vb->find(off, len);
    if (!s) return out;
    const size_t rel = off - s->base;
    const size_t boff = rel & ~(align_ - 1);
    const size_t range = std::min(bind_limit_, s->size + kPad - boff) & ~size_t(3);
    if (rel - boff + len > range) return out;
    out.range = {s->buf, boff, range};
    out.delta = uint32_t(rel - boff);
    out.ok = true;
    return out;
}

// ---------------------------------------------------------------- pipelines

Result<const Pipeline*> Device::pipeline(const std::string& name, uint32_t nbind) {
    auto it = pipelines_.find(name);
    if (it != pipelines_.end()) return &it->second;
    const EmbeddedShader* sh = find_shader(name);
    if (!sh) return make_error("Vulkan: shader '" + name + "' is not built into this binary");
    Pipeline p;
    p.nbind = nbind;
    std::vector<VkDescriptorSetLayoutBinding> b(nbind);
    for (uint32_t i = 0; i < nbind; ++i) {
        b[i].binding = i;
        b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        b[i].descriptorCount = 1;
        b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo dl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    dl.bindingCount = nbind;
    dl.pBindings = b.data();
    VkResult r = vkCreateDescriptorSetLayout(dev_, &dl, nullptr, &p.dsl);
    VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, kMaxPushWords * 4};
    VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pl.setLayoutCount = 1;
    pl.pSetLayouts = &p.dsl;
    pl.pushConstantRangeCount = 1;
    pl.pPushConstantRanges = &pcr;
    if (r == VK_SUCCESS) r = vkCreatePipelineLayout(dev_, &pl, nullptr, &p.layout);
    VkShaderModule mod = VK_NULL_HANDLE;
    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = sh->words * 4;
    mi.pCode = sh->code;
    if (r == VK_SUCCESS) r = vkCreateShaderModule(dev_, &mi, nullptr, &mod);
    if (r == VK_SUCCESS) {
        VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
        ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
        ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        ci.stage.module = mod;
        ci.stage.pName = "main";
        ci.layout = p.layout;
        r = vkCreateComputePipelines(dev_, VK_NULL_HANDLE, 1, &ci, nullptr, &p.pipe);
        vkDestroyShaderModule(dev_, mod, nullptr);
    }
    if (r != VK_SUCCESS) {
        if (p.layout) vkDestroyPipelineLayout(dev_, p.layout, nullptr);
        if (p.dsl) vkDestroyDescriptorSetLayout(dev_, p.dsl, nullptr);
        return make_error("Vulkan: could not build the '" + name + "' pipeline (" + vk_result_name(r) + ")");
    }
    return &(pipelines_[name] = p);
}

// ---------------------------------------------------------------- recording

void Device::set_error(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
}

void Device::dispatch(const std::string& shader, uint32_t nbind, const Binding* binds, const void* push, size_t push_bytes,
                      uint32_t gx, uint32_t gy, uint32_t gz) {
    if (gx == 0 || gy == 0 || gz == 0) return;
    auto p = pipeline(shader, nbind);
    if (!p.ok()) return set_error(p.message());
    Op op;
    op.kind = Op::Dispatch;
    op.pipe = *p;
    op.nbind = nbind;
    for (uint32_t i = 0; i < nbind; ++i) {
        if (!binds[i].ok) return set_error("Vulkan: " + shader + ": binding " + std::to_string(i) + " is not a valid range of a Vulkan buffer");
        op.bind[i] = binds[i].range;
    }
    op.npush = uint32_t((push_bytes + 3) / 4);
    std::memcpy(op.push.data(), push, push_bytes);
    const auto& lim = pd_.props.limits.maxComputeWorkGroupCount;
    if (gx > lim[0] || gy > lim[1] || gz > lim[2]) return set_error("Vulkan: " + shader + ": grid too large for this device");
    op.gx = gx; op.gy = gy; op.gz = gz;
    ops_.push_back(std::move(op));
    ++pipelines_.at(shader).uses;
}

void Device::copy(const Buffer* src, size_t src_off, const Buffer* dst, size_t dst_off, size_t len) {
    const auto* s = dynamic_cast<const VkBuf*>(src);
    const auto* d = dynamic_cast<const VkBuf*>(dst);
    if (!s || !d || src_off + len > s->size() || dst_off + len > d->size()) return set_error("Vulkan: copy outside a buffer");
    for (size_t p = 0; p < len; p += max_piece_) {
        const size_t n = std::min(max_piece_, len - p);
        const Segment* ss = s->find(src_off + p, n);
        if (!ss) return set_error("Vulkan: copy source spans segments");
        for (const auto& ds : d->segments()) {  // overlapping destination segments all get the bytes
            const size_t lo = std::max(dst_off + p, ds.base), hi = std::min(dst_off + p + n, ds.base + ds.size);
            if (lo >= hi) continue;
            Op op;
            op.kind = Op::Copy;
            op.src = ss->buf;
            op.dst = ds.buf;
            op.regions.push_back({src_off + p + (lo - dst_off - p) - ss->base, lo - ds.base, hi - lo});
            ops_.push_back(std::move(op));
        }
    }
}

void Device::fill_zero(const Buffer* dst) {
    const auto* d = dynamic_cast<const VkBuf*>(dst);
    if (!d) return set_error("Vulkan: fill of a foreign buffer");
    for (const auto& s : d->segments()) {
        Op op;
        op.kind = Op::Fill;
        op.dst = s.buf;
        op.regions.push_back({0, 0, (s.size + kPad) & ~VkDeviceSize(3)});
        ops_.push_back(std::move(op));
    }
}

Status Device::ensure_staging(size_t bytes) {
    if (staging_.buf && staging_used_ + bytes <= staging_.size) return {};
    if (!ops_.empty()) HEARTH_RETURN_IF_ERROR(flush());  // runs the copies already staged
    staging_used_ = 0;
    if (staging_.buf && bytes <= staging_.size) return {};
    size_t cap = size_t(4) << 20;
    while (cap < bytes) cap *= 2;
    if (staging_.buf) {
        clear_cache();
        vkUnmapMemory(dev_, staging_.mem);
        destroy_segment(staging_);
    }
    auto s = make_segment(0, cap, true);
    if (!s.ok()) return s.status();
    staging_ = *s;
    VkResult r = vkMapMemory(dev_, staging_.mem, 0, VK_WHOLE_SIZE, 0, &staging_map_);
    if (r != VK_SUCCESS) return make_error("Vulkan: could not map the staging buffer (" + vk_result_name(r) + ")");
    return {};
}

Status Device::write(const Buffer* dst, size_t off, const void* data, size_t len) {
    const auto* d = dynamic_cast<const VkBuf*>(dst);
    if (!d || off + len > d->size()) return make_error("Vulkan: upload outside the destination buffer");
    const auto* src = static_cast<const uint8_t*>(data);
    for (size_t p = 0; p < len;) {
        const size_t n = std::min(kStagingMax, len - p);
        HEARTH_RETURN_IF_ERROR(ensure_staging(n));
        std::memcpy(static_cast<uint8_t*>(staging_map_) + staging_used_, src + p, n);
        for (const auto& ds : d->segments()) {
            const size_t lo = std::max(off + p, ds.base), hi = std::min(off + p + n, ds.base + ds.size);
            if (lo >= hi) continue;
            Op op;
            op.kind = Op::Copy;
            op.src = staging_.buf;
            op.dst = ds.buf;
            op.regions.push_back({staging_used_ + (lo - off - p), lo - ds.base, hi - lo});
            ops_.push_back(std::move(op));
        }
        staging_used_ += (n + 15) & ~size_t(15);
        p += n;
    }
    return {};
}

Status Device::read(const Buffer* src, size_t off, void* data, size_t len) {
    const auto* s = dynamic_cast<const VkBuf*>(src);
    if (!s || off + len > s->size()) return make_error("Vulkan: download outside the source buffer");
    auto* dst = static_cast<uint8_t*>(data);
    for (size_t p = 0; p < len;) {
        const size_t n = std::min({kStagingMax, max_piece_, len - p});
        HEARTH_RETURN_IF_ERROR(ensure_staging(n));
        const Segment* ss = s->find(off + p, n);
        if (!ss) return make_error("Vulkan: download range spans segments");
        const size_t at = staging_used_;
        Op op;
        op.kind = Op::Copy;
        op.src = ss->buf;
        op.dst = staging_.buf;
        op.regions.push_back({off + p - ss->base, at, n});
        ops_.push_back(std::move(op));
        HEARTH_RETURN_IF_ERROR(flush());
        std::memcpy(dst + p, static_cast<uint8_t*>(staging_map_) + at, n);
        p += n;
    }
    return {};
}

void Device::clear_cache() {
    for (auto& r : cache_) {
        if (r->cmd) vkFreeCommandBuffers(dev_, pool_, 1, &r->cmd);
        if (r->pool) vkDestroyDescriptorPool(dev_, r->pool, nullptr);
    }
    cache_.clear();
}

Result<Device::Recorded*> Device::record(const std::vector<Op>& ops) {
    if (cache_.size() >= kCacheEntries) {  // evict the least recently used
        auto lru = std::min_element(cache_.begin(), cache_.end(), [](auto& a, auto& b) { return a->last_use < b->last_use; });
        if ((*lru)->cmd) vkFreeCommandBuffers(dev_, pool_, 1, &(*lru)->cmd);
        if ((*lru)->pool) vkDestroyDescriptorPool(dev_, (*lru)->pool, nullptr);
        cache_.erase(lru);
    }
    auto rec = std::make_unique<Recorded>();
    rec->ops = ops;
    uint32_t nsets = 0, ndesc = 0;
    for (const auto& op : ops)
        if (op.kind == Op::Dispatch) { ++nsets; ndesc += op.nbind; }
    std::vector<VkDescriptorSet> sets(nsets);
    VkResult r = VK_SUCCESS;
    if (nsets) {
        VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, ndesc};
        VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
        pi.maxSets = nsets;
        pi.poolSizeCount = 1;
        pi.pPoolSizes = &ps;
        r = vkCreateDescriptorPool(dev_, &pi, nullptr, &rec->pool);
        if (r != VK_SUCCESS) return make_error("Vulkan: vkCreateDescriptorPool failed (" + vk_result_name(r) + ")");
        std::vector<VkDescriptorSetLayout> layouts;
        for (const auto& op : ops) if (op.kind == Op::Dispatch) layouts.push_back(op.pipe->dsl);
        VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = rec->pool;
        ai.descriptorSetCount = nsets;
        ai.pSetLayouts = layouts.data();
        r = vkAllocateDescriptorSets(dev_, &ai, sets.data());
        if (r != VK_SUCCESS) {
            vkDestroyDescriptorPool(dev_, rec->pool, nullptr);
            return make_error("Vulkan: vkAllocateDescriptorSets failed (" + vk_result_name(r) + ")");
        }
        std::vector<VkDescriptorBufferInfo> infos(ndesc);
        std::vector<VkWriteDescriptorSet> writes(ndesc);
        uint32_t k = 0, si = 0;
        for (const auto& op : ops) {
            if (op.kind != Op::Dispatch) continue;
            for (uint32_t i = 0; i < op.nbind; ++i, ++k) {
                infos[k] = {op.bind[i].buf, op.bind[i].off, op.bind[i].range};
                writes[k] = VkWriteDescriptorSet{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
                writes[k].dstSet = sets[si];
                writes[k].dstBinding = i;
                writes[k].descriptorCount = 1;
                writes[k].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
                writes[k].pBufferInfo = &infos[k];
            }
            ++si;
        }
        vkUpdateDescriptorSets(dev_, ndesc, writes.data(), 0, nullptr);
    }
    VkCommandBufferAllocateInfo ci{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ci.commandPool = pool_;
    ci.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ci.commandBufferCount = 1;
    r = vkAllocateCommandBuffers(dev_, &ci, &rec->cmd);
    if (r != VK_SUCCESS) {
        if (rec->pool) vkDestroyDescriptorPool(dev_, rec->pool, nullptr);
        return make_error("Vulkan: vkAllocateCommandBuffers failed (" + vk_result_name(r) + ")");
    }
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vkBeginCommandBuffer(rec->cmd, &bi);
    // Every op may read what the previous one wrote: one full barrier between consecutive ops.
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    uint32_t si = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        if (i > 0) vkCmdPipelineBarrier(rec->cmd, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
        if (op.kind == Op::Dispatch) {
            vkCmdBindPipeline(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, op.pipe->pipe);
            vkCmdBindDescriptorSets(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, op.pipe->layout, 0, 1, &sets[si++], 0, nullptr);
            if (op.npush) vkCmdPushConstants(rec->cmd, op.pipe->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, op.npush * 4, op.push.data());
            vkCmdDispatch(rec->cmd, op.gx, op.gy, op.gz);
        } else if (op.kind == Op::Copy) {
            vkCmdCopyBuffer(rec->cmd, op.src, op.dst, uint32_t(op.regions.size()), op.regions.data());
        } else {
            vkCmdFillBuffer(rec->cmd, op.dst, op.regions[0].dstOffset, op.regions[0].size, 0);
        }
    }
    VkMemoryBarrier hb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    hb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    hb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    vkCmdPipelineBarrier(rec->cmd, stages, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &hb, 0, nullptr, 0, nullptr);
    r = vkEndCommandBuffer(rec->cmd);
    if (r != VK_SUCCESS) {
        vkFreeCommandBuffers(dev_, pool_, 1, &rec->cmd);
        if (rec->pool) vkDestroyDescriptorPool(dev_, rec->pool, nullptr);
        return make_error("Vulkan: recording failed (" + vk_result_name(r) + ")");
    }
    ++recordings;
    cache_.push_back(std::move(rec));
    return cache_.back().get();
}

Status Device::flush() {
    auto take_error = [&]() -> Status {
        if (error_.empty()) return {};
        Status s = make_error(error_);
        error_.clear();
        return s;
    };
    if (!error_.empty() || ops_.empty()) {  // never run a sequence with a missing op
        ops_.clear();
        staging_used_ = 0;
        return take_error();
    }
    Recorded* rec = nullptr;
    for (auto& c : cache_)
        if (c->ops.size() == ops_.size() && c->ops == ops_) { rec = c.get(); ++replays; break; }
    if (!rec) {
        auto r = record(ops_);
        if (!r.ok()) {
            ops_.clear();
            staging_used_ = 0;
            return r.status();
        }
        rec = *r;
    }
    rec->last_use = ++tick_;
    ops_.clear();
    staging_used_ = 0;
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &rec->cmd;
    VkResult r = vkQueueSubmit(queue_, 1, &si, fence_);
    if (r != VK_SUCCESS) return make_error("Vulkan: vkQueueSubmit failed (" + vk_result_name(r) + ")");
    ++submits;
    r = vkWaitForFences(dev_, 1, &fence_, VK_TRUE, UINT64_MAX);
    vkResetFences(dev_, 1, &fence_);
    if (r != VK_SUCCESS) return make_error("Vulkan: waiting for the device failed (" + vk_result_name(r) + ")");
    return {};
}

}  // namespace hearth::vk
