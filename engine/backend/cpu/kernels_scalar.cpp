// Portable kernels: the fallback on CPUs without AVX2 and the ground truth for the SIMD tests.
// Weights are dequantized row by row with the reference dequantizer (engine/quant/quant.h) and
// multiplied with the unquantized F32 activations, so this path is exact up to float rounding.
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/backend/cpu/kernels.h"
#include "engine/quant/quant.h"

namespace hearth::cpu {

size_t act_row_bytes(ActKind kind, int64_t k) {
    size_t b = 0;
    switch (kind) {
        case ActKind::F32: b = size_t(k) * 4; break;
        case ActKind::Q8_32: b = size_t(k) + 8 * size_t(k / 32); break;
        case ActKind::Q8_K: b = size_t(k) + 4 * size_t(k / 256) + 2 * size_t(k / 16); break;
    }
    return (b + 63) & ~size_t(63);
}

void quantize_act_q8_32_scalar(const float* x, uint8_t* dst, int64_t k) {
    int8_t* qs = reinterpret_cast<int8_t*>(dst);
    float* d = reinterpret_cast<float*>(dst + k);
    float* s = d + k / 32;
    for (int64_t b = 0; b < k / 32; ++b) {
        float amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[32 * b + i]));
        // The scale is kept at F16 precision, as ggml's q8_0 stores it, so dot products round like
        // llama.cpp's (the quantization itself uses the unrounded 127/amax, as ggml does).
        const float db = f16_to_f32(f32_to_f16(amax / 127.0f)), id = amax > 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; ++i) {
            const int q = int(std::nearbyint(x[32 * b + i] * id));  // ties to even, like vroundps
            qs[32 * b + i] = int8_t(q);
            sum += q;
        }
        d[b] = db;
        s[b] = db * float(sum);
    }
}

void quantize_act_q8_K_scalar(const float* x, uint8_t* dst, int64_t k) {
    int8_t* qs = reinterpret_cast<int8_t*>(dst);
    float* d = reinterpret_cast<float*>(dst + k);
    int16_t* bsums = reinterpret_cast<int16_t*>(dst + k + 4 * (k / 256));
    for (int64_t b = 0; b < k / 256; ++b) {
        float amax = 0;
        for (int i = 0; i < 256; ++i) amax = std::fmax(amax, std::fabs(x[256 * b + i]));
        const float id = amax > 0 ? 127.0f / amax : 0.0f;
        d[b] = amax / 127.0f;
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) {
                const int q = int(std::nearbyint(x[256 * b + 16 * g + i] * id));
                qs[256 * b + 16 * g + i] = int8_t(q);
                sum += q;
            }
            bsums[16 * b + g] = int16_t(sum);
        }
    }
}

namespace {

template <GgmlType T>
void tile_dequant(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* xa, size_t xs, int nt, float* y,
                  size_t ldy) {
    thread_local std::vector<float> row;
    if (row.size() < size_t(k)) row.resize(size_t(k));
    for (int r = 0; r < nr; ++r) {
        const float* wr;
        if constexpr (T == GgmlType::F32) {
            wr = reinterpret_cast<const float*>(w + r * ws);
        } else {
            dequantize_row(T, w + r * ws, row.data(), k);
            wr = row.data();
        }
        for (int t = 0; t < nt; ++t) {
            const float* xt = reinterpret_cast<const float*>(xa + t * xs);
            // Four partial sums: shorter dependency chains and less rounding drift than one.
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int64_t i = 0;
            for (; i + 4 <= k; i += 4) {
                s0 += wr[i] * xt[i]; s1 += wr[i + 1] * xt[i + 1];
                s2 += wr[i + 2] * xt[i + 2]; s3 += wr[i + 3] * xt[i + 3];
            }
            for (; i < k; ++i) s0 += wr[i] * xt[i];
            y[t * ldy + r] = (s0 + s1) + (s2 + s3);
        }
    }
}

template <GgmlType T>
constexpr MatKernel scalar_entry(const char* name) {
    MatKernel m;
    m.act = ActKind::F32;
    m.tile = tile_dequant<T>;
    m.max_rows = 4;
    m.max_toks = 8;
    m.name = name;
    return m;
}

const MatKernel kScalarF32 = scalar_entry<GgmlType::F32>("F32 scalar");
const MatKernel kScalarF16 = scalar_entry<GgmlType::F16>("F16 scalar");
const MatKernel kScalarBF16 = scalar_entry<GgmlType::BF16>("BF16 scalar");
const MatKernel kScalarQ4_0 = scalar_entry<GgmlType::Q4_0>("Q4_0 scalar");
const MatKernel kScalarQ4_1 = scalar_entry<GgmlType::Q4_1>("Q4_1 scalar");
const MatKernel kScalarQ5_0 = scalar_entry<GgmlType::Q5_0>("Q5_0 scalar");
const MatKernel kScalarQ5_1 = scalar_entry<GgmlType::Q5_1>("Q5_1 scalar");
const MatKernel kScalarQ8_0 = scalar_entry<GgmlType::Q8_0>("Q8_0 scalar");
const MatKernel kScalarQ2_K = scalar_entry<GgmlType::Q2_K>("Q2_K scalar");
const MatKernel kScalarQ3_K = scalar_entry<GgmlType::Q3_K>("Q3_K scalar");
const MatKernel kScalarQ4_K = scalar_entry<GgmlType::Q4_K>("Q4_K scalar");
const MatKernel kScalarQ5_K = scalar_entry<GgmlType::Q5_K>("Q5_K scalar");
const MatKernel kScalarQ6_K = scalar_entry<GgmlType::Q6_K>("Q6_K scalar");

}  // namespace

const MatKernel* scalar_kernel(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return &kScalarF32;
        case GgmlType::F16: return &kScalarF16;
        case GgmlType::BF16: return &kScalarBF16;
        case GgmlType::Q4_0: return &kScalarQ4_0;
        case GgmlType::Q4_1: return &kScalarQ4_1;
        case GgmlType::Q5_0: return &kScalarQ5_0;
        case GgmlType::Q5_1: return &kScalarQ5_1;
        case GgmlType::Q8_0: return &kScalarQ8_0;
        case GgmlType::Q2_K: return &kScalarQ2_K;
        case GgmlType::Q3_K: return &kScalarQ3_K;
        case GgmlType::Q4_K: return &kScalarQ4_K;
        case GgmlType::Q5_K: return &kScalarQ5_K;
        case GgmlType::Q6_K: return &kScalarQ6_K;
        default: return nullptr;
    }
}

const MatKernel* mat_kernel(GgmlType type, IsaLevel isa) {
    if (isa >= IsaLevel::Avx512) {
        if (const MatKernel* k = avx512_kernel(type)) return k;
    }
    if (isa >= IsaLevel::Avx2) {
        if (const MatKernel* k = avx2_kernel(type)) return k;
    }
    return scalar_kernel(type);
}

}  // namespace hearth::cpu
