#include "engine/backend/host/host_buffer.h"

#include <cstring>
#include <new>

namespace hearth {

std::shared_ptr<HostBuffer> HostBuffer::allocate(size_t bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = rounded ? std::aligned_alloc(64, rounded) : nullptr;
    if (p) std::memset(p, 0, rounded);
    return std::shared_ptr<HostBuffer>(new HostBuffer(static_cast<uint8_t*>(p), bytes, true));
}

std::shared_ptr<HostBuffer> HostBuffer::borrow(const void* data, size_t bytes) {
    return std::shared_ptr<HostBuffer>(new HostBuffer(static_cast<uint8_t*>(const_cast<void*>(data)), bytes, false));
}

HostBuffer::~HostBuffer() {
    if (owned_) std::free(data_);
}

}  // namespace hearth
