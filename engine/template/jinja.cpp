#include "engine/template/jinja.h"

#include "engine/template/interpreter.h"
#include "engine/template/parser.h"

namespace hearth::jinja {

Value from_json(const json::Value& v) {
    switch (v.type()) {
        case json::Value::Type::Null: return Value::none();
        case json::Value::Type::Bool: return Value(v.as_bool());
        case json::Value::Type::Int: return Value(v.as_int());
        case json::Value::Type::Float: return Value(v.as_double());
        case json::Value::Type::String: return Value(v.as_string());
        case json::Value::Type::Array: {
            List items;
            items.reserve(v.as_array().size());
            for (const json::Value& x : v.as_array()) items.push_back(from_json(x));
            return Value(std::move(items));
        }
        case json::Value::Type::Object: {
            Dict d;
            d.reserve(v.as_object().size());
            for (const auto& [k, x] : v.as_object()) {
                Value key(k);
                bool replaced = false;  // duplicate JSON keys: the last wins, as in Python
                for (auto& [dk, dv] : d) if (dk.as_string() == k) { dv = from_json(x); replaced = true; }
                if (!replaced) d.emplace_back(std::move(key), from_json(x));
            }
            return Value(std::move(d));
        }
    }
    return Value::none();
}

Result<Template> Template::parse(std::string_view source) {
    auto body = jinja::parse(source);
    if (!body.ok()) return body.status();
    Template t;
    t.body_ = std::make_shared<const Body>(std::move(body.value()));
    return t;
}

Result<std::string> Template::render(const json::Value& variables, const RenderOptions& options) const {
    if (!body_) return make_error("render called on an empty template");
    if (!variables.is_object() && !variables.is_null()) return make_error("template variables must be a JSON object");
    auto globals = std::make_shared<Scope>();
    add_builtin_globals(*globals);
    auto root = std::make_shared<Scope>();
    for (const auto& [k, v] : variables.as_object()) root->set(k, from_json(v));
    std::function<std::tm()> clock = options.clock;
    if (!clock) {
        clock = [] {
            const std::time_t now = std::time(nullptr);
            std::tm t{};
            localtime_r(&now, &t);
            return t;
        };
    }
    Limits limits;
    limits.max_output_bytes = options.max_output_bytes;
    limits.max_steps = options.max_steps;
    Interpreter in(globals, clock, limits);
    std::string out;
    try {
        in.render(*body_, root, out);
    } catch (const TemplateError& e) {
        return make_error("template error at line " + std::to_string(in.line()) + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return make_error("template error at line " + std::to_string(in.line()) + ": out of memory");
    } catch (const std::exception& e) {
        return make_error("template error at line " + std::to_string(in.line()) + ": " + e.what());
    }
    return out;
}

}  // namespace hearth::jinja
