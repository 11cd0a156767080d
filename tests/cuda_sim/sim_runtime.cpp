// The part of the CUDA runtime API that engine/backend/cuda uses, for the simulator: one device
// ("Hearth CUDA simulator (CPU)", compute capability 9.0, 132 SMs so the backend plans its H200
// grids and splits), device memory = host memory, and stream capture records work into a graph that
// cudaGraphLaunch replays. Streams are as lazy as CUDA allows, to expose missing synchronization:
// work queued on a stream runs only when something waits for it (cudaStreamSynchronize, an event
// synchronized or waited for by another stream, cudaFree, a copy into pageable host memory), so a
// stream that reads what another one writes without an event, or a host that reuses a pinned
// buffer a queued copy still reads, sees the wrong data here as it might on a GPU. Copies from
// pageable host memory take their data at the call, as CUDA's do. Errors
// follow CUDA's rules: a failed kernel leaves a sticky cudaErrorLaunchFailure that every later call
// returns; a bad launch configuration is an ordinary error that cudaGetLastError clears.
// Device memory is capped by HEARTH_CUDA_SIM_MEMORY (bytes, default 4 GiB) so out-of-memory paths run.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tests/cuda_sim/sim_scheduler.h"

struct CUstream_st {
    std::vector<std::function<void()>>* capture = nullptr;  // set between Begin/EndCapture
    bool invalidated = false;  // an unsafe call happened during the capture (EndCapture fails)
    std::deque<std::function<void()>> queue;  // enqueued, not yet run
    uint64_t executed = 0;
    uint64_t enqueued() const { return executed + queue.size(); }
};
struct CUevent_st {
    cudaStream_t stream = nullptr;  // where it was last recorded (null: never, or on the null stream)
    uint64_t seq = 0;               // that stream's work before the record
};
struct CUgraph_st {
    std::vector<std::function<void()>> ops;
};
struct CUgraphExec_st {
    std::vector<std::function<void()>> ops;
};

