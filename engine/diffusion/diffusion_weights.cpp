#include "engine/diffusion/diffusion_weights.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/quant/fp16.h"
#include "engine/sampling/rng.h"

namespace hearth::diffusion {

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

}  // namespace

Result<std::unique_ptr<DiffusionWeights>> DiffusionWeights::open(const std::string& path, Backend& be, std::string prefix) {
    auto f = safetensors::File::open(path);
    if (!f.ok()) return f.status();
    std::unique_ptr<DiffusionWeights> w(new DiffusionWeights(be));
    w->path_ = path;
    w->prefix_ = std::move(prefix);
    w->file_ = std::move(*f);
    return w;
}

Status DiffusionWeights::check_ops(const Backend& be, std::span<const Op> ops, const std::string& what) {
    for (Op op : ops)
        if (!be.supports_op(op))
            return make_error("the " + be.device().backend + " backend cannot run the " + what + " yet (no " + op_name(op) + ")");
    return Status();
}

Result<std::unique_ptr<DiffusionWeights>> DiffusionWeights::open_renamed(const std::string& path, Backend& be, std::span<const Op> ops,
                                                                        const std::string& what, NameMap rename,
                                                                        std::string prefix) {
    HEARTH_RETURN_IF_ERROR(check_ops(be, ops, what));
    auto w = open(path, be, std::move(prefix));
    if (!w.ok()) return w.status();
    (*w)->rename_ = std::move(rename);
    return w;
}

Result<std::unique_ptr<DiffusionWeights>> DiffusionWeights::open_component(const std::string& dir, const std::string& stem, Backend& be,
                                                                          std::span<const Op> ops, const std::string& what,
                                                                          std::string prefix) {
    namespace fs = std::filesystem;
    HEARTH_RETURN_IF_ERROR(check_ops(be, ops, what));
    std::string path = (fs::path(dir) / (stem + ".safetensors")).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec) && fs::is_regular_file(fs::path(dir) / (stem + ".fp16.safetensors"), ec))
        path = (fs::path(dir) / (stem + ".fp16.safetensors")).string();
    return open(path, be, std::move(prefix));
}

bool is_host_backend(const Backend& be) {
    const std::string& b = be.device().backend;
    return b == "cpu" || b == "reference";
}

std::unique_ptr<DiffusionWeights> DiffusionWeights::random(Backend& be, uint64_t seed) {
    std::unique_ptr<DiffusionWeights> w(new DiffusionWeights(be));
    w->path_ = "(random weights)";
    w->random_ = true;
    w->seed_ = seed;
    return w;
}

Status DiffusionWeights::put_random(GgmlType type, int64_t rows, int64_t cols, Tensor* out) {
    Rng rng(seed_++);
    const float a = 1.0f / std::sqrt(float(cols));
    const size_t n = size_t(rows * cols);
    if (type == GgmlType::F16) {
        std::vector<f16_t> v(n);
        for (auto& x : v) x = f32_to_f16(a * float(2.0 * rng.uniform() - 1.0));
        return put(v.data(), type, rows, cols, out);
    }
    std::vector<float> v(n);
    for (auto& x : v) x = a * float(2.0 * rng.uniform() - 1.0);
    return put(v.data(), type, rows, cols, out);
}

DiffusionWeights::Found DiffusionWeights::find(const std::string& name) const {
    if (!file_) return {};
    auto lookup = [&](const std::string& n) -> Found {
        const SourceName src = rename_ ? rename_(n) : SourceName(n);
        const auto* t = file_->tensor(src.name);
        return t ? Found{t, src.part, src.parts} : Found{};
    };
    const Found f = lookup(name);
    return f.t || prefix_.empty() ? f : lookup(prefix_ + name);
}

