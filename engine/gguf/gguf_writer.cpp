// gguf::Writer: GGUF v3 output. The header (metadata + tensor infos) is built in memory (it is small);
// tensor data is then streamed tensor by tensor, either from the caller's memory or produced on the
// fly by a Fill callback, so writing a multi-GB model never holds it in RAM twice. write() goes to
// PATH.part, fsyncs and renames, so a crash or a full disk never leaves a half-written PATH.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/gguf/gguf.h"

namespace hearth::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr uint32_t kVersion = 3;
constexpr size_t kMaxTensorName = 63;    // llama.cpp rejects names of 64 bytes or more

// Where bytes go: a file descriptor or a vector (to_bytes).
class Sink {
public:
    virtual ~Sink() = default;
    virtual Status put(const void* p, size_t n) = 0;
    Status zeros(size_t n) {
        static const uint8_t z[256] = {};
        while (n > 0) {
            const size_t k = n < sizeof(z) ? n : sizeof(z);
            HEARTH_RETURN_IF_ERROR(put(z, k));
            n -= k;
        }
        return {};
    }
};

class VectorSink : public Sink {
public:
    std::vector<uint8_t> bytes;
    Status put(const void* p, size_t n) override {
        const auto* b = static_cast<const uint8_t*>(p);
        bytes.insert(bytes.end(), b, b + n);
        return {};
    }
};

class FdSink : public Sink {
public:
    FdSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    Status put(const void* p, size_t n) override {
        const auto* b = static_cast<const uint8_t*>(p);
        while (n > 0) {
            const size_t chunk = n < (size_t(1) << 30) ? n : (size_t(1) << 30);
            const ssize_t w = ::write(fd_, b, chunk);
            if (w < 0) {
                if (errno == EINTR) continue;
                return make_error(path_ + ": write failed: " + std::strerror(errno) +
                                  (errno == ENOSPC ? " (the disk is full)" : ""));
            }
            b += w;
            n -= size_t(w);
        }
        return {};
    }

private:
    int fd_;
    std::string path_;
};

// Little-endian serialisation of the header into a byte vector.
class Encoder {
public:
    std::vector<uint8_t> out;
    template <class T>
    void pod(T v) {
        const auto* b = reinterpret_cast<const uint8_t*>(&v);
        out.insert(out.end(), b, b + sizeof(T));
    }
    void str(const std::string& s) {
        pod<uint64_t>(s.size());
        out.insert(out.end(), s.begin(), s.end());
    }
    Status value(ValueType t, const Value& v, int depth) {
        switch (t) {
            case ValueType::U8: pod<uint8_t>(uint8_t(v.u)); return {};
            case ValueType::I8: pod<int8_t>(int8_t(v.i)); return {};
            case ValueType::U16: pod<uint16_t>(uint16_t(v.u)); return {};
            case ValueType::I16: pod<int16_t>(int16_t(v.i)); return {};
            case ValueType::U32: pod<uint32_t>(uint32_t(v.u)); return {};
            case ValueType::I32: pod<int32_t>(int32_t(v.i)); return {};
            case ValueType::U64: pod<uint64_t>(v.u); return {};
            case ValueType::I64: pod<int64_t>(v.i); return {};
            case ValueType::F32: pod<float>(float(v.f)); return {};
            case ValueType::F64: pod<double>(v.f); return {};
            case ValueType::BOOL: pod<uint8_t>(v.u || v.i ? 1 : 0); return {};
            case ValueType::STRING: str(v.str); return {};
            case ValueType::ARRAY:
                if (depth >= 8) return make_error("arrays nested deeper than 8 levels");
                if (uint32_t(v.elem_type) > uint32_t(ValueType::F64)) return make_error("unknown array element type");
                pod<uint32_t>(uint32_t(v.elem_type));
                pod<uint64_t>(v.arr.size());
                for (const Value& e : v.arr) HEARTH_RETURN_IF_ERROR(value(v.elem_type, e, depth + 1));
                return {};
        }
        return make_error("unknown value type " + std::to_string(uint32_t(t)));
    }
};

Value scalar_u(ValueType t, uint64_t u) { Value v; v.type = t; v.u = u; v.i = int64_t(u); return v; }
Value scalar_i(ValueType t, int64_t i) { Value v; v.type = t; v.i = i; v.u = uint64_t(i); return v; }

size_t pad_to(size_t n, size_t al) { return (al - n % al) % al; }

}  // namespace

void Writer::set(const std::string& key, Value v) {
    for (auto& kv : kv_) {
        if (kv.first == key) { kv.second = std::move(v); return; }  // one key, one value: replace in place
    }
    kv_.emplace_back(key, std::move(v));
}

