// The backend interface: the small set of ops an architecture is written over (DESIGN.md, "Engine").
// Execution is eager: the model calls ops in order on buffers allocated once per context; a GPU
// backend enqueues them on its queue/stream and only synchronizes on download() or synchronize(),
// so a backend may record the per-token sequence once and replay it.
//
// Conventions for every op
// - A Tensor is a 2-D view into a Buffer: `rows` rows of `cols` elements of `type`, row r starting
//   at byte offset + r * row_stride. Activations are F32 with row_stride = cols * 4 unless stated.
//   One row = one token for activations; one output feature for weights (ggml's ne[1] = rows,
//   ne[0] = cols, so W of a GGUF tensor with dims {n_in, n_out} is rows = n_out, cols = n_in).
// - Shapes are checked by the caller (the model); backends may assert but need not re-validate.
// - Positions and token ids are I32 tensors in device memory (so a captured graph can be replayed
//   with new values uploaded into the same buffer).
//
// KV cache contract (all backends implement the same layout, so caches are comparable in tests):
// - Paged: a layer's cache is n_blocks physical blocks of kKvBlockTokens (= 32) token cells.
//   Physical cell c is slot c % 32 of physical block c / 32.
// - Within a block, K is laid out [kv_head][slot][dim] (head_dim contiguous elements per token per
//   head), and V identically (not transposed). Element type F16 (default) or F32.
//   Byte offset of K(l, c, h, d) = ((((l * n_blocks + c/32) * n_kv_head + h) * 32 + c%32) * head_dim + d) * elt.
// - Sequences and block tables: a sequence's token at position p lives in its logical cell p,
//   which is slot p % 32 of logical block p / 32; the sequence's block table maps each logical
//   block to a physical block (KvTables). Several sequences share one cache; a physical block may
//   appear in several tables (a shared prompt prefix, written once and only read afterwards). A
//   single-sequence cache uses the identity table (logical block b = physical block b), so there
//   cell index == position and no table is passed (kv_store's cells are the positions, attention()).
// - Keys are stored already rotated by RoPE (by the token's position, never by its physical cell).
// - Causal attention: a query at position p attends to its sequence's logical cells 0..p (cells
//   < n_kv that were written).
// - kv_shift(keep, discard, n_used), identity table (kv_shift_paged: through a sequence's table): cells [keep+discard, n_used) move down to
//   [keep, n_used-discard) and their keys are re-rotated by -discard (RoPE is a rotation:
//   R(p - Δ) = R(-Δ) R(p)), as llama.cpp's context shift does. Cells at and beyond n_used - discard
//   become free. The re-rotation is a pure rotation: no magnitude factor (YaRN's mscale /
//   attn_factor is already in the stored key and must not be applied twice).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/quant/types.h"
#include "engine/sampling/top_k.h"  // kMaxDeviceTopK, sample_top_k_row: the host reference of sample_top_k
#include "engine/util/status.h"

namespace hearth {

constexpr int kKvBlockTokens = 32;

// Backend-owned memory. Subclassed by each backend; callers only hold and pass it.
class Buffer {
public:
    virtual ~Buffer() = default;
    size_t size() const { return size_; }
protected:
    explicit Buffer(size_t size) : size_(size) {}
    size_t size_;
};
using BufferPtr = std::shared_ptr<Buffer>;

struct Tensor {
    Buffer* buf = nullptr;
    size_t offset = 0;
    GgmlType type = GgmlType::F32;
    int64_t rows = 0, cols = 0;
    size_t row_stride = 0;  // bytes

