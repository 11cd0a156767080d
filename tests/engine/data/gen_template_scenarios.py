# Writes tests/engine/data/template_scenarios.json: renderings of the shared real chat templates for
# conversations with tools, tool calls, tool results, reasoning and thinking switches, made by Python
# Jinja2 configured as Hugging Face transformers configures it. Run from the repository root:
#   python3 tests/engine/data/gen_template_scenarios.py ../shared/testdata/templates
import glob, json, os, sys
from datetime import datetime
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=['jinja2.ext.loopcontrols'])
env.filters['tojson'] = tojson
env.globals['raise_exception'] = raise_exception
env.globals['strftime_now'] = lambda f: datetime(2026, 1, 15, 12, 0, 0).strftime(f)

tools = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather «now»",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                          "days": {"type": "integer"}}, "required": ["city"]}}}]
conv_tools = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call12345", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
    {"role": "tool", "content": "{\"temp\": 21.5}", "tool_call_id": "call12345"},
    {"role": "assistant", "content": "It is 21.5°C in Paris."},
    {"role": "user", "content": "Thanks!"}]
conv_tools_str = json.loads(json.dumps(conv_tools))
conv_tools_str[2]["tool_calls"][0]["function"]["arguments"] = "{\"city\": \"Paris\", \"days\": 2}"
conv_tools_str[2]["content"] = ""
conv_reason = [
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4", "reasoning_content": None},
    {"role": "user", "content": "times 3?"},
    {"role": "assistant", "content": "12", "reasoning_content": "multiply 4 by 3"},
    {"role": "user", "content": "Émoji 😀 and 日本語"}]
scenarios = {
    "tools": (conv_tools, {"tools": tools}),
    "tools_str": (conv_tools_str, {"tools": tools}),
    "reason": (conv_reason, {}),
    "think_off": (conv_reason, {"enable_thinking": False}),
    "think_on": (conv_reason, {"enable_thinking": True, "thinking": True}),
    "plain_tools": ([{"role": "user", "content": "hi"}], {"tools": tools}),
    "builtin": ([{"role": "user", "content": "search"}],
                {"builtin_tools": ["brave_search", "code_interpreter"], "tools": tools, "tools_in_user_message": False}),
}
# Templates kept in this repository (tests/engine/data/templates: ones the shared data lacks, such as
# Gemma 3's) get two more scenarios: a system prompt before alternating turns, and content as a
# list of typed parts (as multimodal chat clients send it).
repo_scenarios = {
    "system_chat": ([{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "  Hi there  "},
                     {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "你好"}], {}),
    "parts": ([{"role": "user", "content": [{"type": "text", "text": "Describe "}, {"type": "image"},
                                            {"type": "text", "text": " this."}]}], {}),
}
scenarios_all = dict(scenarios, **repo_scenarios)
repo_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'templates')
cases = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*.jinja'))) + sorted(glob.glob(os.path.join(repo_dir, '*.jinja'))):
    src = open(path).read()
    in_repo = os.path.dirname(os.path.abspath(path)) == repo_dir
    for sname, (msgs, extra) in (scenarios_all if in_repo else scenarios).items():
        for agp in (True, False):
            case = {"template": os.path.basename(path), "scenario": sname, "add_generation_prompt": agp}
            if in_repo:
                case["in_repo"] = True
            try:
                case["expected"] = env.from_string(src).render(messages=msgs, add_generation_prompt=agp,
                                                               bos_token="<BOS>", eos_token="<EOS>", **extra)
            except Exception as e:
                case["error"] = str(e)
            cases.append(case)
about = ("Renderings of the shared real chat templates (../shared/testdata/templates) for conversations with tools, "
         "tool calls (arguments as objects and as strings), tool results, reasoning_content, <think> in content, "
         "non-ASCII text, and the enable_thinking/thinking/builtin_tools/tools_in_user_message variables. Produced with "
         "Python Jinja2 " + jinja2.__version__ + " in an ImmutableSandboxedEnvironment configured as Hugging Face "
         "transformers does (trim_blocks, lstrip_blocks, loopcontrols, tojson = json.dumps(ensure_ascii=False), "
         "raise_exception, strftime_now fixed at 2026-01-15 12:00:00), bos_token \"<BOS>\", eos_token \"<EOS>\". "
         "A case with \"error\" must fail with that message.")
out = {"about": about, "scenarios": {k: {"messages": m, "extra": e} for k, (m, e) in scenarios_all.items()}, "cases": cases}
open(os.path.join(os.path.dirname(__file__), 'template_scenarios.json'), 'w').write(
    json.dumps(out, ensure_ascii=False, separators=(',', ':')))
print(len(cases), "cases")
