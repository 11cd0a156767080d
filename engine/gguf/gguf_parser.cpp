// GGUF v2/v3 parser: turns the bytes of a file (mmapped or in memory) into a validated gguf::File.
//
// Why so many checks: model files come from the internet. Every count, length, dimension, type id
// and offset is compared with the bytes that remain before anything is allocated or dereferenced,
// so a truncated or hostile file ends in an error that says what is wrong and where
// ("model.gguf: truncated in tensor info 3 ('blk.0.attn_q.weight'): ..."), never a crash, a hang or
// a huge allocation.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "engine/gguf/gguf.h"

namespace hearth::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kMaxDims = 4;         // ggml tensors have at most 4 dimensions
constexpr int kMaxArrayDepth = 8;        // nested arrays deeper than this are rejected (stack safety)
// Each parsed array element becomes a Value (~100 bytes in memory) however small it is in the file,
// so a hostile file could ask for 100x its size in RAM. Real vocabularies have < 300k entries per
// array (tokens, scores, types, merges): 16M elements in total is generous and bounds RAM at ~1.6 GB.
constexpr uint64_t kMaxTotalArrayElements = uint64_t(1) << 24;

const char* value_type_name(uint32_t t) {
    static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
                                  "array", "u64", "i64", "f64"};
    return t < 13 ? names[t] : "?";
}

// The fewest bytes one value of type `t` occupies in the file (used to bound array lengths).
uint64_t min_encoded_size(ValueType t) {
    switch (t) {
        case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
        case ValueType::U16: case ValueType::I16: return 2;
        case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
        case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
        case ValueType::STRING: return 8;       // the length
        case ValueType::ARRAY: return 4 + 8;    // element type + count
    }
    return 1;
}

// Names of ggml type ids Hearth does not implement, so the error can say what the file holds.
std::string tensor_type_label(uint32_t id) {
    static const char* names[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2 (removed)", "Q4_3 (removed)",
                                  "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
                                  "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL",
                                  "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
                                  "IQ1_M", "BF16", "Q4_0_4_4 (removed)", "Q4_0_4_8 (removed)",
                                  "Q4_0_8_8 (removed)", "TQ1_0", "TQ2_0", "IQ4_NL_4_4 (removed)",
                                  "IQ4_NL_4_8 (removed)", "IQ4_NL_8_8 (removed)", "MXFP4"};
    if (id < sizeof(names) / sizeof(names[0])) return std::string(names[id]) + " (type id " + std::to_string(id) + ")";
    return "with unknown type id " + std::to_string(id);
}

}  // namespace

// Reads one file image. Errors are built in two parts: the inner readers describe the problem
// ("string length needs 8 bytes at offset 120, the file has 118"), and parse() prefixes the file
// and the section being read ("truncated in metadata 5 ('general.name')").
class Parser {
public:
    explicit Parser(File& f) : f_(f) {}

    Status parse() {
        Status st = parse_all();
        if (st.ok()) return st;
        return make_error(f_.path_ + ": " + (truncated_ ? "truncated in " : "bad ") + where_ + ": " + st.message());
    }

private:
    File& f_;
    size_t pos_ = 0;
    std::string where_ = "header";
    bool truncated_ = false;
    uint64_t total_array_elements_ = 0;

    size_t remaining() const { return f_.size_ - pos_; }

    Status need(uint64_t n, const char* what) {
        if (n <= remaining()) return {};
        truncated_ = true;
        return make_error(std::string(what) + " needs " + std::to_string(n) + " bytes at offset " +
                          std::to_string(pos_) + ", the file has " + std::to_string(f_.size_));
    }

    template <class T>
    Status read(T& out, const char* what) {
        HEARTH_RETURN_IF_ERROR(need(sizeof(T), what));
        std::memcpy(&out, f_.base_ + pos_, sizeof(T));  // the file is little-endian, like every target
        pos_ += sizeof(T);
        return {};
    }

    Status read_string(std::string& out, const char* what) {
        uint64_t len = 0;
        HEARTH_RETURN_IF_ERROR(read(len, what));
        if (len > remaining()) {
            truncated_ = true;
            return make_error(std::string(what) + " of " + std::to_string(len) + " bytes at offset " +
                              std::to_string(pos_) + " runs past the end of the file (" +
                              std::to_string(remaining()) + " bytes remain)");
        }
        out.assign(reinterpret_cast<const char*>(f_.base_ + pos_), size_t(len));
        pos_ += size_t(len);
        return {};
    }

