#include "engine/model/gguf_tensor.h"

namespace hearth {

std::string dims_str(const std::vector<int64_t>& d) {
    std::string s = "[";
    for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "]";
}

Result<ImportedTensor> import_gguf_tensor(const gguf::File& file, Backend& be, const std::string& name,
                                          std::vector<int64_t> shape, bool matrix) {
    const gguf::TensorInfo* ti = file.tensor(name);
    if (!ti) return make_error("model is missing tensor '" + name + "'");
    std::vector<int64_t> dims = ti->dims;
    while (dims.size() > shape.size() && dims.back() == 1) dims.pop_back();
    if (dims != shape)
        return make_error("tensor '" + name + "' has shape " + dims_str(ti->dims) + ", expected " + dims_str(shape));
    const TypeTraits& tt = traits(ti->type);
    if (!matrix && ti->type != GgmlType::F32)
        return make_error("tensor '" + name + "' has type " + std::string(tt.name) + ", expected F32");
    if (matrix && (ti->type == GgmlType::I8 || ti->type == GgmlType::I16 || ti->type == GgmlType::I32 ||
                   ti->type == GgmlType::I64 || ti->type == GgmlType::F64 || ti->type == GgmlType::Q8_K))
        return make_error("tensor '" + name + "' has type " + std::string(tt.name) + ", which is not a weight type");
    const int64_t cols = shape[0];
    int64_t rows = 1;
    for (size_t i = 1; i < shape.size(); ++i) rows *= shape[i];
    if (cols % tt.block_elems != 0)
        return make_error("tensor '" + name + "': row length " + std::to_string(cols) + " is not a multiple of the " +
                          std::string(tt.name) + " block size");
    if (row_bytes(ti->type, cols) * size_t(rows) != ti->n_bytes)
        return make_error("tensor '" + name + "': byte size does not match its type and shape");
    auto buf = be.import_host(ti->data, ti->n_bytes);
    if (!buf.ok()) return make_error("loading tensor '" + name + "' (" + std::to_string(ti->n_bytes) + " bytes) into " +
                                     be.device().backend + ": " + buf.message());
    ImportedTensor out;
    out.buf = *buf;
    out.t = make_tensor(out.buf.get(), 0, ti->type, rows, cols);
    out.info = ti;
    return out;
}

}  // namespace hearth
