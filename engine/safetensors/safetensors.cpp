#include "engine/safetensors/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/quant/fp16.h"
#include "engine/util/json.h"

namespace hearth::safetensors {

namespace {
struct DTypeRow { DType t; const char* name; size_t size; };
constexpr DTypeRow kDTypes[] = {
    {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},     {DType::I8, "I8", 1},     {DType::U16, "U16", 2},
    {DType::I16, "I16", 2},   {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2}, {DType::U32, "U32", 4},
    {DType::I32, "I32", 4},   {DType::F32, "F32", 4},   {DType::U64, "U64", 8},   {DType::I64, "I64", 8},
    {DType::F64, "F64", 8},   {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

const DTypeRow* find_dtype(const std::string& name) {
    for (const DTypeRow& r : kDTypes)
        if (name == r.name) return &r;
    return nullptr;
}

// A non-negative integer of the header (JSON numbers that are not integers are refused).
bool header_uint(const json::Value& v, uint64_t& out) {
    if (!v.is_int() || v.as_int() < 0) return false;
    out = uint64_t(v.as_int());
    return true;
}
}  // namespace

const char* dtype_name(DType t) {
    for (const DTypeRow& r : kDTypes)
        if (r.t == t) return r.name;
    return "?";
}

size_t dtype_size(DType t) {
    for (const DTypeRow& r : kDTypes)
        if (r.t == t) return r.size;
    return 0;
}

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // the parser checked that this cannot overflow
    return n;
}

Result<std::unique_ptr<File>> File::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(path + ": not a regular file");
    }
    std::unique_ptr<File> f(new File());
    f->path_ = path;
    f->size_ = size_t(st.st_size);
    if (f->size_ > 0) {
        void* map = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
        const int e = errno;
        ::close(fd);
        if (map == MAP_FAILED) return make_error(path + ": cannot map " + std::to_string(f->size_) + " bytes: " + std::strerror(e));
        f->map_ = map;
        f->base_ = static_cast<const uint8_t*>(map);
    } else {
        ::close(fd);
    }
    HEARTH_RETURN_IF_ERROR(f->parse());
    return f;
}

Result<std::unique_ptr<File>> File::from_memory(const uint8_t* bytes, size_t size, std::string label) {
    std::unique_ptr<File> f(new File());
    f->path_ = std::move(label);
    f->base_ = bytes;
    f->size_ = size;
    HEARTH_RETURN_IF_ERROR(f->parse());
    return f;
}

File::~File() {
    if (map_) munmap(map_, size_);
}

