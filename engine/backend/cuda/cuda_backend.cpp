// The CUDA Backend: device buffers, the paged KV cache, and the ops of backend.h enqueued on one
// stream (kernels/kernels.h). Ops return void, so the first failure of an op is kept ("sticky") and
// reported by the next synchronize()/download(), as a clear message.
#include "engine/backend/cuda/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <vector>

#include "engine/backend/cuda/step_graphs.h"
#include "engine/backend/host/rope_math.h"
#include "kernels/kernels.h"

namespace hearth::cuda {

namespace {

constexpr size_t kConvBandBytes = size_t(64) << 20;  // conv2d's im2col band at most
constexpr int kMatvecMaxTokens = 8;                  // above this, matmul is a tensor-core GEMM
constexpr size_t kGemmSlabBytes = size_t(64) << 20;  // repack: rows per slab
// Prompt GEMMs dequantize a quantized weight to F16 a slab of rows at a time, two slabs in flight
// (the next one's dequantization beside the current one's GEMM): at most this much per slab, and at
// most a quarter of the L2, so both slabs and the F16 activations stay in L2 between write and read.
constexpr size_t kGemmL2SlabBytes = size_t(8) << 20;
constexpr size_t kStagingBytes = size_t(32) << 20;   // each of the two pinned upload buffers
constexpr size_t kPageableCopyMax = size_t(1) << 20;  // smaller uploads skip the pinned staging

// types.h's type_name lives in hearth_engine, which the plugin does not link.
std::string tname(GgmlType t) {
    switch (t) {
        case GgmlType::F32: return "F32"; case GgmlType::F16: return "F16"; case GgmlType::BF16: return "BF16";
        case GgmlType::Q4_0: return "Q4_0"; case GgmlType::Q4_1: return "Q4_1"; case GgmlType::Q5_0: return "Q5_0";
        case GgmlType::Q5_1: return "Q5_1"; case GgmlType::Q8_0: return "Q8_0"; case GgmlType::Q4_K: return "Q4_K";
        case GgmlType::Q5_K: return "Q5_K"; case GgmlType::Q6_K: return "Q6_K";
        default: return "type " + std::to_string(uint32_t(t));
    }
}

std::string mib(uint64_t b) { return std::to_string((b + (1 << 20) - 1) >> 20) + " MiB"; }

// Device bytes a backend holds, by kind; shared with its buffers and caches, which may outlive it and
// give their bytes back when freed (memory_free() and the HEARTH_CUDA_MAX_MEMORY cap count them).
// In graph mode, ops recorded but not yet launched hold raw device pointers, so a buffer dropped
// meanwhile is not freed at once: its pointer waits in `deferred` until the backend's next flush
// has launched them (release_deferred), or until the backend goes away.
struct HeldBytes {
    std::atomic<uint64_t> weights{0}, kv{0}, activations{0}, scratch{0};
    uint64_t total() const { return weights + kv + activations + scratch; }

    std::mutex mu;
    bool defer = false;  // the backend is alive and has recorded ops pending
    std::vector<void*> deferred;

    // Frees p now, or later when recorded ops may still use it. Call with p's device current.
    void free_device(void* p) {
        {
            std::lock_guard<std::mutex> lock(mu);
            if (defer) {
                deferred.push_back(p);
                return;
            }
        }
        cudaFree(p);
    }
    void release_deferred() {
        std::vector<void*> ps;
        {
            std::lock_guard<std::mutex> lock(mu);
            ps.swap(deferred);
        }
        for (void* p : ps) cudaFree(p);  // cudaFree waits for the launched work that uses p
    }
};
using HeldPtr = std::shared_ptr<HeldBytes>;

class CudaBuffer final : public Buffer {
public:
    CudaBuffer(void* p, size_t n, int device, HeldPtr held, std::atomic<uint64_t>* counter)
        : Buffer(n), ptr_(p), device_(device), held_(std::move(held)), counter_(counter) {}
    ~CudaBuffer() override {
        if (ptr_) {
            int cur = 0;
            cudaGetDevice(&cur);
            if (cur != device_) cudaSetDevice(device_);
            held_->free_device(ptr_);
            if (cur != device_) cudaSetDevice(cur);
        }
        *counter_ -= size_;
    }
    void* ptr() const { return ptr_; }

    // Quantized weights are repacked on the device on first use (kernels/packed_unit.h): the type
    // whose packed layout the bytes are in (-1: as uploaded), and that type's row stride.
    int packed_type = -1;
    size_t packed_stride = 0;

private:
    void* ptr_;
    int device_;
    HeldPtr held_;  // keeps *counter_ alive
    std::atomic<uint64_t>* counter_;
};

class CudaKvCache final : public KvCache {
public:
    CudaKvCache(const KvCacheDesc& d, void* k, void* v, int device, HeldPtr held, uint64_t bytes)
        : KvCache(d), k_(k), v_(v), device_(device), held_(std::move(held)), bytes_(bytes) {}
    ~CudaKvCache() override {
        cudaSetDevice(device_);
        held_->free_device(k_);
        held_->free_device(v_);
        held_->kv -= bytes_;
    }
    kern::KvLayout layout() const {
        kern::KvLayout L;
        L.n_kv_head = desc_.n_kv_head;
        L.head_dim = desc_.head_dim;
        L.n_blocks = desc_.n_blocks();
        L.f16 = desc_.type == GgmlType::F16;
        return L;
    }
    uint8_t* k_layer(int l) const { return static_cast<uint8_t*>(k_) + size_t(l) * layout().layer_bytes(); }
    uint8_t* v_layer(int l) const { return static_cast<uint8_t*>(v_) + size_t(l) * layout().layer_bytes(); }

private:
    void* k_;
    void* v_;
    int device_;
    HeldPtr held_;
    uint64_t bytes_;
};

// A grow-only device allocation, reallocated in stream order.
struct Scratch {
    void* p = nullptr;
    size_t n = 0;
};

class CudaBackend final : public Backend {
public:
    ~CudaBackend() override {
        cudaSetDevice(dev_);
        for (Scratch* s : {&q8a_, &q8b_, &glu_count_, &x16_, &w16_, &attn_, &attn_count_, &shift_k_, &shift_v_, &topk_, &topk_u_})
            if (s->p && stream_) cudaFreeAsync(s->p, stream_);  // stream-ordered memory, freed in order
        col_buf_.reset();  // freed while the device and stream are still set up
        if (stream_) cudaStreamSynchronize(stream_);
        if (copy_) cudaStreamSynchronize(copy_);
        for (int i = 0; i < 2; ++i) {
            if (staging_[i]) cudaFreeHost(staging_[i]);
            if (staged_[i]) cudaEventDestroy(staged_[i]);
        }
        for (cudaEvent_t e : {order_in_, order_out_, slab_fork_, slab_ready_[0], slab_ready_[1], slab_used_[0], slab_used_[1]})
            if (e) cudaEventDestroy(e);
        if (copy_) cudaStreamDestroy(copy_);
        if (slab_stream_) cudaStreamDestroy(slab_stream_);
        {
            std::lock_guard<std::mutex> lock(held_->mu);
            held_->defer = false;
        }
        held_->release_deferred();
        if (print_step_stats_) {
            const StepStats st = steps_.stats();
            std::fprintf(stderr, "cuda backend: %llu ops recorded in passes, %llu passes captured, %llu replayed\n",
                         (unsigned long long)st.ops_recorded, (unsigned long long)st.captures, (unsigned long long)st.replays);
        }
        steps_.forget(nullptr);  // the stream is idle (synchronized above)
        if (blas_) cublasDestroy(blas_);
        if (stream_) cudaStreamDestroy(stream_);
    }

