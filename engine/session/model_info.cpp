#include "engine/session/model_info.h"

#include <map>

namespace hearth {

std::string describe_file_type(const gguf::File& f) {
    // llama.cpp's llama_ftype numbering.
    static const std::map<int64_t, const char*> kNames = {
        {0, "F32"},     {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},     {7, "Q8_0"},   {8, "Q5_0"},
        {9, "Q5_1"},    {10, "Q2_K"},    {11, "Q3_K_S"},  {12, "Q3_K_M"},  {13, "Q3_K_L"}, {14, "Q4_K_S"},
        {15, "Q4_K_M"}, {16, "Q5_K_S"},  {17, "Q5_K_M"},  {18, "Q6_K"},    {32, "BF16"},
    };
    if (auto ft = f.get_int("general.file_type", -1); ft.ok() && *ft >= 0) {
        auto it = kNames.find(*ft);
        if (it != kNames.end()) return it->second;
    }
    std::map<GgmlType, uint64_t> bytes;
    for (const auto& t : f.tensors())
        if (t.dims.size() >= 2) bytes[t.type] += t.n_bytes;
    GgmlType best = GgmlType::F32;
    uint64_t most = 0;
    for (auto [type, b] : bytes)
        if (b > most) { most = b; best = type; }
    return std::string(type_name(best));
}

std::string model_display_name(const gguf::File& f) {
    if (auto n = f.get_string("general.name", ""); n.ok() && !n->empty()) return *n;
    std::string p = f.path();
    if (auto s = p.find_last_of('/'); s != std::string::npos) p = p.substr(s + 1);
    if (p.size() > 5 && p.compare(p.size() - 5, 5, ".gguf") == 0) p.resize(p.size() - 5);
    return p;
}

}  // namespace hearth
