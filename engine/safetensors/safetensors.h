// Hugging Face safetensors files: an 8-byte little-endian header length, a JSON header (tensor name →
// dtype, shape, data_offsets into the data that follows; an optional "__metadata__" object of
// strings), then the tensor bytes. A validating reader over a read-only mmap, for PEFT adapters,
// model checkpoints and diffusion weights: every length, offset and shape is checked before use,
// so a truncated or hostile file is an error naming the problem, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/util/status.h"

namespace hearth::safetensors {

// The dtypes the format defines. Every one is read and validated (its size is known); to_f32
// converts the float ones we compute with and names the others in its error.
enum class DType : uint8_t { BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64, F8_E4M3, F8_E5M2 };
const char* dtype_name(DType t);  // as the file spells it: "F32", "BF16", ...
size_t dtype_size(DType t);       // bytes per element

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;   // outermost first, as PyTorch: [rows, cols] for a matrix
    const uint8_t* data = nullptr;  // into the mapping; not aligned in general (the header length is free)
    size_t offset = 0;            // from the start of the data section
    size_t n_bytes = 0;
    int64_t n_elements() const;   // 1 for a scalar (shape []); the reader checked it cannot overflow
    int64_t dim(int i) const { return i < int(shape.size()) ? shape[size_t(i)] : 1; }
};

class File {
public:
    // Largest header accepted (the reference implementation's limit): a larger length is an error.
    static constexpr uint64_t kMaxHeaderBytes = 100u << 20;

    static Result<std::unique_ptr<File>> open(const std::string& path);
    // Parses an in-memory image (tests, fuzzing). `bytes` must outlive the File.
    static Result<std::unique_ptr<File>> from_memory(const uint8_t* bytes, size_t size, std::string label = "<memory>");
    ~File();
    File(const File&) = delete;  // owns a mapping
    File& operator=(const File&) = delete;

    const std::string& path() const { return path_; }
    size_t file_size() const { return size_; }
    // "__metadata__", in file order (PEFT writes {"format": "pt"}).
    const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }
    const std::string* metadata_value(std::string_view key) const;
    const std::vector<TensorInfo>& tensors() const { return tensors_; }  // header order
    const TensorInfo* tensor(std::string_view name) const;                 // nullptr when absent

    // The tensor's values as float32 (F32, F16, BF16, F64); any other dtype is an error naming it.
    Result<std::vector<float>> to_f32(const TensorInfo& t) const;

private:
    File() = default;
    Status parse();
    std::string path_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    void* map_ = nullptr;  // non-null when we own an mmap
    std::vector<std::pair<std::string, std::string>> metadata_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace hearth::safetensors
