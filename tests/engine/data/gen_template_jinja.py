# Regenerate with: python3 tests/engine/data/gen_template_jinja.py tests/engine/data/jinja_cases.txt tests/engine/test_template_jinja.cpp
# (needs Python Jinja2; the expected strings come from it).
# Generates tests/engine/test_template_jinja.cpp: interpreter feature tests whose expected outputs
# come from Python Jinja2 3.1.6 configured as transformers configures it.
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
import jinja2
from datetime import datetime
def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=['jinja2.ext.loopcontrols'])
env.filters['tojson'] = tojson
env.globals['raise_exception'] = raise_exception
env.globals['strftime_now'] = lambda f: datetime(2026,1,15,12,0,0).strftime(f)
VARS = {"msgs":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","tool_calls":[{"function":{"name":"f","arguments":{"a":1,"b":"é"}}}]}], "s":"  Hello World  ", "n":5, "f":2.5, "d":{"b":1,"a":[1,2]}, "l":[3,1,2], "u":"日本語テキスト"}
groups = {}
cur = None
for block in open(sys.argv[1]).read().split('\n====\n'):
    if block.startswith('## '):
        first, _, rest = block.partition('\n')
        cur = first[3:].strip(); groups[cur] = []
        block = rest
        if not block.strip(): continue
    err = None
    if block.startswith('!! '):
        first, _, block = block.partition('\n')
        err = first[3:]
    groups[cur].append((block, err))

def cstr(s):
    assert ')J"' not in s
    return 'R"J(' + s + ')J"'

out = []
out.append('''// Interpreter features beyond the shared chat-template cases: whitespace control, loops and loop.*,
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

const char* const kVars = ''' + cstr(json.dumps(VARS, ensure_ascii=False)) + ''';

std::tm fixed_clock() {
    std::tm t{};
    t.tm_year = 2026 - 1900;
    t.tm_mon = 0;
    t.tm_mday = 15;
    t.tm_hour = 12;
    return t;
}

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
            EXPECT_FALSE(r.ok()) << "case " << i << " should fail: " << c.source << "\\ngot: " << (r.ok() ? *r : "");
            if (!r.ok()) EXPECT_NE(r.message().find(c.expected), std::string::npos)
                             << "case " << i << ": " << c.source << "\\nmessage: " << r.message() << "\\nwanted: " << c.expected;
        } else {
            ASSERT_TRUE(r.ok()) << "case " << i << ": " << c.source << "\\nerror: " << r.message();
            EXPECT_EQ(*r, c.expected) << "case " << i << ": " << c.source;
        }
    }
}

using hearth::Result;

}  // namespace
''')
# fix: Result alias must come before use
out[-1] = out[-1].replace('''void run_cases''', '''using hearth::Result;

void run_cases''').replace('''\nusing hearth::Result;\n\n}  // namespace''', '\n}  // namespace')
n_total = 0
for name, cases in groups.items():
    out.append(f'\nTEST(JinjaInterpreter, {name}) {{\n    static const Case cases[] = {{')
    for src, err in cases:
        if err is None:
            try:
                exp = env.from_string(src).render(**VARS)
            except Exception as e:
                sys.exit(f'python failed on {src!r}: {e}')
            out.append(f'        {{{cstr(src)},\n         {cstr(exp)}, false}},')
        else:
            try:
                env.from_string(src).render(**VARS)
                sys.exit(f'python did not fail on {src!r}')
            except Exception as e:
                pass
            out.append(f'        {{{cstr(src)}, {cstr(err)}, true}},')
        n_total += 1
    out.append('    };\n    run_cases(cases, sizeof cases / sizeof cases[0]);\n}')
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
print('cases', n_total)
