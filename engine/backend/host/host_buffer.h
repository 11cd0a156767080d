// Host memory buffers for CPU-side backends: either owned (64-byte aligned) or a borrowed view of
// memory that outlives the buffer (the mmapped model file, so weights are never copied).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "engine/backend/backend.h"

namespace hearth {

class HostBuffer final : public Buffer {
public:
    // Owned, zero-initialised; data() is null when the allocation failed (check before use).
    static std::shared_ptr<HostBuffer> allocate(size_t bytes);
    // Borrowed: `data` must outlive the buffer. It is never written through by the engine.
    static std::shared_ptr<HostBuffer> borrow(const void* data, size_t bytes);
    ~HostBuffer() override;

    uint8_t* data() const { return data_; }

private:
    HostBuffer(uint8_t* data, size_t bytes, bool owned) : Buffer(bytes), data_(data), owned_(owned) {}
    uint8_t* data_;
    bool owned_;
};

// Address of a tensor's first byte; the tensor must live in a HostBuffer.
inline uint8_t* host_ptr(const Tensor& t) { return static_cast<HostBuffer*>(t.buf)->data() + t.offset; }
inline uint8_t* host_row(const Tensor& t, int64_t r) { return host_ptr(t) + size_t(r) * t.row_stride; }

}  // namespace hearth
