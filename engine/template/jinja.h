// A Jinja2 template: parse once, render many times. This is the general interpreter; chat
// rendering with Hugging Face's variables (messages, add_generation_prompt, bos_token, …) is in
// chat_template.h. Configured as transformers configures Jinja for chat templates (see lexer.h and
// interpreter.h). Nothing throws: errors are Status values naming the template line.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/template/ast.h"
#include "engine/template/value.h"
#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth::jinja {

struct RenderOptions {
    // The time strftime_now() formats; default: the local time now. Tests inject a fixed date.
    std::function<std::tm()> clock;
    size_t max_output_bytes = size_t(64) << 20;
    uint64_t max_steps = 10'000'000;  // real chat templates take well under 100,000
};

class Template {
public:
    static Result<Template> parse(std::string_view source);

    // `variables` is an object: each member becomes a template variable (JSON values map to
    // None/True/False/int/float/str/list/dict).
    Result<std::string> render(const json::Value& variables, const RenderOptions& options = {}) const;

private:
    std::shared_ptr<const Body> body_;
};

// JSON → template value (objects keep their member order).
Value from_json(const json::Value& v);

}  // namespace hearth::jinja
