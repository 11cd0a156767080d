// Python string formatting reachable from templates: `"%s: %d" % (a, b)` (and the `format` filter,
// which is the same operator) and str.format ("{} {name:>8}").
#pragma once

#include <string>
#include <string_view>

#include "engine/template/value.h"

namespace hearth::jinja {

// printf-style: args is a tuple (several values), a dict (for %(name)s) or a single value.
std::string percent_format(std::string_view fmt, const Value& args);
// str.format: {} {0} {name}, {{ and }}, and a format spec after ':' ([[fill]align][sign][0][width][.prec][type]).
std::string brace_format(std::string_view fmt, const CallArgs& args);

}  // namespace hearth::jinja
