// The syntax tree of a parsed template: expressions and statements, each with its source line for
// error messages. One fat node type per family keeps the interpreter a plain switch.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/template/value.h"

namespace hearth::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
    enum class Kind {
        Literal,    // value
        Name,       // name
        List,       // children
        Tuple,      // children
        Dict,       // children: key, value, key, value…
        GetAttr,    // children[0].name
        GetItem,    // children[0][children[1]]
        Slice,      // children: start, stop, step (null when omitted); only as GetItem's index
        Call,       // children[0](children[1:], keywords)
        Filter,     // children[0] | name(children[1:], keywords); children[0] null in filter blocks
        Test,       // children[0] is name(children[1:], keywords); negated for `is not`
        Not,        // not children[0]
        Neg,        // -children[0]
        Pos,        // +children[0]
        Binary,     // children[0] op children[1]: + - * / // % ** ~ and or
        Compare,    // children[0] ops[i] children[i+1]…: == != < <= > >= in notin
        CondExpr,   // children[1] if children[0] else children[2] (null: undefined)
    };
    Kind kind;
    int line = 0;
    Value value;               // Literal
    std::string name;          // Name, GetAttr, Filter, Test, Binary operator
    std::vector<std::string> ops;  // Compare
    bool negated = false;      // Test
    std::vector<ExprPtr> children;
    std::vector<std::pair<std::string, ExprPtr>> keywords;  // Call, Filter, Test
    ExprPtr star_args, star_kwargs;                          // Call: *args, **kwargs

    Expr(Kind k, int l) : kind(k), line(l) {}
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct MacroParam {
    std::string name;
    ExprPtr default_value;  // may be null
};

struct Stmt {
    enum class Kind {
        Text,       // text
        Output,     // {{ expr }}
        If,         // conditions[i] → bodies[i]; else_body
        For,        // for target in expr [if filter] body [else else_body]
        Set,        // set target = expr
        SetBlock,   // set target [| filters] body endset
        Macro,      // macro name(params) body
        CallBlock,  // call[(params)] expr body
        FilterBlock,  // filter chain body
        Break,
        Continue,
        Generation,  // transformers' {% generation %} body {% endgeneration %}: renders the body
    };
    Kind kind;
    int line = 0;
    std::string text;
    ExprPtr expr;      // Output, For (iterable), Set (value), CallBlock (call), FilterBlock (filter chain)
    ExprPtr target;    // For, Set, SetBlock: Name, Tuple of Names, or GetAttr on a namespace name
    ExprPtr filter;    // For's `if`; SetBlock's filter chain (applied to its output)
    bool recursive = false;
    bool uses_loop = true;  // For: the body mentions `loop` (else the loop object is not built)
    std::vector<ExprPtr> conditions;
    std::vector<Body> bodies;
    Body body, else_body;
    std::string name;  // Macro
    std::vector<MacroParam> params;  // Macro, CallBlock

    Stmt(Kind k, int l) : kind(k), line(l) {}
};

}  // namespace hearth::jinja