    size_t bytes() const { return size_t(rows) * row_stride; }
    Tensor row_range(int64_t first, int64_t n) const {
        Tensor t = *this; t.offset += size_t(first) * row_stride; t.rows = n; return t;
    }
};
// A contiguous tensor view over `buf` at `offset` (row_stride from type and cols).
Tensor make_tensor(Buffer* buf, size_t offset, GgmlType type, int64_t rows, int64_t cols);

enum class RopeMode { Normal, NeoX };  // llama: adjacent pairs (2i, 2i+1); qwen2/NeoX: (i, i + n_dims/2)

struct RopeParams {
    RopeMode mode = RopeMode::Normal;
    int head_dim = 0;         // elements per head
    int n_dims = 0;           // rotated dims per head (== head_dim for llama/qwen2)
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;  // 1 / linear scaling factor
    // YaRN (ext_factor 0 disables it), as in ggml's rope_yarn
    float ext_factor = 0.0f, attn_factor = 1.0f, beta_fast = 32.0f, beta_slow = 1.0f;
    int n_ctx_orig = 0;
    const Tensor* freq_factors = nullptr;  // F32 [n_dims/2] divisors of theta (rope_freqs.weight), or null
};

struct KvCacheDesc {
    int n_layer = 0, n_kv_head = 0, head_dim = 0, n_ctx = 0;  // n_ctx rounded up to whole blocks
    GgmlType type = GgmlType::F16;  // F16 or F32
    // Sliding-window policy, per layer of this cache (empty, or 0 for a layer: global attention).
    // A layer with window w > 0 is local: a query at position p sees only cells p-w+1 .. p (as
    // transformers' sliding-window mask and llama.cpp's LLAMA_SWA_TYPE_STANDARD). Every backend's
    // attention applies it; see window_of().
    std::vector<int> window;
    int n_blocks() const { return (n_ctx + kKvBlockTokens - 1) / kKvBlockTokens; }
    int window_of(int layer) const { return layer >= 0 && size_t(layer) < window.size() ? window[size_t(layer)] : 0; }
};

// The block tables of a batch of sequences over one cache (backend.h's KV cache contract).
struct KvTables {
    Tensor table;  // I32, one row per sequence of the batch: row s, column b = physical block of its logical block b
    Tensor seq;    // I32 1 × n: the table row of token t
};

class KvCache {
public:
    virtual ~KvCache() = default;
    const KvCacheDesc& desc() const { return desc_; }
protected:
    explicit KvCache(KvCacheDesc d) : desc_(d) {}
    KvCacheDesc desc_;
};

struct DeviceInfo {
    std::string backend;     // "cpu", "reference", "vulkan", "cuda"
    int index = 0;           // within the backend
    std::string name;        // "AMD EPYC 7B13", "NVIDIA H200", "llvmpipe (LLVM 15.0.6, 256 bits)"
    std::string type;        // "cpu", "discrete", "integrated", "virtual", "cpu-implementation"
    std::string driver;
    uint64_t memory_total = 0, memory_free = 0;  // bytes
    std::string details;     // subgroup size, fp16/int8 support, compute capability …
};

enum class BufferUsage { Weights, Activations };

// Element-wise activations of Backend::activate: GELU with erf (torch's default "gelu"), quick GELU
// x·σ(1.702x) (OpenAI CLIP, SD 1.x's text encoder), SiLU x·σ(x).
enum class Activation { Gelu, QuickGelu, Silu };

// Images are activations with one row per pixel (row-major over height, then width) and one column
// per channel (NHWC without N): a 1×1 convolution is then a matmul and attention reads pixels as
// tokens. Backend::conv2d's geometry:
struct Conv2dGeometry {
    int height = 0, width = 0;  // of the input
    int kernel = 3, stride = 1, pad = 1;
    // Zero padding after the last row and column; -1: `pad`, as before the first. The VAE
    // encoder's downsampler pads (0, 1) (diffusers' F.pad(x, (0, 1, 0, 1))). Padding only adds
    // zero pixels, so a backend needs nothing beyond out_height/out_width and its bounds check.
    int pad_end = -1;
    int end_pad() const { return pad_end < 0 ? pad : pad_end; }
    int out_height() const { return (height + pad + end_pad() - kernel) / stride + 1; }
    int out_width() const { return (width + pad + end_pad() - kernel) / stride + 1; }
    bool pointwise() const { return kernel == 1 && stride == 1 && pad == 0 && end_pad() == 0; }  // a plain matmul
};

// The ops of the interface, for Backend::supports_op.
enum class Op {
    GetRows, Matmul, RmsNorm, Rope, KvStore, Attention, KvShift, KvCopy, SiluMul, Add, ScaleAdd,
    SoftmaxRows, Copy, SampleTopK,
    // Added after the first backends: unsupported unless a backend says otherwise.
    GeluMul, Scale, SlidingWindow,
    PagedAttention,  // attention_paged: several sequences over block tables in one cache
    PagedKvShift,    // kv_shift_paged
    // The diffusion models' ops (engine/diffusion/).
    LayerNorm, Activate, AttentionQkv, Conv2d, GroupNorm, Upsample2x, Mul, ConcatCols,
    MatmulAdd,  // matmul_add: the product added into its output (a residual in the projection's epilogue)
    AddRowsScaled,  // add_rows_scaled: a mixture of experts' outputs added into their tokens' rows
};

// One product of Backend::matmul_parts: y = w · x (+ bias), x shared by all the parts.
struct MatmulPart {
    Tensor w, y;
    const Tensor* bias = nullptr;
};
const char* op_name(Op op);

class Backend {
public:
    virtual ~Backend() = default;
    virtual const DeviceInfo& device() const = 0;