    static Result<std::unique_ptr<Backend>> create(int device, const DeviceInfo& info) {
        auto b = std::unique_ptr<CudaBackend>(new CudaBackend());
        b->dev_ = device;
        b->info_ = info;
        if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return make_error("CUDA: cannot use device " + std::to_string(device) + ": " + error_text(e));
        cudaDeviceProp p{};
        if (cudaError_t e = cudaGetDeviceProperties(&p, device); e != cudaSuccess) return make_error("CUDA: " + error_text(e));
        b->sm_count_ = p.multiProcessorCount;
        // Tests give the matvec fewer SMs than the device has, so that its blocks loop over row groups.
        const char* mv = std::getenv("HEARTH_CUDA_MATVEC_SMS");
        const int mv_sms = mv ? std::atoi(mv) : 0;
        kern::set_matvec_sms(device, mv_sms > 0 ? mv_sms : p.multiProcessorCount);
        b->attn_mma_ = prompt_attention_on_tensor_cores(p.major);
        if (p.l2CacheSize > 0) b->gemm_slab_bytes_ = std::min(kGemmL2SlabBytes, size_t(p.l2CacheSize) / 4);
        // Tests shrink the slabs to run many of them on small weights (test_cuda_ops).
        if (const char* c = std::getenv("HEARTH_CUDA_GEMM_SLAB_BYTES"); c && std::atoll(c) > 0) b->gemm_slab_bytes_ = size_t(std::atoll(c));
        if (const char* g = std::getenv("HEARTH_CUDA_GRAPHS"); g && std::string(g) == "0") b->graphs_ = false;
        // Programmatic dependent launch of the generation kernels (sm_90+): written but not yet run on
        // a GPU, so off unless HEARTH_CUDA_PDL=1 (run-gpu-checks.sh measures it beside the default).
        const char* pdl = std::getenv("HEARTH_CUDA_PDL");
        kern::set_programmatic_launch(device, p.major >= 9 && pdl && std::string(pdl) == "1");
        if (const char* v = std::getenv("HEARTH_CUDA_SIM_STATS"); v && *v == '1') b->print_step_stats_ = true;
        b->mem_cap_ = memory_cap_from_env();
        // Tests shrink conv2d's im2col band to check many bands on small images (test_cuda_ops).
        if (const char* c = std::getenv("HEARTH_CUDA_CONV_BAND_BYTES"); c && std::atoll(c) > 0) b->conv_band_bytes_ = size_t(std::atoll(c));
        if (cudaError_t e = cudaStreamCreateWithFlags(&b->stream_, cudaStreamNonBlocking); e != cudaSuccess)
            return make_error("CUDA: cannot create a stream on " + info.name + ": " + error_text(e));
        // Weight uploads run on their own stream, ordered against the compute stream by events.
        if (cudaError_t e = cudaStreamCreateWithFlags(&b->copy_, cudaStreamNonBlocking); e != cudaSuccess)
            return make_error("CUDA: cannot create a copy stream on " + info.name + ": " + error_text(e));
        // The slab dequantization of prompt GEMMs runs on its own stream beside cuBLAS (gemm()).
        if (cudaError_t e = cudaStreamCreateWithFlags(&b->slab_stream_, cudaStreamNonBlocking); e != cudaSuccess)
            return make_error("CUDA: cannot create a stream on " + info.name + ": " + error_text(e));
        for (cudaEvent_t* ev : {&b->order_in_, &b->order_out_, &b->slab_fork_, &b->slab_ready_[0], &b->slab_ready_[1],
                                &b->slab_used_[0], &b->slab_used_[1]})
            if (cudaError_t e = cudaEventCreateWithFlags(ev, cudaEventDisableTiming); e != cudaSuccess)
                return make_error("CUDA: cannot create an event on " + info.name + ": " + error_text(e));
        if (cublasStatus_t s = cublasCreate(&b->blas_); s != CUBLAS_STATUS_SUCCESS)
            return make_error(std::string("CUDA: cannot initialise cuBLAS on ") + info.name + ": " + cublasGetStatusString(s));
        cublasSetStream(b->blas_, b->stream_);
        cublasSetMathMode(b->blas_, CUBLAS_DEFAULT_MATH);  // no TF32: F32 weights stay F32-exact
        for (int i = 0; i < 2; ++i) {
            if (cudaMallocHost(&b->staging_[i], kStagingBytes) != cudaSuccess) {
                cudaGetLastError();
                b->staging_[i] = nullptr;  // uploads then go through pageable memory (slower, still correct)
            }
            cudaEventCreateWithFlags(&b->staged_[i], cudaEventDisableTiming);
        }
        return std::unique_ptr<Backend>(std::move(b));
    }

    const DeviceInfo& device() const override { return info_; }

    // Live free device memory (cudaMemGetInfo), and with HEARTH_CUDA_MAX_MEMORY no more than the cap
    // minus what this backend holds, so layer split and out-of-memory paths can be tested on a big GPU.
    uint64_t memory_free() const override {
        cudaSetDevice(dev_);
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
            cudaGetLastError();
            free_b = size_t(info_.memory_free);
        }
        if (mem_cap_) free_b = std::min<uint64_t>(free_b, mem_cap_ > held() ? mem_cap_ - held() : 0);
        return free_b;
    }

    // ---- memory
    Result<BufferPtr> alloc(size_t bytes, BufferUsage usage) override { return alloc_impl(bytes, usage, true); }

    Result<BufferPtr> alloc_impl(size_t bytes, BufferUsage usage, bool zero) {
        cudaSetDevice(dev_);
        flush();
        void* p = nullptr;
        if (bytes) {
            const char* what = usage == BufferUsage::Weights ? "weights" : "activations";
            if (!within_cap(bytes)) return make_error(cap_text(bytes, what));
            if (cudaError_t e = cudaMalloc(&p, bytes); e != cudaSuccess) {
                cudaGetLastError();
                return make_error(oom_text(e, bytes, what));
            }
            // Fresh memory is zeroed like the CPU backends' buffers, so nothing reads garbage.
            if (zero) cudaMemsetAsync(p, 0, bytes, stream_);
        }
        std::atomic<uint64_t>* counter = usage == BufferUsage::Weights ? &held_->weights : &held_->activations;
        *counter += bytes;
        refresh_memory_info();
        return BufferPtr(std::make_shared<CudaBuffer>(p, bytes, dev_, held_, counter));
    }

    Result<BufferPtr> import_host(const void* data, size_t bytes) override {
        auto buf = alloc_impl(bytes, BufferUsage::Weights, /*zero=*/false);  // every byte is uploaded next
        if (!buf.ok()) return buf;
        Tensor t;
        t.buf = buf->get();
        t.type = GgmlType::I8;
        t.rows = 1;
        t.cols = int64_t(bytes);
        t.row_stride = bytes;
        HEARTH_RETURN_IF_ERROR(upload(t, data));
        return buf;
    }

    Status upload(const Tensor& dst, const void* src) override {
        q8_of_ = {};
        x16_of_ = {};
        HEARTH_RETURN_IF_ERROR(upload_bytes(dst, src));
        // New bytes in a buffer of packed weights arrive in the GGUF layout: repack those rows, or
        // forget the packing when the whole buffer is replaced.
        auto* b = dynamic_cast<CudaBuffer*>(dst.buf);
        if (!b || b->packed_type < 0 || !dst.bytes()) return {};
        if (dst.offset == 0 && dst.bytes() == b->size() && dst.type != GgmlType(b->packed_type)) {
            b->packed_type = -1;
            steps_.forget(stream_);  // a recorded pass would read these bytes as packed
            return {};
        }
        const size_t st = b->packed_stride;
        if (dst.offset % st != 0 || dst.bytes() % st != 0)
            return make_error("CUDA upload: " + std::to_string(dst.bytes()) + " bytes at offset " + std::to_string(dst.offset) +
                              " into packed " + tname(GgmlType(b->packed_type)) + " weights are not whole rows");
        const GgmlType t = GgmlType(b->packed_type);
        const int64_t cols = int64_t(st / traits(t).block_bytes) * traits(t).block_elems;
        repack_device(dptr(dst), t, st, int64_t(dst.bytes() / st), cols, true);
        return sticky();
    }

    Status upload_bytes(const Tensor& dst, const void* src) {
        cudaSetDevice(dev_);
        flush();  // ops recorded so far run before the new data lands
        uint8_t* d = dptr(dst);
        if (!d && dst.bytes()) return make_error("CUDA upload: destination is not a CUDA buffer");
        if (d && dst.offset + dst.bytes() > dst.buf->size())
            return make_error("CUDA upload: " + std::to_string(dst.bytes()) + " bytes at offset " + std::to_string(dst.offset) +
                              " overrun a buffer of " + std::to_string(dst.buf->size()) + " bytes");
        const size_t n = dst.bytes();
        const auto* s = static_cast<const uint8_t*>(src);
        if (n <= kPageableCopyMax || !staging_[0] || !staging_[1]) {
            // The runtime stages pageable memory before returning, so `src` may be reused at once.
            if (cudaError_t e = cudaMemcpyAsync(d, s, n, cudaMemcpyHostToDevice, stream_); e != cudaSuccess)
                return upload_error(n, e);
            return sticky();
        }
        // Large uploads (weights): double-buffered pinned staging on the copy stream, the host copy of
        // chunk i+1 overlapping the DMA of chunk i. The copy stream first waits for the work already
        // enqueued on the compute stream (it may still read the old contents), and the compute stream
        // waits for the last chunk before anything enqueued later.
        if (cudaError_t e = cudaEventRecord(order_in_, stream_); e != cudaSuccess) return upload_error(n, e);
        if (cudaError_t e = cudaStreamWaitEvent(copy_, order_in_, 0); e != cudaSuccess) return upload_error(n, e);
        for (size_t off = 0; off < n; off += kStagingBytes) {
            const size_t len = std::min(kStagingBytes, n - off);
            const int i = int((off / kStagingBytes) % 2);
            // The previous DMA out of this staging buffer is done (a failed one reports its error here).
            if (cudaError_t e = cudaEventSynchronize(staged_[i]); e != cudaSuccess) return upload_error(n, e);
            std::memcpy(staging_[i], s + off, len);
            if (cudaError_t e = cudaMemcpyAsync(d + off, staging_[i], len, cudaMemcpyHostToDevice, copy_); e != cudaSuccess)
                return upload_error(n, e);
            if (cudaError_t e = cudaEventRecord(staged_[i], copy_); e != cudaSuccess) return upload_error(n, e);
        }
        if (cudaError_t e = cudaEventRecord(order_out_, copy_); e != cudaSuccess) return upload_error(n, e);
        if (cudaError_t e = cudaStreamWaitEvent(stream_, order_out_, 0); e != cudaSuccess) return upload_error(n, e);
        return sticky();
    }
    Status upload_error(size_t n, cudaError_t e) {
        cudaGetLastError();
        return make_error("CUDA upload of " + mib(n) + " to " + info_.name + ": " + error_text(e));
    }

    Status download(const Tensor& src, void* dst) override {
        cudaSetDevice(dev_);
        const uint8_t* s = dptr(src);
        if (!s && src.bytes()) return make_error("CUDA download: source is not a CUDA buffer");
        flush();
        if (cudaError_t e = cudaMemcpyAsync(dst, s, src.bytes(), cudaMemcpyDeviceToHost, stream_); e != cudaSuccess)
            note(e, "download");
        HEARTH_RETURN_IF_ERROR(synchronize());
        // Packed weights go back to the layout they were uploaded in (a permutation within each row).
        auto* b = dynamic_cast<CudaBuffer*>(src.buf);
        if (!b || b->packed_type < 0 || !src.bytes()) return {};
        const size_t st = b->packed_stride;
        if (src.offset % st != 0 || src.bytes() % st != 0)
            return make_error("CUDA download: " + std::to_string(src.bytes()) + " bytes at offset " + std::to_string(src.offset) +
                              " of packed " + tname(GgmlType(b->packed_type)) + " weights are not whole rows");
        const GgmlType t = GgmlType(b->packed_type);
        const int units = int(st / traits(t).block_bytes) * traits(t).block_elems / 32;
        std::vector<uint8_t> row(st);
        auto* d = static_cast<uint8_t*>(dst);
        for (size_t off = 0; off < src.bytes(); off += st) {
            std::memcpy(row.data(), d + off, st);
            kern::repack_row(t, row.data(), d + off, units, false);
        }
        return {};
    }

