#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Oracle for the chat-template tests: renders a template the way transformers' apply_chat_template
# does (ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, HF's tojson filter,
# raise_exception and strftime_now globals, loopcontrols), and prints the result with nothing added.
#   hf_render.py TEMPLATE.jinja MESSAGES.json [--tools TOOLS.json] [--add-generation-prompt]
#                [--bos-token S] [--eos-token S]
#   hf_render.py --batch JOBS.json   (a list of {"template", "messages", "tools", "add_generation_prompt",
#                "bos_token", "eos_token"} with file paths; prints a JSON list of {"ok", "text"})
# Exit 2 when jinja2 is missing (the tests skip), 1 with the message on stderr when the template raises.
import argparse
import json
import sys
from datetime import datetime

try:
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:
    print("jinja2 is not installed (apt-get install python3-jinja2)", file=sys.stderr)
    sys.exit(2)


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def render(env, template, messages, tools=None, add_generation_prompt=False, bos_token=None, eos_token=None):
    """(ok, text): the rendering, or the exception's message."""
    with open(template, encoding="utf-8", newline="") as f:
        source = f.read()
    messages = read_json(messages)
    if isinstance(messages, dict):
        messages = messages["messages"]
    kwargs = {}
    if bos_token is not None:
        kwargs["bos_token"] = bos_token
    if eos_token is not None:
        kwargs["eos_token"] = eos_token
    try:
        out = env.from_string(source).render(messages=messages, tools=read_json(tools) if tools else None, documents=None,
                                             add_generation_prompt=add_generation_prompt, **kwargs)
        return True, out
    except jinja2.exceptions.TemplateError as e:
        return False, str(e)
    except Exception as e:  # e.g. a TypeError inside the template: a failure, but not a raise_exception message
        return False, f"{type(e).__name__}: {e}"


def main():
    env = make_env()
    if len(sys.argv) == 3 and sys.argv[1] == "--batch":
        results = [dict(zip(("ok", "text"), render(env, **job))) for job in read_json(sys.argv[2])]
        sys.stdout.buffer.write(json.dumps(results, ensure_ascii=False).encode("utf-8"))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("messages")
    ap.add_argument("--tools")
    ap.add_argument("--add-generation-prompt", action="store_true")
    ap.add_argument("--bos-token")
    ap.add_argument("--eos-token")
    a = ap.parse_args()
    ok, text = render(env, a.template, a.messages, a.tools, a.add_generation_prompt, a.bos_token, a.eos_token)
    if not ok:
        print(text, file=sys.stderr)
        sys.exit(1)
    sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
