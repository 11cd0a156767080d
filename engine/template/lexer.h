// Jinja lexer configured as Hugging Face transformers configures Jinja for chat templates:
// trim_blocks (the first newline after a block or comment tag is dropped), lstrip_blocks (spaces and
// tabs before a block or comment tag on its own line are dropped), keep_trailing_newline off (one
// final newline of the source is dropped), and the explicit controls `{%-`/`-%}` (strip all
// whitespace on that side) and `{%+`/`+%}` (turn lstrip_blocks/trim_blocks off for that tag).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/util/status.h"

namespace hearth::jinja {

struct Token {
    enum class Type { Text, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End };
    Type type;
    std::string value;  // text, name, decoded string literal, number spelling, operator
    int line;
};

// Comments are dropped and `{% raw %}` bodies come out as Text. Errors (unterminated tags or strings,
// unknown characters) name the line.
Result<std::vector<Token>> tokenize(std::string_view source);

}  // namespace hearth::jinja
