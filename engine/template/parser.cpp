#include "engine/template/parser.h"

#include <cerrno>
#include <cstdlib>
#include <initializer_list>

#include "engine/template/lexer.h"

namespace hearth::jinja {
namespace {

using TT = Token::Type;
constexpr int kMaxNesting = 200;  // hostile templates must not overflow the stack
constexpr int kMaxChain = 1000;   // operands in one left-associative chain (a + b + …): the tree's depth

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

    Body parse_template() {
        Body body = subparse({});
        if (cur().type != TT::End) error("unexpected '" + describe(cur()) + "'");
        return body;
    }

private:
    std::vector<Token> t_;
    size_t i_ = 0;
    int depth_ = 0;

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser) : p(parser) {
            if (++p.depth_ > kMaxNesting) p.error("template nests too deeply");
        }
        ~DepthGuard() { --p.depth_; }
    };

    const Token& cur() const { return t_[i_]; }
    const Token& peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
    const Token& next() {
        const Token& t = t_[i_];
        if (i_ + 1 < t_.size()) ++i_;
        return t;
    }
    int line() const { return cur().line; }

    [[noreturn]] void error(const std::string& message) const {
        fail("template syntax error at line " + std::to_string(line()) + ": " + message);
    }

    static std::string describe(const Token& t) {
        switch (t.type) {
            case TT::Text: return "text";
            case TT::VariableBegin: return "begin of print statement";
            case TT::VariableEnd: return "end of print statement";
            case TT::BlockBegin: return "begin of statement block";
            case TT::BlockEnd: return "end of statement block";
            case TT::End: return "end of template";
            case TT::String: return "string";
            default: return t.value;
        }
    }

    bool is_op(const char* op) const { return cur().type == TT::Operator && cur().value == op; }
    bool is_name(const char* name) const { return cur().type == TT::Name && cur().value == name; }
    bool skip_op(const char* op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(const char* name) {
        if (!is_name(name)) return false;
        next();
        return true;
    }
    void expect_op(const char* op) {
        if (!skip_op(op)) error(std::string("expected '") + op + "', got '" + describe(cur()) + "'");
    }
    std::string expect_name() {
        if (cur().type != TT::Name) error("expected a name, got '" + describe(cur()) + "'");
        return next().value;
    }
    void expect(TT type, const char* what) {
        if (cur().type != type) error(std::string("expected ") + what + ", got '" + describe(cur()) + "'");
        next();
    }

    static ExprPtr make(Expr::Kind k, int line) { return std::make_unique<Expr>(k, line); }

    // Left-associative chains build trees as deep as they are long; evaluation recurses that deep.
    void chain_step(int& n) const {
        if (++n > kMaxChain) error("expression too long (more than " + std::to_string(kMaxChain) + " chained operations)");
    }

    // ------------------------------------------------------------------ statements

    // Parses until a block tag whose first name is one of `end_names` (left current) or the end.
    Body subparse(std::initializer_list<const char*> end_names) {
        Body body;
        while (cur().type != TT::End) {
            const Token& tok = cur();
            if (tok.type == TT::Text) {
                auto s = std::make_unique<Stmt>(Stmt::Kind::Text, tok.line);
                s->text = tok.value;
                body.push_back(std::move(s));
                next();
            } else if (tok.type == TT::VariableBegin) {
                auto s = std::make_unique<Stmt>(Stmt::Kind::Output, tok.line);
                next();
                s->expr = parse_tuple(true, {});
                expect(TT::VariableEnd, "'}}'");
                body.push_back(std::move(s));
            } else if (tok.type == TT::BlockBegin) {
                next();
                if (cur().type == TT::Name)
                    for (const char* e : end_names) if (cur().value == e) return body;
                body.push_back(parse_statement());
                expect(TT::BlockEnd, "'%}'");
            } else {
                error("unexpected '" + describe(tok) + "'");
            }
        }
        return body;
    }

    // After a statement's head: `%}`, the body up to one of end_names; leaves that name current.
    Body parse_body(std::initializer_list<const char*> end_names) {
        expect(TT::BlockEnd, "'%}'");
        Body body = subparse(end_names);
        if (cur().type == TT::End) {
            std::string names;
            for (const char* e : end_names) names += std::string(names.empty() ? "" : " or ") + "'" + e + "'";
            error("unexpected end of template, expected " + names);
        }
        return body;
    }

    StmtPtr parse_statement() {
        DepthGuard guard(*this);
        if (cur().type != TT::Name) error("tag name expected");
        const std::string tag = cur().value;
        const int ln = line();
        if (tag == "if") return parse_if();
        if (tag == "for") return parse_for();
        if (tag == "set") return parse_set();
        if (tag == "macro") return parse_macro();
        if (tag == "call") return parse_call_block();
        if (tag == "filter") {
            next();
            auto s = std::make_unique<Stmt>(Stmt::Kind::FilterBlock, ln);
            s->filter = parse_filter(nullptr, true);
            s->body = parse_body({"endfilter"});
            next();
            return s;
        }
        if (tag == "generation") {
            next();
            auto s = std::make_unique<Stmt>(Stmt::Kind::Generation, ln);
            s->body = parse_body({"endgeneration"});
            next();
            return s;
        }
        if (tag == "print") {
            next();
            auto s = std::make_unique<Stmt>(Stmt::Kind::Output, ln);
            s->expr = parse_tuple(true, {});
            return s;
        }
        if (tag == "break" || tag == "continue") {
            next();
            return std::make_unique<Stmt>(tag == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue, ln);
        }
        error("encountered unknown tag '" + tag + "'");
    }

    StmtPtr parse_if() {
        auto s = std::make_unique<Stmt>(Stmt::Kind::If, line());
        next();
        while (true) {
            s->conditions.push_back(parse_tuple(false, {}));
            s->bodies.push_back(parse_body({"elif", "else", "endif"}));
            const std::string which = next().value;
            if (which == "elif") continue;
            if (which == "else") {
                s->else_body = parse_body({"endif"});
                next();
            }
            break;
        }
        return s;
    }

    StmtPtr parse_for() {
        auto s = std::make_unique<Stmt>(Stmt::Kind::For, line());
        next();
        s->target = parse_assign_target({"in"}, false);
        if (!skip_name("in")) error("expected 'in'");
        s->expr = parse_tuple(false, {"recursive"});
        if (skip_name("if")) s->filter = parse_expression(true);
        s->recursive = skip_name("recursive");
        s->body = parse_body({"endfor", "else"});
        s->uses_loop = s->recursive || mentions_loop(s->body);
        if (next().value == "else") {
            s->else_body = parse_body({"endfor"});
            next();
        }
        return s;
    }

    // Whether any expression in the body (nested statements included) names `loop`.
    static bool mentions_loop(const Expr* e) {
        if (!e) return false;
        if (e->kind == Expr::Kind::Name && e->name == "loop") return true;
        for (const ExprPtr& c : e->children) if (mentions_loop(c.get())) return true;
        for (const auto& kw : e->keywords) if (mentions_loop(kw.second.get())) return true;
        return mentions_loop(e->star_args.get()) || mentions_loop(e->star_kwargs.get());
    }
    static bool mentions_loop(const Body& body) {
        for (const StmtPtr& s : body) {
            if (mentions_loop(s->expr.get()) || mentions_loop(s->target.get()) || mentions_loop(s->filter.get())) return true;
            for (const ExprPtr& c : s->conditions) if (mentions_loop(c.get())) return true;
            for (const Body& b : s->bodies) if (mentions_loop(b)) return true;
            for (const MacroParam& p : s->params) if (mentions_loop(p.default_value.get())) return true;
            if (mentions_loop(s->body) || mentions_loop(s->else_body)) return true;
        }
        return false;
    }

    StmtPtr parse_set() {
        const int ln = line();
        next();
        ExprPtr target = parse_assign_target({}, true);
        if (skip_op("=")) {
            auto s = std::make_unique<Stmt>(Stmt::Kind::Set, ln);
            s->target = std::move(target);
            s->expr = parse_tuple(true, {});
            return s;
        }
        auto s = std::make_unique<Stmt>(Stmt::Kind::SetBlock, ln);
        s->target = std::move(target);
        if (is_op("|")) {
            next();
            s->filter = parse_filter(nullptr, true);
        }
        s->body = parse_body({"endset"});
        next();
        return s;
    }

    // Assignment targets: a name, a namespace attribute (with_namespace) or a tuple of names.
    ExprPtr parse_assign_target(std::initializer_list<const char*> extra_end, bool with_namespace) {
        if (with_namespace && cur().type == TT::Name && peek().type == TT::Operator && peek().value == ".") {
            auto ns = make(Expr::Kind::Name, line());
            ns->name = next().value;
            next();
            auto attr = make(Expr::Kind::GetAttr, ns->line);
            attr->name = expect_name();
            attr->children.push_back(std::move(ns));
            return attr;
        }
        std::vector<ExprPtr> names;
        bool is_tuple = false;
        const int ln = line();
        while (true) {
            if (!names.empty()) expect_op(",");
            if (is_tuple_end(extra_end)) break;
            names.push_back(parse_target_primary());
            if (is_op(",")) is_tuple = true;
            else break;
        }
        if (names.empty()) error("expected an assignment target");
        if (!is_tuple) return std::move(names[0]);
        auto t = make(Expr::Kind::Tuple, ln);
        t->children = std::move(names);
        return t;
    }

    ExprPtr parse_target_primary() {
        if (skip_op("(")) {
            ExprPtr inner = parse_assign_target({}, false);
            expect_op(")");
            return inner;
        }
        if (cur().type != TT::Name) error("can't assign to '" + describe(cur()) + "'");
        const std::string& n = cur().value;
        if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None")
            error("can't assign to '" + n + "'");
        auto e = make(Expr::Kind::Name, line());
        e->name = next().value;
        return e;
    }

    void parse_signature(std::vector<MacroParam>& params) {
        expect_op("(");
        while (!is_op(")")) {
            if (!params.empty()) expect_op(",");
            if (is_op(")")) break;
            MacroParam p;
            p.name = expect_name();
            if (skip_op("=")) p.default_value = parse_expression(true);
            params.push_back(std::move(p));
        }
        expect_op(")");
    }

    StmtPtr parse_macro() {
        auto s = std::make_unique<Stmt>(Stmt::Kind::Macro, line());
        next();
        s->name = expect_name();
        parse_signature(s->params);
        s->body = parse_body({"endmacro"});
        next();
        return s;
    }

    StmtPtr parse_call_block() {
        auto s = std::make_unique<Stmt>(Stmt::Kind::CallBlock, line());
        next();
        if (is_op("(")) parse_signature(s->params);
        s->expr = parse_expression(true);
        if (s->expr->kind != Expr::Kind::Call) error("expected a call expression after 'call'");
        s->body = parse_body({"endcall"});
        next();
        return s;
    }

    // ------------------------------------------------------------------ expressions

    bool is_tuple_end(std::initializer_list<const char*> extra_end) const {
        const Token& t = cur();
        if (t.type == TT::VariableEnd || t.type == TT::BlockEnd || t.type == TT::End) return true;
        if (t.type == TT::Operator && t.value == ")") return true;
        if (t.type == TT::Name)
            for (const char* e : extra_end) if (t.value == e) return true;
        return false;
    }

    ExprPtr parse_tuple(bool with_condexpr, std::initializer_list<const char*> extra_end, bool explicit_parens = false) {
        const int ln = line();
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        while (true) {
            if (!items.empty()) expect_op(",");
            if (is_tuple_end(extra_end)) break;
            items.push_back(parse_expression(with_condexpr));
            if (is_op(",")) is_tuple = true;
            else break;
        }
        if (!is_tuple) {
            if (!items.empty()) return std::move(items[0]);
            if (!explicit_parens) error("expected an expression, got '" + describe(cur()) + "'");
        }
        auto t = make(Expr::Kind::Tuple, ln);
        t->children = std::move(items);
        return t;
    }

    ExprPtr parse_expression(bool with_condexpr) {
        DepthGuard guard(*this);
        if (!with_condexpr) return parse_or();
        const int ln = line();
        ExprPtr expr = parse_or();
        int n = 0;
        while (skip_name("if")) {
            chain_step(n);
            auto c = make(Expr::Kind::CondExpr, ln);
            c->children.push_back(parse_or());
            c->children.push_back(std::move(expr));
            c->children.push_back(skip_name("else") ? parse_expression(true) : nullptr);
            expr = std::move(c);
        }
        return expr;
    }

    ExprPtr binary(const char* op, ExprPtr a, ExprPtr b, int ln) {
        auto e = make(Expr::Kind::Binary, ln);
        e->name = op;
        e->children.push_back(std::move(a));
        e->children.push_back(std::move(b));
        return e;
    }

    ExprPtr parse_or() {
        const int ln = line();
        ExprPtr left = parse_and();
        int n = 0;
        while (skip_name("or") && (chain_step(n), true)) left = binary("or", std::move(left), parse_and(), ln);
        return left;
    }

    ExprPtr parse_and() {
        const int ln = line();
        ExprPtr left = parse_not();
        int n = 0;
        while (skip_name("and") && (chain_step(n), true)) left = binary("and", std::move(left), parse_not(), ln);
        return left;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            DepthGuard guard(*this);
            auto e = make(Expr::Kind::Not, line());
            next();
            e->children.push_back(parse_not());
            return e;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const int ln = line();
        ExprPtr first = parse_math1();
        ExprPtr node;
        while (true) {
            std::string op;
            if (cur().type == TT::Operator &&
                (cur().value == "==" || cur().value == "!=" || cur().value == "<" || cur().value == "<=" ||
                 cur().value == ">" || cur().value == ">=")) {
                op = next().value;
            } else if (skip_name("in")) {
                op = "in";
            } else if (is_name("not") && peek().type == TT::Name && peek().value == "in") {
                next();
                next();
                op = "notin";
            } else {
                break;
            }
            if (!node) {
                node = make(Expr::Kind::Compare, ln);
                node->children.push_back(std::move(first));
            }
            node->ops.push_back(op);
            node->children.push_back(parse_math1());
        }
        return node ? std::move(node) : std::move(first);
    }

    ExprPtr parse_math1() {
        const int ln = line();
        ExprPtr left = parse_concat();
        int n = 0;
        while (is_op("+") || is_op("-")) {
            chain_step(n);
            const std::string op = next().value;
            left = binary(op == "+" ? "+" : "-", std::move(left), parse_concat(), ln);
        }
        return left;
    }

    ExprPtr parse_concat() {
        const int ln = line();
        ExprPtr left = parse_math2();
        int n = 0;
        while (skip_op("~") && (chain_step(n), true)) left = binary("~", std::move(left), parse_math2(), ln);
        return left;
    }

    ExprPtr parse_math2() {
        const int ln = line();
        ExprPtr left = parse_pow();
        int n = 0;
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            chain_step(n);
            const std::string op = next().value;
            const char* name = op == "*" ? "*" : op == "/" ? "/" : op == "//" ? "//" : "%";
            left = binary(name, std::move(left), parse_pow(), ln);
        }
        return left;
    }

    ExprPtr parse_pow() {
        const int ln = line();
        ExprPtr left = parse_unary(true);
        int n = 0;
        while (skip_op("**") && (chain_step(n), true)) left = binary("**", std::move(left), parse_unary(true), ln);
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        DepthGuard guard(*this);
        const int ln = line();
        ExprPtr node;
        if (is_op("-") || is_op("+")) {
            node = make(is_op("-") ? Expr::Kind::Neg : Expr::Kind::Pos, ln);
            next();
            node->children.push_back(parse_unary(false));
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        DepthGuard guard(*this);
        const Token& tok = cur();
        const int ln = tok.line;
        if (tok.type == TT::Name) {
            const std::string n = next().value;
            auto e = make(Expr::Kind::Literal, ln);
            if (n == "true" || n == "True") e->value = Value(true);
            else if (n == "false" || n == "False") e->value = Value(false);
            else if (n == "none" || n == "None") e->value = Value::none();
            else {
                e->kind = Expr::Kind::Name;
                e->name = n;
            }
            return e;
        }
        if (tok.type == TT::String) {
            std::string s;
            while (cur().type == TT::String) s += next().value;  // adjacent literals concatenate
            auto e = make(Expr::Kind::Literal, ln);
            e->value = Value(std::move(s));
            return e;
        }
        if (tok.type == TT::Integer || tok.type == TT::Float) {
            const std::string spelled = next().value;
            auto e = make(Expr::Kind::Literal, ln);
            errno = 0;
            if (tok.type == TT::Integer) {
                const long long v = std::strtoll(spelled.c_str(), nullptr, 10);
                if (errno == ERANGE) error("integer literal out of range: " + spelled);
                e->value = Value(int64_t(v));
            } else {
                e->value = Value(std::strtod(spelled.c_str(), nullptr));
            }
            return e;
        }
        if (skip_op("(")) {
            ExprPtr inner = parse_tuple(true, {}, true);
            expect_op(")");
            return inner;
        }
        if (skip_op("[")) {
            auto e = make(Expr::Kind::List, ln);
            while (!is_op("]")) {
                if (!e->children.empty()) expect_op(",");
                if (is_op("]")) break;
                e->children.push_back(parse_expression(true));
            }
            expect_op("]");
            return e;
        }
        if (skip_op("{")) {
            auto e = make(Expr::Kind::Dict, ln);
            while (!is_op("}")) {
                if (!e->children.empty()) expect_op(",");
                if (is_op("}")) break;
                e->children.push_back(parse_expression(true));
                expect_op(":");
                e->children.push_back(parse_expression(true));
            }
            expect_op("}");
            return e;
        }
        error("unexpected '" + describe(tok) + "'");
    }

    ExprPtr parse_postfix(ExprPtr node) {
        int n = 0;
        while (true) {
            chain_step(n);
            if (is_op(".") || is_op("[")) node = parse_subscript(std::move(node));
            else if (is_op("(")) node = parse_call(std::move(node));
            else break;
        }
        return node;
    }

    ExprPtr parse_filter_expr(ExprPtr node) {
        int n = 0;
        while (true) {
            chain_step(n);
            if (is_op("|")) node = parse_filter(std::move(node), false);
            else if (is_name("is")) node = parse_test(std::move(node));
            else if (is_op("(")) node = parse_call(std::move(node));
            else break;
        }
        return node;
    }

    ExprPtr parse_subscript(ExprPtr node) {
        const int ln = line();
        if (skip_op(".")) {
            if (cur().type == TT::Name) {
                auto e = make(Expr::Kind::GetAttr, ln);
                e->name = next().value;
                e->children.push_back(std::move(node));
                return e;
            }
            if (cur().type != TT::Integer) error("expected name or number after '.'");
            auto idx = make(Expr::Kind::Literal, ln);
            idx->value = Value(int64_t(std::strtoll(next().value.c_str(), nullptr, 10)));
            auto e = make(Expr::Kind::GetItem, ln);
            e->children.push_back(std::move(node));
            e->children.push_back(std::move(idx));
            return e;
        }
        expect_op("[");
        std::vector<ExprPtr> args;
        while (!is_op("]")) {
            if (!args.empty()) expect_op(",");
            args.push_back(parse_subscribed());
        }
        expect_op("]");
        if (args.empty()) error("expected subscript expression");
        auto e = make(Expr::Kind::GetItem, ln);
        e->children.push_back(std::move(node));
        if (args.size() == 1) {
            e->children.push_back(std::move(args[0]));
        } else {
            auto t = make(Expr::Kind::Tuple, ln);
            t->children = std::move(args);
            e->children.push_back(std::move(t));
        }
        return e;
    }

    ExprPtr parse_subscribed() {
        const int ln = line();
        ExprPtr start;
        if (!skip_op(":")) {
            ExprPtr node = parse_expression(true);
            if (!skip_op(":")) return node;
            start = std::move(node);
        }
        auto slice = make(Expr::Kind::Slice, ln);
        slice->children.push_back(std::move(start));
        if (is_op(":") || is_op("]") || is_op(",")) slice->children.push_back(nullptr);
        else slice->children.push_back(parse_expression(true));
        if (skip_op(":")) {
            if (is_op("]") || is_op(",")) slice->children.push_back(nullptr);
            else slice->children.push_back(parse_expression(true));
        } else {
            slice->children.push_back(nullptr);
        }
        return slice;
    }

    // Call arguments into e->children (after the callee/subject) and e->keywords.
    void parse_call_args(Expr& e) {
        expect_op("(");
        bool require_comma = false;
        while (!is_op(")")) {
            if (require_comma) {
                expect_op(",");
                if (is_op(")")) break;
            }
            if (skip_op("*")) {
                if (e.star_args || e.star_kwargs) error("invalid syntax for function call expression");
                e.star_args = parse_expression(true);
            } else if (skip_op("**")) {
                if (e.star_kwargs) error("invalid syntax for function call expression");
                e.star_kwargs = parse_expression(true);
            } else if (cur().type == TT::Name && peek().type == TT::Operator && peek().value == "=") {
                if (e.star_kwargs) error("invalid syntax for function call expression");
                std::string key = next().value;
                next();
                e.keywords.emplace_back(std::move(key), parse_expression(true));
            } else {
                if (e.star_args || e.star_kwargs || !e.keywords.empty())
                    error("positional argument follows keyword argument");
                e.children.push_back(parse_expression(true));
            }
            require_comma = true;
        }
        expect_op(")");
    }

    ExprPtr parse_call(ExprPtr callee) {
        auto e = make(Expr::Kind::Call, line());
        e->children.push_back(std::move(callee));
        parse_call_args(*e);
        return e;
    }

    ExprPtr parse_filter(ExprPtr node, bool start_inline) {
        int n = 0;
        while (is_op("|") || start_inline) {
            chain_step(n);
            if (!start_inline) next();
            start_inline = false;
            auto e = make(Expr::Kind::Filter, line());
            e->name = expect_name();
            while (skip_op(".")) e->name.append(".").append(expect_name());
            e->children.push_back(std::move(node));
            if (is_op("(")) parse_call_args(*e);
            node = std::move(e);
        }
        return node;
    }

    ExprPtr parse_test(ExprPtr node) {
        const int ln = line();
        next();  // is
        const bool negated = skip_name("not");
        auto e = make(Expr::Kind::Test, ln);
        e->name = expect_name();
        while (skip_op(".")) e->name.append(".").append(expect_name());
        e->negated = negated;
        e->children.push_back(std::move(node));
        const Token& t = cur();
        if (is_op("(")) {
            parse_call_args(*e);
        } else if ((t.type == TT::Name || t.type == TT::String || t.type == TT::Integer || t.type == TT::Float ||
                    is_op("[") || is_op("{")) &&
                   !(t.type == TT::Name && (t.value == "else" || t.value == "or" || t.value == "and"))) {
            if (is_name("is")) error("you cannot chain multiple tests with is");
            e->children.push_back(parse_postfix(parse_primary()));
        }
        return e;
    }
};

}  // namespace

Result<Body> parse(std::string_view source) {
    auto tokens = tokenize(source);
    if (!tokens.ok()) return tokens.status();
    try {
        Parser p(std::move(tokens.value()));
        return p.parse_template();
    } catch (const TemplateError& e) {
        return make_error(e.what());
    } catch (const std::bad_alloc&) {
        return make_error("template too large to parse");
    }
}

}  // namespace hearth::jinja