    Result<std::unique_ptr<KvCache>> create_kv_cache(const KvCacheDesc& desc) override {
        if (desc.type != GgmlType::F16 && desc.type != GgmlType::F32) return make_error("CUDA: KV cache type must be F16 or F32");
        if (desc.head_dim > 256) return make_error("CUDA: head_dim " + std::to_string(desc.head_dim) + " is above the 256 the attention kernel supports");
        cudaSetDevice(dev_);
        flush();
        kern::KvLayout L;
        L.n_kv_head = desc.n_kv_head;
        L.head_dim = desc.head_dim;
        L.n_blocks = desc.n_blocks();
        L.f16 = desc.type == GgmlType::F16;
        const size_t bytes = L.layer_bytes() * size_t(desc.n_layer);
        if (!within_cap(2 * bytes)) return make_error(cap_text(2 * bytes, "the KV cache"));
        void *k = nullptr, *v = nullptr;
        cudaError_t e = cudaMalloc(&k, bytes);
        if (e == cudaSuccess) e = cudaMalloc(&v, bytes);
        if (e != cudaSuccess) {
            cudaGetLastError();
            if (k) cudaFree(k);
            return make_error(oom_text(e, 2 * bytes, "the KV cache"));
        }
        cudaMemsetAsync(k, 0, bytes, stream_);
        cudaMemsetAsync(v, 0, bytes, stream_);
        held_->kv += 2 * bytes;
        refresh_memory_info();
        return std::unique_ptr<KvCache>(std::make_unique<CudaKvCache>(desc, k, v, dev_, held_, 2 * bytes));
    }

    Status synchronize() override {
        cudaSetDevice(dev_);
        flush();
        if (cudaError_t e = cudaStreamSynchronize(stream_); e != cudaSuccess) note(e, "synchronize");
        return sticky();
    }

    // ---- ops
    void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) override {
        if (!begin("get_rows", {&table, &ids, &out})) return;
        if (!kern::is_quantized_weight(table.type) && !kern::is_float_weight(table.type))
            return fail("get_rows: table type " + tname(table.type) + " is not supported");
        if (kern::is_quantized_weight(table.type) && !ensure_packed(table, "get_rows")) return;
        auto* const dptr_table = dptr(table);
        auto* const f32_out = f32(out);
        auto* const i32_ids = i32(ids);
        launch("get_rows", [=, this] {
            return kern::get_rows(table.type, dptr_table, table.row_stride, table.rows, table.cols, i32_ids, int(ids.cols), f32_out,
                                  out.row_stride, stream_);
        });
    }