    // ---- memory
    virtual Result<BufferPtr> alloc(size_t bytes, BufferUsage usage) = 0;
    // Weights that already sit in host memory (the mmapped file). The CPU backends wrap the pointer
    // without copying; device backends allocate and copy. `data` outlives the buffer.
    virtual Result<BufferPtr> import_host(const void* data, size_t bytes) = 0;
    virtual Status upload(const Tensor& dst, const void* src) = 0;     // dst.bytes() bytes
    virtual Status download(const Tensor& src, void* dst) = 0;         // src.bytes() bytes, waits
    virtual Result<std::unique_ptr<KvCache>> create_kv_cache(const KvCacheDesc& desc) = 0;
    virtual Status synchronize() = 0;

    // ---- ops (F32 activations; `out` never aliases an input unless stated)
    // out[i] = table row ids[i], converted to F32. table: any weight type; ids: I32 rows=1 cols=n.
    virtual void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) = 0;
    // y[t][r] = sum_c w[r][c] * x[t][c] (+ bias[r]). w: any weight type; x: n × cols; y: n × rows.
    // May quantize x to 8 bits internally for quantized w (as llama.cpp does); the reference backend never does.
    virtual void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias = nullptr) = 0;
    // y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight. y may alias x.
    virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) = 0;
    // In place on x: n tokens × (n_head * head_dim); pos: I32 1 × n.
    virtual void rope(const Tensor& x, const Tensor& pos, const RopeParams& p) = 0;
    // Writes k, v (n × n_kv_head*head_dim, F32) of token i into physical cell cells[i] (I32 1 × n)
    // of `layer`. A single-sequence caller passes the positions (identity table); a batch of
    // sequences passes table[seq][pos / 32] * 32 + pos % 32 per token. Cells are distinct.
    virtual void kv_store(KvCache& kv, int layer, const Tensor& k, const Tensor& v, const Tensor& cells) = 0;
    // Identity table: out[t] = softmax(scale * q[t]·K[cells ≤ pos[t]]) V, per head; GQA maps head h
    // to kv head h / (n_head / n_kv_head). q, out: n × (n_head * head_dim). Never materializes an
    // n × n_kv matrix beyond one tile.
    virtual void attention(const Tensor& q, const KvCache& kv, int layer, const Tensor& pos, int n_kv,
                           float scale, const Tensor& out) = 0;
    // The same over block tables (Op::PagedAttention): token t belongs to sequence tables.seq[t] and
    // attends to that sequence's logical cells lo(t) .. pos[t] (lo from the sliding window, else 0),
    // each read from physical block tables.table[seq][cell / 32], slot cell % 32. n_kv bounds every
    // pos[t] + 1 (the longest sequence of the batch). Exactly attention()'s arithmetic per token:
    // a token's output depends only on q[t], pos[t] and its own sequence's cells — not on the other
    // tokens of the batch, nor on which physical blocks hold the cells (host backends: bit for bit,
    // tests/engine/test_kv_seq.cpp). Default: unsupported.
    virtual void attention_paged(const Tensor& q, const KvCache& kv, int layer, const Tensor& pos, const KvTables& tables,
                                 int n_kv, float scale, const Tensor& out);
    virtual void kv_shift(KvCache& kv, int keep, int discard, int n_used, const RopeParams& p) = 0;
    // kv_shift for one sequence of a shared cache (Op::PagedAttention): the same moves and
    // re-rotation over the sequence's logical cells, each at table[cell / 32] * 32 + cell % 32
    // (table: I32 1 × its blocks). The blocks from keep / 32 on are written: they must be the
    // sequence's own (not shared with another). Op::PagedKvShift; default: unsupported.
    virtual void kv_shift_paged(KvCache& kv, const Tensor& table, int keep, int discard, int n_used, const RopeParams& p);
    // Copies cells [0, n) of every layer from src to dst (same desc); for prefix reuse across sessions.
    virtual void kv_copy(const KvCache& src, KvCache& dst, int n) = 0;
    virtual void silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) = 0;  // out may alias gate
    virtual void add(const Tensor& a, const Tensor& b, const Tensor& out) = 0;           // out may alias a
    virtual void scale_add(const Tensor& y, const Tensor& x, float s) = 0;               // y += s * x
    virtual void softmax_rows(const Tensor& x) = 0;                                      // in place
    virtual void copy(const Tensor& src, const Tensor& dst) = 0;                         // same shape, F32
    // out = gelu(gate) * up with the tanh approximation of GELU (PyTorch's gelu(approximate="tanh"),
    // Gemma's GeGLU). out may alias gate. Default: unsupported (supports_op says false; calling it aborts).
    virtual void gelu_mul(const Tensor& gate, const Tensor& up, const Tensor& out);
    // x *= s in place (Gemma's embedding scale). Default: unsupported.
    virtual void scale(const Tensor& x, float s);

    // ---- fused forms of what a layer runs in a row (issue #17: fewer launches per generated token)
    // matmul(parts[i].w, x, parts[i].y, parts[i].bias) for each i: the products that read one input
    // (q/k/v, gate/up). A GPU backend runs them as one launch. Default: one matmul each.
    virtual void matmul_parts(const Tensor& x, const MatmulPart* parts, int n);
    // The FFN's first half: matmul_parts of gate and up, then out = act(gate.y) * up.y with
    // act = GELU (tanh form, gelu_mul's) when `gelu`, else SiLU (silu_mul's). gate.y and up.y hold
    // the products afterwards; out may alias gate.y. A GPU backend runs it as one launch.
    // Default: exactly those ops.
    virtual void matmul_glu(const Tensor& x, const MatmulPart& gate, const MatmulPart& up, bool gelu, const Tensor& out);
    // y += w · x (+ bias): the output projection and the residual add in one (Op::MatmulAdd, per
    // weight type; exactly matmul's product, added). Default: unsupported.
    virtual void matmul_add(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias = nullptr);
    // rope(q, pos, p); rope(k, pos, p); kv_store(kv, layer, k, v, cells), in one op: afterwards q and
    // k hold their rotated values and the cache the rotated keys, as the three ops leave them.
    // Default: the three ops.
    virtual void rope_kv_store(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& pos, const Tensor& cells,
                               const RopeParams& p, KvCache& kv, int layer);
    // y[ids[i]] += w[i] · x[i] for each row i of x (Op::AddRowsScaled): one expert's outputs, weighted
    // by the router, added into the residual rows of the tokens that chose it — one op per expert
    // where scale_add would take one per token. ids: I32 1 × n, distinct; w: F32 1 × n (both in
    // device memory); x: n × cols; y: F32 rows × cols. Each row's arithmetic is scale_add's, so
    // the result equals scale_add(y.row(ids[i]), x.row(i), w[i]) for each i. Default: unsupported.
    virtual void add_rows_scaled(const Tensor& y, const Tensor& x, const Tensor& ids, const Tensor& w);
    // x += v on an I32 tensor, as an op in the queue: a recorded generation step advances its own
    // position on the device, so the host uploads none. Default: download, add, upload (host
    // backends; a device backend overrides it with a kernel).
    virtual void add_i32(const Tensor& x, int32_t v);

    // ---- the diffusion models' ops (default: unsupported; supports_op says which a backend has)
    // y[t] = (x[t] - mean) / sqrt(var + eps) * weight + bias, the population variance over the row
    // (torch.nn.LayerNorm). weight, bias: F32 1 × cols. y may alias x.
    virtual void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y);
    // x = act(x) in place.
    virtual void activate(const Tensor& x, Activation act);
    // Attention over plain q, k, v rows (not the KV cache): per head h of n_head,
    // out[t] = softmax(scale · q[t]·k[s]) v over s < n_kv, or s <= t when causal (then n_q == n_kv).
    // q, out: n_q × (n_head·d); k, v: n_kv × (n_head·d); all F32.
    virtual void attention_qkv(const Tensor& q, const Tensor& k, const Tensor& v, int n_head, float scale, bool causal,
                               const Tensor& out);
    // y[pixel][o] = bias[o] + Σ w[o][ky][kx][c] · x[pixel at (oy·stride + ky - pad, ox·stride + kx - pad)][c],
    // zero outside the image. x: (height·width) × cin; w: cout × (kernel²·cin), F32 or F16 (the
    // torch kernel [cout][cin][ky][kx] re-laid); bias F32 1 × cout or null; y: (out_h·out_w) × cout.
    virtual void conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, const Tensor& y);
    // torch.nn.GroupNorm over pixel rows: channels split into n_groups consecutive groups, each
    // normalized over all its pixels and channels (population variance), then · weight + bias per
    // channel. x, y: pixels × channels (y may alias x); weight, bias: F32 1 × channels.
    virtual void group_norm(const Tensor& x, int n_groups, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y);
    // Nearest-neighbour upsampling of an h×w image to out_h×out_w (Op::Upsample2x: 2× in the usual
    // case, the skip connection's size in a UNet over odd sizes), as torch's "nearest" computes the
    // source: 2× exactly by halving, otherwise min(floor(dst · (in/out as float)), in − 1).
    virtual void upsample_nearest(const Tensor& x, int height, int width, int out_height, int out_width, const Tensor& y);
    // out = a * b element-wise (GEGLU's value · GELU(gate)). out may alias a.
    virtual void mul(const Tensor& a, const Tensor& b, const Tensor& out);
    // out[t] = a[t] followed by b[t] (channel concatenation of pixel rows: the UNet's skip links).
    virtual void concat_cols(const Tensor& a, const Tensor& b, const Tensor& out);

    // Whether this backend runs `op`; for GetRows and Matmul, with a table/weight of `type` (the
    // other ops ignore it: their tensors are F32). SlidingWindow: attention honours
    // KvCacheDesc::window. Placement asks before putting a layer on a backend, so a type or op a
    // device lacks runs on the CPU instead of failing at the first forward. Default: the first set
    // of ops with any weight type, the later ops not at all; every backend overrides it with what
    // it really runs.
    virtual bool supports_op(Op op, GgmlType type = GgmlType::F32) const;

    // ---- sampling on the device, so only a token id crosses the bus per generated token
    // For each row t of `logits` (F32, n × n_vocab): keep the k largest logits (ties: smaller id
    // first; 1 <= k <= kMaxDeviceTopK; k == 1 is greedy and ignores temperature and u), divide them by
    // `temperature` (> 0), and write to out[t] (I32, 1 × n) the first candidate, in that order, whose
    // cumulative softmax probability exceeds u[t] (u[t] in [0, 1), from the caller's PRNG). The same
    // choice as the host Sampler with only top-k and temperature on, up to float rounding of the
    // probabilities at a cumulative boundary (greedy is exact). The default implementation downloads
    // the logits and runs sample_top_k_row() on the host (right for host backends); device backends
    // override it. Returns an error only for bad arguments or a failed transfer.
    virtual Status sample_top_k(const Tensor& logits, int k, float temperature, const std::vector<double>& u, const Tensor& out);

    // A Stop for the ops that follow (null: none). Once *flag is true, an op may end early and leave
    // its outputs unspecified; the caller, which owns the flag and watches it too, discards what the
    // evaluation computed. Host backends check it between work items inside matmul and attention
    // (a 256-token batch of an 8B model's FFN matmul takes seconds on a CPU); device backends ignore
    // it: their ops are queued, and the caller stops queuing them.
    virtual void set_cancel(const std::atomic<bool>* flag) { (void)flag; }

    // ---- whole forward passes recorded once and replayed (CUDA graphs; issue #17)
    // A caller whose pass of at most max_step_tokens() tokens is fully determined by `key` (every op,
    // tensor, scalar and n_kv it passes; only values in device memory may differ: token ids,
    // positions, cells, block tables, KV contents) brackets its ops with begin_step(key) and
    // end_step(). begin_step returns true when the backend has enqueued the pass it recorded under
    // `key`: the caller then issues none of the pass's ops and does not call end_step. On false the
    // caller issues them and calls end_step(complete); complete = false (a Stop cut the pass short)
    // records nothing. A key is the caller's promise: when what it stood for changes (buffers
    // reallocated, adapters, a context shift) the caller takes a new key or calls forget_steps().
    // Default: max_step_tokens() 0, nothing is recorded, begin_step is always false.
    virtual int max_step_tokens() const { return 0; }
    virtual bool begin_step(uint64_t key) { (void)key; return false; }
    virtual void end_step(bool complete) { (void)complete; }
    virtual void forget_steps() {}
    // Host work of the recorder, for tests: ops recorded (one closure each) in passes, passes
    // captured, passes replayed by one call.
    // last_capture_nodes: the nodes (kernels) of the most recently captured pass.
    struct StepStats { uint64_t ops_recorded = 0, captures = 0, replays = 0, last_capture_nodes = 0; };
    virtual StepStats step_stats() const { return {}; }

    // Device memory this backend could still allocate, in bytes (layer split sizes itself from it).
    // Host backends report the machine's available memory.
    virtual uint64_t memory_free() const { return device().memory_free; }
    // The largest tensor an op can read or write whole (Vulkan: one shader binding window);
    // callers with a choice of sizes, such as the VAE's tiling, stay under it.
    virtual uint64_t max_tensor_bytes() const { return ~uint64_t(0); }
};

