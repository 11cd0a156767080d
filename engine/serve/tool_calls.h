// Tool calls in a model's answer (the API's `tools`): the chat template tells the model how to
// call a function, and each family writes its calls its own way. Hearth reads three, chosen from
// the template's text:
//   - Hermes (Qwen2.5, Qwen3 and others): <tool_call>{"name": …, "arguments": {…}}</tool_call>
//     blocks, anywhere in the answer, as many as it writes;
//   - Llama 3.1/3.2: the whole answer is {"name": …, "parameters": {…}} (after <|python_tag|>);
//   - Mistral: the answer is [TOOL_CALLS] (a control token, so usually not in the text) then a
//     JSON array of {"name": …, "arguments": {…}}.
// A call that does not parse stays in the answer as text: nothing the model wrote is lost.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/util/json.h"

namespace hearth {

enum class ToolCallFormat { None, Hermes, Llama3, Mistral };

// Which format a chat template teaches its model; None when it shows none Hearth reads.
ToolCallFormat tool_call_format(std::string_view chat_template);
// Whether the template reads a `tools` variable at all.
bool template_takes_tools(std::string_view chat_template);

struct ToolCall {
    std::string id;         // made here: 9 letters and digits (Mistral's templates require that form)
    std::string name;
    std::string arguments;  // JSON text of an object
};

struct ToolCallSplit {
    std::string content;    // the answer without its calls
    std::vector<ToolCall> calls;
};

ToolCallSplit split_tool_calls(ToolCallFormat f, std::string_view text);

// tool_choice "required" or a named function: what the answer must then be, written as the
// format writes one call: the markers around it (Hermes: "<tool_call>\n" … "\n</tool_call>";
// Mistral: "[" … "]"; Llama 3: none) and the JSON schema of the call object, whose "name" is the
// function (or one of them) and whose arguments follow that function's parameters (with several
// functions to choose from: any object). Compiled and enforced like response_format.
struct ForcedCall {
    json::Value schema;
    std::string prefix, suffix;
};
ForcedCall forced_call(ToolCallFormat f, const json::Value& tools, const std::string& name);

// The same over a streamed answer: content that cannot be part of a call goes out at once; from
// where a call may begin, text is held until the end, then split. The content sent and the
// content finish() returns together equal split_tool_calls(whole text).content.
class ToolCallStream {
public:
    explicit ToolCallStream(ToolCallFormat f) : format_(f) {}
    std::string feed(std::string_view text);  // content to send now
    ToolCallSplit finish();                   // the held rest: its content and the calls

private:
    ToolCallFormat format_;
    std::string held_;
    bool holding_ = false;   // a call may have begun: everything from here is held to the end
    bool free_ = false;      // Llama 3 / Mistral: the answer began as text, so it holds no call
};

}  // namespace hearth
