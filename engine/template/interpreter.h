// Tree-walking evaluator for parsed templates (internal to engine/template; the public entry point
// is jinja.h). Semantics follow Jinja2 in transformers' ImmutableSandboxedEnvironment: each for-loop
// iteration gets its own scope (a `set` inside a loop does not leak out, hence namespace()),
// macros close over the scope they were defined in, Undefined prints empty and iterates empty but
// fails when used in arithmetic or when an attribute of it is read.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/template/ast.h"
#include "engine/template/value.h"

namespace hearth::jinja {

struct Limits {
    size_t max_output_bytes = size_t(64) << 20;  // a runaway template stops with an error, not OOM
    uint64_t max_steps = 10'000'000;              // statements + expressions evaluated (real templates: < 100k)
    int max_call_depth = 200;                     // nested macro calls (recursion)
};

struct Scope {
    std::vector<std::pair<std::string, Value>> vars;
    std::shared_ptr<Scope> parent;

    const Value* lookup(std::string_view name) const;
    void set(const std::string& name, Value v);
};

class Interpreter {
public:
    Interpreter(std::shared_ptr<Scope> globals, std::function<std::tm()> clock, Limits limits);

    // Renders a body into out in the given scope. Throws TemplateError.
    void render(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);

    Value eval(const Expr& e, const std::shared_ptr<Scope>& scope);
    Value call(const Value& fn, const CallArgs& args);
    Value filter(const std::string& name, const Value& subject, const CallArgs& args);
    bool test(const std::string& name, const Value& subject, const CallArgs& args);
    Value get_attr(const Value& obj, std::string_view name);
    Value get_item(const Value& obj, const Value& key);

    std::tm now() const { return clock_(); }
    int line() const { return line_; }

private:
    enum class Flow { Normal, Break, Continue };
    Flow exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out);
    Flow exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out);
    void exec_for(const Stmt& s, const Value& iterable, const std::shared_ptr<Scope>& scope, std::string& out, int depth);
    void assign(const Expr& target, const Value& v, const std::shared_ptr<Scope>& scope);
    Value make_macro(const std::string& name, const std::vector<MacroParam>& params, const Body& body,
                     const std::shared_ptr<Scope>& closure);
    Value apply_filter_chain(const Expr& chain, Value subject, const std::shared_ptr<Scope>& scope);
    CallArgs eval_args(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope);
    Value binary(const std::string& op, const Value& a, const Value& b);
    Value slice(const Value& obj, const Expr& slice, const std::shared_ptr<Scope>& scope);
    void step();
    void append(std::string& out, std::string_view s);

    std::shared_ptr<Scope> globals_;
    std::function<std::tm()> clock_;
    Limits limits_;
    uint64_t steps_ = 0;
    int line_ = 0;
    int call_depth_ = 0;
};

// Builtins, defined in filters.cpp, is_tests.cpp, methods.cpp and globals.cpp.
using FilterFn = Value (*)(Interpreter&, const Value&, const CallArgs&);
using TestFn = bool (*)(Interpreter&, const Value&, const CallArgs&);
const std::map<std::string, FilterFn, std::less<>>& builtin_filters();
const std::map<std::string, TestFn, std::less<>>& builtin_tests();
// A bound method of a str, dict or list (e.g. "abc".startswith), or Undefined when there is none.
Value bound_method(const Value& obj, std::string_view name);
// range, namespace, dict, joiner, raise_exception, strftime_now.
void add_builtin_globals(Scope& globals);

// JSON in and out: transformers' tojson (json.dumps with ensure_ascii=False by default).
std::string to_json(const Value& v, int indent, bool ensure_ascii, std::string_view item_sep, std::string_view key_sep,
                    bool sort_keys);

// Python's datetime.strftime for the directives templates use (%d %b %Y %H:%M…), English names.
std::string format_time(const std::tm& t, std::string_view format);

}  // namespace hearth::jinja
