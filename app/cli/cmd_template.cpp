// hearth-cli template: render a chat template (Jinja) for a conversation and print the prompt text,
// exactly as the engine would feed it to the tokenizer.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/cli/command.h"
#include "engine/template/chat_template.h"
#include "engine/util/json.h"

namespace hearth::cli {
namespace {

Result<std::string> read_text_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error("cannot open '" + path + "'");
    std::ostringstream ss;
    ss << f.rdbuf();
    if (f.bad()) return make_error("cannot read '" + path + "'");
    return ss.str();
}

int run_template(const std::vector<std::string>& argv) {
    Args args(argv);
    const auto template_path = args.take({"--template", "-t"});
    const auto messages_path = args.take({"--messages", "-m"});
    const auto bos = args.take({"--bos"});
    const auto eos = args.take({"--eos"});
    const auto extra_text = args.take({"--extra"});
    const bool add_generation_prompt = args.flag({"--add-generation-prompt", "-g"});
    if (auto u = args.unknown_option(); !u.empty()) return fail("template: unknown option " + u);
    if (!args.positionals().empty()) return fail("template: unexpected argument '" + args.positionals()[0] + "'");
    if (!messages_path) return fail("template: --messages FILE.json is required");

    auto messages_doc = json::parse_file(*messages_path);
    if (!messages_doc.ok()) return fail("template: " + messages_doc.message());
    chat::ChatOptions opts;
    opts.add_generation_prompt = add_generation_prompt;
    opts.bos_token = bos.value_or("");
    opts.eos_token = eos.value_or("");
    opts.extra = json::Value::object();
    json::Value messages;
    if (messages_doc->is_array()) {
        messages = *messages_doc;
    } else if (messages_doc->is_object() && messages_doc->find("messages")) {
        // {"messages": [...], "tools": [...], ...}: the other members become template variables.
        for (const auto& [k, v] : messages_doc->as_object()) {
            if (k == "messages") messages = v;
            else opts.extra.set(k, v);
        }
    } else {
        return fail("template: " + *messages_path + " must hold a JSON list of messages or an object with \"messages\"");
    }
    if (extra_text) {
        auto extra = json::parse(*extra_text);
        if (!extra.ok() || !extra->is_object()) return fail("template: --extra must be a JSON object, e.g. '{\"enable_thinking\": false}'");
        for (const auto& [k, v] : extra->as_object()) opts.extra.set(k, v);
    }

    std::string source;
    if (template_path) {
        auto text = read_text_file(*template_path);
        if (!text.ok()) return fail("template: " + text.message());
        source = std::move(*text);
        if (source.empty()) return fail("template: " + *template_path + " is empty");
    }
    // Without --template: the ChatML fallback a model without a template gets.
    auto out = chat::render_chat(source, messages, opts);
    if (!out.ok()) return fail("template: " + (template_path ? *template_path + ": " : std::string()) + out.message());
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
}

const Registrar reg{"template",
                    "--template FILE.jinja --messages FILE.json [--add-generation-prompt] [--bos S] [--eos S] "
                    "[--extra JSON]",
                    "render a chat template for a conversation (without --template: ChatML)", run_template};

}  // namespace
}  // namespace hearth::cli