// upsample_nearest's source index for output index `dst` along a side of `in` → `out` (torch's rule).
int64_t nearest_source(int64_t dst, int64_t in, int64_t out);

struct BackendOptions {
    int n_threads = 0;  // CPU: 0 = all physical cores
};

// Every device of every backend built into this binary (and loadable plugins), with a note for
// each backend that is present but unusable ("CUDA: driver 535 is older than the 580 CUDA 13 needs").
struct DeviceList {
    std::vector<DeviceInfo> devices;
    std::vector<std::string> notes;
};
DeviceList list_devices();

// The device create_backend(backend, device) would open, read from a listing without opening one
// (the app's memory check before a run): "auto" is CUDA device `device` when listed, else the first
// Vulkan device that is not a CPU implementation, else the CPU. Empty when nothing matches.
std::optional<DeviceInfo> pick_device(const DeviceList& list, const std::string& backend, int device);

// How a device is named to people: "Vulkan: <name>", "CUDA: <name>", "CPU: <name>", "Reference: …"
// (the chat's backend description starts with it, and the image side compares the two).
std::string device_label(const DeviceInfo& device);

// backend: "cpu" (SIMD + threads), "reference" (scalar, for tests), "vulkan", "cuda", or "auto"
// (CUDA, then Vulkan discrete/integrated/virtual, then CPU; a CPU Vulkan implementation only when
// asked for by name). `passed_over`, when given, collects why "auto" passed over a GPU it found but
// could not open (so a caller can say so instead of silently running on the CPU).
Result<std::unique_ptr<Backend>> create_backend(const std::string& backend, int device, const BackendOptions& opt,
                                                std::vector<std::string>* passed_over = nullptr);

}  // namespace hearth
