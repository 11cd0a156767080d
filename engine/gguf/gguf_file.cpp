// gguf::File: opening (read-only mmap, or a caller's memory), lookups and typed getters.
// Parsing and validation live in gguf_parser.cpp.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/gguf/gguf.h"

namespace hearth::gguf {

Status parse_file_image(File& f);  // gguf_parser.cpp

// ---- Value / TensorInfo ----------------------------------------------------------------------

bool Value::is_int() const {
    switch (type) {
        case ValueType::U8: case ValueType::I8: case ValueType::U16: case ValueType::I16:
        case ValueType::U32: case ValueType::I32: case ValueType::U64: case ValueType::I64:
        case ValueType::BOOL: return true;
        default: return false;
    }
}

bool Value::is_float() const { return type == ValueType::F32 || type == ValueType::F64; }

int64_t Value::as_int() const {
    if (is_int()) return i;
    if (is_float()) {
        // Truncate like a cast, but saturate instead of invoking undefined behaviour.
        if (std::isnan(f)) return 0;
        if (f >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
        if (f <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
        return int64_t(f);
    }
    return 0;
}

double Value::as_double() const {
    if (is_float()) return f;
    if (type == ValueType::U64) return double(u);
    if (is_int()) return double(i);
    return 0;
}

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;  // the parser/writer checked that this cannot overflow
    return n;
}

// ---- opening -------------------------------------------------------------------------------

Result<std::unique_ptr<File>> File::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        return make_error(path + ": cannot stat: " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(path + ": not a regular file");
    }
    if (st.st_size == 0) {
        ::close(fd);
        return make_error(path + ": the file is empty (not a GGUF model)");
    }
    const size_t size = size_t(st.st_size);
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    ::close(fd);  // the mapping keeps the file open
    if (map == MAP_FAILED) return make_error(path + ": cannot map " + std::to_string(size) + " bytes: " + std::strerror(map_errno));

    std::unique_ptr<File> f(new File());
    f->path_ = path;
    f->map_ = map;
    f->base_ = static_cast<const uint8_t*>(map);
    f->size_ = size;
    Status s = parse_file_image(*f);
    if (!s.ok()) return s;  // ~File unmaps
    return f;
}

Result<std::unique_ptr<File>> File::from_memory(const uint8_t* bytes, size_t size, std::string label) {
    std::unique_ptr<File> f(new File());
    f->path_ = std::move(label);
    f->base_ = bytes;
    f->size_ = bytes ? size : 0;
    Status s = parse_file_image(*f);
    if (!s.ok()) return s;
    return f;
}

File::~File() {
    if (map_) munmap(map_, size_);
}

// ---- lookups -------------------------------------------------------------------------------

const Value* File::find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const TensorInfo* File::tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

const char* type_word(ValueType t) {
    static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
                                  "array", "u64", "i64", "f64"};
    const auto k = uint32_t(t);
    return k < 13 ? names[k] : "?";
}

std::string describe(const Value& v) {
    if (v.type == ValueType::ARRAY) return std::string("an array of ") + type_word(v.elem_type);
    return std::string("a ") + type_word(v.type);
}

Status wrong_type(const std::string& path, std::string_view key, const Value& v, const char* wanted) {
    return make_error(path + ": metadata '" + std::string(key) + "' is " + describe(v) + ", expected " + wanted);
}

}  // namespace

Result<std::string> File::get_string(std::string_view key, std::string fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (v->type != ValueType::STRING) return wrong_type(path_, key, *v, "a string");
    return v->str;
}

Result<int64_t> File::get_int(std::string_view key, int64_t fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (!v->is_int()) return wrong_type(path_, key, *v, "an integer");
    if (v->type == ValueType::U64 && v->u > uint64_t(std::numeric_limits<int64_t>::max()))
        return make_error(path_ + ": metadata '" + std::string(key) + "' = " + std::to_string(v->u) + " is too large");
    return v->i;
}

Result<double> File::get_float(std::string_view key, double fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (!v->is_float() && !(v->is_int() && v->type != ValueType::BOOL)) return wrong_type(path_, key, *v, "a number");
    return v->as_double();
}

Result<bool> File::get_bool(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (!v->is_int()) return wrong_type(path_, key, *v, "a bool");  // integers 0/1 are accepted too
    return v->u != 0;
}

Result<std::vector<std::string>> File::get_string_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return make_error(path_ + ": metadata '" + std::string(key) + "' is missing");
    if (v->type != ValueType::ARRAY || v->elem_type != ValueType::STRING) return wrong_type(path_, key, *v, "an array of strings");
    std::vector<std::string> out;
    out.reserve(v->arr.size());
    for (const Value& e : v->arr) out.push_back(e.str);
    return out;
}

Result<std::vector<double>> File::get_float_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return make_error(path_ + ": metadata '" + std::string(key) + "' is missing");
    const bool numeric = v->elem_type != ValueType::STRING && v->elem_type != ValueType::ARRAY && v->elem_type != ValueType::BOOL;
    if (v->type != ValueType::ARRAY || !numeric) return wrong_type(path_, key, *v, "an array of numbers");
    std::vector<double> out;
    out.reserve(v->arr.size());
    for (const Value& e : v->arr) out.push_back(e.as_double());
    return out;
}

Result<std::vector<int64_t>> File::get_int_array(std::string_view key) const {
    const Value* v = find(key);
    if (!v) return make_error(path_ + ": metadata '" + std::string(key) + "' is missing");
    Value probe;
    probe.type = v->elem_type;
    if (v->type != ValueType::ARRAY || !probe.is_int()) return wrong_type(path_, key, *v, "an array of integers");
    std::vector<int64_t> out;
    out.reserve(v->arr.size());
    for (const Value& e : v->arr) {
        if (e.type == ValueType::U64 && e.u > uint64_t(std::numeric_limits<int64_t>::max()))
            return make_error(path_ + ": metadata '" + std::string(key) + "' holds " + std::to_string(e.u) + ", too large");
        out.push_back(e.i);
    }
    return out;
}

}  // namespace hearth::gguf