    void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias) override { product(w, x, y, bias, false); }
    void matmul_add(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias) override { product(w, x, y, bias, true); }

    // q/k/v or gate/up of generation-size rows: one launch for the products of quantized weights of
    // one type (their 8-bit input is shared already); anything else one matmul each.
    void matmul_parts(const Tensor& x, const MatmulPart* parts, int n) override {
        bool fuse = n >= 2 && n <= kern::kMatvecMaxParts && x.rows <= kMatvecMaxTokens && x.cols % 32 == 0;
        for (int i = 0; fuse && i < n; ++i)
            fuse = kern::is_quantized_weight(parts[i].w.type) && parts[i].w.type == parts[0].w.type &&
                   parts[i].w.cols == x.cols && !overlaps(parts[i].y, x);
        if (!fuse) return Backend::matmul_parts(x, parts, n);
        const MatmulPart& p0 = parts[0];
        const MatmulPart& p1 = parts[1];
        const MatmulPart* p2 = n > 2 ? &parts[2] : nullptr;
        if (!begin("matmul", {&x, &p0.w, &p0.y, p0.bias, &p1.w, &p1.y, p1.bias, p2 ? &p2->w : nullptr, p2 ? &p2->y : nullptr,
                              p2 ? p2->bias : nullptr}))
            return;
        std::array<kern::MatvecOut, kern::kMatvecMaxParts> outs{};
        for (int i = 0; i < n; ++i) {
            if (!ensure_packed(parts[i].w, "matmul")) return;
            if (writes_saved(parts[i].y, x16_of_)) x16_of_ = {};
            outs[size_t(i)] = matvec_out(parts[i].w, parts[i].y, parts[i].bias);
        }
        matvec_q8(x, p0.w.type, outs.data(), n, false);
    }

    // gate/up and the activation of generation-size rows in one launch (matvec_q8's `glu`) for
    // quantized weights of one type and whole 32-row units (the quantizer's); anything else as the
    // separate ops.
    void matmul_glu(const Tensor& x, const MatmulPart& gate, const MatmulPart& up, bool gelu, const Tensor& out) override {
        const bool fuse = x.rows <= kMatvecMaxTokens && x.cols % 32 == 0 && kern::is_quantized_weight(gate.w.type) &&
                          up.w.type == gate.w.type && gate.w.cols == x.cols && up.w.cols == x.cols && up.w.rows == gate.w.rows &&
                          gate.w.rows % 32 == 0 && out.rows == x.rows && out.cols == gate.w.rows &&
                          gate.y.rows == x.rows && up.y.rows == x.rows && gate.y.cols == gate.w.rows && up.y.cols == up.w.rows &&
                          !overlaps(gate.y, x) && !overlaps(up.y, x) && !overlaps(out, x) && !overlaps(out, up.y);
        if (!fuse) return Backend::matmul_glu(x, gate, up, gelu, out);
        if (!begin("matmul", {&x, &gate.w, &gate.y, gate.bias, &up.w, &up.y, up.bias, &out})) return;
        for (const MatmulPart* p : {&gate, &up})
            if (!ensure_packed(p->w, "matmul")) return;
        const kern::MatvecOut outs[2] = {matvec_out(gate.w, gate.y, gate.bias), matvec_out(up.w, up.y, up.bias)};
        if (!kern::matvec_glu_applies(outs[0], outs[1], int(x.rows))) return Backend::matmul_glu(x, gate, up, gelu, out);
        if (writes_saved(gate.y, x16_of_) || writes_saved(up.y, x16_of_) || writes_saved(out, x16_of_)) x16_of_ = {};
        const GluTo to{&out, gelu};
        matvec_q8(x, gate.w.type, outs, 2, false, &to);
    }

    void rope_kv_store(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& pos, const Tensor& cells,
                       const RopeParams& p, KvCache& kvb, int layer) override {
        auto& kv = static_cast<CudaKvCache&>(kvb);
        const kern::KvLayout L = kv.layout();
        if (p.head_dim != L.head_dim || p.head_dim % 2 != 0 || p.n_dims % 2 != 0 || p.n_dims > p.head_dim ||
            q.cols % p.head_dim != 0 || k.cols != int64_t(L.n_kv_head) * L.head_dim || v.cols != k.cols)
            return Backend::rope_kv_store(q, k, v, pos, cells, p, kvb, layer);
        if (!begin("rope_kv_store", {&q, &k, &v, &pos, &cells, p.freq_factors})) return;
        const kern::RopeArgs a = rope_args(p);
        const int n_head = int(q.cols / p.head_dim);
        uint8_t *kl = kv.k_layer(layer), *vl = kv.v_layer(layer);
        auto* const f32_q = f32(q);
        auto* const f32_k = f32(k);
        auto* const f32_v = f32(v);
        auto* const i32_pos = i32(pos);
        auto* const i32_cells = i32(cells);
        launch("rope_kv_store", [=, this] {
            return kern::rope_kv_store(L, kl, vl, f32_q, q.row_stride, n_head, f32_k, k.row_stride, f32_v, v.row_stride, int(k.rows),
                                       i32_pos, i32_cells, a, stream_);
        });
    }

    // y = w·x (+ bias), or y += that (accumulate: matmul_add).
    void product(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor* bias, bool accumulate) {
        if (!begin("matmul", {&w, &x, &y, bias})) return;
        const int n = int(x.rows);
        const float* b = bias ? f32(*bias) : nullptr;
        const bool quant = kern::is_quantized_weight(w.type);
        if (!quant && !kern::is_float_weight(w.type))
            return fail("matmul: weight type " + tname(w.type) + " is not supported");
        if (quant && w.cols % 32 != 0) return fail("matmul: quantized row length " + std::to_string(w.cols) + " is not a multiple of 32");
        if (quant && !ensure_packed(w, "matmul")) return;
        if (writes_saved(y, x16_of_)) x16_of_ = {};  // y is written: an F16 copy of what it overlaps is stale
        if (n <= kMatvecMaxTokens) {
            if (quant) {
                const kern::MatvecOut out = matvec_out(w, y, bias);
                matvec_q8(x, w.type, &out, 1, accumulate);
                if (overlaps(y, x)) q8_of_ = {};
            } else {
                auto* const dptr_w = dptr(w);
                auto* const f32_x = f32(x);
                auto* const f32_y = f32(y);
                launch("matvec", [=, this] {
                    return kern::matvec_float(w.type, dptr_w, w.row_stride, w.rows, w.cols, f32_x, x.row_stride, n, f32_y,
                                              y.row_stride, b, stream_, accumulate);
                });
                if (overlaps(y, x)) q8_of_ = {};
            }
            return;
        }
        if (overlaps(y, x)) q8_of_ = {};
        flush();  // cuBLAS runs directly (prompt batches are not captured)
        gemm(w, x, y, n, accumulate ? 1.0f : 0.0f);
        if (overlaps(y, x)) x16_of_ = {};
        if (b) check(kern::add_bias_rows(f32(y), y.row_stride, n, w.rows, b, stream_), "matmul bias");
    }

    void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) override {
        if (!begin("rms_norm", {&x, &weight, &y})) return;
        if (weight.type != GgmlType::F32) return fail("rms_norm: weight type must be F32");
        auto* const f32_weight = f32(weight);
        auto* const f32_x = f32(x);
        auto* const f32_y = f32(y);
        // A normed row block of generation size is most often the input of the next quantized
        // matmuls (q/k/v, gate/up, the output head): quantize it to 8 bits in the same kernel, and
        // let those matmuls use it (q8_of_).
        if (y.rows <= kMatvecMaxTokens && y.cols % 32 == 0) {
            void* qs = scratch(q8a_, kern::q8_bytes(y.rows, y.cols));
            if (!qs) return;
            const kern::Q8View q = kern::q8_view(qs, y.rows, y.cols);
            launch("rms_norm", [=, this] {
                return kern::rms_norm_q8(f32_x, x.row_stride, x.rows, x.cols, f32_weight, eps, f32_y, y.row_stride, q, stream_);
            });
            q8_of_ = {f32_y, y.row_stride, y.rows, y.cols, q8a_.p, q8a_.n};
            return;
        }
        launch("rms_norm", [=, this] {
            return kern::rms_norm(f32_x, x.row_stride, x.rows, x.cols, f32_weight, eps, f32_y, y.row_stride, stream_);
        });
    }

    void rope(const Tensor& x, const Tensor& pos, const RopeParams& p) override {
        if (!begin("rope", {&x, &pos, p.freq_factors})) return;
        const kern::RopeArgs a = rope_args(p);
        const int n_head = int(x.cols / p.head_dim);
        auto* const f32_x = f32(x);
        auto* const i32_pos = i32(pos);
        launch("rope", [=, this] { return kern::rope(f32_x, x.row_stride, x.rows, n_head, i32_pos, a, stream_); });
    }

    void kv_store(KvCache& kvb, int layer, const Tensor& k, const Tensor& v, const Tensor& pos) override {
        if (!begin("kv_store", {&k, &v, &pos})) return;
        auto& kv = static_cast<CudaKvCache&>(kvb);
        const kern::KvLayout L = kv.layout();
        uint8_t *kl = kv.k_layer(layer), *vl = kv.v_layer(layer);
        auto* const f32_k = f32(k);
        auto* const f32_v = f32(v);
        auto* const i32_pos = i32(pos);
        launch("kv_store", [=, this] {
            return kern::kv_store(L, kl, vl, f32_k, k.row_stride, f32_v, v.row_stride, int(k.rows), i32_pos, stream_);
        });
    }

    void attention(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, int n_kv, float scale,
                   const Tensor& out) override {
        attend(q, kvb, layer, pos, nullptr, n_kv, scale, out);
    }
    // Over block tables: the decode kernel (one block per token and KV head; the prompt-tile kernel
    // shares K/V tiles between consecutive tokens, which a batch of sequences does not have), or on
    // sm_80+ the tensor-core kernel, which makes one pass per sequence present in its block.
    void attention_paged(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, const KvTables& tables, int n_kv,
                         float scale, const Tensor& out) override {
        attend(q, kvb, layer, pos, &tables, n_kv, scale, out);
    }
    void attend(const Tensor& q, const KvCache& kvb, int layer, const Tensor& pos, const KvTables* tables, int n_kv, float scale,
                const Tensor& out) {
        if (!begin("attention", {&q, &pos, &out})) return;
        if (tables && !begin("attention", {&tables->table, &tables->seq})) return;
        const auto& kv = static_cast<const CudaKvCache&>(kvb);
        const kern::KvLayout L = kv.layout();
        kern::AttnArgs a;
        a.q = f32(q);
        a.q_stride = q.row_stride;
        a.out = f32(out);
        a.out_stride = out.row_stride;
        a.n_tok = int(q.rows);
        a.n_head = int(q.cols / L.head_dim);
        a.pos = i32(pos);
        a.n_kv = n_kv;
        a.scale = scale;
        a.window = std::max(0, kv.desc().window_of(layer));
        if (tables) {
            a.table = i32(tables->table);
            a.seq = i32(tables->seq);
            a.tab_stride = int(tables->table.row_stride / 4);
        }
        // Tensor cores for prompts; over block tables only when the sequences bring 4+ tokens each on
        // average (the kernel shares K/V tiles between the tokens of one sequence).
        a.tensor_cores = attn_mma_ && (!tables || a.n_tok >= 4 * int(tables->table.rows));
        // Flash-decoding: when the kernel's blocks (per token and KV head, or per token and head for
        // k_attention) cannot fill the GPU, split the cells too. A local
        // layer's tokens see at most `window` cells, so that many are split.
        const int n_span = a.window > 0 ? std::min(n_kv, a.window) : n_kv;
        const int n_cells = std::max(32, (n_span + 31) / 32 * 32);
        int split = 1;
        const int blocks = kern::attention_blocks(L, a.n_tok, a.n_head, tables != nullptr, 2 * sm_count_);  // per split
        if (blocks < 2 * sm_count_ && n_span > 256)
            split = std::min((2 * sm_count_ + blocks - 1) / blocks, (n_span + 127) / 128);
        a.cells_per_split = ((n_cells + split - 1) / split + 31) / 32 * 32;
        a.n_split = (n_cells + a.cells_per_split - 1) / a.cells_per_split;
        if (a.n_split > 1) {
            a.partials = static_cast<float*>(scratch(attn_, kern::attention_partials_floats(L, a) * sizeof(float)));
            if (!a.partials) return;
            if (const size_t n = kern::attention_counters(L, a)) {
                a.counters = static_cast<unsigned*>(zeroed_scratch(attn_count_, n * sizeof(unsigned)));
                if (!a.counters) return;
            }
        }
        // Generation-size rows are the output projection's input next: their 8-bit form comes with
        // them (the decode kernel writes it; the shape rule is rms_norm_q8's and act_mul_q8's).
        const bool q8 = out.rows <= kMatvecMaxTokens && out.cols % 32 == 0;
        if (q8) {
            void* qs = scratch(q8a_, kern::q8_bytes(out.rows, out.cols));
            if (!qs) return;
            a.q8 = kern::q8_view(qs, out.rows, out.cols);
        }
        const uint8_t *kl = kv.k_layer(layer), *vl = kv.v_layer(layer);
        launch("attention", [=, this] { return kern::attention(L, kl, vl, a, stream_); });
        if (q8) q8_of_ = {a.out, out.row_stride, out.rows, out.cols, q8a_.p, q8a_.n};
    }

    void kv_shift(KvCache& kvb, int keep, int discard, int n_used, const RopeParams& p) override {
        if (!sticky_.ok()) return;
        cudaSetDevice(dev_);
        flush();
        auto& kv = static_cast<CudaKvCache&>(kvb);
        const kern::KvLayout L = kv.layout();
        const int count = n_used - keep - discard;
        if (discard <= 0 || count <= 0) return;
        if (p.freq_factors && !dptr(*p.freq_factors)) return fail("kv_shift: freq_factors is not in a CUDA buffer");
        const kern::RopeArgs a = rope_args(p);
        const size_t bytes = size_t(L.n_kv_head) * count * L.head_dim * (L.f16 ? 2 : 4);
        void* sk = scratch(shift_k_, bytes);
        void* sv = sk ? scratch(shift_v_, bytes) : nullptr;
        if (!sv) return;
        for (int l = 0; l < kv.desc().n_layer; ++l) {
            if (!check(kern::kv_gather_rotated(L, kv.k_layer(l), kv.v_layer(l), keep + discard, count, a, -float(discard), sk, sv,
                                               stream_), "kv_shift")) return;
            if (!check(kern::kv_scatter(L, kv.k_layer(l), kv.v_layer(l), keep, count, sk, sv, stream_), "kv_shift")) return;
        }
    }

    // One sequence's shift through its block table (read back to the host: a rare op). The moved
    // range is cut into pieces contiguous in both their source and their destination blocks (cuts
    // where either crosses a block boundary); each piece is gathered (rotated) into its own stretch
    // of the scratch, and only when every piece of the layer is gathered are they scattered, so a
    // destination never overwrites a source not yet read.
    void kv_shift_paged(KvCache& kvb, const Tensor& table, int keep, int discard, int n_used, const RopeParams& p) override {
        if (!sticky_.ok()) return;
        std::vector<int32_t> tab(size_t(table.cols));
        if (Status st = download(table, tab.data()); !st.ok()) return fail("kv_shift: " + st.message());
        cudaSetDevice(dev_);
        flush();
        auto& kv = static_cast<CudaKvCache&>(kvb);
        const kern::KvLayout L = kv.layout();
        const int count = n_used - keep - discard;
        if (discard <= 0 || count <= 0) return;
        if (keep < 0 || n_used > int(tab.size()) * 32) return fail("kv_shift: cells beyond the block table");
        if (p.freq_factors && !dptr(*p.freq_factors)) return fail("kv_shift: freq_factors is not in a CUDA buffer");
        const kern::RopeArgs a = rope_args(p);
        const size_t cell_bytes = size_t(L.n_kv_head) * L.head_dim * (L.f16 ? 2 : 4);
        uint8_t* sk = static_cast<uint8_t*>(scratch(shift_k_, cell_bytes * size_t(count)));
        uint8_t* sv = sk ? static_cast<uint8_t*>(scratch(shift_v_, cell_bytes * size_t(count))) : nullptr;
        if (!sv) return;
        const int src0 = keep + discard, dst0 = keep;
        auto phys = [&](int c) { return tab[size_t(c / 32)] * 32 + c % 32; };
        struct Piece { int j, n; };
        std::vector<Piece> pieces;
        for (int j = 0; j < count;) {
            const int n = std::min({count - j, 32 - (src0 + j) % 32, 32 - (dst0 + j) % 32});
            pieces.push_back({j, n});
            j += n;
        }
        for (int l = 0; l < kv.desc().n_layer; ++l) {
            for (const Piece& pc : pieces)
                if (!check(kern::kv_gather_rotated(L, kv.k_layer(l), kv.v_layer(l), phys(src0 + pc.j), pc.n, a, -float(discard),
                                                   sk + size_t(pc.j) * cell_bytes, sv + size_t(pc.j) * cell_bytes, stream_),
                           "kv_shift")) return;
            for (const Piece& pc : pieces)
                if (!check(kern::kv_scatter(L, kv.k_layer(l), kv.v_layer(l), phys(dst0 + pc.j), pc.n, sk + size_t(pc.j) * cell_bytes,
                                            sv + size_t(pc.j) * cell_bytes, stream_), "kv_shift")) return;
        }
    }

    void kv_copy(const KvCache& srcb, KvCache& dstb, int n) override {
        if (!sticky_.ok()) return;
        cudaSetDevice(dev_);
        flush();
        const auto& src = static_cast<const CudaKvCache&>(srcb);
        auto& dst = static_cast<CudaKvCache&>(dstb);
        for (int l = 0; l < src.desc().n_layer; ++l)
            if (!check(kern::kv_copy_layer(src.layout(), src.k_layer(l), src.v_layer(l), dst.k_layer(l), dst.v_layer(l), n, stream_),
                       "kv_copy")) return;
    }

    // The FFN's activation·up of generation-size rows feeds the down projection: write its 8-bit
    // form in the same kernel (as rms_norm does for q/k/v). False: not that shape, nothing launched.
    bool act_mul_q8(bool gelu, const Tensor& g, const Tensor& u, const Tensor& out, const float* f32_g, const float* f32_u,
                    float* f32_out) {
        if (out.rows > kMatvecMaxTokens || out.cols % 32 != 0) return false;
        void* qs = scratch(q8a_, kern::q8_bytes(out.rows, out.cols));
        if (!qs) return true;  // failed (reported)
        const kern::Q8View q = kern::q8_view(qs, out.rows, out.cols);
        launch(gelu ? "gelu_mul" : "silu_mul", [=, this] {
            return kern::act_mul_q8(gelu, f32_g, g.row_stride, f32_u, u.row_stride, g.rows, g.cols, f32_out, out.row_stride, q,
                                    stream_);
        });
        q8_of_ = {f32_out, out.row_stride, out.rows, out.cols, q8a_.p, q8a_.n};
        return true;
    }
    void silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) override {
        if (!begin("silu_mul", {&g, &u, &out})) return;
        auto* const f32_g = f32(g);
        auto* const f32_out = f32(out);
        auto* const f32_u = f32(u);
        if (act_mul_q8(false, g, u, out, f32_g, f32_u, f32_out)) return;
        launch("silu_mul", [=, this] {
            return kern::silu_mul(f32_g, g.row_stride, f32_u, u.row_stride, g.rows, g.cols, f32_out, out.row_stride, stream_);
        });
    }
    void gelu_mul(const Tensor& g, const Tensor& u, const Tensor& out) override {
        if (!begin("gelu_mul", {&g, &u, &out})) return;
        auto* const f32_g = f32(g);
        auto* const f32_out = f32(out);
        auto* const f32_u = f32(u);
        if (act_mul_q8(true, g, u, out, f32_g, f32_u, f32_out)) return;
        launch("gelu_mul", [=, this] {
            return kern::gelu_mul(f32_g, g.row_stride, f32_u, u.row_stride, g.rows, g.cols, f32_out, out.row_stride, stream_);
        });
    }
    void add_i32(const Tensor& x, int32_t v) override {
        if (!begin("add_i32", {&x})) return;
        if (x.type != GgmlType::I32) return fail("add_i32: the tensor is not I32");
        auto* const p = reinterpret_cast<int32_t*>(dptr(x));
        const int64_t n = x.rows * x.cols;
        launch("add_i32", [=, this] { return kern::add_i32(p, n, v, stream_); });
    }
    void scale(const Tensor& x, float s) override {
        if (!begin("scale", {&x})) return;
        auto* const f32_x = f32(x);
        launch("scale", [=, this] { return kern::scale(f32_x, x.row_stride, x.rows, x.cols, s, stream_); });
    }
    void add(const Tensor& a, const Tensor& b, const Tensor& out) override {
        if (!begin("add", {&a, &b, &out})) return;
        auto* const f32_a = f32(a);
        auto* const f32_b = f32(b);
        auto* const f32_out = f32(out);
        launch("add", [=, this] {
            return kern::add(f32_a, a.row_stride, f32_b, b.row_stride, a.rows, a.cols, f32_out, out.row_stride, stream_);
        });
    }
    void scale_add(const Tensor& y, const Tensor& x, float s) override {
        if (!begin("scale_add", {&y, &x})) return;
        auto* const f32_x = f32(x);
        auto* const f32_y = f32(y);
        launch("scale_add", [=, this] { return kern::scale_add(f32_y, y.row_stride, f32_x, x.row_stride, y.rows, y.cols, s, stream_); });
    }
    void add_rows_scaled(const Tensor& y, const Tensor& x, const Tensor& ids, const Tensor& w) override {
        if (!begin("add_rows_scaled", {&y, &x, &ids, &w})) return;
        auto* const f32_y = f32(y);
        auto* const f32_x = f32(x);
        auto* const f32_w = f32(w);
        auto* const i32_ids = i32(ids);
        launch("add_rows_scaled", [=, this] {
            return kern::add_rows_scaled(f32_y, y.row_stride, f32_x, x.row_stride, i32_ids, f32_w, x.rows, x.cols, stream_);
        });
    }
    void softmax_rows(const Tensor& x) override {
        if (!begin("softmax_rows", {&x})) return;
        auto* const f32_x = f32(x);
        launch("softmax_rows", [=, this] { return kern::softmax_rows(f32_x, x.row_stride, x.rows, x.cols, stream_); });
    }
    void copy(const Tensor& src, const Tensor& dst) override {
        if (!begin("copy", {&src, &dst})) return;
        auto* const f32_dst = f32(dst);
        auto* const f32_src = f32(src);
        launch("copy", [=, this] { return kern::copy_rows(f32_src, src.row_stride, src.rows, src.cols, f32_dst, dst.row_stride, stream_); });
    }

    // ---- the diffusion models' ops (kernels/diffusion.cu)
    void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        if (!begin("layer_norm", {&x, &weight, &bias, &y})) return;
        if (weight.type != GgmlType::F32 || bias.type != GgmlType::F32) return fail("layer_norm: weight and bias must be F32");
        if (weight.cols < x.cols || bias.cols < x.cols || y.rows != x.rows || y.cols != x.cols)
            return fail("layer_norm: shapes of x, weight, bias and y do not match");
        auto* const f32_x = f32(x);
        auto* const f32_w = f32(weight);
        auto* const f32_b = f32(bias);
        auto* const f32_y = f32(y);
        launch("layer_norm", [=, this] {
            return kern::layer_norm(f32_x, x.row_stride, x.rows, x.cols, f32_w, f32_b, eps, f32_y, y.row_stride, stream_);
        });
    }
    void activate(const Tensor& x, Activation act) override {
        if (!begin("activate", {&x})) return;
        auto* const f32_x = f32(x);
        launch("activate", [=, this] { return kern::activate(f32_x, x.row_stride, x.rows, x.cols, int(act), stream_); });
    }
    void attention_qkv(const Tensor& q, const Tensor& k, const Tensor& v, int n_head, float scale, bool causal,
                       const Tensor& out) override {
        if (!begin("attention_qkv", {&q, &k, &v, &out})) return;
        if (n_head <= 0 || q.cols % n_head != 0) return fail("attention_qkv: " + std::to_string(q.cols) + " columns do not split into " + std::to_string(n_head) + " heads");
        const int d = int(q.cols / n_head);
        if (d > kern::kAttnMaxDim) return fail("attention_qkv: head size " + std::to_string(d) + " is above the " + std::to_string(kern::kAttnMaxDim) + " the kernel supports");
        if (k.cols != q.cols || v.cols != q.cols || v.rows != k.rows || out.rows != q.rows || out.cols != q.cols)
            return fail("attention_qkv: shapes of q, k, v and out do not match");
        if (causal && k.rows != q.rows) return fail("attention_qkv: causal attention needs as many keys as queries");
        auto* const f32_q = f32(q);
        auto* const f32_k = f32(k);
        auto* const f32_v = f32(v);
        auto* const f32_out = f32(out);
        launch("attention_qkv", [=, this] {
            return kern::attention_qkv(f32_q, q.row_stride, f32_k, k.row_stride, f32_v, v.row_stride, q.rows, k.rows, n_head, d, scale,
                                       causal, f32_out, out.row_stride, stream_);
        });
    }
    // im2col of a band of output pixels into a work buffer, then the matmul path (matvec or cuBLAS,
    // F32 or F16 weights) on it: one GEMM implementation. A 1×1 stride-1 convolution is the matmul.
    void conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dGeometry& g, const Tensor& y) override {
        if (!begin("conv2d", {&x, &w, bias, &y})) return;
        const int64_t cin = x.cols, kc = int64_t(g.kernel) * g.kernel * cin;
        const int64_t oh = g.out_height(), ow = g.out_width(), n_out = oh * ow;
        if (g.kernel <= 0 || g.stride <= 0 || g.pad < 0 || oh <= 0 || ow <= 0 || x.rows != int64_t(g.height) * g.width)
            return fail("conv2d: bad geometry for " + std::to_string(x.rows) + " input pixels");
        if (w.cols != kc || y.rows != n_out || y.cols != w.rows || (bias && bias->cols < w.rows))
            return fail("conv2d: shapes of x, w, bias and y do not match the geometry");
        if (w.type != GgmlType::F32 && w.type != GgmlType::F16) return fail("conv2d: kernel type " + tname(w.type) + " is not F32 or F16");
        if (g.kernel == 1 && g.stride == 1 && g.pad == 0) return matmul(w, x, y, bias);
        // Bands of at most kConvBandBytes of im2col rows (the matmul reads them as activations).
        const int64_t band = std::max<int64_t>(1, std::min<int64_t>(n_out, int64_t(conv_band_bytes_ / (size_t(kc) * 4))));
        const size_t need = size_t(band) * size_t(kc) * 4;
        if (!col_buf_ || col_buf_->size() < need) {
            col_buf_.reset();
            auto b = alloc_impl(need, BufferUsage::Activations, /*zero=*/false);
            if (!b.ok()) return fail("conv2d: " + b.message());
            col_buf_ = *b;
        }
        auto* const f32_x = f32(x);
        float* const col = f32(make_tensor(col_buf_.get(), 0, GgmlType::F32, band, kc));
        for (int64_t p0 = 0; p0 < n_out; p0 += band) {
            const int64_t n = std::min(band, n_out - p0);
            launch("conv2d (im2col)", [=, this] {
                return kern::im2col(f32_x, x.row_stride, cin, g.height, g.width, g.kernel, g.stride, g.pad, int(ow), p0, n, col, stream_);
            });
            q8_of_ = x16_of_ = {};  // the band's new rows replace the ones the previous matmul converted
            const Tensor cols = make_tensor(col_buf_.get(), 0, GgmlType::F32, n, kc);
            matmul(w, cols, y.row_range(p0, n), bias);
            if (!sticky_.ok()) return;
        }
    }
    void group_norm(const Tensor& x, int n_groups, const Tensor& weight, const Tensor& bias, float eps, const Tensor& y) override {
        if (!begin("group_norm", {&x, &weight, &bias, &y})) return;
        if (n_groups <= 0 || x.cols % n_groups != 0)
            return fail("group_norm: " + std::to_string(x.cols) + " channels do not split into " + std::to_string(n_groups) + " groups");
        if (weight.type != GgmlType::F32 || bias.type != GgmlType::F32 || weight.cols < x.cols || bias.cols < x.cols ||
            y.rows != x.rows || y.cols != x.cols)
            return fail("group_norm: shapes or types of x, weight, bias and y do not match");
        auto* const f32_x = f32(x);
        auto* const f32_w = f32(weight);
        auto* const f32_b = f32(bias);
        auto* const f32_y = f32(y);
        launch("group_norm", [=, this] {
            return kern::group_norm(f32_x, x.row_stride, x.rows, x.cols, n_groups, f32_w, f32_b, eps, f32_y, y.row_stride, stream_);
        });
    }
    void upsample_nearest(const Tensor& x, int height, int width, int out_height, int out_width, const Tensor& y) override {
        if (!begin("upsample_nearest", {&x, &y})) return;
        if (height <= 0 || width <= 0 || out_height <= 0 || out_width <= 0 || x.rows != int64_t(height) * width ||
            y.rows != int64_t(out_height) * out_width || y.cols != x.cols)
            return fail("upsample_nearest: shapes of x and y do not match the sizes");
        auto* const f32_x = f32(x);
        auto* const f32_y = f32(y);
        launch("upsample_nearest", [=, this] {
            return kern::upsample_nearest(f32_x, x.row_stride, x.cols, height, width, out_height, out_width, f32_y, y.row_stride, stream_);
        });
    }
    void mul(const Tensor& a, const Tensor& b, const Tensor& out) override {
        if (!begin("mul", {&a, &b, &out})) return;
        if (b.rows != a.rows || b.cols != a.cols || out.rows != a.rows || out.cols != a.cols) return fail("mul: shapes do not match");
        auto* const f32_a = f32(a);
        auto* const f32_b = f32(b);
        auto* const f32_out = f32(out);
        launch("mul", [=, this] {
            return kern::mul(f32_a, a.row_stride, f32_b, b.row_stride, a.rows, a.cols, f32_out, out.row_stride, stream_);
        });
    }
    void concat_cols(const Tensor& a, const Tensor& b, const Tensor& out) override {
        if (!begin("concat_cols", {&a, &b, &out})) return;
        if (b.rows != a.rows || out.rows != a.rows || out.cols != a.cols + b.cols) return fail("concat_cols: shapes do not match");
        auto* const f32_a = f32(a);
        auto* const f32_b = f32(b);
        auto* const f32_out = f32(out);
        launch("concat_cols", [=, this] {
            return kern::concat_cols(f32_a, a.row_stride, a.cols, f32_b, b.row_stride, b.cols, a.rows, f32_out, out.row_stride, stream_);
        });
    }

    // Every op; get_rows and matmul for the types their kernels dispatch (kernels.h's
    // is_quantized_weight / is_float_weight, the checks the two ops make): no Q2_K/Q3_K, Q8_1/Q8_K.
    bool supports_op(Op op, GgmlType type) const override {
        if (op == Op::GetRows || op == Op::Matmul || op == Op::MatmulAdd)
            return kern::is_quantized_weight(type) || kern::is_float_weight(type);
        return true;
    }

    // Top-k / greedy on the device (kernels/sample.cu); only `out` is written. Not recorded into a
    // graph: the uniform numbers change every call, so the forward pass recorded so far runs first
    // (flush) and the two sampling kernels are launched directly after it.
    Status sample_top_k(const Tensor& logits, int k, float temperature, const std::vector<double>& u, const Tensor& out) override {
        if (logits.type != GgmlType::F32 || out.type != GgmlType::I32 || out.cols < logits.rows || logits.cols <= 0)
            return make_error("sample_top_k: logits must be F32 rows and out an I32 row with one id per logits row");
        if (k < 1 || k > kMaxDeviceTopK) return make_error("sample_top_k: k must be between 1 and " + std::to_string(kMaxDeviceTopK));
        if (k > 1 && !(temperature > 0.0f)) return make_error("sample_top_k: temperature must be positive");
        if (k > 1 && u.size() < size_t(logits.rows)) return make_error("sample_top_k: one uniform number per row is needed");
        if (logits.rows > 65535) return make_error("sample_top_k: at most 65535 rows at a time");
        if (logits.cols > INT32_MAX) return make_error("sample_top_k: rows longer than 2^31 logits");
        HEARTH_RETURN_IF_ERROR(sticky());
        cudaSetDevice(dev_);
        if (!dptr(logits) || !dptr(out)) return make_error("CUDA sample_top_k: a tensor is not in a buffer of this CUDA backend");
        flush();
        void* lists = scratch(topk_, kern::sample_top_k_scratch_bytes(logits.rows, logits.cols));
        double* du = nullptr;
        if (lists && k > 1) {
            du = static_cast<double*>(scratch(topk_u_, size_t(logits.rows) * sizeof(double)));
            // Pageable source: the runtime has copied it out when the call returns, so `u` may go.
            if (du) check(cudaMemcpyAsync(du, u.data(), size_t(logits.rows) * sizeof(double), cudaMemcpyHostToDevice, stream_),
                          "sample_top_k (uniform numbers)");
        }
        if (sticky_.ok())
            check(kern::sample_top_k(f32(logits), logits.row_stride, logits.rows, logits.cols, k, temperature, du, lists,
                                     reinterpret_cast<int32_t*>(dptr(out)), stream_),
                  "sample_top_k");
        return sticky();
    }

