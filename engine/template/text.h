// String helpers with Python's str semantics over UTF-8: indexing, slicing and lengths count code
// points (a template's `out[:-1]` must not cut a multi-byte character), strip() knows Python's
// whitespace. Case mapping is ASCII-only (enough for role names and keywords; other letters are kept).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::jinja::text {

// Byte offset of each code point, plus s.size() at the end (so size() - 1 code points).
// Invalid UTF-8 bytes count as one code point each.
std::vector<size_t> code_point_offsets(std::string_view s);
size_t code_point_count(std::string_view s);
std::vector<std::string> code_points(std::string_view s);  // each code point as its own string

bool is_space(uint32_t cp);  // Python's str.isspace() for the code points templates meet
std::string strip(std::string_view s, bool left, bool right);                         // whitespace
std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right);  // any code point of chars

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // first upper, rest lower
std::string title(std::string_view s);       // Python str.title(): words start after non-letters

// Python str.split(): sep empty means "runs of whitespace"; maxsplit < 0 means no limit.
std::vector<std::string> split(std::string_view s, std::string_view sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, std::string_view sep, int64_t maxsplit);
std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);
int64_t count(std::string_view s, std::string_view sub);
int64_t find(std::string_view s, std::string_view sub, bool from_right);  // code point index or -1

uint32_t decode(std::string_view s, size_t& i);  // next code point (invalid byte: itself)
void append_utf8(std::string& out, uint32_t cp);

}  // namespace hearth::jinja::text
