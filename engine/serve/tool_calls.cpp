#include "engine/serve/tool_calls.h"

#include <random>

#include "engine/util/json.h"

namespace hearth {
namespace {

constexpr std::string_view kHermesOpen = "<tool_call>", kHermesClose = "</tool_call>";
constexpr std::string_view kPythonTag = "<|python_tag|>", kMistralTag = "[TOOL_CALLS]";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string make_id() {
    static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string id(9, 'a');
    for (char& c : id) c = kAlnum[rng() % 62];
    return id;
}

// {"name": "...", "arguments" or "parameters": {...} or a string holding an object}.
bool read_call(const json::Value& v, ToolCall* out) {
    if (!v.is_object() || !v["name"].is_string() || v["name"].as_string().empty()) return false;
    const json::Value* args = v.find("arguments");
    if (!args) args = v.find("parameters");
    std::string text = "{}";
    if (args && args->is_object()) {
        text = args->dump();
    } else if (args && args->is_string()) {
        auto parsed = json::parse(args->as_string());
        if (!parsed.ok() || !parsed->is_object()) return false;
        text = args->as_string();
    } else if (args && !args->is_null()) {
        return false;
    }
    out->id = make_id();
    out->name = v["name"].as_string();
    out->arguments = std::move(text);
    return true;
}

// Hermes blocks anywhere; a block that does not parse stays as text. Whitespace around a block
// that became a call goes with it.
ToolCallSplit split_hermes(std::string_view text) {
    ToolCallSplit r;
    size_t pos = 0;
    while (true) {
        const size_t open = text.find(kHermesOpen, pos);
        if (open == std::string_view::npos) break;
        const size_t body = open + kHermesOpen.size();
        const size_t close = text.find(kHermesClose, body);
        const size_t next = close == std::string_view::npos ? text.size() : close + kHermesClose.size();
        const std::string_view inner = text.substr(body, (close == std::string_view::npos ? text.size() : close) - body);
        ToolCall call;
        auto v = json::parse(trim(inner));
        if (v.ok() && read_call(*v, &call)) {
            std::string_view before = text.substr(pos, open - pos);
            while (!before.empty() && is_space(before.back())) before.remove_suffix(1);
            r.content += before;
            r.calls.push_back(std::move(call));
            pos = next;
            while (pos < text.size() && is_space(text[pos])) ++pos;
        } else {
            r.content += text.substr(pos, next - pos);
            pos = next;
        }
    }
    r.content += text.substr(pos);
    return r;
}

// The whole answer is one call (Llama 3) or an array of calls (Mistral); else it is text.
ToolCallSplit split_whole(ToolCallFormat f, std::string_view text) {
    ToolCallSplit r;
    std::string_view t = trim(text);
    const std::string_view tag = f == ToolCallFormat::Llama3 ? kPythonTag : kMistralTag;
    if (t.substr(0, tag.size()) == tag) t = trim(t.substr(tag.size()));
    auto v = json::parse(t);
    bool ok = v.ok();
    if (ok && f == ToolCallFormat::Llama3) {
        ToolCall c;
        ok = read_call(*v, &c);
        if (ok) r.calls.push_back(std::move(c));
    } else if (ok) {
        ok = v->is_array() && !v->as_array().empty();
        for (const json::Value& item : v->as_array()) {
            ToolCall c;
            if (!ok || !read_call(item, &c)) { ok = false; break; }
            r.calls.push_back(std::move(c));
        }
    }
    if (!ok) {
        r.calls.clear();
        r.content = std::string(text);
    }
    return r;
}

}  // namespace

bool template_takes_tools(std::string_view t) { return t.find("tools") != std::string_view::npos; }

ToolCallFormat tool_call_format(std::string_view t) {
    if (!template_takes_tools(t)) return ToolCallFormat::None;
    if (t.find(kHermesOpen) != std::string_view::npos) return ToolCallFormat::Hermes;
    if (t.find(kMistralTag) != std::string_view::npos) return ToolCallFormat::Mistral;
    // Llama 3.1 names <|python_tag|>; 3.2 only asks for {"name": …, "parameters": …} (both in ipython turns).
    if (t.find("ipython") != std::string_view::npos && t.find("\"parameters\"") != std::string_view::npos) return ToolCallFormat::Llama3;
    return ToolCallFormat::None;
}

ForcedCall forced_call(ToolCallFormat f, const json::Value& tools, const std::string& name) {
    ForcedCall out;
    json::Value names = json::Value::array();
    const json::Value* params = nullptr;
    for (const json::Value& t : tools.as_array()) {
        const json::Value& fn = t["function"];
        if (!name.empty() && fn["name"].as_string() != name) continue;
        names.push_back(fn["name"]);
        params = &fn["parameters"];
    }
    json::Value args = json::Value::object();
    args.set("type", "object");
    json::Value schema = json::Value::object();
    if (names.size() == 1 && params && params->is_object()) {
        // The parameters' own definitions move to the root, where their "#/$defs/…" references point.
        args = *params;
        for (const char* defs : {"$defs", "definitions"})
            if (const json::Value* d = params->find(defs)) schema.set(defs, *d);
    }
    const std::string args_key = f == ToolCallFormat::Llama3 ? "parameters" : "arguments";
    json::Value name_schema = json::Value::object();
    name_schema.set("enum", names);
    json::Value props = json::Value::object();
    props.set("name", name_schema);
    props.set(args_key, args);
    json::Value required = json::Value::array();
    required.push_back("name");
    required.push_back(args_key);
    schema.set("type", "object");
    schema.set("properties", props);
    schema.set("required", required);
    out.schema = schema;
    if (f == ToolCallFormat::Hermes) out.prefix = "<tool_call>\n", out.suffix = "\n</tool_call>";
    if (f == ToolCallFormat::Mistral) out.prefix = "[", out.suffix = "]";
    return out;
}

std::string ToolCallStream::feed(std::string_view text) {
    if (format_ == ToolCallFormat::None || free_) return std::string(text);
    held_ += text;
    if (holding_) return {};
    if (format_ == ToolCallFormat::Hermes) {
        // Send what cannot begin a block: hold the whitespace before a possible "<tool_call>"
        // and any tail that may still become one.
        size_t cut = held_.find(kHermesOpen);
        if (cut != std::string::npos) {
            holding_ = true;
        } else {
            cut = held_.size();
            for (size_t n = std::min(held_.size(), kHermesOpen.size() - 1); n > 0; --n)
                if (kHermesOpen.substr(0, n) == std::string_view(held_).substr(held_.size() - n)) { cut = held_.size() - n; break; }
        }
        while (cut > 0 && is_space(held_[cut - 1])) --cut;
        std::string out = held_.substr(0, cut);
        held_.erase(0, cut);
        return out;
    }
    // Llama 3 / Mistral: the first visible character decides.
    const std::string_view t = trim(held_);
    if (t.empty()) return {};
    const std::string_view tag = format_ == ToolCallFormat::Llama3 ? kPythonTag : kMistralTag;
    const char opener = format_ == ToolCallFormat::Llama3 ? '{' : '[';
    const bool tag_prefix = tag.substr(0, std::min(t.size(), tag.size())) == t.substr(0, std::min(t.size(), tag.size()));
    if (t.front() == opener || tag_prefix) {
        holding_ = t.front() == opener || t.size() >= tag.size();
        return {};
    }
    free_ = true;
    std::string out;
    out.swap(held_);
    return out;
}

ToolCallSplit ToolCallStream::finish() {
    ToolCallSplit r;
    if (format_ == ToolCallFormat::Hermes) r = split_hermes(held_);
    else if (holding_) r = split_whole(format_, held_);
    else r.content = held_;
    held_.clear();
    return r;
}

ToolCallSplit split_tool_calls(ToolCallFormat f, std::string_view text) {
    ToolCallStream s(f);
    std::string sent = s.feed(text);
    ToolCallSplit r = s.finish();
    r.content = sent + r.content;
    return r;
}

}  // namespace hearth
