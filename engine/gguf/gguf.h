// GGUF v2/v3 model files: a validating reader over a read-only mmap and a writer.
//
// Reader contract: every count, string length, array length, tensor dimension product, type id and
// data offset is checked against the file size before it is used, so a truncated or hostile file
// gives an error that names what is wrong (never a crash, hang or huge allocation). A file with no
// tensors may end right after its metadata (no alignment padding).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/quant/types.h"
#include "engine/util/status.h"

namespace hearth::gguf {

// GGUF metadata value types, numbered as in the file format.
enum class ValueType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
    U64 = 10, I64 = 11, F64 = 12,
};

// One metadata value. Arrays hold their element type and elements (arrays may nest).
struct Value {
    ValueType type = ValueType::U8;
    // scalars: integers widen to i64/u64, floats to f64, bools to u64 0/1
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
    std::string str;
    ValueType elem_type = ValueType::U8;  // for ARRAY
    std::vector<Value> arr;

    bool is_int() const;     // any integer type or bool
    bool is_float() const;   // F32/F64
    int64_t as_int() const;  // integer/bool value (floats truncated)
    double as_double() const;
};

struct TensorInfo {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> dims;  // ne[0] (contiguous, row length) first, as in GGUF
    uint64_t offset = 0;        // relative to the data section
    size_t n_bytes = 0;
    const uint8_t* data = nullptr;  // into the mapping; valid while the File lives

    int64_t n_elements() const;
    int64_t ne(int i) const { return i < int(dims.size()) ? dims[i] : 1; }
};

class File {
public:
    // Maps and validates `path`. Large metadata arrays (a 150k-token vocabulary) are read lazily only
    // in the sense that strings are copied once; tensor data is never copied.
    static Result<std::unique_ptr<File>> open(const std::string& path);
    // Parses an in-memory image (tests, fuzzing). `bytes` must outlive the File.
    static Result<std::unique_ptr<File>> from_memory(const uint8_t* bytes, size_t size, std::string label = "<memory>");
    ~File();
    File(const File&) = delete;             // owns a mapping: not copyable
    File& operator=(const File&) = delete;

    uint32_t version() const { return version_; }
    size_t alignment() const { return alignment_; }
    size_t file_size() const { return size_; }
    const std::string& path() const { return path_; }

    const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }  // file order
    const Value* find(std::string_view key) const;
    // Typed lookups; fallback when the key is missing. A present key of the wrong type is an error.
    Result<std::string> get_string(std::string_view key, std::string fallback = {}) const;
    Result<int64_t> get_int(std::string_view key, int64_t fallback) const;
    Result<double> get_float(std::string_view key, double fallback) const;
    Result<bool> get_bool(std::string_view key, bool fallback) const;
    Result<std::vector<std::string>> get_string_array(std::string_view key) const;  // error if missing
    Result<std::vector<double>> get_float_array(std::string_view key) const;        // error if missing
    Result<std::vector<int64_t>> get_int_array(std::string_view key) const;         // error if missing

    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const TensorInfo* tensor(std::string_view name) const;

private:
    File() = default;
    std::string path_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    void* map_ = nullptr;  // non-null when we own an mmap
    uint32_t version_ = 0;
    size_t alignment_ = 32;
    std::vector<std::pair<std::string, Value>> kv_;
    std::map<std::string, size_t, std::less<>> kv_index_;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t, std::less<>> tensor_index_;
    friend class Parser;
};

// Builds a GGUF v3 file: metadata in insertion order, then tensor infos, then tensor data aligned
// to `general.alignment` (default 32).
class Writer {
public:
    void set_u32(const std::string& key, uint32_t v);
    void set_i32(const std::string& key, int32_t v);
    void set_u64(const std::string& key, uint64_t v);
    void set_f32(const std::string& key, float v);
    void set_bool(const std::string& key, bool v);
    void set_string(const std::string& key, const std::string& v);
    void set_string_array(const std::string& key, const std::vector<std::string>& v);
    void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
    void set_f32_array(const std::string& key, const std::vector<float>& v);
    void set_value(const std::string& key, const Value& v);  // any value, arrays nested
    void copy_metadata_from(const File& f);                   // all keys except general.alignment

    // Tensor bytes are copied in (or referenced if `borrow`, which must then outlive write()).
    // dims: ne[0] first. The byte size must match type and dims.
    Status add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> dims,
                      const void* data, size_t n_bytes, bool borrow = false);

    // A tensor whose bytes are produced while write() streams the file (e.g. quantized on the fly),
    // so a multi-GB output is never held in RAM whole: `fill` must write exactly n_bytes to dst;
    // an error from it aborts the write. Only one such tensor's bytes are in memory at a time.
    using Fill = std::function<Status(void* dst, size_t n_bytes)>;
    Status add_tensor_lazy(const std::string& name, GgmlType type, std::vector<int64_t> dims, Fill fill);
    size_t tensor_count() const { return tensors_.size(); }

    // Writes atomically: to `path + ".part"`, fsync, rename. A full disk is an error, not a corrupt file.
    Status write(const std::string& path) const;
    std::vector<uint8_t> to_bytes() const;  // the same image in memory (tests)

private:
    struct Tensor { std::string name; GgmlType type; std::vector<int64_t> dims; std::vector<uint8_t> owned; const void* data; size_t n_bytes; Fill fill; };
    std::vector<std::pair<std::string, Value>> kv_;
    std::vector<Tensor> tensors_;
    void set(const std::string& key, Value v);
};

}  // namespace hearth::gguf
