// Weights of a diffusers/transformers safetensors file on a backend, checked against the shapes the
// model's config implies: matrices keep F16 (F32 and BF16 become F32), vectors become F32, and
// convolution kernels are laid out for Backend::conv2d ([out][ky][kx][in]). The text encoder,
// UNet and VAE load through this one class.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/safetensors/safetensors.h"
#include "engine/util/status.h"

namespace hearth::diffusion {

// The reference and CPU backends (which compute in F32 whatever the weights' type).
bool is_host_backend(const Backend& be);

// Where a tensor a component asks for (by its diffusers name) lies in a file: the tensor `name`, or,
// when parts > 1, the part-th of `parts` equal blocks of its rows (OpenCLIP stores q, k and v of
// each attention as one in_proj tensor of 3·width rows; the block is read in place, any dtype).
struct SourceName {
    SourceName(std::string n = "", int part_ = 0, int parts_ = 1) : name(std::move(n)), part(part_), parts(parts_) {}
    std::string name;
    int part = 0, parts = 1;
};
// diffusers name → where it lies in a single-file checkpoint (engine/diffusion/single_file.h).
using NameMap = std::function<SourceName(const std::string&)>;

class DiffusionWeights {
public:
    // `path`: the .safetensors file. Tensor names are looked up as given, then with `prefix` in
    // front (transformers writes CLIP's tensors with or without "text_model.").
    static Result<std::unique_ptr<DiffusionWeights>> open(const std::string& path, Backend& be, std::string prefix = "");
    // A pipeline component's folder: first checks that `be` has the ops the component runs (the
    // message names `what` and the missing op), then opens STEM.safetensors, or STEM.fp16.safetensors
    // when only that variant is there.
    static Result<std::unique_ptr<DiffusionWeights>> open_component(const std::string& dir, const std::string& stem, Backend& be,
                                                                     std::span<const Op> ops, const std::string& what,
                                                                     std::string prefix = "");
    // A component's weights inside a single-file checkpoint: `rename` turns each diffusers name the
    // component asks for into the file's own (engine/diffusion/single_file.h). Checks ops as above.
    static Result<std::unique_ptr<DiffusionWeights>> open_renamed(const std::string& path, Backend& be, std::span<const Op> ops,
                                                                   const std::string& what, NameMap rename,
                                                                   std::string prefix = "");
    // Whether `be` runs every op in `ops`; the error names `what` and the first op missing.
    static Status check_ops(const Backend& be, std::span<const Op> ops, const std::string& what);

    // Weights drawn at random instead of read (uniform in ±1/√fan_in, so activations stay finite):
    // for `diffuse --bench`, which times the SD 1.5 shape without a multi-GB download. Matrices and
    // kernels are F16, as the published fp16 pipelines store them; vectors F32. Every name exists.
    static std::unique_ptr<DiffusionWeights> random(Backend& be, uint64_t seed);

    // Frees the file mapping once the component has read its weights: the backend holds copies,
    // and mapped pages touched while copying would otherwise count twice in the process's memory.
    void close_file() { file_.reset(); }
    // Matrices and kernels stored as F16 are held as F32 (VaeConfig::force_upcast).
    void set_upcast(bool on) { upcast_ = on; }

    bool has(const std::string& name) const { return random_ || find(name).t != nullptr; }
    Status matrix(const std::string& name, int64_t rows, int64_t cols, Tensor* out);  // [rows, cols]
    Status vector(const std::string& name, int64_t n, Tensor* out);                   // [n], as F32
    // A conv2d kernel [cout, cin, k, k] (or a linear [cout, cin] when k == 1, as some VAEs store
    // their 1×1 attention projections), as cout rows of k·k·cin.
    Status conv(const std::string& name, int64_t cout, int64_t cin, int k, Tensor* out);

    const std::string& path() const { return path_; }
    uint64_t bytes() const { return bytes_; }

private:
    DiffusionWeights(Backend& be) : be_(be) {}
    struct Found {
        const safetensors::TensorInfo* t = nullptr;  // the stored tensor; null when absent
        int part = 0, parts = 1;                     // as SourceName
    };
    Found find(const std::string& name) const;
    // The tensor (or the block of rows) checked against `shape`; a block is a view into the mapping.
    Result<safetensors::TensorInfo> get(const std::string& name, const std::vector<int64_t>& shape) const;
    Status put(const void* data, GgmlType type, int64_t rows, int64_t cols, Tensor* out);
    Status put_random(GgmlType type, int64_t rows, int64_t cols, Tensor* out);

    Backend& be_;
    std::string path_, prefix_;
    NameMap rename_;  // diffusers name → the file's; empty: as is
    std::unique_ptr<safetensors::File> file_;
    std::vector<BufferPtr> buffers_;
    uint64_t bytes_ = 0;
    bool random_ = false, upcast_ = false;
    uint64_t seed_ = 0;
};

}  // namespace hearth::diffusion