void Writer::set_u32(const std::string& key, uint32_t v) { set(key, scalar_u(ValueType::U32, v)); }
void Writer::set_i32(const std::string& key, int32_t v) { set(key, scalar_i(ValueType::I32, v)); }
void Writer::set_u64(const std::string& key, uint64_t v) { set(key, scalar_u(ValueType::U64, v)); }
void Writer::set_bool(const std::string& key, bool v) { set(key, scalar_u(ValueType::BOOL, v ? 1 : 0)); }
void Writer::set_f32(const std::string& key, float v) {
    Value x; x.type = ValueType::F32; x.f = v;
    set(key, std::move(x));
}
void Writer::set_string(const std::string& key, const std::string& v) {
    Value x; x.type = ValueType::STRING; x.str = v;
    set(key, std::move(x));
}
void Writer::set_string_array(const std::string& key, const std::vector<std::string>& v) {
    Value x; x.type = ValueType::ARRAY; x.elem_type = ValueType::STRING;
    x.arr.resize(v.size());
    for (size_t k = 0; k < v.size(); ++k) { x.arr[k].type = ValueType::STRING; x.arr[k].str = v[k]; }
    set(key, std::move(x));
}
void Writer::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
    Value x; x.type = ValueType::ARRAY; x.elem_type = ValueType::I32;
    x.arr.reserve(v.size());
    for (int32_t e : v) x.arr.push_back(scalar_i(ValueType::I32, e));
    set(key, std::move(x));
}
void Writer::set_f32_array(const std::string& key, const std::vector<float>& v) {
    Value x; x.type = ValueType::ARRAY; x.elem_type = ValueType::F32;
    x.arr.resize(v.size());
    for (size_t k = 0; k < v.size(); ++k) { x.arr[k].type = ValueType::F32; x.arr[k].f = v[k]; }
    set(key, std::move(x));
}
void Writer::set_value(const std::string& key, const Value& v) { set(key, v); }

void Writer::copy_metadata_from(const File& f) {
    for (const auto& [key, value] : f.metadata()) {
        if (key != "general.alignment") set(key, value);
    }
}

namespace {

Status check_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& dims, size_t& n_bytes_out) {
    if (name.empty()) return make_error("GGUF writer: empty tensor name");
    if (name.size() > kMaxTensorName)
        return make_error("GGUF writer: tensor name '" + name + "' is longer than " + std::to_string(kMaxTensorName) + " bytes");
    const auto tr = type_traits(uint32_t(type));
    if (!tr) return make_error("GGUF writer: tensor '" + name + "' has an unknown type");
    if (dims.empty() || dims.size() > 4) return make_error("GGUF writer: tensor '" + name + "' must have 1 to 4 dimensions");
    int64_t n = 1;
    for (int64_t d : dims) {
        if (d < 0 || __builtin_mul_overflow(n, d, &n)) return make_error("GGUF writer: tensor '" + name + "' has bad dimensions");
    }
    if (dims[0] % tr->block_elems != 0)
        return make_error("GGUF writer: tensor '" + name + "' row length " + std::to_string(dims[0]) +
                          " is not a multiple of the " + std::string(tr->name) + " block size " + std::to_string(tr->block_elems));
    const uint64_t row = uint64_t(dims[0] / tr->block_elems) * uint64_t(tr->block_bytes);
    uint64_t bytes = 0;
    if (dims[0] != 0 && __builtin_mul_overflow(row, uint64_t(n / dims[0]), &bytes))
        return make_error("GGUF writer: tensor '" + name + "' is too large");
    n_bytes_out = size_t(bytes);
    return {};
}

}  // namespace

Status Writer::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> dims, const void* data,
                          size_t n_bytes, bool borrow) {
    size_t expected = 0;
    HEARTH_RETURN_IF_ERROR(check_tensor(name, type, dims, expected));
    if (n_bytes != expected)
        return make_error("GGUF writer: tensor '" + name + "' has " + std::to_string(n_bytes) + " bytes, its type and shape need " +
                          std::to_string(expected));
    if (n_bytes > 0 && !data) return make_error("GGUF writer: tensor '" + name + "' has no data");
    for (const auto& t : tensors_) {
        if (t.name == name) return make_error("GGUF writer: duplicate tensor name '" + name + "'");
    }
    Tensor t{name, type, std::move(dims), {}, data, n_bytes, {}};
    if (!borrow && n_bytes > 0) {
        const auto* b = static_cast<const uint8_t*>(data);
        t.owned.assign(b, b + n_bytes);
        t.data = t.owned.data();  // vector storage does not move when the Tensor is moved
    }
    tensors_.push_back(std::move(t));
    return {};
}

