#include "app/cli/token_list.h"

#include <cerrno>
#include <cstdlib>

namespace hearth::cli {

Result<std::vector<int32_t>> parse_token_list(const std::string& text) {
    std::vector<int32_t> ids;
    size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ' || text[i] == ',' || text[i] == '\t' || text[i] == '\n') { ++i; continue; }
        size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != ',' && text[j] != '\t' && text[j] != '\n') ++j;
        const std::string word = text.substr(i, j - i);
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(word.c_str(), &end, 10);
        if (errno || *end || v < 0 || v > INT32_MAX) return make_error("'" + word + "' is not a token id");
        ids.push_back(int32_t(v));
        i = j;
    }
    if (ids.empty()) return make_error("no token ids given");
    return ids;
}

}  // namespace hearth::cli