    Status read_value(ValueType type, Value& v, int depth) {
        v.type = type;
        switch (type) {
            case ValueType::U8: { uint8_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "u8 value")); v.u = x; v.i = x; return {}; }
            case ValueType::I8: { int8_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "i8 value")); v.i = x; v.u = uint64_t(int64_t(x)); return {}; }
            case ValueType::U16: { uint16_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "u16 value")); v.u = x; v.i = x; return {}; }
            case ValueType::I16: { int16_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "i16 value")); v.i = x; v.u = uint64_t(int64_t(x)); return {}; }
            case ValueType::U32: { uint32_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "u32 value")); v.u = x; v.i = x; return {}; }
            case ValueType::I32: { int32_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "i32 value")); v.i = x; v.u = uint64_t(int64_t(x)); return {}; }
            case ValueType::U64: {
                uint64_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "u64 value"));
                v.u = x; v.i = x > uint64_t(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max() : int64_t(x);
                return {};
            }
            case ValueType::I64: { int64_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "i64 value")); v.i = x; v.u = uint64_t(x); return {}; }
            case ValueType::F32: { float x = 0; HEARTH_RETURN_IF_ERROR(read(x, "f32 value")); v.f = x; return {}; }
            case ValueType::F64: { double x = 0; HEARTH_RETURN_IF_ERROR(read(x, "f64 value")); v.f = x; return {}; }
            case ValueType::BOOL: {
                uint8_t x = 0; HEARTH_RETURN_IF_ERROR(read(x, "bool value"));
                if (x > 1) return make_error("bool value at offset " + std::to_string(pos_ - 1) + " is " + std::to_string(x) + ", not 0 or 1");
                v.u = x; v.i = x;
                return {};
            }
            case ValueType::STRING: return read_string(v.str, "string");
            case ValueType::ARRAY: return read_array(v, depth);
        }
        return make_error("unknown value type");
    }

    Status read_value_type(ValueType& out, const char* what) {
        uint32_t t = 0;
        const size_t at = pos_;
        HEARTH_RETURN_IF_ERROR(read(t, what));
        if (t > uint32_t(ValueType::F64))
            return make_error(std::string("unknown ") + what + " " + std::to_string(t) + " at offset " + std::to_string(at) +
                              " (known: 0..12)");
        out = ValueType(t);
        return {};
    }

    Status read_array(Value& v, int depth) {
        if (depth >= kMaxArrayDepth)
            return make_error("arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
        HEARTH_RETURN_IF_ERROR(read_value_type(v.elem_type, "array element type"));
        uint64_t n = 0;
        HEARTH_RETURN_IF_ERROR(read(n, "array length"));
        const uint64_t min_size = min_encoded_size(v.elem_type);
        if (n > remaining() / min_size) {
            truncated_ = true;
            const std::string need_bytes = n > std::numeric_limits<uint64_t>::max() / min_size
                                               ? std::string("more than 2^64 bytes")
                                               : "at least " + std::to_string(n * min_size) + " bytes";
            return make_error("array of " + std::to_string(n) + " " + value_type_name(uint32_t(v.elem_type)) + " elements needs " +
                              need_bytes + " at offset " + std::to_string(pos_) + ", only " + std::to_string(remaining()) + " remain");
        }
        total_array_elements_ += n;
        if (total_array_elements_ > kMaxTotalArrayElements)
            return make_error("metadata arrays hold more than " + std::to_string(kMaxTotalArrayElements) +
                              " elements in total (a limit that protects memory)");
        v.arr.resize(size_t(n));
        for (uint64_t k = 0; k < n; ++k) {
            Value& e = v.arr[size_t(k)];
            Status st = read_value(v.elem_type, e, depth + 1);
            if (!st.ok()) return make_error("array element " + std::to_string(k) + ": " + st.message());
        }
        return {};
    }

    Status parse_header(uint64_t& n_tensors, uint64_t& n_kv) {
        uint32_t magic = 0, version = 0;
        HEARTH_RETURN_IF_ERROR(read(magic, "magic"));
        if (magic != kMagic) return make_error("not a GGUF file (the first 4 bytes are not 'GGUF')");
        HEARTH_RETURN_IF_ERROR(read(version, "version"));
        if (version == 1) return make_error("GGUF version 1 is not supported (an early format); convert the model again with a current tool");
        if ((version & 0xffff) == 0 && (version >> 24) >= 1 && (version >> 24) <= 3)
            return make_error("big-endian GGUF files are not supported");
        if (version != 2 && version != 3) return make_error("unsupported GGUF version " + std::to_string(version) + " (2 and 3 are supported)");
        f_.version_ = version;
        HEARTH_RETURN_IF_ERROR(read(n_tensors, "tensor count"));
        HEARTH_RETURN_IF_ERROR(read(n_kv, "metadata count"));
        // Each metadata entry takes at least 13 bytes (key length, value type, 1-byte value) and
        // each tensor info at least 24 (name length, n_dims, type, offset).
        if (n_kv > remaining() / 13) {
            truncated_ = true;
            return make_error("metadata count " + std::to_string(n_kv) + " cannot fit in the " + std::to_string(remaining()) + " bytes that remain");
        }
        if (n_tensors > remaining() / 24) {
            truncated_ = true;
            return make_error("tensor count " + std::to_string(n_tensors) + " cannot fit in the " + std::to_string(remaining()) + " bytes that remain");
        }
        return {};
    }

    Status parse_metadata(uint64_t n_kv) {
        f_.kv_.reserve(size_t(n_kv));
        for (uint64_t k = 0; k < n_kv; ++k) {
            where_ = "metadata " + std::to_string(k);
            std::string key;
            HEARTH_RETURN_IF_ERROR(read_string(key, "key"));
            where_ += " ('" + key + "')";
            if (key.empty()) return make_error("empty key");
            if (f_.kv_index_.count(key)) return make_error("duplicate key '" + key + "'");
            Value v;
            ValueType t;
            HEARTH_RETURN_IF_ERROR(read_value_type(t, "value type"));
            HEARTH_RETURN_IF_ERROR(read_value(t, v, 0));
            f_.kv_index_.emplace(key, f_.kv_.size());
            f_.kv_.emplace_back(std::move(key), std::move(v));
        }
        where_ = "metadata";
        if (const Value* a = f_.find("general.alignment")) {
            where_ = "metadata ('general.alignment')";
            if (!a->is_int() || a->type == ValueType::BOOL) return make_error("general.alignment must be an integer");
            if (a->type == ValueType::I8 || a->type == ValueType::I16 || a->type == ValueType::I32 || a->type == ValueType::I64) {
                if (a->i <= 0) return make_error("general.alignment is " + std::to_string(a->i) + ", it must be a positive power of two");
            }
            const uint64_t al = a->u;
            if (al == 0 || (al & (al - 1)) != 0 || al > (uint64_t(1) << 30))
                return make_error("general.alignment is " + std::to_string(al) + ", it must be a power of two (at most 2^30)");
            f_.alignment_ = size_t(al);
        }
        return {};
    }

    Status parse_tensor_infos(uint64_t n_tensors) {
        f_.tensors_.reserve(size_t(n_tensors));
        for (uint64_t k = 0; k < n_tensors; ++k) {
            where_ = "tensor info " + std::to_string(k);
            TensorInfo ti;
            HEARTH_RETURN_IF_ERROR(read_string(ti.name, "name"));
            where_ += " ('" + ti.name + "')";
            if (ti.name.empty()) return make_error("empty tensor name");
            if (f_.tensor_index_.count(ti.name)) return make_error("duplicate tensor name '" + ti.name + "'");
            uint32_t n_dims = 0;
            HEARTH_RETURN_IF_ERROR(read(n_dims, "dimension count"));
            if (n_dims > kMaxDims) return make_error("has " + std::to_string(n_dims) + " dimensions, at most 4 are allowed");
            ti.dims.resize(n_dims);
            int64_t n_elems = 1;
            for (uint32_t d = 0; d < n_dims; ++d) {
                uint64_t ne = 0;
                HEARTH_RETURN_IF_ERROR(read(ne, "dimension"));
                if (ne > uint64_t(std::numeric_limits<int64_t>::max()))
                    return make_error("dimension " + std::to_string(d) + " is " + std::to_string(ne) + ", too large");
                ti.dims[d] = int64_t(ne);
                if (__builtin_mul_overflow(n_elems, int64_t(ne), &n_elems))
                    return make_error("the element count (product of dimensions) overflows 64 bits");
            }
            uint32_t type_id = 0;
            HEARTH_RETURN_IF_ERROR(read(type_id, "type"));
            const auto tr = type_traits(type_id);
            if (!tr) return make_error("tensor type " + tensor_type_label(type_id) + " is not supported by Hearth");
            ti.type = GgmlType(type_id);
            const int64_t ne0 = ti.ne(0);
            if (ne0 % tr->block_elems != 0)
                return make_error("row length " + std::to_string(ne0) + " is not a multiple of the " + std::string(tr->name) +
                                  " block size " + std::to_string(tr->block_elems));
            // n_bytes = rows * bytes per row, overflow-checked
            // (The row's own size too: a row of 2^62 F32 values wrapped to a few bytes, and a tensor
            // that claimed 2^62 elements passed as 128 bytes; found by tests/fuzz/fuzz_imatrix.)
            uint64_t row = 0;
            const uint64_t rows = ne0 == 0 ? 0 : uint64_t(n_elems / ne0);
            uint64_t n_bytes = 0;
            if (__builtin_mul_overflow(uint64_t(ne0 / tr->block_elems), uint64_t(tr->block_bytes), &row) ||
                (ne0 != 0 && __builtin_mul_overflow(row, rows, &n_bytes)))
                return make_error("the byte size of the tensor overflows 64 bits");
            if (n_bytes > f_.size_) {
                truncated_ = true;
                return make_error("needs " + std::to_string(n_bytes) + " bytes of data, more than the whole file (" + std::to_string(f_.size_) + ")");
            }
            ti.n_bytes = size_t(n_bytes);
            HEARTH_RETURN_IF_ERROR(read(ti.offset, "data offset"));
            f_.tensor_index_.emplace(ti.name, f_.tensors_.size());
            f_.tensors_.push_back(std::move(ti));
        }
        return {};
    }

    // Places every tensor inside the data section: aligned, inside the file, not overlapping.
    Status place_tensor_data() {
        if (f_.tensors_.empty()) return {};  // a vocabulary-only file may end right after its metadata
        where_ = "tensor data";
        const size_t al = f_.alignment_;
        const size_t start = pos_ % al == 0 ? pos_ : pos_ + (al - pos_ % al);
        if (start < pos_ || start > f_.size_) {
            truncated_ = true;
            return make_error("the data section would start at offset " + std::to_string(start) + " (after alignment to " +
                              std::to_string(al) + "), past the end of the file (" + std::to_string(f_.size_) + " bytes)");
        }
        const size_t data_size = f_.size_ - start;
        for (size_t k = 0; k < f_.tensors_.size(); ++k) {
            TensorInfo& ti = f_.tensors_[k];
            where_ = "tensor " + std::to_string(k) + " ('" + ti.name + "')";
            if (ti.offset % al != 0)
                return make_error("data offset " + std::to_string(ti.offset) + " is not a multiple of the alignment " + std::to_string(al));
            if (ti.offset > data_size || ti.n_bytes > data_size - ti.offset) {
                truncated_ = true;
                return make_error("data of " + std::to_string(ti.n_bytes) + " bytes at data offset " + std::to_string(ti.offset) +
                                  " ends past the end of the file (the data section has " + std::to_string(data_size) + " bytes)");
            }
            ti.data = f_.base_ + start + ti.offset;
        }
        // Overlapping tensors would alias each other's weights: a sign of a corrupt file.
        std::vector<size_t> order(f_.tensors_.size());
        for (size_t k = 0; k < order.size(); ++k) order[k] = k;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f_.tensors_[a].offset < f_.tensors_[b].offset; });
        const TensorInfo* prev = nullptr;
        for (size_t k : order) {
            const TensorInfo& ti = f_.tensors_[k];
            if (ti.n_bytes == 0) continue;
            if (prev && prev->offset + prev->n_bytes > ti.offset) {
                where_ = "tensor " + std::to_string(k) + " ('" + ti.name + "')";
                return make_error("data at offset " + std::to_string(ti.offset) + " overlaps tensor '" + prev->name +
                                  "' (offset " + std::to_string(prev->offset) + ", " + std::to_string(prev->n_bytes) + " bytes)");
            }
            prev = &ti;
        }
        return {};
    }

    Status parse_all() {
        uint64_t n_tensors = 0, n_kv = 0;
        HEARTH_RETURN_IF_ERROR(parse_header(n_tensors, n_kv));
        HEARTH_RETURN_IF_ERROR(parse_metadata(n_kv));
        HEARTH_RETURN_IF_ERROR(parse_tensor_infos(n_tensors));
        return place_tensor_data();
    }
};

Status parse_file_image(File& f);  // used by gguf_file.cpp
Status parse_file_image(File& f) { return Parser(f).parse(); }

}  // namespace hearth::gguf
