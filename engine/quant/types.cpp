// Type table: names, block sizes and block byte sizes for every ggml type id Hearth reads.
// The byte sizes come from the block structs in types.h, so table and layout cannot drift apart.
#include "engine/quant/types.h"

#include <array>
#include <cctype>

namespace hearth {

namespace {

struct Entry {
    GgmlType type;
    TypeTraits traits;
};

constexpr std::array<Entry, 20> kTypes = {{
    {GgmlType::F32, {"F32", 1, 4, false}},
    {GgmlType::F16, {"F16", 1, 2, false}},
    {GgmlType::Q4_0, {"Q4_0", QK4_0, int(sizeof(block_q4_0)), true}},
    {GgmlType::Q4_1, {"Q4_1", QK4_1, int(sizeof(block_q4_1)), true}},
    {GgmlType::Q5_0, {"Q5_0", QK5_0, int(sizeof(block_q5_0)), true}},
    {GgmlType::Q5_1, {"Q5_1", QK5_1, int(sizeof(block_q5_1)), true}},
    {GgmlType::Q8_0, {"Q8_0", QK8_0, int(sizeof(block_q8_0)), true}},
    {GgmlType::Q8_1, {"Q8_1", QK8_1, int(sizeof(block_q8_1)), true}},
    {GgmlType::Q2_K, {"Q2_K", QK_K, int(sizeof(block_q2_K)), true}},
    {GgmlType::Q3_K, {"Q3_K", QK_K, int(sizeof(block_q3_K)), true}},
    {GgmlType::Q4_K, {"Q4_K", QK_K, int(sizeof(block_q4_K)), true}},
    {GgmlType::Q5_K, {"Q5_K", QK_K, int(sizeof(block_q5_K)), true}},
    {GgmlType::Q6_K, {"Q6_K", QK_K, int(sizeof(block_q6_K)), true}},
    {GgmlType::Q8_K, {"Q8_K", QK_K, int(sizeof(block_q8_K)), true}},
    {GgmlType::I8, {"I8", 1, 1, false}},
    {GgmlType::I16, {"I16", 1, 2, false}},
    {GgmlType::I32, {"I32", 1, 4, false}},
    {GgmlType::I64, {"I64", 1, 8, false}},
    {GgmlType::F64, {"F64", 1, 8, false}},
    {GgmlType::BF16, {"BF16", 1, 2, false}},
}};

const Entry* lookup(uint32_t id) {
    for (const Entry& e : kTypes) {
        if (uint32_t(e.type) == id) return &e;
    }
    return nullptr;
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k) {
        if (std::toupper(static_cast<unsigned char>(a[k])) != std::toupper(static_cast<unsigned char>(b[k]))) return false;
    }
    return true;
}

}  // namespace

std::optional<TypeTraits> type_traits(uint32_t type_id) {
    const Entry* e = lookup(type_id);
    if (!e) return std::nullopt;
    return e->traits;
}

const TypeTraits& traits(GgmlType t) {
    static const TypeTraits unknown{"?", 1, 0, false};
    const Entry* e = lookup(uint32_t(t));
    return e ? e->traits : unknown;
}

std::string_view type_name(GgmlType t) { return traits(t).name; }

std::optional<GgmlType> type_from_name(std::string_view name) {
    for (const Entry& e : kTypes) {
        if (iequal(name, e.traits.name)) return e.type;
    }
    return std::nullopt;
}

size_t row_bytes(GgmlType t, int64_t n_elems) {
    const TypeTraits& tr = traits(t);
    if (n_elems < 0 || tr.block_bytes == 0 || n_elems % tr.block_elems != 0) return 0;
    return size_t(n_elems / tr.block_elems) * size_t(tr.block_bytes);
}

}  // namespace hearth
