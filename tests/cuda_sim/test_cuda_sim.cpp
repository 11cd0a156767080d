// The CUDA simulator itself: its collectives against CUDA's definitions, shared memory between
// barriers, the failures it must report instead of hanging or passing (divergent barriers, a warp
// collective naming an exited lane, a bad launch configuration), stream capture and replay, and the
// cuBLAS GEMM against the column-major definition. Everything the CUDA kernel tests conclude on this
// machine rests on these.
#include "tests/cuda_sim/cuda_sim.h"

#include <cublas_v2.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/common.cuh"

namespace {

using hearth::kern::block_sum;

// out[t * 8 + i]: the i-th collective's result in thread t.
__global__ void k_collectives(int* out) {
    const int t = threadIdx.x, lane = t % 32;
    const int v = 1000 * (t / 32) + lane;
    int* o = out + t * 8;
    o[0] = __shfl_sync(0xffffffffu, v, (lane * 7 + 3) % 32);
    o[1] = __shfl_xor_sync(0xffffffffu, v, 5);
    o[2] = __shfl_up_sync(0xffffffffu, v, 2);
    o[3] = __shfl_down_sync(0xffffffffu, v, 3);
    o[4] = __shfl_xor_sync(0xffffffffu, v, 9, 8);   // width 8: a later group of 8 gives the own value
    o[5] = __shfl_up_sync(0xffffffffu, v, 3, 8);    // width 8: per segment of 8 lanes
    o[6] = int(__ballot_sync(0xffffffffu, lane % 3 == 0));
    o[7] = hearth::kern::warp_sum_int(lane);
}

TEST(CudaSim, WarpCollectivesFollowCudaDefinitions) {
    std::vector<int> out(64 * 8, -1);
    HEARTH_LAUNCH(1, 64, 0, nullptr, k_collectives)(out.data());
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    unsigned ballot = 0;
    for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
    for (int t = 0; t < 64; ++t) {
        const int lane = t % 32, base = 1000 * (t / 32);
        const int* o = &out[size_t(t) * 8];
        EXPECT_EQ(o[0], base + (lane * 7 + 3) % 32) << t;
        EXPECT_EQ(o[1], base + (lane ^ 5)) << t;
        EXPECT_EQ(o[2], base + (lane >= 2 ? lane - 2 : lane)) << t;
        EXPECT_EQ(o[3], base + (lane + 3 < 32 ? lane + 3 : lane)) << t;
        EXPECT_EQ(o[4], base + ((lane ^ 9) / 8 > lane / 8 ? lane : lane ^ 9)) << t;
        EXPECT_EQ(o[5], base + (lane % 8 >= 3 ? lane - 3 : lane)) << t;
        EXPECT_EQ(unsigned(o[6]), ballot) << t;
        EXPECT_EQ(o[7], 31 * 32 / 2) << t;
    }
}

// Each block sums its 256 values through shared memory (common.cuh's block_sum, two barriers).
__global__ void k_block_sums(const float* x, float* out) {
    __shared__ float red[32];
    const float s = block_sum(x[blockIdx.x * blockDim.x + threadIdx.x], red);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

TEST(CudaSim, SharedMemoryAndBarriersPerBlock) {
    const int blocks = 5, threads = 256;
    std::vector<float> x(size_t(blocks) * threads), out(blocks, -1.0f);
    std::iota(x.begin(), x.end(), 0.0f);
    HEARTH_LAUNCH(blocks, threads, 0, nullptr, k_block_sums)(x.data(), out.data());
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    for (int b = 0; b < blocks; ++b) {
        double want = 0;
        for (int i = 0; i < threads; ++i) want += x[size_t(b) * threads + size_t(i)];
        EXPECT_FLOAT_EQ(out[size_t(b)], float(want)) << b;
    }
}

// Half the warp waits at __syncthreads, the other half in a shuffle that needs the first half.
__global__ void k_divergent(int* out) {
    if (threadIdx.x < 16) __syncthreads();
    else out[threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x), 0);
}
// Lane 31 has returned when the others shuffle over the full mask.
__global__ void k_exited_lane(int* out) {
    if (threadIdx.x == 31) return;
    out[threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x), 31);
}

TEST(CudaSim, DivergentCollectivesFailTheLaunch) {
    std::vector<int> out(32, 0);
    for (auto run : {+[](int* o) { HEARTH_LAUNCH(1, 32, 0, nullptr, k_divergent)(o); },
                     +[](int* o) { HEARTH_LAUNCH(1, 32, 0, nullptr, k_exited_lane)(o); }}) {
        run(out.data());
        EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
        EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "a failed kernel leaves a sticky error";
        EXPECT_EQ(cudaDeviceReset(), cudaSuccess);
        EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    }
}

__global__ void k_add_one(int* p) { p[threadIdx.x] += 1; }

TEST(CudaSim, BadConfigurationIsAnOrdinaryError) {
    std::vector<int> v(64, 0);
    HEARTH_LAUNCH(1, 2048, 0, nullptr, k_add_one)(v.data());
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "cleared by reading it";
    EXPECT_EQ(v[0], 0) << "nothing ran";
    HEARTH_LAUNCH(dim3(1, 70000), 64, 0, nullptr, k_add_one)(v.data());
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
    HEARTH_LAUNCH(1, 64, 0, nullptr, k_add_one)(v.data());
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_EQ(v[63], 1);
}

