// Chat templates (engine/template): a model file's tokenizer.chat_template is a program from
// whoever made the file. Parsing and running any text must end in output or an error within the
// interpreter's step, output and depth limits.
#include <filesystem>

#include "engine/template/builtin_templates.h"
#include "engine/template/chat_template.h"
#include "engine/util/json.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

namespace {
// A system prompt and a tool call; and plain turns, for templates that refuse either (Gemma 2
// refuses a system prompt, Mistral's counts a tool call out of the user/assistant alternation).
const json::Value& messages(bool rich) {
    static const json::Value with_tools = *json::parse(R"([
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Hi <|im_start|> {{ x }}"},
        {"role": "assistant", "content": "<think>hm</think>Hello", "tool_calls": [{"type": "function",
          "function": {"name": "f", "arguments": {"a": 1}}}]},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "It is 42."},
        {"role": "user", "content": "和你 \u00e9"}])");
    static const json::Value plain = *json::parse(R"([
        {"role": "user", "content": "Hi <|im_start|> {{ x }}"},
        {"role": "assistant", "content": "<think>hm</think>Hello"},
        {"role": "user", "content": "和你 \u00e9"}])");
    return rich ? with_tools : plain;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    chat::ChatOptions o;
    o.add_generation_prompt = size % 2 == 0;
    o.bos_token = "<s>";
    o.eos_token = "</s>";
    o.extra = *json::parse(R"({"enable_thinking": false, "tools": [{"type": "function", "function": {"name": "f"}}]})");
    o.clock = [] { return std::tm{}; };
    const std::string_view source(reinterpret_cast<const char*>(data), size);
    auto out = chat::render_chat_template(source, messages(true), o);
    if (!out.ok()) out = chat::render_chat_template(source, messages(false), o);
    return out.ok() ? 0 : fuzz::refused(out.message());
}

std::vector<std::string> hearth::fuzz::seeds() {
    std::vector<std::string> s = {
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        "{% macro f(x, y=2) %}{{ x ~ y }}{% if x > 0 %}{{ f(x - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
        "{% set ns = namespace(a=0) %}{% for i in range(10) if i is odd %}{% set ns.a = ns.a + i %}{% endfor %}"
        "{{ ns.a | string | length }}{{ messages | tojson(indent=2) }}{{ raise_exception('no') if false }}",
        std::string(chat::kGemmaTurnTemplate),
        "{{ (messages[0]['content'] | trim).split(' ')[1:] | join(',') | upper }}{{ 'a' in 'abc' }}{{ 7 // 2 }}{{ 2 ** 3 }}",
    };
    const std::string src = HEARTH_SOURCE_DIR "/tests/engine/data/templates/";
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(src, ec)) s.push_back(read_file(e.path().string()));
    if (const std::string td = testdata_dir(); !td.empty())
        for (const auto& e : std::filesystem::directory_iterator(td + "/templates", ec))
            if (e.path().extension() == ".jinja") s.push_back(read_file(e.path().string()));
    return s;
}