Status File::parse() {
    auto fail = [&](const std::string& why) { return make_error(path_ + ": " + why); };
    if (size_ < 8) return fail("only " + std::to_string(size_) + " bytes: too short to be a safetensors file");
    uint64_t n_header = 0;
    for (int i = 7; i >= 0; --i) n_header = (n_header << 8) | base_[i];  // little-endian
    if (n_header > kMaxHeaderBytes)
        return fail("header length " + std::to_string(n_header) + " is not believable (more than 100 MiB): not a safetensors file");
    if (n_header > size_ - 8)
        return fail("header length " + std::to_string(n_header) + " runs past the end of the file (" + std::to_string(size_) + " bytes)");
    auto header = json::parse(std::string_view(reinterpret_cast<const char*>(base_ + 8), size_t(n_header)));
    if (!header.ok()) return fail("header is not valid JSON: " + header.message());
    if (!header->is_object()) return fail("header is not a JSON object");
    const uint8_t* data = base_ + 8 + n_header;
    const size_t data_size = size_ - 8 - size_t(n_header);

    for (const auto& [key, v] : header->as_object()) {
        if (key == "__metadata__") {
            if (!v.is_object()) return fail("__metadata__ is not an object");
            for (const auto& [mk, mv] : v.as_object()) {
                if (!mv.is_string()) return fail("__metadata__ value of '" + mk + "' is not a string");
                metadata_.emplace_back(mk, mv.as_string());
            }
            continue;
        }
        const std::string& name = key;  // (clang before 16 cannot capture a structured binding)
        auto bad = [&](const std::string& why) { return fail("tensor '" + name + "': " + why); };
        if (!v.is_object()) return bad("its entry is not an object");
        if (index_.count(key)) return bad("listed twice");
        const json::Value& dt = v["dtype"];
        if (!dt.is_string()) return bad("no dtype");
        const DTypeRow* row = find_dtype(dt.as_string());
        if (!row) return bad("unknown dtype '" + dt.as_string() + "'");
        TensorInfo t;
        t.name = key;
        t.dtype = row->t;
        const json::Value& shape = v["shape"];
        if (!shape.is_array()) return bad("no shape");
        uint64_t n = 1;
        for (const json::Value& d : shape.as_array()) {
            uint64_t dim = 0;
            if (!header_uint(d, dim)) return bad("shape holds something other than a non-negative integer");
            t.shape.push_back(int64_t(dim));
            if (dim != 0 && n > (uint64_t(1) << 62) / dim) return bad("shape " + shape.dump() + " is too large");
            n *= dim;
        }
        const json::Value& offs = v["data_offsets"];
        uint64_t begin = 0, end = 0;
        if (!offs.is_array() || offs.size() != 2 || !header_uint(offs.as_array()[0], begin) || !header_uint(offs.as_array()[1], end))
            return bad("data_offsets is not a pair of non-negative integers");
        if (end < begin) return bad("data_offsets end before they begin");
        if (end > data_size)
            return bad("data ends at byte " + std::to_string(end) + " of the data section, past its end (" +
                       std::to_string(data_size) + " bytes)");
        if (n > (uint64_t(1) << 62) / row->size || n * row->size != end - begin)
            return bad(std::to_string(end - begin) + " bytes of data for shape " + shape.dump() + " of " + row->name +
                       " (" + std::to_string(n) + " × " + std::to_string(row->size) + " bytes expected)");
        t.offset = size_t(begin);
        t.n_bytes = size_t(end - begin);
        t.data = data + begin;
        index_[key] = tensors_.size();
        tensors_.push_back(std::move(t));
    }
    // No two tensors may share bytes (a hostile file could alias one tensor's data as another's).
    std::vector<const TensorInfo*> by_offset;
    for (const TensorInfo& t : tensors_)
        if (t.n_bytes > 0) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
        const TensorInfo &prev = *by_offset[i - 1], &cur = *by_offset[i];
        if (cur.offset < prev.offset + prev.n_bytes)
            return fail("the data of tensors '" + prev.name + "' and '" + cur.name + "' overlap");
    }
    return {};
}

const std::string* File::metadata_value(std::string_view key) const {
    for (const auto& [k, v] : metadata_)
        if (k == key) return &v;
    return nullptr;
}

const TensorInfo* File::tensor(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

Result<std::vector<float>> File::to_f32(const TensorInfo& t) const {
    const size_t n = size_t(t.n_elements());
    std::vector<float> out(n);
    // memcpy per element: the data has no alignment guarantee.
    switch (t.dtype) {
        case DType::F32:
            std::memcpy(out.data(), t.data, n * 4);
            break;
        case DType::F16:
        case DType::BF16:
            for (size_t i = 0; i < n; ++i) {
                uint16_t bits;
                std::memcpy(&bits, t.data + 2 * i, 2);
                out[i] = t.dtype == DType::F16 ? f16_to_f32(f16_t{bits}) : bf16_to_f32(bf16_t{bits});
            }
            break;
        case DType::F64:
            for (size_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, t.data + 8 * i, 8);
                out[i] = float(d);
            }
            break;
        default:
            return make_error(path_ + ": tensor '" + t.name + "' is stored as " + dtype_name(t.dtype) +
                              " (F32, F16, BF16 or F64 expected)");
    }
    return out;
}

}  // namespace hearth::safetensors