private:
    CudaBackend() = default;

    // Quantized weights are read in the packed layout (kernels/packed_unit.h). A buffer is repacked
    // in place on the first op that reads it as a quantized matrix: the whole buffer (one imported
    // tensor, or the rows of a fused matrix), a slab at a time through work memory. It runs at once,
    // outside any recorded graph, and only once per buffer.
    bool ensure_packed(const Tensor& w, const char* op) {
        auto* b = dynamic_cast<CudaBuffer*>(w.buf);
        if (!b || !b->ptr()) return true;  // begin() has reported it
        if (b->packed_type == int(w.type) && b->packed_stride == w.row_stride) return true;
        const std::string what = std::string(op) + ": " + tname(w.type) + " weights";
        if (b->packed_type != -1) {
            fail(what + " share a buffer already packed as " + tname(GgmlType(b->packed_type)) + " rows; one buffer holds one weight type");
            return false;
        }
        if (w.row_stride != row_bytes(w.type, w.cols) || b->size() % w.row_stride != 0) {
            fail(what + ": the buffer (" + std::to_string(b->size()) + " bytes) is not whole rows of " + std::to_string(w.row_stride) +
                 " bytes, so it cannot be repacked");
            return false;
        }
        flush();
        if (!repack_device(static_cast<uint8_t*>(b->ptr()), w.type, w.row_stride, int64_t(b->size() / w.row_stride), w.cols, true))
            return false;
        b->packed_type = int(w.type);
        b->packed_stride = w.row_stride;
        return true;
    }
    // Rows at p repacked in place (to_packed) or unpacked, a slab of at most kGemmSlabBytes at a time.
    bool repack_device(uint8_t* p, GgmlType t, size_t stride, int64_t rows, int64_t cols, bool to_packed) {
        const int64_t slab = std::max<int64_t>(1, int64_t(kGemmSlabBytes / stride));
        void* tmp = scratch(w16_, size_t(std::min(slab, rows)) * stride);
        if (!tmp) return false;
        for (int64_t r0 = 0; r0 < rows; r0 += slab) {
            const int64_t nr = std::min(slab, rows - r0);
            uint8_t* at = p + size_t(r0) * stride;
            if (!check(cudaMemcpyAsync(tmp, at, size_t(nr) * stride, cudaMemcpyDeviceToDevice, stream_), "weight repack")) return false;
            if (!check(kern::repack_rows(t, tmp, at, stride, nr, cols, to_packed, stream_), "weight repack")) return false;
        }
        // Done before the next launch: under PDL a matvec loads its weights before pdl_wait(), so
        // it must never follow the kernel that writes them (once per buffer, outside any graph).
        return check(cudaStreamSynchronize(stream_), "weight repack");
    }

    static bool overlaps(const Tensor& a, const Tensor& b) {
        const uint8_t *pa = dptr(a), *pb = dptr(b);
        if (!pa || !pb) return false;
        return pa < pb + b.bytes() && pb < pa + a.bytes();
    }
    static uint8_t* dptr(const Tensor& t) {
        auto* b = dynamic_cast<CudaBuffer*>(t.buf);
        return b && b->ptr() ? static_cast<uint8_t*>(b->ptr()) + t.offset : nullptr;
    }
    static float* f32(const Tensor& t) { return reinterpret_cast<float*>(dptr(t)); }
    static const int32_t* i32(const Tensor& t) { return reinterpret_cast<const int32_t*>(dptr(t)); }

    // One quantized weight's product for kern::matvec_quant.
    static kern::MatvecOut matvec_out(const Tensor& w, const Tensor& y, const Tensor* bias) {
        return {dptr(w), w.row_stride, w.rows, f32(y), y.row_stride, bias ? f32(*bias) : nullptr};
    }
    // Which of the two 8-bit scratches the last 8-bit form went to: a matvec reads its input from
    // one, and the gate/up launch writes its output's form to the other while blocks still read.
    Scratch& q8_holding() { return q8_of_.scratch && q8_of_.scratch == q8b_.p && q8_of_.scratch_n == q8b_.n ? q8b_ : q8a_; }
    Scratch& q8_other(const Scratch& s) { return &s == &q8a_ ? q8b_ : q8a_; }

    // Products of quantized weights of type t (packed, cols == x.cols) over x's 8-bit form, in one
    // launch: x is quantized into an 8-bit scratch first unless that scratch already holds it (the
    // previous quantized product's input — q/k/v, gate/up — or the output of the fused RMSNorm,
    // attention or activation). With `glu` (gate and up: outs[0], outs[1]) the launch also writes
    // out = act(gate) · up and its 8-bit form, into the other scratch (matmul_glu).
    struct GluTo {
        const Tensor* out;
        bool gelu;
    };
    void matvec_q8(const Tensor& x, GgmlType t, const kern::MatvecOut* outs, int n, bool accumulate, const GluTo* glu = nullptr) {
        const int nt = int(x.rows);
        Scratch& in = q8_holding();
        void* qs = scratch(in, kern::q8_bytes(nt, x.cols));
        if (!qs) return;
        const kern::Q8View q = kern::q8_view(qs, nt, x.cols);
        std::array<kern::MatvecOut, kern::kMatvecMaxParts> parts{};
        std::copy(outs, outs + n, parts.begin());
        auto* const f32_x = f32(x);
        const int64_t cols = x.cols;
        const Q8Of now{f32_x, x.row_stride, x.rows, x.cols, in.p, in.n};
        const bool quantized = q8_of_ == now;
        kern::MatvecGlu g;  // the GLU launch's epilogue (unused by a plain one)
        Q8Of after = now;  // what the 8-bit scratches hold after the launch
        if (glu) {
            const Tensor& o = *glu->out;
            Scratch& to = q8_other(in);
            void* os = scratch(to, kern::q8_bytes(o.rows, o.cols));
            auto* counters = os ? static_cast<unsigned*>(zeroed_scratch(glu_count_, size_t(o.cols / 32) * sizeof(unsigned))) : nullptr;
            if (!counters) return;  // (growing them leaves `in` where it is)
            g.out = f32(o);
            g.out_stride = o.row_stride;
            g.q = kern::q8_view(os, o.rows, o.cols);
            g.counters = counters;
            g.gelu = glu->gelu;
            after = {g.out, o.row_stride, o.rows, o.cols, to.p, to.n};
        }
        const bool with_glu = glu != nullptr;
        launch("matvec", [=, this] {
            const cudaError_t e = quantized ? cudaSuccess : kern::quantize_q8(f32_x, x.row_stride, nt, cols, q, stream_);
            if (e != cudaSuccess) return e;
            return with_glu ? kern::matvec_quant_glu(t, parts[0], parts[1], cols, q, nt, g, stream_)
                            : kern::matvec_quant(t, parts.data(), n, cols, q, nt, accumulate, stream_);
        });
        q8_of_ = after;
    }

    // Common preamble of an op: skip after an earlier failure, select the device, check that every
    // tensor lives in a CUDA buffer (a tensor of another backend would be a host pointer here).
    bool begin(const char* op, std::initializer_list<const Tensor*> ts) {
        // Every op but matmul may write the input whose 8-bit form q8_of_ remembers (matmul checks
        // its own output).
        if (std::strcmp(op, "matmul") != 0) q8_of_ = x16_of_ = {};
        if (!sticky_.ok()) return false;
        cudaSetDevice(dev_);
        for (const Tensor* t : ts) {
            if (t && t->bytes() && !dptr(*t)) {
                fail(std::string(op) + ": a tensor is not in a buffer of this CUDA backend");
                return false;
            }
        }
        return true;
    }

    void fail(const std::string& msg) {
        if (sticky_.ok()) sticky_ = make_error("CUDA " + msg + " (on " + info_.name + ")");
    }
    void note(cudaError_t e, const char* what) {
        cudaGetLastError();
        if (e == cudaErrorMemoryAllocation) fail(std::string(what) + ": " + oom_text(e, 0, "work memory"));
        else fail(std::string(what) + ": " + error_text(e));
    }
    bool check(cudaError_t e, const char* what) {
        if (e == cudaSuccess) return true;
        note(e, what);
        return false;
    }
    // The first error since the last report; reported once, then cleared so the caller may go on.
    Status sticky() {
        Status s = sticky_;
        sticky_ = Status();
        return s;
    }

    // Grows `s` to at least `bytes` (stream-ordered: in-flight kernels keep the old block until done).
    void* scratch(Scratch& s, size_t bytes) {
        if (bytes <= s.n) return s.p;
        flush();  // recorded ops still refer to the old block
        if (s.p) steps_.forget(stream_);  // and so do the recorded passes
        const size_t want = std::max(bytes, s.n + s.n / 2);
        if (s.p) cudaFreeAsync(s.p, stream_);
        held_->scratch -= s.n;
        s.p = nullptr;
        s.n = 0;
        if (!within_cap(want)) {
            fail(cap_text(want, "work memory"));
            return nullptr;
        }
        if (cudaError_t e = cudaMallocAsync(&s.p, want, stream_); e != cudaSuccess) {
            cudaGetLastError();
            s.p = nullptr;
            fail(oom_text(e, want, "work memory"));
            return nullptr;
        }
        s.n = want;
        held_->scratch += want;
        return s.p;
    }

    // scratch() whose contents start at zero, for state its users return to zero (attention's split
    // counters): cleared whenever it is (re)allocated.
    void* zeroed_scratch(Scratch& s, size_t bytes) {
        const size_t before = s.n;
        void* p = scratch(s, bytes);
        if (p && s.n != before && !check(cudaMemsetAsync(p, 0, s.n, stream_), "clearing work memory")) return nullptr;
        return p;
    }

    std::string oom_text(cudaError_t e, size_t bytes, const char* what) {
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        cudaGetLastError();
        std::string m = e == cudaErrorMemoryAllocation ? "out of GPU memory" : error_text(e);
        if (bytes) m += " allocating " + mib(bytes) + " for " + what;
        return m + " (" + mib(free_b) + " free of " + mib(total_b) + " on " + info_.name + "; " + held_text() + ")";
    }
    std::string held_text() const {
        return "this backend holds " + mib(held_->weights) + " of weights, " + mib(held_->kv) + " of KV cache, " +
               mib(held_->activations) + " of activations, " + mib(held_->scratch) +
               " of work memory; use a smaller model, a shorter context or fewer GPU layers";
    }
    uint64_t held() const { return held_->total(); }
    bool within_cap(size_t bytes) const { return !mem_cap_ || held() + bytes <= mem_cap_; }
    std::string cap_text(size_t bytes, const char* what) const {
        return "out of GPU memory allocating " + mib(bytes) + " for " + what + " on " + info_.name + ": it would exceed the " +
               mib(mem_cap_) + " limit set by HEARTH_CUDA_MAX_MEMORY (" + held_text() + ")";
    }

    void refresh_memory_info() {
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
            info_.memory_free = free_b;
            info_.memory_total = total_b;
        } else {
            cudaGetLastError();
        }
    }

    kern::RopeArgs rope_args(const RopeParams& p) const {
        kern::RopeArgs a;
        a.mode_neox = p.mode == RopeMode::NeoX ? 1 : 0;
        a.head_dim = p.head_dim;
        a.n_dims = p.n_dims;
        a.freq_base = p.freq_base;
        a.freq_scale = p.freq_scale;
        a.ext_factor = p.ext_factor;
        if (p.ext_factor != 0.0f) {
            double dims[2];
            rope_math::yarn_corr_dims(p, dims);
            a.corr_low = float(dims[0]);
            a.corr_high = float(dims[1]);
        }
        a.magnitude = float(rope_math::magnitude(p));
        a.freq_factors = p.freq_factors ? reinterpret_cast<const float*>(dptr(*p.freq_factors)) : nullptr;
        return a;
    }

    // Prompt-sized products: cuBLAS on F16 (weights dequantized a slab of rows at a time), F32
    // accumulation; F32 weights use plain SGEMM so F32 models stay F32-exact.
    // beta 1: the product is added to y (matmul_add).
    void gemm(const Tensor& w, const Tensor& x, const Tensor& y, int n, float beta) {
        const float one = 1.0f;
        const int k = int(w.cols);
        const int ldc = int(y.row_stride / 4);
        if (w.type == GgmlType::F32) {
            const cublasStatus_t s = cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(w.rows), n, k, &one, f32(w),
                                                 int(w.row_stride / 4), f32(x), int(x.row_stride / 4), &beta, f32(y), ldc);
            blas_check(s);
            return;
        }
        void* x16 = scratch(x16_, size_t(n) * k * 2);
        if (!x16) return;
        // q/k/v and gate/up read the same input: it is converted to F16 once (x16_of_; any other op,
        // an upload, or a matmul writing over it forgets the conversion).
        const Q8Of now{f32(x), x.row_stride, n, k, x16_.p, x16_.n};
        if (!(x16_of_ == now)) {
            if (!check(kern::f32_to_f16_rows(f32(x), x.row_stride, n, k, x16, stream_), "matmul (activations to F16)")) return;
            x16_of_ = now;
        }
        if (w.type == GgmlType::F16 && w.row_stride % 2 == 0) {
            blas_check(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(w.rows), n, k, &one, dptr(w), CUDA_R_16F,
                                    int(w.row_stride / 2), x16, CUDA_R_16F, k, &beta, f32(y), CUDA_R_32F, ldc,
                                    CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
            return;
        }
        gemm_slabs(w, x16, y, n, beta);
    }
    // Quantized (or unaligned) weights: slab i is dequantized on slab_stream_ into buffer i % 2 while
    // stream_ multiplies slab i - 1. slab_ready_[b]: the dequantization into b is done (stream_ waits
    // before its GEMM); slab_used_[b]: the GEMM reading b is done (the dequantization of slab i + 2
    // waits before overwriting it). The side stream forks from stream_ (slab_fork_) and every piece of
    // its work is waited on by stream_, so the pair also stays valid inside a stream capture.
    void gemm_slabs(const Tensor& w, const void* x16, const Tensor& y, int n, float beta) {
        const float one = 1.0f;
        const int k = int(w.cols);
        const int ldc = int(y.row_stride / 4);
        const int64_t slab = std::max<int64_t>(64, int64_t(gemm_slab_bytes_ / (size_t(k) * 2)) / 64 * 64);
        const size_t slab_bytes = size_t(std::min<int64_t>(slab, w.rows)) * k * 2;
        auto* const w16 = static_cast<uint8_t*>(scratch(w16_, 2 * slab_bytes));
        if (!w16) return;
        if (!check(cudaEventRecord(slab_fork_, stream_), "matmul (slab stream)") ||
            !check(cudaStreamWaitEvent(slab_stream_, slab_fork_, 0), "matmul (slab stream)"))
            return;
        for (int64_t r0 = 0, i = 0; r0 < w.rows; r0 += slab, ++i) {
            const int b = int(i % 2);
            void* const buf = w16 + b * slab_bytes;
            const int64_t nr = std::min(slab, w.rows - r0);
            const Tensor part = w.row_range(r0, nr);
            if (i >= 2 && !check(cudaStreamWaitEvent(slab_stream_, slab_used_[b], 0), "matmul (slab stream)")) return;
            if (!check(kern::dequant_to_f16(w.type, dptr(part), w.row_stride, nr, k, buf, slab_stream_), "matmul (dequantize)") ||
                !check(cudaEventRecord(slab_ready_[b], slab_stream_), "matmul (slab stream)") ||
                !check(cudaStreamWaitEvent(stream_, slab_ready_[b], 0), "matmul (slab stream)"))
                return;
            if (!blas_check(cublasGemmEx(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(nr), n, k, &one, buf, CUDA_R_16F, k, x16,
                                         CUDA_R_16F, k, &beta, f32(y) + r0, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                                         CUBLAS_GEMM_DEFAULT))) return;
            if (!check(cudaEventRecord(slab_used_[b], stream_), "matmul (slab stream)")) return;
        }
    }
    // ---- whole forward passes as CUDA graphs (Backend::begin_step; the recorder: step_graphs.h)
    // The model asks for a pass by key before issuing its ops. A recorded pass is one graph launch;
    // otherwise the ops are kept as closures until end_step (captured there on the key's second
    // complete sight) or until a flush point inside the pass runs them (cut: not captured this time).
    // Outside a pass every op launches at once, as with graphs off.
    int max_step_tokens() const override { return graphs_ ? kMatvecMaxTokens : 0; }
    bool begin_step(uint64_t key) override {
        if (!graphs_ || steps_.recording() || !sticky_.ok()) return false;
        cudaSetDevice(dev_);
        if (const auto* g = steps_.find(key)) {
            // The ops after the pass see the backend as the recorded run left it.
            q8_of_ = check(cudaGraphLaunch(g->exec, stream_), "graph replay") ? g->state : Q8Of{};
            x16_of_ = {};  // the replay wrote activations without the ops that would forget their F16 form
            return true;
        }
        q8_of_ = {};  // the recorded decisions must not depend on what ran before the pass
        x16_of_ = {};
        steps_.begin(key);
        return false;
    }
    void end_step(bool complete) override {
        if (!steps_.recording()) return;
        cudaSetDevice(dev_);
        steps_.end(complete && sticky_.ok(), stream_, q8_of_, checker());
        release_deferred();
    }
    void forget_steps() override {
        cudaSetDevice(dev_);
        flush();
        steps_.forget(stream_);
    }
    StepStats step_stats() const override { return steps_.stats(); }

    StepCheck checker() {
        return [this](cudaError_t e, const char* what) { return check(e, what); };
    }

    // `f` enqueues one op's kernels. It captures device pointers resolved at the call (never the
    // Buffer objects), since while a pass is recorded it runs at end_step or at a flush point.
    template <class F> void launch(const char* what, F&& f) {
        if (!steps_.capturing()) {
            check(f(), what);
            return;
        }
        if (steps_.empty()) {
            std::lock_guard<std::mutex> lock(held_->mu);
            held_->defer = true;  // from now until the ops run, dropped buffers are freed late
        }
        steps_.add(what, std::function<cudaError_t()>(std::forward<F>(f)));
    }

    // Runs what a pass being recorded has kept, before an operation that cannot be part of a graph.
    void flush() {
        if (!steps_.capturing()) return;
        steps_.cut(checker());
        release_deferred();
    }
    void release_deferred() {
        {
            std::lock_guard<std::mutex> lock(held_->mu);
            held_->defer = false;
        }
        held_->release_deferred();
    }

    bool blas_check(cublasStatus_t s) {
        if (s == CUBLAS_STATUS_SUCCESS) return true;
        fail(std::string("matmul: cuBLAS ") + cublasGetStatusName(s) + ": " + cublasGetStatusString(s));
        return false;
    }

    int dev_ = 0;
    int sm_count_ = 1;
    bool attn_mma_ = false;  // prompt attention on tensor cores (sm_80+)
    // sm_80+ runs prompt attention on tensor cores (kernels/attention_mma.cu), sm_75 the scalar tiled
    // kernel; HEARTH_CUDA_PREFILL_ATTN=tiled forces the tiled one (tests compare the two paths).
    static bool prompt_attention_on_tensor_cores(int cc_major) {
        const char* e = std::getenv("HEARTH_CUDA_PREFILL_ATTN");
        return cc_major >= 8 && !(e && std::string(e) == "tiled");
    }
    DeviceInfo info_;
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    cudaStream_t copy_ = nullptr;                    // weight uploads
    cudaEvent_t order_in_ = nullptr, order_out_ = nullptr;  // compute → copy, copy → compute
    cudaStream_t slab_stream_ = nullptr;  // prompt GEMMs: the next weight slab's dequantization (gemm_slabs)
    cudaEvent_t slab_fork_ = nullptr, slab_ready_[2] = {nullptr, nullptr}, slab_used_[2] = {nullptr, nullptr};
    size_t gemm_slab_bytes_ = kGemmL2SlabBytes;
    void* staging_[2] = {nullptr, nullptr};
    cudaEvent_t staged_[2] = {nullptr, nullptr};
    Scratch q8a_, q8b_, glu_count_, x16_, w16_, attn_, attn_count_, shift_k_, shift_v_, topk_, topk_u_;
    BufferPtr col_buf_;  // conv2d's im2col band (a Buffer, so the band is a Tensor matmul takes)
    size_t conv_band_bytes_ = kConvBandBytes;
    // Which activations an 8-bit scratch (q8a_ or q8b_) holds in 8-bit form (all zero: none). Ops are recorded in
    // order, so in graph mode the same decisions hold when a step is replayed.
    struct Q8Of {
        const void* x = nullptr;
        size_t stride = 0;
        int64_t rows = 0, cols = 0;
        const void* scratch = nullptr;  // the scratch block and size it was written to (a regrown block lost it)
        size_t scratch_n = 0;
        bool operator==(const Q8Of& o) const {
            return x && x == o.x && stride == o.stride && rows == o.rows && cols == o.cols && scratch == o.scratch &&
                   scratch_n == o.scratch_n;
        }
    } q8_of_;
    Q8Of x16_of_;  // the same for the F16 form of a prompt GEMM's input in x16_
    // Whether writing t may change the activations a saved form (8-bit or F16) was made from.
    static bool writes_saved(const Tensor& t, const Q8Of& s) {
        const uint8_t* p = dptr(t);
        if (!p || !s.x || s.rows <= 0) return false;
        const auto* q = static_cast<const uint8_t*>(s.x);
        return p < q + size_t(s.rows - 1) * s.stride + size_t(s.cols) * 4 && q < p + t.bytes();
    }
    // Whole forward passes recorded and replayed as CUDA graphs (HEARTH_CUDA_GRAPHS=0: never).
    // run-gpu-checks.sh reads the default from this line's marker.
    bool graphs_ = true; // default
    StepGraphs<Q8Of> steps_;
    bool print_step_stats_ = false;  // HEARTH_CUDA_SIM_STATS=1: the recorder's counters at exit
    Status sticky_;
    HeldPtr held_ = std::make_shared<HeldBytes>();
    uint64_t mem_cap_ = 0;  // HEARTH_CUDA_MAX_MEMORY, 0 = none
};

}  // namespace

Result<std::unique_ptr<Backend>> create_backend(int device, const BackendOptions&) {
    const DeviceList list = list_devices();
    for (const auto& d : list.devices)
        if (d.index == device) return CudaBackend::create(device, d);
    std::string why = list.devices.empty() ? "there are no usable CUDA devices" : "there is no usable CUDA device " + std::to_string(device);
    for (const auto& n : list.notes) why += "; " + n;
    return make_error("CUDA: " + why);
}

}  // namespace hearth::cuda