Result<safetensors::TensorInfo> DiffusionWeights::get(const std::string& name, const std::vector<int64_t>& shape) const {
    const Found f = find(name);
    if (!f.t) return make_error(path_ + ": tensor " + name + (file_ ? " is missing" : " asked for after the file was closed"));
    // A block of rows: the stored tensor must hold `parts` such blocks, one after another.
    std::vector<int64_t> stored = shape;
    if (f.parts > 1 && !stored.empty()) stored[0] *= f.parts;
    if (f.t->shape != stored)
        return make_error(path_ + ": " + f.t->name + " has shape " + shape_text(f.t->shape) + ", the config says " + shape_text(stored) +
                          (f.parts > 1 ? " (" + std::to_string(f.parts) + " fused blocks of rows)" : ""));
    safetensors::TensorInfo t = *f.t;
    if (f.parts > 1 && !shape.empty() && f.part >= 0 && f.part < f.parts) {
        const size_t block = t.n_bytes / size_t(f.parts);  // exact: shape[0] is parts × shape[0] of one block
        t.data += block * size_t(f.part);
        t.offset += block * size_t(f.part);
        t.n_bytes = block;
        t.shape = shape;
        t.name += " (rows " + std::to_string(shape[0] * f.part) + ".." + std::to_string(shape[0] * (f.part + 1) - 1) + ")";
    }
    return t;
}

Status DiffusionWeights::put(const void* data, GgmlType type, int64_t rows, int64_t cols, Tensor* out) {
    auto buf = be_.alloc(row_bytes(type, cols) * size_t(rows), BufferUsage::Weights);
    if (!buf.ok()) return buf.status();
    *out = make_tensor(buf->get(), 0, type, rows, cols);
    HEARTH_RETURN_IF_ERROR(be_.upload(*out, data));
    bytes_ += out->bytes();
    buffers_.push_back(std::move(*buf));
    return Status();
}

Status DiffusionWeights::matrix(const std::string& name, int64_t rows, int64_t cols, Tensor* out) {
    if (random_) return put_random(upcast_ ? GgmlType::F32 : GgmlType::F16, rows, cols, out);
    auto t = get(name, {rows, cols});
    if (!t.ok()) return t.status();
    if (t->dtype == safetensors::DType::F16 && !upcast_) return put(t->data, GgmlType::F16, rows, cols, out);
    auto f = file_->to_f32(*t);
    if (!f.ok()) return make_error(path_ + ": " + t->name + ": " + f.message());
    return put(f->data(), GgmlType::F32, rows, cols, out);
}

Status DiffusionWeights::vector(const std::string& name, int64_t n, Tensor* out) {
    if (random_) return put_random(GgmlType::F32, 1, n, out);
    auto t = get(name, {n});
    if (!t.ok()) return t.status();
    auto f = file_->to_f32(*t);
    if (!f.ok()) return make_error(path_ + ": " + t->name + ": " + f.message());
    return put(f->data(), GgmlType::F32, 1, n, out);
}

Status DiffusionWeights::conv(const std::string& name, int64_t cout, int64_t cin, int k, Tensor* out) {
    if (random_) return put_random(upcast_ ? GgmlType::F32 : GgmlType::F16, cout, int64_t(k) * k * cin, out);
    const Found stored = find(name);
    if (k == 1 && stored.t && stored.t->shape.size() == 2) return matrix(name, cout, cin, out);
    auto got = get(name, {cout, cin, k, k});
    if (!got.ok()) return got.status();
    const safetensors::TensorInfo* t = &*got;
    // [cout][cin][ky][kx] -> [cout][ky][kx][cin], element by element in the stored width.
    const bool f16 = t->dtype == safetensors::DType::F16 && !upcast_;
    std::vector<float> f32;
    const uint8_t* src = t->data;
    size_t elt = 2;
    if (!f16) {
        auto f = file_->to_f32(*t);
        if (!f.ok()) return make_error(path_ + ": " + t->name + ": " + f.message());
        f32 = std::move(*f);
        src = reinterpret_cast<const uint8_t*>(f32.data());
        elt = 4;
    }
    const int64_t kk = int64_t(k) * k;
    std::vector<uint8_t> laid(size_t(cout * cin * kk) * elt);
    for (int64_t o = 0; o < cout; ++o)
        for (int64_t i = 0; i < cin; ++i)
            for (int64_t p = 0; p < kk; ++p)
                std::memcpy(&laid[size_t((o * kk + p) * cin + i) * elt], src + size_t((o * cin + i) * kk + p) * elt, elt);
    return put(laid.data(), f16 ? GgmlType::F16 : GgmlType::F32, cout, kk * cin, out);
}

}  // namespace hearth::diffusion