Status Writer::add_tensor_lazy(const std::string& name, GgmlType type, std::vector<int64_t> dims, Fill fill) {
    size_t expected = 0;
    HEARTH_RETURN_IF_ERROR(check_tensor(name, type, dims, expected));
    if (!fill) return make_error("GGUF writer: tensor '" + name + "' has no fill function");
    for (const auto& t : tensors_) {
        if (t.name == name) return make_error("GGUF writer: duplicate tensor name '" + name + "'");
    }
    tensors_.push_back(Tensor{name, type, std::move(dims), {}, nullptr, expected, std::move(fill)});
    return {};
}

namespace {

// The alignment the writer uses: general.alignment when set (validated), else 32.
Result<size_t> writer_alignment(const std::vector<std::pair<std::string, Value>>& kv) {
    for (const auto& [key, v] : kv) {
        if (key != "general.alignment") continue;
        if (v.type != ValueType::U32) return make_error("GGUF writer: general.alignment must be a u32");
        if (v.u == 0 || (v.u & (v.u - 1)) != 0 || v.u > (uint64_t(1) << 30))
            return make_error("GGUF writer: general.alignment " + std::to_string(v.u) + " is not a power of two");
        return size_t(v.u);
    }
    return size_t(32);
}

}  // namespace

// Emits the whole image into `sink`: header, metadata, tensor infos, padding, aligned tensor data.
static Status emit(const std::vector<std::pair<std::string, Value>>& kv, const auto& tensors, Sink& sink) {
    auto al_r = writer_alignment(kv);
    if (!al_r.ok()) return al_r.status();
    const size_t al = *al_r;

    Encoder e;
    e.pod<uint32_t>(kMagic);
    e.pod<uint32_t>(kVersion);
    e.pod<uint64_t>(tensors.size());
    e.pod<uint64_t>(kv.size());
    for (const auto& [key, v] : kv) {
        e.str(key);
        if (uint32_t(v.type) > uint32_t(ValueType::F64)) return make_error("GGUF writer: metadata '" + key + "' has an unknown type");
        e.pod<uint32_t>(uint32_t(v.type));
        Status st = e.value(v.type, v, 0);
        if (!st.ok()) return make_error("GGUF writer: metadata '" + key + "': " + st.message());
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        e.str(t.name);
        e.pod<uint32_t>(uint32_t(t.dims.size()));
        for (int64_t d : t.dims) e.pod<uint64_t>(uint64_t(d));
        e.pod<uint32_t>(uint32_t(t.type));
        e.pod<uint64_t>(offset);
        offset += t.n_bytes + pad_to(t.n_bytes, al);
    }
    HEARTH_RETURN_IF_ERROR(sink.put(e.out.data(), e.out.size()));
    HEARTH_RETURN_IF_ERROR(sink.zeros(pad_to(e.out.size(), al)));
    e.out.clear();
    e.out.shrink_to_fit();

    for (const auto& t : tensors) {
        if (t.fill) {
            std::vector<uint8_t> buf(t.n_bytes);
            Status st = t.fill(buf.data(), buf.size());
            if (!st.ok()) return make_error("tensor '" + t.name + "': " + st.message());
            HEARTH_RETURN_IF_ERROR(sink.put(buf.data(), buf.size()));
        } else if (t.n_bytes > 0) {
            HEARTH_RETURN_IF_ERROR(sink.put(t.data, t.n_bytes));
        }
        HEARTH_RETURN_IF_ERROR(sink.zeros(pad_to(t.n_bytes, al)));
    }
    return {};
}

std::vector<uint8_t> Writer::to_bytes() const {
    VectorSink sink;
    if (!emit(kv_, tensors_, sink).ok()) return {};  // only a bad alignment or a failing Fill gets here
    return std::move(sink.bytes);
}

Status Writer::write(const std::string& path) const {
    const std::string part = path + ".part";
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return make_error(part + ": cannot create: " + std::strerror(errno));
    FdSink sink(fd, part);
    Status st = emit(kv_, tensors_, sink);
    if (st.ok() && ::fsync(fd) != 0) st = make_error(part + ": fsync failed: " + std::strerror(errno));
    if (::close(fd) != 0 && st.ok()) st = make_error(part + ": close failed: " + std::strerror(errno));
    if (st.ok() && std::rename(part.c_str(), path.c_str()) != 0)
        st = make_error("cannot rename " + part + " to " + path + ": " + std::strerror(errno));
    if (!st.ok()) {
        ::unlink(part.c_str());
        return st;
    }
    // Make the rename itself durable: fsync the directory that holds the file.
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

}  // namespace hearth::gguf
