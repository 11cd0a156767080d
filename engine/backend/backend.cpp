// Backend-independent helpers of backend.h.
#include "engine/backend/backend.h"

namespace hearth {

Tensor make_tensor(Buffer* buf, size_t offset, GgmlType type, int64_t rows, int64_t cols) {
    Tensor t;
    t.buf = buf;
    t.offset = offset;
    t.type = type;
    t.rows = rows;
    t.cols = cols;
    t.row_stride = row_bytes(type, cols);
    return t;
}

}  // namespace hearth
