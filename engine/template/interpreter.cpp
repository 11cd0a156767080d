#include "engine/template/interpreter.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <optional>

#include "engine/template/format.h"
#include "engine/template/text.h"

namespace hearth::jinja {

const Value* Scope::lookup(std::string_view name) const {
    for (const Scope* s = this; s; s = s->parent.get())
        for (const auto& [k, v] : s->vars) if (k == name) return &v;
    return nullptr;
}

void Scope::set(const std::string& name, Value v) {
    for (auto& [k, old] : vars) {
        if (k == name) { old = std::move(v); return; }
    }
    vars.emplace_back(name, std::move(v));
}

Interpreter::Interpreter(std::shared_ptr<Scope> globals, std::function<std::tm()> clock, Limits limits)
    : globals_(std::move(globals)), clock_(std::move(clock)), limits_(limits) {}

void Interpreter::step() {
    if (++steps_ > limits_.max_steps)
        fail("the template ran too long (more than " + std::to_string(limits_.max_steps) + " steps)");
}

void Interpreter::append(std::string& out, std::string_view s) {
    if (out.size() + s.size() > limits_.max_output_bytes)
        fail("the template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
    out.append(s);
}

void Interpreter::render(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
    if (exec(body, scope, out) != Flow::Normal) fail("'break' or 'continue' outside of a loop");
}

Interpreter::Flow Interpreter::exec(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
    for (const StmtPtr& s : body) {
        const Flow f = exec_stmt(*s, scope, out);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string& out) {
    step();
    line_ = s.line;
    switch (s.kind) {
        case Stmt::Kind::Text: append(out, s.text); break;
        case Stmt::Kind::Output: append(out, to_str(eval(*s.expr, scope))); break;
        case Stmt::Kind::If:
            for (size_t i = 0; i < s.conditions.size(); ++i) {
                line_ = s.conditions[i]->line;
                if (truthy(eval(*s.conditions[i], scope))) return exec(s.bodies[i], scope, out);
            }
            return exec(s.else_body, scope, out);
        case Stmt::Kind::For: exec_for(s, eval(*s.expr, scope), scope, out, 1); break;
        case Stmt::Kind::Set: assign(*s.target, eval(*s.expr, scope), scope); break;
        case Stmt::Kind::SetBlock: {
            std::string captured;
            render(s.body, scope, captured);
            Value v(std::move(captured));
            if (s.filter) v = apply_filter_chain(*s.filter, v, scope);
            line_ = s.line;
            assign(*s.target, v, scope);
            break;
        }
        case Stmt::Kind::Macro: scope->set(s.name, make_macro(s.name, s.params, s.body, scope)); break;
        case Stmt::Kind::CallBlock: {
            const Expr& call = *s.expr;
            Value fn = eval(*call.children[0], scope);
            CallArgs args = eval_args(call, 1, scope);
            args.keyword.emplace_back("caller", make_macro("caller", s.params, s.body, scope));
            line_ = s.line;
            append(out, to_str(this->call(fn, args)));
            break;
        }
        case Stmt::Kind::FilterBlock: {
            std::string captured;
            render(s.body, scope, captured);
            append(out, to_str(apply_filter_chain(*s.filter, Value(std::move(captured)), scope)));
            break;
        }
        case Stmt::Kind::Generation: return exec(s.body, scope, out);
        case Stmt::Kind::Break: return Flow::Break;
        case Stmt::Kind::Continue: return Flow::Continue;
    }
    return Flow::Normal;
}

void Interpreter::exec_for(const Stmt& s, const Value& iterable, const std::shared_ptr<Scope>& scope, std::string& out,
                           int depth) {
    List all = iterable.is_dict() || iterable.is_string() || iterable.is_sequence() || iterable.is_undefined()
                   ? iterate(iterable)
                   : (fail("'" + iterable.type_name() + "' object is not iterable"), List{});
    // The loop's `if` filters items before loop.index/length are counted, as in Jinja.
    List items;
    if (s.filter) {
        for (Value& v : all) {
            auto probe = std::make_shared<Scope>();
            probe->parent = scope;
            assign(*s.target, v, probe);
            if (truthy(eval(*s.filter, probe))) items.push_back(std::move(v));
        }
    } else {
        items = std::move(all);
    }
    if (items.empty()) {
        exec(s.else_body, scope, out);
        return;
    }
    const int64_t n = int64_t(items.size());
    auto last_changed = std::make_shared<std::vector<Value>>();
    auto changed_called = std::make_shared<bool>(false);
    for (int64_t i = 0; i < n; ++i) {
        step();
        auto iter_scope = std::make_shared<Scope>();
        iter_scope->parent = scope;
        if (!s.uses_loop) {
            assign(*s.target, items[size_t(i)], iter_scope);
            if (exec(s.body, iter_scope, out) == Flow::Break) break;
            continue;
        }
        auto attrs = std::make_shared<Dict>();
        auto put = [&](const char* k, Value v) { attrs->emplace_back(Value(k), std::move(v)); };
        put("index", Value(i + 1));
        put("index0", Value(i));
        put("revindex", Value(n - i));
        put("revindex0", Value(n - i - 1));
        put("first", Value(i == 0));
        put("last", Value(i == n - 1));
        put("length", Value(n));
        put("depth", Value(int64_t(depth)));
        put("depth0", Value(int64_t(depth - 1)));
        put("previtem", i > 0 ? items[size_t(i - 1)] : Value::undefined("there is no previous item"));
        put("nextitem", i + 1 < n ? items[size_t(i + 1)] : Value::undefined("there is no next item"));
        put("cycle", Value::callable("loop.cycle", [i](Interpreter&, const CallArgs& a) {
                if (a.positional.empty()) fail("no items for cycling given");
                return a.positional[size_t(i) % a.positional.size()];
            }));
        put("changed", Value::callable("loop.changed", [last_changed, changed_called](Interpreter&, const CallArgs& a) {
                const Value now(List(a.positional.begin(), a.positional.end()));
                const bool changed = !*changed_called || !equals(now, Value(*last_changed));
                *changed_called = true;
                *last_changed = a.positional;
                return Value(changed);
            }));
        std::function<Value(Interpreter&, const CallArgs&)> recurse;
        if (s.recursive) {
            const Stmt* stmt = &s;
            std::weak_ptr<Scope> outer = scope;
            recurse = [stmt, outer, depth](Interpreter& in, const CallArgs& a) {
                if (a.positional.size() != 1) fail("loop() takes exactly one argument");
                auto sc = outer.lock();
                if (!sc) fail("recursive loop called outside of its loop");
                std::string inner;
                in.exec_for(*stmt, a.positional[0], sc, inner, depth + 1);
                return Value(std::move(inner));
            };
        }
        iter_scope->set("loop", Value::callable("loop", std::move(recurse), attrs));
        assign(*s.target, items[size_t(i)], iter_scope);
        const Flow f = exec(s.body, iter_scope, out);
        if (f == Flow::Break) break;
    }
}

void Interpreter::assign(const Expr& target, const Value& v, const std::shared_ptr<Scope>& scope) {
    switch (target.kind) {
        case Expr::Kind::Name: scope->set(target.name, v); return;
        case Expr::Kind::Tuple: {
            if (!v.is_sequence() && !v.is_string() && !v.is_dict()) fail("cannot unpack non-iterable " + v.type_name() + " object");
            List parts = iterate(v);
            if (parts.size() != target.children.size())
                fail(parts.size() < target.children.size()
                         ? "not enough values to unpack (expected " + std::to_string(target.children.size()) + ", got " +
                               std::to_string(parts.size()) + ")"
                         : "too many values to unpack (expected " + std::to_string(target.children.size()) + ")");
            for (size_t i = 0; i < parts.size(); ++i) assign(*target.children[i], parts[i], scope);
            return;
        }
        case Expr::Kind::GetAttr: {  // set ns.attr = …
            const Value* ns = scope->lookup(target.children[0]->name);
            if (!ns) ns = globals_->lookup(target.children[0]->name);
            if (!ns || !ns->is_namespace()) fail("cannot assign attribute on non-namespace object");
            if (v.holds_namespace()) fail("a namespace cannot hold another namespace");
            if (v.depth() >= Value::kMaxDepth) fail("value nests too deeply");
            Dict& entries = ns->namespace_entries();
            for (auto& [k, old] : entries) {
                if (k.is_string() && k.as_string() == target.name) { old = v; return; }
            }
            entries.emplace_back(Value(target.name), v);
            return;
        }
        default: fail("cannot assign to this expression");
    }
}

Value Interpreter::make_macro(const std::string& name, const std::vector<MacroParam>& params, const Body& body,
                              const std::shared_ptr<Scope>& closure) {
    // The AST outlives the render; the closure scope is held weakly so that a scope holding its own
    // macros is not a reference cycle (scopes live until their statement finishes rendering).
    const std::vector<MacroParam>* ps = &params;
    const Body* b = &body;
    std::weak_ptr<Scope> weak = closure;
    return Value::callable(name, [name, ps, b, weak](Interpreter& in, const CallArgs& args) {
        auto parent = weak.lock();
        if (!parent) fail("macro '" + name + "' called after its defining scope ended");
        if (++in.call_depth_ > in.limits_.max_call_depth) {
            in.call_depth_ = 0;
            fail("macro calls nest too deeply (more than " + std::to_string(in.limits_.max_call_depth) + ")");
        }
        auto sc = std::make_shared<Scope>();
        sc->parent = parent;
        List varargs;
        for (size_t i = 0; i < args.positional.size(); ++i) {
            if (i < ps->size()) sc->set((*ps)[i].name, args.positional[i]);
            else varargs.push_back(args.positional[i]);
        }
        Dict kwargs;
        for (const auto& [k, v] : args.keyword) {
            bool is_param = false;
            for (size_t i = 0; i < ps->size(); ++i) {
                if ((*ps)[i].name != k) continue;
                if (i < args.positional.size()) fail("macro '" + name + "' got multiple values for argument '" + k + "'");
                is_param = true;
            }
            if (is_param || k == "caller") sc->set(k, v);
            else kwargs.emplace_back(Value(k), v);
        }
        for (size_t i = args.positional.size(); i < ps->size(); ++i) {
            const MacroParam& p = (*ps)[i];
            if (std::any_of(sc->vars.begin(), sc->vars.end(), [&](auto& kv) { return kv.first == p.name; }))
                continue;
            sc->set(p.name, p.default_value ? in.eval(*p.default_value, sc)
                                            : Value::undefined("'" + p.name + "' is undefined"));
        }
        sc->set("varargs", Value(std::move(varargs), true));
        sc->set("kwargs", Value(std::move(kwargs)));
        std::string out;
        in.render(*b, sc, out);
        --in.call_depth_;
        return Value(std::move(out));
    });
}

CallArgs Interpreter::eval_args(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope) {
    CallArgs args;
    for (size_t i = first; i < e.children.size(); ++i) args.positional.push_back(eval(*e.children[i], scope));
    for (const auto& [k, v] : e.keywords) args.keyword.emplace_back(k, eval(*v, scope));
    if (e.star_args) {
        for (Value& v : iterate(eval(*e.star_args, scope))) args.positional.push_back(std::move(v));
    }
    if (e.star_kwargs) {
        const Value d = eval(*e.star_kwargs, scope);
        if (!d.is_dict()) fail("argument after ** must be a mapping, not " + d.type_name());
        for (const auto& [k, v] : d.entries()) {
            if (!k.is_string()) fail("keywords must be strings");
            args.keyword.emplace_back(k.as_string(), v);
        }
    }
    return args;
}

Value Interpreter::apply_filter_chain(const Expr& chain, Value subject, const std::shared_ptr<Scope>& scope) {
    // A filter block's chain ends in a null subject (the block's output); an expression's ends in
    // the filtered expression.
    const Expr* child = chain.children[0].get();
    Value inner = !child ? std::move(subject)
                  : child->kind == Expr::Kind::Filter ? apply_filter_chain(*child, std::move(subject), scope)
                                                      : eval(*child, scope);
    CallArgs args = eval_args(chain, 1, scope);
    line_ = chain.line;
    return filter(chain.name, inner, args);
}

Value Interpreter::call(const Value& fn, const CallArgs& args) {
    if (fn.is_undefined()) fail(fn.undefined_hint().empty() ? "called an undefined value" : fn.undefined_hint());
    if (!fn.is_callable()) fail("'" + fn.type_name() + "' object is not callable");
    return fn.callable_object().call(*this, args);
}

Value Interpreter::filter(const std::string& name, const Value& subject, const CallArgs& args) {
    const auto& filters = builtin_filters();
    auto it = filters.find(name);
    if (it == filters.end()) fail("no filter named '" + name + "'");
    return it->second(*this, subject, args);
}

bool Interpreter::test(const std::string& name, const Value& subject, const CallArgs& args) {
    const auto& tests = builtin_tests();
    auto it = tests.find(name);
    if (it == tests.end()) fail("no test named '" + name + "'");
    return it->second(*this, subject, args);
}

Value Interpreter::get_attr(const Value& obj, std::string_view name) {
    if (obj.is_undefined()) fail(obj.undefined_hint().empty() ? "undefined value has no attributes" : obj.undefined_hint());
    // Python attributes (methods) come first, then items, as Jinja's getattr does.
    Value method = bound_method(obj, name);
    if (!method.is_undefined()) return method;
    if (obj.is_dict() || obj.is_namespace() || obj.is_object()) {
        if (const Value* v = obj.find(name)) return *v;
    }
    const std::string owner = obj.is_dict() ? "'dict object'" : obj.is_none() ? "None" : "'" + obj.type_name() + " object'";
    return Value::undefined(owner + " has no attribute '" + std::string(name) + "'");
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
    if (obj.is_undefined()) fail(obj.undefined_hint().empty() ? "undefined value is not subscriptable" : obj.undefined_hint());
    if ((obj.is_sequence() || obj.is_string()) && (key.is_int() || key.is_bool())) {
        int64_t i = key.as_int();
        if (obj.is_string()) {
            const std::string& s = obj.as_string();
            std::vector<size_t> offs = text::code_point_offsets(s);
            const int64_t n = int64_t(offs.size()) - 1;
            if (i < 0) i += n;
            if (i >= 0 && i < n) return Value(s.substr(offs[size_t(i)], offs[size_t(i) + 1] - offs[size_t(i)]));
        } else {
            const List& items = obj.items();
            const int64_t n = int64_t(items.size());
            if (i < 0) i += n;
            if (i >= 0 && i < n) return items[size_t(i)];
        }
        return Value::undefined("index " + std::to_string(key.as_int()) + " is out of range");
    }
    if (obj.is_dict()) {
        if (const Value* v = obj.find(key)) return *v;
    }
    if (key.is_string()) return get_attr(obj, key.as_string());  // Jinja falls back to getattr
    return Value::undefined("'" + obj.type_name() + " object' has no item " + repr(key));
}

Value Interpreter::slice(const Value& obj, const Expr& sl, const std::shared_ptr<Scope>& scope) {
    auto bound = [&](const ExprPtr& e, const char* what) -> std::optional<int64_t> {
        if (!e) return std::nullopt;
        Value v = eval(*e, scope);
        if (v.is_none()) return std::nullopt;
        if (!v.is_int() && !v.is_bool()) fail(std::string("slice ") + what + " must be an integer or None");
        return v.as_int();
    };
    const auto start = bound(sl.children[0], "start"), stop = bound(sl.children[1], "stop"),
               stride = bound(sl.children[2], "step");
    if (obj.is_undefined()) fail(obj.undefined_hint().empty() ? "undefined value is not subscriptable" : obj.undefined_hint());
    const bool is_str = obj.is_string();
    if (!is_str && !obj.is_sequence()) fail("'" + obj.type_name() + "' object is not subscriptable");
    std::vector<std::string> cps;
    if (is_str) cps = text::code_points(obj.as_string());
    const int64_t n = is_str ? int64_t(cps.size()) : int64_t(obj.items().size());
    const int64_t st = stride.value_or(1);
    if (st == 0) fail("slice step cannot be zero");
    // Python's slice.indices().
    auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
        if (!v) return dflt;
        int64_t x = *v;
        if (x < 0) x += n;
        if (st > 0) return std::clamp<int64_t>(x, 0, n);
        return std::clamp<int64_t>(x, -1, n - 1);
    };
    const int64_t b = clamp(start, st > 0 ? 0 : n - 1), e = clamp(stop, st > 0 ? n : -1);
    std::string s_out;
    List l_out;
    for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
        if (is_str) s_out += cps[size_t(i)];
        else l_out.push_back(obj.items()[size_t(i)]);
    }
    if (is_str) return Value(std::move(s_out));
    return Value(std::move(l_out), obj.is_tuple());
}

namespace {

[[noreturn]] void operand_error(const std::string& op, const Value& a, const Value& b) {
    if (a.is_undefined()) fail(a.undefined_hint().empty() ? "undefined value in '" + op + "'" : a.undefined_hint());
    if (b.is_undefined()) fail(b.undefined_hint().empty() ? "undefined value in '" + op + "'" : b.undefined_hint());
    if (op == "+" && a.is_string())
        fail("can only concatenate str (not \"" + b.type_name() + "\") to str");
    fail("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

Value repeat(const Value& seq, int64_t times) {
    if (times < 0) times = 0;
    if (seq.is_string()) {
        if (times > 0 && seq.as_string().size() * size_t(times) > (size_t(64) << 20)) fail("repeated string is too large");
        std::string out;
        for (int64_t i = 0; i < times; ++i) out += seq.as_string();
        return Value(std::move(out));
    }
    if (times > 0 && seq.items().size() * size_t(times) > 10'000'000) fail("repeated list is too large");
    List out;
    for (int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
    return Value(std::move(out), seq.is_tuple());
}

}  // namespace

Value Interpreter::binary(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") return Value(to_str(a) + to_str(b));
    const bool nums = a.is_number() && b.is_number();
    const bool ints = nums && !a.is_float() && !b.is_float();
    if (op == "+") {
        if (ints) {
            int64_t r = 0;
            if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) fail("integer overflow");
            return Value(r);
        }
        if (nums) return Value(a.as_double() + b.as_double());
        if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
        if (a.kind() == b.kind() && a.is_sequence()) {
            List out = a.items();
            out.insert(out.end(), b.items().begin(), b.items().end());
            return Value(std::move(out), a.is_tuple());
        }
        operand_error(op, a, b);
    }
    if (op == "-") {
        if (ints) {
            int64_t r = 0;
            if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) fail("integer overflow");
            return Value(r);
        }
        if (nums) return Value(a.as_double() - b.as_double());
        operand_error(op, a, b);
    }
    if (op == "*") {
        if (ints) {
            int64_t r = 0;
            if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) fail("integer overflow");
            return Value(r);
        }
        if (nums) return Value(a.as_double() * b.as_double());
        if ((a.is_string() || a.is_sequence()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
        if ((b.is_string() || b.is_sequence()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
        operand_error(op, a, b);
    }
    if (op == "/") {
        if (!nums) operand_error(op, a, b);
        if (b.as_double() == 0.0) fail("division by zero");
        return Value(a.as_double() / b.as_double());
    }
    if (op == "//" || op == "%") {
        if (op == "%" && a.is_string()) return Value(percent_format(a.as_string(), b));
        if (!nums) operand_error(op, a, b);
        if (ints) {
            const int64_t x = a.as_int(), y = b.as_int();
            if (y == 0) fail(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) {
                if (op == "%") return Value(int64_t(0));
                fail("integer overflow");
            }
            int64_t q = x / y, r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) { --q; r += y; }
            return Value(op == "//" ? q : r);
        }
        const double x = a.as_double(), y = b.as_double();
        if (y == 0.0) fail("float division by zero");
        double r = std::fmod(x, y);
        if (r != 0 && ((r < 0) != (y < 0))) r += y;
        if (op == "%") return Value(r);
        return Value(std::floor(x / y));
    }
    if (op == "**") {
        if (!nums) operand_error(op, a, b);
        if (ints && b.as_int() >= 0) {
            int64_t base = a.as_int(), e = b.as_int(), r = 1;
            while (e > 0) {
                if ((e & 1) && __builtin_mul_overflow(r, base, &r)) fail("integer overflow");
                e >>= 1;
                if (e > 0 && __builtin_mul_overflow(base, base, &base)) fail("integer overflow");
            }
            return Value(r);
        }
        if (a.as_double() == 0.0 && b.as_double() < 0) fail("0.0 cannot be raised to a negative power");
        return Value(std::pow(a.as_double(), b.as_double()));
    }
    fail("unknown operator '" + op + "'");
}

Value Interpreter::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
    step();
    line_ = e.line;
    switch (e.kind) {
        case Expr::Kind::Literal: return e.value;
        case Expr::Kind::Name: {
            if (const Value* v = scope->lookup(e.name)) return *v;
            if (const Value* v = globals_->lookup(e.name)) return *v;
            return Value::undefined("'" + e.name + "' is undefined");
        }
        case Expr::Kind::List:
        case Expr::Kind::Tuple: {
            List items;
            for (const ExprPtr& c : e.children) items.push_back(eval(*c, scope));
            return Value(std::move(items), e.kind == Expr::Kind::Tuple);
        }
        case Expr::Kind::Dict: {
            Dict d;
            for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
                Value k = eval(*e.children[i], scope);
                Value v = eval(*e.children[i + 1], scope);
                if (k.is_list() || k.is_dict() || k.is_namespace() || k.is_undefined())
                    fail("unhashable type: '" + k.type_name() + "'");
                bool replaced = false;
                for (auto& [ok, ov] : d) if (equals(ok, k)) { ov = v; replaced = true; }
                if (!replaced) d.emplace_back(std::move(k), std::move(v));
            }
            return Value(std::move(d));
        }
        case Expr::Kind::GetAttr: {
            Value obj = eval(*e.children[0], scope);
            line_ = e.line;
            return get_attr(obj, e.name);
        }
        case Expr::Kind::GetItem: {
            Value obj = eval(*e.children[0], scope);
            if (e.children[1]->kind == Expr::Kind::Slice) return slice(obj, *e.children[1], scope);
            Value key = eval(*e.children[1], scope);
            line_ = e.line;
            return get_item(obj, key);
        }
        case Expr::Kind::Slice: fail("slice outside of a subscript");
        case Expr::Kind::Call: {
            Value fn = eval(*e.children[0], scope);
            CallArgs args = eval_args(e, 1, scope);
            line_ = e.line;
            return call(fn, args);
        }
        case Expr::Kind::Filter: return apply_filter_chain(e, Value(), scope);
        case Expr::Kind::Test: {
            Value subject = eval(*e.children[0], scope);
            CallArgs args = eval_args(e, 1, scope);
            line_ = e.line;
            return Value(test(e.name, subject, args) != e.negated);
        }
        case Expr::Kind::Not: return Value(!truthy(eval(*e.children[0], scope)));
        case Expr::Kind::Neg:
        case Expr::Kind::Pos: {
            Value v = eval(*e.children[0], scope);
            if (!v.is_number()) {
                if (v.is_undefined()) fail(v.undefined_hint().empty() ? "undefined value in unary operator" : v.undefined_hint());
                fail("bad operand type for unary " + std::string(e.kind == Expr::Kind::Neg ? "-" : "+") + ": '" +
                     v.type_name() + "'");
            }
            if (e.kind == Expr::Kind::Pos) return v.is_bool() ? Value(v.as_int()) : v;
            if (v.is_float()) return Value(-v.as_double());
            if (v.as_int() == INT64_MIN) fail("integer overflow");
            return Value(-v.as_int());
        }
        case Expr::Kind::Binary: {
            Value a = eval(*e.children[0], scope);
            if (e.name == "and") return truthy(a) ? eval(*e.children[1], scope) : a;
            if (e.name == "or") return truthy(a) ? a : eval(*e.children[1], scope);
            Value b = eval(*e.children[1], scope);
            line_ = e.line;
            return binary(e.name, a, b);
        }
        case Expr::Kind::Compare: {
            Value left = eval(*e.children[0], scope);
            for (size_t i = 0; i < e.ops.size(); ++i) {
                Value right = eval(*e.children[i + 1], scope);
                line_ = e.line;
                const std::string& op = e.ops[i];
                bool ok;
                if (op == "==") ok = equals(left, right);
                else if (op == "!=") ok = !equals(left, right);
                else if (op == "in") ok = contains(right, left);
                else if (op == "notin") ok = !contains(right, left);
                else {
                    if (left.is_undefined() || right.is_undefined())
                        operand_error(op, left, right);
                    const int c = compare(left, right);
                    ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
                }
                if (!ok) return Value(false);
                left = std::move(right);
            }
            return Value(true);
        }
        case Expr::Kind::CondExpr: {
            if (truthy(eval(*e.children[0], scope))) return eval(*e.children[1], scope);
            if (e.children[2]) return eval(*e.children[2], scope);
            return Value::undefined("the inline if-expression evaluated to false and no else section was defined");
        }
    }
    fail("unknown expression");
}

}  // namespace hearth::jinja
