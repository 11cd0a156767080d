#include "engine/model/qk_permute.h"

#include <cstring>

namespace hearth {

void permute_qk_rows(std::vector<float>& m, int64_t rows, int64_t cols, int64_t head_dim) {
    // One head at a time: the scratch copy is head_dim rows, not the whole matrix.
    std::vector<float> head(size_t(head_dim * cols));
    for (int64_t h = 0; h < rows / head_dim; ++h) {
        float* base = &m[size_t(h * head_dim * cols)];
        std::memcpy(head.data(), base, head.size() * sizeof(float));
        for (int64_t r = 0; r < head_dim; ++r)
            std::memcpy(base + r * cols, &head[size_t((qk_permuted_source_row(r, head_dim)) * cols)], size_t(cols) * sizeof(float));
    }
}

}  // namespace hearth
