// Jinja parser: tokens → statement tree, following Jinja2's grammar and operator precedence
// (condexpr < or < and < not < comparisons < + - < ~ < * / // % < ** < unary; filters, tests,
// calls, attributes and subscripts bind tightest).
#pragma once

#include <string_view>

#include "engine/template/ast.h"
#include "engine/util/status.h"

namespace hearth::jinja {

// Parses a template source. Syntax errors name the line ("template syntax error at line 3: …").
Result<Body> parse(std::string_view source);

}  // namespace hearth::jinja