namespace hearth::cuda_sim {

namespace {

constexpr int kDriverVersion = 13000;

std::recursive_mutex g_mu;  // one host thread at a time in the "device"
cudaError_t g_last = cudaSuccess, g_sticky = cudaSuccess;
std::unordered_map<void*, size_t> g_allocs;
size_t g_used = 0;
std::map<const char*, size_t> g_pinned;  // cudaMallocHost blocks: start -> size
std::vector<cudaStream_t> g_streams;     // alive (created, not destroyed)
std::vector<cudaStream_t> g_capturing;  // in capture (cudaStreamCaptureModeThreadLocal: this thread's)

bool is_pinned(const void* p) {
    auto it = g_pinned.upper_bound(static_cast<const char*>(p));
    if (it == g_pinned.begin()) return false;
    --it;
    return static_cast<const char*>(p) < it->first + it->second;
}

// Runs stream s's queued work until `seq` items of it have run.
void run_until(cudaStream_t s, uint64_t seq) {
    while (s->executed < seq && !s->queue.empty()) {
        auto op = std::move(s->queue.front());
        s->queue.pop_front();
        ++s->executed;
        op();  // may run other streams' work first (an event wait)
    }
}
void run_stream(cudaStream_t s) { run_until(s, s->enqueued()); }
void run_all() {
    for (size_t i = 0; i < g_streams.size(); ++i) run_stream(g_streams[i]);
}
// Runs what was queued before event e was recorded, unless its stream has been destroyed (then it ran).
void run_until_event(cudaStream_t s, uint64_t seq) {
    if (s && std::find(g_streams.begin(), g_streams.end(), s) != g_streams.end()) run_until(s, seq);
}

// HEARTH_CUDA_SIM_STATS=1 prints what ran at exit (to see that a test took the path it means to).
struct Stats {
    uint64_t launches = 0, captured_launches = 0, graphs = 0, graph_launches = 0;
    ~Stats() {
        if (const char* v = std::getenv("HEARTH_CUDA_SIM_STATS"); v && *v == '1')
            std::fprintf(stderr, "cuda_sim: %llu kernel launches (%llu of them recorded into %llu graphs), %llu graph launches\n",
                         (unsigned long long)launches, (unsigned long long)captured_launches, (unsigned long long)graphs,
                         (unsigned long long)graph_launches);
    }
} g_stats;

// As CUDA does for a thread that is capturing: calls that would synchronize or allocate fail with
// cudaErrorStreamCaptureUnsupported and invalidate the capture.
bool capture_forbids(const char* what) {
    if (g_capturing.empty()) return false;
    std::fprintf(stderr, "cuda_sim: %s during stream capture (not allowed; the capture is invalidated)\n", what);
    for (cudaStream_t s : g_capturing) s->invalidated = true;
    g_last = cudaErrorStreamCaptureUnsupported;
    return true;
}
#define SIM_NOT_IN_CAPTURE(what) \
    if (capture_forbids(what)) return cudaErrorStreamCaptureUnsupported

size_t memory_total() {
    static const size_t total = [] {
        const char* v = std::getenv("HEARTH_CUDA_SIM_MEMORY");
        return v && *v ? size_t(std::strtoull(v, nullptr, 10)) : size_t(4) << 30;
    }();
    return total;
}

cudaError_t set(cudaError_t e) {
    if (e != cudaSuccess) g_last = e;
    return e;
}
// The sticky error, if any, is what every call returns (as on a device whose context is lost).
#define SIM_ENTER()                                  \
    std::lock_guard<std::recursive_mutex> lock(g_mu); \
    if (g_sticky != cudaSuccess) return g_sticky

void* device_alloc(size_t bytes, cudaError_t& err) {
    if (g_used + bytes > memory_total()) {
        err = cudaErrorMemoryAllocation;
        return nullptr;
    }
    // 256-byte aligned like cudaMalloc; the size is kept exact so that a kernel's read past the end of
    // a buffer lands outside it (a sanitizer build reports it), not in padding.
    void* p = nullptr;
    if (posix_memalign(&p, 256, bytes ? bytes : 1) != 0) {
        err = cudaErrorMemoryAllocation;
        return nullptr;
    }
    g_allocs[p] = bytes;
    g_used += bytes;
    err = cudaSuccess;
    return p;
}

cudaError_t device_free(void* p) {
    if (!p) return cudaSuccess;
    auto it = g_allocs.find(p);
    if (it == g_allocs.end()) return set(cudaErrorInvalidValue);
    g_used -= it->second;
    g_allocs.erase(it);
    std::free(p);
    return cudaSuccess;
}

}  // namespace

void enqueue(cudaStream_t s, std::function<void()> op) {
    if (s && s->capture) {
        s->capture->push_back(std::move(op));
    } else if (s) {
        s->queue.push_back(std::move(op));
    } else {
        run_all();  // the null stream: after everything before it, and at once
        op();
    }
}

void submit(cudaStream_t s, const Launch& l) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    auto owned = std::shared_ptr<void>(l.closure, l.destroy);
    if (g_sticky != cudaSuccess) return;
    const uint64_t threads = uint64_t(l.block.x) * l.block.y * l.block.z;
    const bool bad = threads == 0 || threads > 1024 || l.block.z > 64 || l.grid.x == 0 || l.grid.y == 0 ||
                     l.grid.z == 0 || l.grid.x > 0x7fffffffu || l.grid.y > 65535 || l.grid.z > 65535 || l.smem > 48 * 1024;
    if (bad) {
        std::fprintf(stderr, "cuda_sim: %s: invalid launch configuration (grid %u×%u×%u, block %u×%u×%u)\n", l.name,
                     l.grid.x, l.grid.y, l.grid.z, l.block.x, l.block.y, l.block.z);
        set(cudaErrorInvalidConfiguration);
        return;
    }
    Launch copy = l;
    ++(s && s->capture ? g_stats.captured_launches : g_stats.launches);
    enqueue(s, [copy, owned]() {
        std::lock_guard<std::recursive_mutex> lock2(g_mu);
        if (g_sticky != cudaSuccess) return;
        const std::string err = run_launch(copy);
        if (!err.empty()) {
            std::fprintf(stderr, "cuda_sim: kernel failed: %s\n", err.c_str());
            g_sticky = g_last = cudaErrorLaunchFailure;
        }
    });
}

}  // namespace hearth::cuda_sim

using namespace hearth::cuda_sim;

cudaError_t cudaGetLastError() {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    const cudaError_t e = g_sticky != cudaSuccess ? g_sticky : g_last;
    g_last = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    return g_sticky != cudaSuccess ? g_sticky : g_last;
}

const char* cudaGetErrorName(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
        case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
        default: return "cudaError(simulator)";
    }
}
const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorLaunchFailure: return "unspecified launch failure (the simulator printed why)";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        default: return "error in the CUDA simulator";
    }
}