TEST(CudaSim, CaptureRecordsAndGraphLaunchReplays) {
    cudaStream_t s = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
    int* d = nullptr;
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d), 32 * sizeof(int)), cudaSuccess);
    ASSERT_EQ(cudaMemsetAsync(d, 0, 32 * sizeof(int), s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);

    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    HEARTH_LAUNCH(1, 32, 0, s, k_add_one)(d);
    HEARTH_LAUNCH(1, 32, 0, s, k_add_one)(d);
    EXPECT_EQ(d[5], 0) << "captured work does not run";
    cudaGraph_t g = nullptr;
    ASSERT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
    cudaGraphExec_t e = nullptr;
    ASSERT_EQ(cudaGraphInstantiate(&e, g, 0), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(e, s), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(e, s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(d[5], 4);
    cudaGraphExecDestroy(e);
    cudaGraphDestroy(g);

    // An allocation while capturing is refused and spoils the capture, as on a GPU.
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, 64), cudaErrorStreamCaptureUnsupported);
    EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
    cudaGetLastError();
    cudaFree(d);
    cudaStreamDestroy(s);
}

// Work runs when something waits for it, so missing synchronization shows: an event orders two
// streams, a pinned buffer is read when the copy runs, a pageable one when the copy is issued.
TEST(CudaSim, StreamsRunOnlyWhenWaitedFor) {
    cudaStream_t a = nullptr, b = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&a, cudaStreamNonBlocking), cudaSuccess);
    ASSERT_EQ(cudaStreamCreateWithFlags(&b, cudaStreamNonBlocking), cudaSuccess);
    cudaEvent_t e = nullptr;
    ASSERT_EQ(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), cudaSuccess);
    int *d = nullptr, *pinned = nullptr;
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d), 64 * sizeof(int)), cudaSuccess);
    ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned), 32 * sizeof(int)), cudaSuccess);
    std::vector<int> pageable(32, 5), back(32, 0);
    for (int i = 0; i < 32; ++i) pinned[i] = 1;

    ASSERT_EQ(cudaMemcpyAsync(d, pinned, 32 * sizeof(int), cudaMemcpyHostToDevice, a), cudaSuccess);
    ASSERT_EQ(cudaMemcpyAsync(d + 32, pageable.data(), 32 * sizeof(int), cudaMemcpyHostToDevice, a), cudaSuccess);
    for (int i = 0; i < 32; ++i) pinned[i] = 2;  // before the copy ran: it sees 2 (on a GPU, 1 or 2)
    std::fill(pageable.begin(), pageable.end(), 6);  // pageable data was taken at the call: 5
    ASSERT_EQ(cudaEventRecord(e, a), cudaSuccess);
    ASSERT_EQ(cudaStreamWaitEvent(b, e, 0), cudaSuccess);
    HEARTH_LAUNCH(1, 64, 0, b, k_add_one)(d);
    ASSERT_EQ(cudaMemcpyAsync(back.data(), d + 16, 32 * sizeof(int), cudaMemcpyDeviceToHost, b), cudaSuccess);
    // Into pageable memory the copy has completed on return, after the event's work and the kernel.
    for (int i = 0; i < 16; ++i) EXPECT_EQ(back[size_t(i)], 3) << i;
    for (int i = 16; i < 32; ++i) EXPECT_EQ(back[size_t(i)], 6) << i;
    cudaFreeHost(pinned);
    cudaFree(d);
    cudaEventDestroy(e);
    cudaStreamDestroy(a);
    cudaStreamDestroy(b);
}

TEST(CudaSim, DeviceMemoryIsCapped) {
    size_t free_b = 0, total_b = 0;
    ASSERT_EQ(cudaMemGetInfo(&free_b, &total_b), cudaSuccess);
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, total_b + 1), cudaErrorMemoryAllocation);
    EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
    ASSERT_EQ(cudaMalloc(&p, 1 << 20), cudaSuccess);
    size_t free2 = 0;
    ASSERT_EQ(cudaMemGetInfo(&free2, &total_b), cudaSuccess);
    EXPECT_EQ(free_b - free2, size_t(1) << 20);
    cudaFree(p);
}

// C (m×n, column-major) = A^T B with A stored k×m and B k×n, as the backend calls it.
TEST(CudaSim, GemmFollowsTheColumnMajorDefinition) {
    const int m = 5, n = 3, k = 7, lda = 9, ldb = 8, ldc = 6;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> A(size_t(lda) * m), B(size_t(ldb) * n), C(size_t(ldc) * n, 7.0f), C16(C);
    for (auto& x : A) x = u(rng);
    for (auto& x : B) x = u(rng);
    std::vector<__half> A16(A.size()), B16(B.size());
    for (size_t i = 0; i < A.size(); ++i) A16[i] = __float2half_rn(A[i]);
    for (size_t i = 0; i < B.size(); ++i) B16[i] = __float2half_rn(B[i]);
    cublasHandle_t h = nullptr;
    ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    const float one = 1.0f, zero = 0.0f;
    ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, A.data(), lda, B.data(), ldb, &zero, C.data(), ldc),
              CUBLAS_STATUS_SUCCESS);
    ASSERT_EQ(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, A16.data(), CUDA_R_16F, lda, B16.data(), CUDA_R_16F,
                           ldb, &zero, C16.data(), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
              CUBLAS_STATUS_SUCCESS);
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            double want = 0, want16 = 0;
            for (int p = 0; p < k; ++p) {
                want += double(A[size_t(p) + size_t(i) * lda]) * B[size_t(p) + size_t(j) * ldb];
                want16 += double(__half2float(A16[size_t(p) + size_t(i) * lda])) * __half2float(B16[size_t(p) + size_t(j) * ldb]);
            }
            EXPECT_NEAR(C[size_t(i) + size_t(j) * ldc], want, 1e-5) << i << "," << j;
            EXPECT_NEAR(C16[size_t(i) + size_t(j) * ldc], want16, 1e-5) << i << "," << j;
        }
    EXPECT_EQ(C[size_t(m)], 7.0f) << "rows beyond m of a column are left alone";
    cublasDestroy(h);
}

}  // namespace
