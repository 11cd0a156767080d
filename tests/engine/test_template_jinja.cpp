// Interpreter features beyond the shared chat-template cases: whitespace control, loops and loop.*,
// scoping, macros and call blocks, namespace, slicing, filters, tests, str/dict methods, operators,
// Python-style printing, tojson, strftime_now and errors. Every expected string below is what Python
// Jinja2 3.1.6 renders for the same source and variables in an ImmutableSandboxedEnvironment set up
// as Hugging Face transformers does it (trim_blocks, lstrip_blocks, loopcontrols, tojson =
// json.dumps(ensure_ascii=False), raise_exception, strftime_now fixed at 2026-01-15 12:00:00).
// Error cases must fail with a message containing the given text.
#include <gtest/gtest.h>

#include "engine/template/jinja.h"

namespace {

struct Case {
    const char* source;
    const char* expected;  // output, or a part of the error message when `error`
    bool error;
};

const char* const kVars = R"J({"msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1, "b": "é"}}}]}], "s": "  Hello World  ", "n": 5, "f": 2.5, "d": {"b": 1, "a": [1, 2]}, "l": [3, 1, 2], "u": "日本語テキスト"})J";

std::tm fixed_clock() {
    std::tm t{};
    t.tm_year = 2026 - 1900;
    t.tm_mon = 0;
    t.tm_mday = 15;
    t.tm_hour = 12;
    return t;
}

using hearth::Result;

void run_cases(const Case* cases, size_t n) {
    auto vars = hearth::json::parse(kVars);
    ASSERT_TRUE(vars.ok()) << vars.message();
    hearth::jinja::RenderOptions opts;
    opts.clock = fixed_clock;
    for (size_t i = 0; i < n; ++i) {
        const Case& c = cases[i];
        auto t = hearth::jinja::Template::parse(c.source);
        Result<std::string> r = t.ok() ? t->render(*vars, opts) : Result<std::string>(t.status());
        if (c.error) {
            EXPECT_FALSE(r.ok()) << "case " << i << " should fail: " << c.source << "\ngot: " << (r.ok() ? *r : "");
            if (!r.ok()) EXPECT_NE(r.message().find(c.expected), std::string::npos)
                             << "case " << i << ": " << c.source << "\nmessage: " << r.message() << "\nwanted: " << c.expected;
        } else {
            ASSERT_TRUE(r.ok()) << "case " << i << ": " << c.source << "\nerror: " << r.message();
            EXPECT_EQ(*r, c.expected) << "case " << i << ": " << c.source;
        }
    }
}

}  // namespace


TEST(JinjaInterpreter, WhitespaceControl) {
    static const Case cases[] = {
        {R"J({% if true %}
a
{% endif %}
b)J",
         R"J(a
b)J", false},
        {R"J(    {% if true %}
    x
    {% endif %})J",
         R"J(    x
)J", false},
        {R"J(	{%- if true %}	y{% endif %})J",
         R"J(	y)J", false},
        {R"J({# comment #}
after)J",
         R"J(after)J", false},
        {R"J(  {# comment #}  
after)J",
         R"J(  
after)J", false},
        {R"J({%- raw -%}
  {{ raw }}
{%- endraw %}
  next)J",
         R"J({{ raw }}  next)J", false},
        {R"J(    {% raw %}  a {% endraw %})J",
         R"J(  a )J", false},
        {R"J(x   {%- set a = 1 -%}   
   y)J",
         R"J(xy)J", false},
        {R"J({{ "a" -}}
   {{- "b" }})J",
         R"J(ab)J", false},
        {R"J(  {{ "v" }}
  {%+ if true %}p{% endif +%}
q)J",
         R"J(  v
  p
q)J", false},
        {R"J({% for i in range(2) %}
  - {{ i }}
{% endfor %})J",
         R"J(  - 0
  - 1
)J", false},
        {R"J({% for i in range(2) -%}
  - {{ i }}
{%- endfor %})J",
         R"J(- 0- 1)J", false},
        {R"J(text with trailing newline
)J",
         R"J(text with trailing newline)J", false},
        {R"J({% macro f() -%}
   inner
{%- endmacro %}[{{ f() }}])J",
         R"J([inner])J", false},
        {R"J({%- for m in msgs %}
    {{- m.role }}
{%- endfor %})J",
         R"J(userassistant)J", false},
        {R"J(a {# multi
line
comment #} b)J",
         R"J(a  b)J", false},
        {R"J({%- if true %}

  keep
{% endif -%}

tail)J",
         R"J(
  keep