// A new context: the sticky error is gone (device memory is kept; nothing here needs it freed).
cudaError_t cudaDeviceReset() {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    g_sticky = g_last = cudaSuccess;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) { *v = kDriverVersion; return cudaSuccess; }
cudaError_t cudaRuntimeGetVersion(int* v) { *v = kDriverVersion; return cudaSuccess; }
cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
cudaError_t cudaSetDevice(int d) {
    SIM_ENTER();
    return d == 0 ? cudaSuccess : set(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
    SIM_ENTER();
    if (d != 0) return set(cudaErrorInvalidDevice);
    std::memset(p, 0, sizeof(*p));
    std::snprintf(p->name, sizeof(p->name), "Hearth CUDA simulator (CPU)");
    p->totalGlobalMem = memory_total();
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 132;
    p->warpSize = 32;
    p->maxThreadsPerBlock = 1024;
    p->sharedMemPerBlock = 48 * 1024;
    p->regsPerBlock = 65536;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7fffffff;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_b, size_t* total_b) {
    SIM_ENTER();
    *total_b = memory_total();
    *free_b = memory_total() - g_used;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
    SIM_ENTER();
    SIM_NOT_IN_CAPTURE("cudaMalloc");
    cudaError_t e;
    *p = device_alloc(bytes, e);
    return set(e);
}
cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t s) {
    SIM_ENTER();
    if (s && s->capture) return set(cudaErrorStreamCaptureUnsupported);  // graph memory nodes are not simulated
    cudaError_t e;
    *p = device_alloc(bytes, e);
    return set(e);
}
cudaError_t cudaFree(void* p) {
    SIM_ENTER();
    SIM_NOT_IN_CAPTURE("cudaFree");
    run_all();  // cudaFree waits for the device
    return device_free(p);
}
cudaError_t cudaFreeAsync(void* p, cudaStream_t s) {
    SIM_ENTER();
    if (s && s->capture) return set(cudaErrorStreamCaptureUnsupported);
    if (!s) {
        run_all();
        return device_free(p);
    }
    enqueue(s, [p]() { device_free(p); });  // stream-ordered: after the work queued before it
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void** p, size_t bytes) {
    SIM_ENTER();
    SIM_NOT_IN_CAPTURE("cudaMallocHost");
    *p = std::malloc(bytes);
    if (!*p) return set(cudaErrorMemoryAllocation);
    g_pinned[static_cast<const char*>(*p)] = bytes;
    return cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    run_all();  // as cudaFreeHost, which waits for the copies that read it
    g_pinned.erase(static_cast<const char*>(p));
    std::free(p);
    return cudaSuccess;
}

// Host memory here is pinned (cudaMallocHost) or pageable. From pageable memory CUDA stages the data
// before it returns; into pageable memory it returns when the copy is done. Pinned memory is read
// and written when the copy runs.
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
    SIM_ENTER();
    const bool from_host = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyHostToHost;
    const bool to_host = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyHostToHost;
    if (from_host && !is_pinned(src) && !(s && s->capture)) {
        auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(src), static_cast<const char*>(src) + n);
        enqueue(s, [dst, staged]() { std::memcpy(dst, staged->data(), staged->size()); });
    } else {
        enqueue(s, [=]() { std::memcpy(dst, src, n); });
    }
    if (to_host && !is_pinned(dst) && s && !s->capture) run_stream(s);
    return g_sticky;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind k) { return cudaMemcpyAsync(dst, src, n, k, nullptr); }
cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t s) {
    SIM_ENTER();
    enqueue(s, [=]() { std::memset(p, v, n); });
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    *s = new CUstream_st;
    g_streams.push_back(*s);
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    run_stream(s);  // CUDA finishes a destroyed stream's work
    std::erase(g_streams, s);
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    SIM_ENTER();
    SIM_NOT_IN_CAPTURE("cudaStreamSynchronize");
    if (s) run_stream(s);
    else run_all();
    return g_sticky;
}
cudaError_t cudaDeviceSynchronize() {
    SIM_ENTER();
    SIM_NOT_IN_CAPTURE("cudaDeviceSynchronize");
    run_all();
    return g_sticky;
}
// s waits for the work queued on e's stream before e was recorded (as it stood at this call).
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned int) {
    SIM_ENTER();
    if (!e->stream) return cudaSuccess;
    const cudaStream_t src = e->stream;
    const uint64_t seq = e->seq;
    enqueue(s, [src, seq]() { run_until_event(src, seq); });
    return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned int) {
    *e = new CUevent_st;
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    std::lock_guard<std::recursive_mutex> lock(g_mu);
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    SIM_ENTER();
    if (s && s->capture) return set(cudaErrorStreamCaptureUnsupported);  // event nodes are not simulated
    e->stream = s;
    e->seq = s ? s->enqueued() : 0;
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    SIM_ENTER();
    SIM_NOT_IN_CAPTURE("cudaEventSynchronize");
    run_until_event(e->stream, e->seq);
    return g_sticky;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
    SIM_ENTER();
    if (!s || s->capture) return set(cudaErrorInvalidValue);
    s->capture = new std::vector<std::function<void()>>;
    s->invalidated = false;
    g_capturing.push_back(s);
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* g) {
    SIM_ENTER();
    if (!s || !s->capture) return set(cudaErrorInvalidValue);
    std::erase(g_capturing, s);
    const bool ok = !s->invalidated;
    *g = ok ? new CUgraph_st{std::move(*s->capture)} : nullptr;
    delete s->capture;
    s->capture = nullptr;
    return ok ? cudaSuccess : set(cudaErrorStreamCaptureInvalidated);
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* e, cudaGraph_t g, unsigned long long) {
    SIM_ENTER();
    *e = new CUgraphExec_st{g->ops};
    ++g_stats.graphs;
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) {
    SIM_ENTER();
    ++g_stats.graph_launches;
    for (const auto& op : e->ops) enqueue(s, op);
    return g_sticky;
}
cudaError_t cudaGraphGetNodes(cudaGraph_t g, cudaGraphNode_t* nodes, size_t* n) {
    SIM_ENTER();
    if (!g || !n || nodes) return set(cudaErrorInvalidValue);  // only the count is simulated
    *n = g->ops.size();
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
    delete e;
    return cudaSuccess;
}
