// One tensor of a GGUF file, checked against the shape a model expects and imported into a backend
// in its stored type (Backend::import_host: CPU backends wrap the mapping, device backends copy).
// The language models' loader (model.cpp) and the embedding encoders (engine/embed) share it, so a
// bad file gives the same message whichever reads it.
#pragma once

#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/gguf/gguf.h"
#include "engine/util/status.h"

namespace hearth {

struct ImportedTensor {
    BufferPtr buf;
    Tensor t;                                // [rows, cols] over buf
    const gguf::TensorInfo* info = nullptr;  // the file's record (type, bytes)
};

// `shape` in GGUF order (cols first). A matrix may have any weight type; anything else must be F32
// (norms and biases). Trailing dimensions of 1 are ignored. A 3-D matrix (stacked experts) is
// imported as one of rows = dims[1]·dims[2].
Result<ImportedTensor> import_gguf_tensor(const gguf::File& file, Backend& be, const std::string& name,
                                          std::vector<int64_t> shape, bool matrix);

std::string dims_str(const std::vector<int64_t>& d);  // "[64, 32000]"

}  // namespace hearth
