// The cuBLAS calls of engine/backend/cuda, for the simulator: column-major GEMM as cuBLAS defines it
// (C = alpha · op(A) · op(B) + beta · C), F16 or F32 inputs, F32 output and accumulation. Products of
// F16 values are exact in F32, so this agrees with a tensor-core GEMM up to summation order.
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <string>

#include "tests/cuda_sim/sim_scheduler.h"

struct cublasContext {
    cudaStream_t stream = nullptr;
};

namespace {

float load(const void* p, cudaDataType t, size_t i) {
    return t == CUDA_R_16F ? __half2float(static_cast<const __half*>(p)[i]) : static_cast<const float*>(p)[i];
}

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float* alpha,
                    const void* A, cudaDataType at, int lda, const void* B, cudaDataType bt, int ldb, const float* beta,
                    float* C, int ldc) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0 || (ta == CUBLAS_OP_N ? lda < m : lda < k) || (tb == CUBLAS_OP_N ? ldb < k : ldb < n) ||
        ldc < m)
        return CUBLAS_STATUS_INVALID_VALUE;
    if ((at != CUDA_R_16F && at != CUDA_R_32F) || (bt != CUDA_R_16F && bt != CUDA_R_32F)) return CUBLAS_STATUS_NOT_SUPPORTED;
    const float al = *alpha, be = *beta;
    hearth::cuda_sim::enqueue(h->stream, [=]() {
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i) {
                float acc = 0.0f;
                for (int p = 0; p < k; ++p) {
                    const size_t ai = ta == CUBLAS_OP_N ? size_t(i) + size_t(p) * lda : size_t(p) + size_t(i) * lda;
                    const size_t bi = tb == CUBLAS_OP_N ? size_t(p) + size_t(j) * ldb : size_t(j) + size_t(p) * ldb;
                    acc += load(A, at, ai) * load(B, bt, bi);
                }
                float& c = C[size_t(i) + size_t(j) * ldc];
                c = al * acc + (be == 0.0f ? 0.0f : be * c);
            }
    });
    return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
    *h = new cublasContext;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s) {
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                              const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
    return gemm(h, ta, tb, m, n, k, alpha, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, beta, C, ldc);
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void* alpha, const void* A, cudaDataType at, int lda, const void* B, cudaDataType bt,
                            int ldb, const void* beta, void* C, cudaDataType ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
    if (ct != CUDA_R_32F || (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_FAST_16F))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    return gemm(h, ta, tb, m, n, k, static_cast<const float*>(alpha), A, at, lda, B, bt, ldb,
                static_cast<const float*>(beta), static_cast<float*>(C), ldc);
}

const char* cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
        case CUBLAS_STATUS_SUCCESS: return "success";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
        case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
        default: return "cuBLAS error (simulator)";
    }
}
const char* cublasGetStatusName(cublasStatus_t s) {
    switch (s) {
        case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
        default: return "CUBLAS_STATUS_(simulator)";
    }
}