tail)J", false},
        {R"J({{ 'a' }}
{{ 'b' }})J",
         R"J(a
b)J", false},
        {R"J(a
{%- if true -%}
  b
{%- endif -%}
  c {{- n -}} d
{%+ if true %} e{% endif %})J",
         R"J(abc5d
 e)J", false},
        {R"J({{ {'a': {'b': 1}} }}|{{ {'k': [1, {'z': 2}]}['k'][1]['z'] }})J",
         R"J({'a': {'b': 1}}|2)J", false},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, Loops) {
    static const Case cases[] = {
        {R"J({% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }};{% endfor %})J",
         R"J(1032TrueFalse31;2121FalseFalse332;3210FalseTrue31;)J", false},
        {R"J({% for x in l if x > 1 %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% else %}none{% endfor %})J",
         R"J(1/2:3 2/2:2 )J", false},
        {R"J({% for x in [] %}a{% else %}empty{% endfor %}|{% for x in l if x > 9 %}a{% else %}filtered away{% endfor %})J",
         R"J(empty|filtered away)J", false},
        {R"J({% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|{% for (a, b) in [(1, 2)] %}{{ a + b }}{% endfor %})J",
         R"J(b=1;a=[1, 2];|ba|3)J", false},
        {R"J({% for x in range(10) %}{% if x == 5 %}{% break %}{% endif %}{% if x is odd %}{% continue %}{% endif %}{{ x }}{% endfor %})J",
         R"J(024)J", false},
        {R"J({% for a in [[1,2],[3,4]] %}{% for b in a %}{{ loop.index }}{{ loop.depth }}{% endfor %}{{ loop.index }}{% endfor %})J",
         R"J(1121111212)J", false},
        {R"J({% for x in [1,2,3] %}{{ loop.cycle('a','b') }}{% endfor %}|{% for x in [1,1,2] %}{{ loop.changed(x) }}{% endfor %})J",
         R"J(aba|TrueFalseTrue)J", false},
        {R"J({% for item in [{'c':[{'c':[]}, {'c':[]}]}] recursive %}[{{ loop.depth }}{{ loop(item.c) }}]{% endfor %})J",
         R"J([1[2][2]])J", false},
        {R"J({% set x = 0 %}{% for i in range(3) %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }})J",
         R"J(0101010)J", false},
        {R"J({% for i in range(3) %}{% if i==1 %}{% set y = 5 %}{% endif %}{{ y }},{% endfor %}{{ y }})J",
         R"J(,5,,)J", false},
        {R"J({% for c in "añb" %}{{ c }}.{% endfor %}|{% for m in msgs[::-1] %}{{ m.role }}{% endfor %})J",
         R"J(a.ñ.b.|assistantuser)J", false},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, MacrosAndCall) {
    static const Case cases[] = {
        {R"J({% macro hello(name, greet='Hi') %}{{ greet }} {{ name }}!{% endmacro %}{{ hello('Bob') }} {{ hello('Al', greet='Yo') }} {{ hello(name='X') }})J",
         R"J(Hi Bob! Yo Al! Hi X!)J", false},
        {R"J({% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ n }}{% endcall %})J",
         R"J(<b>inner 5</b>)J", false},
        {R"J({% macro list_items(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) list_items([1, 2]) %}<{{ x }}>{% endcall %})J",
         R"J(<1><2>)J", false},
        {R"J({% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, z=4) }})J",
         R"J(1(2, 3){'z': 4})J", false},
        {R"J({% macro m(a, b=a + 1) %}{{ a }},{{ b }}{% endmacro %}{{ m(1) }}|{{ m(1, 5) }}|{{ m(b=2, a=0) }})J",
         R"J(1,2|1,5|0,2)J", false},
        {R"J({% set top = 'T' %}{% macro show() %}{{ top }}{% endmacro %}{{ show() }})J",
         R"J(T)J", false},
        {R"J({% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }})J",
         R"J(120)J", false},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, NamespaceAndSet) {
    static const Case cases[] = {
        {R"J({% set ns = namespace(a=1, b='x') %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.b }}|{{ ns }})J",
         R"J(2x|<Namespace {'a': 2, 'b': 'x'}>)J", false},
        {R"J({% set ns = namespace(found=false) %}{% for m in msgs %}{% if m.role == 'assistant' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }})J",
         R"J(True)J", false},
        {R"J({% set ns = namespace() %}{% set ns.count = 0 %}{% for i in range(4) %}{% set ns.count = ns.count + i %}{% endfor %}{{ ns.count }})J",
         R"J(6)J", false},
        {R"J({% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1, 2) %}{{ t }}{% set x = [1,2], 3 %}{{ x }})J",
         R"J(12(1, 2)([1, 2], 3))J", false},
        {R"J({% set content %}Block {{ n }}{% endset %}{{ content }}|{% set up | upper %}shout{% endset %}{{ up }})J",
         R"J(Block 5|SHOUT)J", false},
        {R"J({% filter upper %}hello {{ n }}{% endfilter %}|{% filter trim|title %}  two words  {% endfilter %})J",
         R"J(HELLO 5|Two Words)J", false},
        {R"J({% if true %}{% set z = 3 %}{% endif %}{{ z }})J",
         R"J(3)J", false},
        {R"J({% set l.x = 1 %})J", R"J(cannot assign attribute on non-namespace object)J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, SlicingAndIndexing) {
    static const Case cases[] = {
        {R"J({{ "hello"[1:3] }}|{{ "hello"[::-1] }}|{{ "hello"[-2:] }}|{{ l[::2] }}|{{ l[1:] }}|{{ l[:-1] }}|{{ u[1:3] }}|{{ u[-1] }}|{{ "abc"[5:] }}|{{ l[10] }})J",
         R"J(el|olleh|lo|[3, 2]|[1, 2]|[3, 1]|本語|ト||)J", false},
        {R"J({{ l[::-1] }}|{{ l[-1:0:-1] }}|{{ l[5:1:-2] }}|{{ (1, 2, 3)[1:] }}|{{ "abcdef"[1:5:2] }}|{{ u[::-2] }}|{{ "x"[-5:5] }})J",
         R"J([2, 1, 3]|[2, 1]|[2]|(2, 3)|bd|トキ語日|x)J", false},
        {R"J({%- set x = {'a': {'b': [10, 20]}} -%}{{ x.a.b[1] }}|{{ x['a']['b'][-1] }}|{{ [x]|map(attribute='a.b.0')|list }}|{{ l.0 }}|{{ d.b }})J",
         R"J(20|20|[10]|3|1)J", false},
        {R"J({{ msgs[0].content.nonexistent }}|{{ msgs[5] }}|{{ msgs[0].zzz is defined }}|{{ msgs[0]['role'] }}|{{ msgs[0].get('role') }})J",
         R"J(||False|user|user)J", false},
        {R"J({{ {'items': 1}['items'] }}|{{ {'a': 1}.a }}|{{ "x".y is defined }}|{{ none.x is defined }})J",
         R"J(1|1|False|False)J", false},
        {R"J({{ l[::0] }})J", R"J(slice step cannot be zero)J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, Filters) {
    static const Case cases[] = {
        {R"J({{ s|trim }}|{{ s|upper }}|{{ s|lower }}|{{ s|title }}|{{ "hello world"|capitalize }}|{{ s|length }}|{{ u|length }}|{{ l|first }}|{{ l|last }}|{{ l|join(", ") }}|{{ s|replace("l", "L") }})J",
         R"J(Hello World|  HELLO WORLD  |  hello world  |  Hello World  |Hello world|15|7|3|2|3, 1, 2|  HeLLo WorLd  )J", false},
        {R"J({{ undefined_var|default("dflt") }}|{{ none|default("x") }}|{{ ""|default("e", true) }}|{{ x|d("y") }}|{{ 0|default(7, boolean=true) }})J",
         R"J(dflt|None|e|y|7)J", false},
        {R"J({{ l|sort }}|{{ l|sort(reverse=true) }}|{{ ["b","A","a","C"]|sort }}|{{ ["b","A","a","C"]|sort(case_sensitive=true) }}|{{ [3,1,3,1]|unique|list }}|{{ ["a","A","b"]|unique|list }}|{{ l|reverse|list }}|{{ "abc"|reverse }})J",
         R"J([1, 2, 3]|[3, 2, 1]|['A', 'a', 'b', 'C']|['A', 'C', 'a', 'b']|[3, 1]|['a', 'b']|[2, 1, 3]|cba)J", false},
        {R"J({{ msgs|map(attribute='role')|list }}|{{ msgs|selectattr('role','equalto','user')|list|length }}|{{ msgs|rejectattr('role','eq','user')|map(attribute='content')|join }}|{{ [1,2,3,4]|select('even')|list }}|{{ [1,2,3,4]|reject('odd')|list }}|{{ ["a","b"]|map('upper')|list }}|{{ [0,1,'',none,'x']|select|list }})J",
         R"J(['user', 'assistant']|1|yo|[2, 4]|[2, 4]|['A', 'B']|[1, 'x'])J", false},
        {R"J({{ msgs|selectattr('tool_calls', 'defined')|list|length }}|{{ msgs|selectattr('tool_calls')|map(attribute='role')|first }}|{{ [{'a': 1}, {}]|map(attribute='a', default='-')|list }}|{{ [1,2,3]|select('gt', 1)|list }}|{{ ['x', 'yy']|map('length')|list }})J",
         R"J(1|assistant|[1, '-']|[2, 3]|[1, 2])J", false},
        {R"J({{ 3|string + "x" }}|{{ "42"|int + 1 }}|{{ "4.7"|int }}|{{ "abc"|int }}|{{ "abc"|int(9) }}|{{ "3.5"|float }}|{{ 3|float }}|{{ -3|abs }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ 3.5|round }}|{{ 2.1|round(method='ceil') }}|{{ 7|round }}|{{ "0x1A"|int(base=16) }})J",
         R"J(3x|43|4|0|9|3.5|3.0|3|2.57|2.0|4.0|3.0|7|26)J", false},
        {R"J({{ "a\nb\n\nc"|indent }}|{{ "a\nb"|indent(2, true) }}|{{ "a\n\nb"|indent(2, blank=true) }}|{{ "a\nb"|indent("> ") }}|{{ "<a & 'b'>"|escape }}|{{ "x"|safe }})J",
         R"J(a
    b

    c|  a
  b|a
  
  b|a
> b|&lt;a &amp; &#39;b&#39;&gt;|x)J", false},
        {R"J({{ [1,2,3,4,5]|batch(2)|list }}|{{ [1,2,3]|batch(2, 0)|list }}|{{ [1,2,3]|sum }}|{{ msgs|map(attribute='content')|map('length')|sum }}|{{ [1,5,3]|max }}|{{ [1,5,3]|min }}|{{ ["b","A"]|max }}|{{ {"b":2,"a":1}|dictsort }}|{{ "one two  three"|wordcount }})J",
         R"J([[1, 2], [3, 4], [5]]|[[1, 2], [3, 0]]|6|4|5|1|b|[('a', 1), ('b', 2)]|3)J", false},
        {R"J({{ "%s-%d"|format("a", 3) }}|{{ "%05.1f|%-4s|%x" % (3.14159, "ab", 255) }}|{{ "%s" % "x" }}|{{ "%(a)s-%(b)d" % {"a": "q", "b": 2} }}|{{ "%.2f" % 3.14159 }}|{{ "%5d|%-5d|" % (3, 4) }})J",
         R"J(a-3|003.1|ab  |ff|x|q-2|3.14|    3|4    |)J", false},
        {R"J({{ d|items|list }}|{% for k, v in {"x": [1]}|items %}{{ k }}{{ v }}{% endfor %}|{{ d|dictsort(reverse=true) }}|{{ d|list }}|{{ "ab"|list }}|{{ undefined_thing|items|list }})J",
         R"J([('b', 1), ('a', [1, 2])]|x[1]|[('b', 1), ('a', [1, 2])]|['b', 'a']|['a', 'b']|[])J", false},
        {R"J({{ 'hello'|truncate(3) }}|{{ 'hello world this is long'|truncate(12) }}|{{ "a b c d e f g h i j k l m"|truncate(9, true) }}|{{ "x"|center(5) }}|{{ msgs[0]|attr('role') }})J",
         R"J(hello|hello...|a b c ...|  x  |)J", false},
        {R"J({{ l|join }}|{{ [1,2]|join("-") }}|{{ msgs|join(",", attribute="role") }}|{{ l|list|first }}|{{ l|length }}{{ l|count }}{{ d|length }})J",
         R"J(312|1-2|user,assistant|3|332)J", false},
        {R"J({{ "x" ~ undefined_thing ~ "y" }}|{{ undefined_thing|length }}|{{ undefined_thing|list }}|{% for x in undefined_thing %}no{% endfor %}|{{ undefined_thing|trim }}|{{ undefined_thing|upper }})J",
         R"J(xy|0|[]|||)J", false},
        {R"J({{ l|nosuchfilter }})J", R"J(no filter named 'nosuchfilter')J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, Tojson) {
    static const Case cases[] = {
        {R"J({{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ u|tojson }}|{{ "a\"b\n\t\u0001"|tojson }}|{{ 1.5|tojson }}|{{ none|tojson }}|{{ [1,[2,{}], []]|tojson }}|{{ d|tojson(sort_keys=true) }})J",
         R"J({"b": 1, "a": [1, 2]}|{
  "b": 1,
  "a": [
    1,
    2
  ]
}|"日本語テキスト"|"a\"b\n\t\u0001"|1.5|null|[1, [2, {}], []]|{"a": [1, 2], "b": 1})J", false},
        {R"J({{ msgs[1].tool_calls[0].function|tojson }}|{{ msgs[1].tool_calls[0].function.arguments|tojson(indent=4) }}|{{ u|tojson(ensure_ascii=true) }}|{{ d|tojson(separators=(",", ":")) }})J",
         R"J({"name": "f", "arguments": {"a": 1, "b": "é"}}|{
    "a": 1,
    "b": "é"
}|"\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8"|{"b":1,"a":[1,2]})J", false},
        {R"J({{ (1, "a")|tojson }}|{{ {1: 'a', none: true, 2.5: false}|tojson }}|{{ [1e100, -0.0, 100.0, 0.1]|tojson }}|{{ true|tojson }}|{{ "😀"|tojson(ensure_ascii=true) }})J",
         R"J([1, "a"]|{"1": "a", "null": true, "2.5": false}|[1e+100, -0.0, 100.0, 0.1]|true|"\ud83d\ude00")J", false},
        {R"J({{ x|tojson }})J", R"J(not JSON serializable)J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, Tests) {
    static const Case cases[] = {
        {R"J({{ x is defined }}|{{ n is defined }}|{{ x is undefined }}|{{ none is none }}|{{ s is string }}|{{ n is number }}|{{ f is number }}|{{ true is number }}|{{ n is integer }}|{{ true is integer }}|{{ f is float }}|{{ d is mapping }}|{{ l is iterable }}|{{ s is iterable }}|{{ d is iterable }}|{{ l is sequence }}|{{ d is sequence }}|{{ x is iterable }}|{{ x is sequence }})J",
         R"J(False|True|True|True|True|True|True|True|True|False|True|True|True|True|True|True|True|True|True)J", false},
        {R"J({{ true is true }}|{{ 1 is true }}|{{ false is false }}|{{ true is boolean }}|{{ 1 is boolean }}|{{ 3 is equalto 3 }}|{{ 3 is eq(3) }}|{{ 4 is divisibleby 2 }}|{{ 3 is odd }}|{{ 2 is even }}|{{ "abc" is lower }}|{{ "ABC" is upper }}|{{ 5 is gt 3 }}|{{ 5 is lt(3) }}|{{ 2 is in [1,2] }}|{{ range is callable }}|{{ n is not none }})J",
         R"J(True|False|True|True|False|True|True|True|True|True|True|True|True|False|True|True|True)J", false},
        {R"J({{ [] is sequence }}|{{ "" is sequence }}|{{ 1 is sequence }}|{{ namespace() is mapping }}|{{ none is iterable }}|{{ 'upper' is filter }}|{{ 'odd' is test }}|{{ none is sameas none }}|{{ 5 is ne 4 }}|{{ 2 is ge 2 }})J",
         R"J(True|True|False|False|False|True|True|True|True|True)J", false},
        {R"J({{ "x" if x is defined else "y" }}|{{ x is not defined and true }}|{{ not x is defined }}|{{ msgs[0] is mapping and msgs[0].content is string }})J",
         R"J(y|True|True|True)J", false},
        {R"J({{ l is nosuchtest }})J", R"J(no test named 'nosuchtest')J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, StringAndDictMethods) {
    static const Case cases[] = {
        {R"J({{ "a,b,,c".split(",") }}|{{ "  a b  c ".split() }}|{{ "a b c".split(" ", 1) }}|{{ "xxhixx".strip("x") }}|{{ "\n\nhi\n".lstrip("\n") }}|{{ "hi  ".rstrip() }}|{{ "Hello".startswith("He") }}|{{ "Hello".endswith(("x","lo")) }})J",
         R"J(['a', 'b', '', 'c']|['a', 'b', 'c']|['a', 'b c']|hi|hi
|hi|True|True)J", false},
        {R"J({{ "hello".upper() }}|{{ "HeLLo".lower() }}|{{ "hello world".title() }}|{{ "aaa".replace("a","b",2) }}|{{ "hello".find("l") }}|{{ "hello".count("l") }}|{{ "-".join(["a","b"]) }}|{{ "{} and {}".format(1, "x") }}|{{ "{name}!".format(name="Bo") }}|{{ "{0}{0}".format("r") }})J",
         R"J(HELLO|hello|Hello World|bba|2|2|a-b|1 and x|Bo!|rr)J", false},
        {R"J({{ s.strip().split(" ") }}|{{ "a-b-c".rsplit("-", 1) }}|{{ "Hello"[0] }}|{{ "a\nb\r\nc".splitlines() }}|{{ "abc".isalpha() }}|{{ "123".isdigit() }}|{{ "<think>x</think>y".split("</think>")[-1] }}|{{ "日本語".find("語") }})J",
         R"J(['Hello', 'World']|['a-b', 'c']|H|['a', 'b', 'c']|True|True|y|2)J", false},
        {R"J({{ d.keys()|list }}|{{ d.values()|list }}|{{ d.get('z', 'dflt') }}|{{ d.get('b') }}|{{ d.get('z') }}|{{ d.items()|list }}|{{ l.index(1) }}|{{ l.count(3) }}|{{ "ab".partition("a") }}|{{ "x".zfill(3) }})J",
         R"J(['b', 'a']|[1, [1, 2]]|dflt|1|None|[('b', 1), ('a', [1, 2])]|1|1|('', 'a', 'b')|00x)J", false},
        {R"J({{ l.append(4) }})J", R"J(unsafe)J", true},
        {R"J({{ d.update({'z': 1}) }})J", R"J(unsafe)J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, OperatorsAndPrinting) {
    static const Case cases[] = {
        {R"J({{ [1,"a",none,true,1.5,{"k":[2]}] }}|{{ (1,) }}|{{ 1/2 }}|{{ 4/2 }}|{{ 7//2 }}|{{ -7//2 }}|{{ -7%3 }}|{{ 2**10 }}|{{ 1e20 }}|{{ 1.0 }}|{{ 0.1+0.2 }}|{{ 1e-5 }})J",
         R"J([1, 'a', None, True, 1.5, {'k': [2]}]|(1,)|0.5|2.0|3|-4|2|1024|1e+20|1.0|0.30000000000000004|1e-05)J", false},
        {R"J({{ 1 if true else 2 }}|{{ 1 if false }}|{{ "a" ~ 1 ~ none }}|{{ "a" + "b" }}|{{ [1] + [2] }}|{{ 3 * "ab" }}|{{ "-" * 3 }}|{{ 10 % 3 }}|{{ -3 // 2 }}|{{ 2 ** -1 }}|{{ 7 / 2 }}|{{ [1, 2] * 2 }}|{{ (1,) + (2,) }})J",
         R"J(1||a1None|ab|[1, 2]|ababab|---|1|-2|0.5|3.5|[1, 2, 1, 2]|(1, 2))J", false},
        {R"J({{ 1 in [1,2] }}|{{ 3 not in [1,2] }}|{{ "a" in "abc" }}|{{ "k" in {"k":1} }}|{{ not true }}|{{ true and 0 }}|{{ 0 or "x" }}|{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ "a" < "b" }}|{{ [1,2] == [1,2] }}|{{ {"a":1, "b":2} == {"b":2, "a":1} }}|{{ [1] == (1,) }})J",
         R"J(True|True|True|True|False|0|x|True|False|True|True|True|False)J", false},
        {R"J({{ "It's" }}|{{ ["It's", 'say "hi"', "both ' \""] }}|{{ ["tab\there", "nl\n", "\\"] }}|{{ [1.0, 1e100, -0.0, 1e16, 1e15] }}|{{ {1: 'a', none: true} }}|{{ none }}|{{ true }}|{{ u }}|{{ [u] }})J",
         R"J(It's|["It's", 'say "hi"', 'both \' "']|['tab\there', 'nl\n', '\\']|[1.0, 1e+100, -0.0, 1e+16, 1000000000000000.0]|{1: 'a', None: True}|None|True|日本語テキスト|['日本語テキスト'])J", false},
        {R"J({{ 3 - 1.5 }}|{{ 10 // 3.0 }}|{{ 2 ** 0.5 }}|{{ 0.1 * 3 }}|{{ 100000000000000000.0 }}|{{ 1234567.0 }}|{{ 0.0001 }}|{{ 1 == 1.0 }}|{{ true == 1 }}|{{ true + 1 }}|{{ - n }}|{{ -n|abs }}|{{ (n > 3) and (n < 10) }})J",
         R"J(1.5|3.0|1.4142135623730951|0.30000000000000004|1e+17|1234567.0|0.0001|True|True|2|-5|5|True)J", false},
        {R"J({{ '\u00e9\x41\101\n\\' }}|{{ 'a' 'b' "c" }}|{{ 1_000 }}|{{ 1.5e3 }}|{{ range(2, 8, 2)|list }}|{{ range(5, 0, -2)|list }}|{{ dict(a=1, b=2) }}|{{ namespace(a=1) }})J",
         R"J(éAA
\|abc|1000|1500.0|[2, 4, 6]|[5, 3, 1]|{'a': 1, 'b': 2}|<Namespace {'a': 1}>)J", false},
        {R"J({% if n == 5 %}five{% elif n == 6 %}six{% else %}other{% endif %}{% if n > 10 %}big{% elif n > 3 %}mid{% endif %}{% if [] %}no{% elif {} %}no{% elif "" %}no{% else %}falsy{% endif %})J",
         R"J(fivemidfalsy)J", false},
        {R"J({{ 1 / 0 }})J", R"J(division by zero)J", true},
        {R"J({{ "a" + 1 }})J", R"J(can only concatenate str)J", true},
        {R"J({{ 1 + "a" }})J", R"J(unsupported operand type)J", true},
        {R"J({{ "a" < 1 }})J", R"J('<' not supported)J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

TEST(JinjaInterpreter, GlobalsAndErrors) {
    static const Case cases[] = {
        {R"J({{ strftime_now("%d %b %Y") }}|{{ strftime_now("%Y-%m-%d %H:%M:%S %A %B %j %I%p %a %y") }}|{{ strftime_now is defined }})J",
         R"J(15 Jan 2026|2026-01-15 12:00:00 Thursday January 015 12PM Thu 26|True)J", false},
        {R"J({% if n %}{{ raise_exception("boom " ~ n) }}{% endif %})J", R"J(boom 5)J", true},
        {R"J({{ x.y }})J", R"J('x' is undefined)J", true},
        {R"J({{ msgs[0].nope.deeper }})J", R"J(has no attribute 'nope')J", true},
        {R"J({{ undefined_fn() }})J", R"J('undefined_fn' is undefined)J", true},
        {R"J(line1
line2
{{ x.y }})J", R"J(line 3)J", true},
        {R"J({{ undefined_x + 1 if true else 0 }})J", R"J('undefined_x' is undefined)J", true},
        {R"J({{ range(200000)|length }})J", R"J(Range too big)J", true},
        {R"J({% for a, b in [[1]] %}{% endfor %})J", R"J(not enough values to unpack)J", true},
        {R"J(ok
{% if %}{% endif %})J", R"J(line 2)J", true},
        {R"J({% for x in %}{% endfor %})J", R"J(expected an expression)J", true},
        {R"J({% endif %})J", R"J(unknown tag 'endif')J", true},
        {R"J({{ 1 +)J", R"J(unexpected end of template)J", true},
        {R"J({{ "unterminated }})J", R"J(unterminated string)J", true},
        {R"J({% if true %}no end)J", R"J(unexpected end of template, expected 'elif' or 'else' or 'endif')J", true},
        {R"J({% unknown %}
)J", R"J(unknown tag 'unknown')J", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}
