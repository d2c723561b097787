#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes data/features.json: small templates exercising one Jinja feature each, with the output of
# Python's jinja2 in HF's chat-template environment (hf_render.py's settings) as the expected text.
# jinja_test.cpp renders each with llmforge and compares. Rerun after adding cases:
#   python3 test/chat/make_features.py
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

M = [{"role": "system", "content": " Be brief. "}, {"role": "user", "content": "Hi there, friend"},
     {"role": "assistant", "content": "Hello!", "extra": {"k": [1, 2.5, None, True]}}]

CASES = [
    # whitespace control, trim_blocks, lstrip_blocks, comments, raw
    "A\n{% if true %}\n  B\n{% endif %}\nC",
    "A  {%- if true -%}  B  {%- endif -%}  C",
    "  {% if true %}x{% endif %}\n  {{ 'y' }}  \n{# c #}\nz\n",
    "{%+ if true %}kept{% endif +%}\nnext",
    "a {# comment #} b\n  {#- c -#}  c",
    "{% raw %}{{ not }} {% evaluated %}{% endraw %}",
    "line1\r\nline2\rline3\n",
    # literals and printing like Python
    "{{ [1, 'a', \"b'c\", None, True, False, 1.5, (1,), (1, 2), {'k': [0]}] }}",
    "{{ 1e20 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }} {{ 3.0 }} {{ 1e16 }} {{ 123456789.125 }}",
    "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7.5 % 2 }} {{ 2 ** 10 }} {{ -3 }} {{ 'ab' * 3 }} {{ [1] * 2 }}",
    "{{ 'a' ~ 1 ~ none ~ true ~ undefined_name }} {{ 'x' + 'y' }} {{ [1] + [2] }}",
    "{{ '\\n\\t\\\\ \\' \\u00e9 \\x41' }}|{{ \"it's\" }}|{{ 'a' 'b' }}",
    # comparisons, logic, membership, conditional expression
    "{{ 1 == 1.0 }} {{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ 1 != 2 }} {{ true == 1 }}",
    "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not 0 }} {{ none or [] }} {{ '' and 1 }}",
    "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'role' in messages[0] }} {{ 'zz' not in messages[0] }}",
    "{{ 'yes' if messages else 'no' }} [{{ 'y' if false }}] {{ 1 if 0 else 2 if 0 else 3 }}",
    # attributes, subscripts, slices, methods
    "{{ messages[0].role }} {{ messages[0]['content'] }} {{ messages[-1].extra.k[1] }} {{ messages.0.role }}",
    "{{ messages[1:] | length }} {{ messages[::-1][0].role }} {{ 'hello'[1:4] }} {{ 'hello'[::-1] }} {{ [1,2,3,4][::2] }}",
    "[{{ messages[0].missing }}] [{{ messages[5] }}] {{ messages[0].missing is defined }} {{ (messages[0].content.x) is defined }}",
    "{{ messages[0].content.strip() }}|{{ '  x  '.lstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}",
    "{{ 'a-b-c'.split('-', 1) }} {{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }} {{ 'hi'.upper() }} {{ 'HI'.lower() }}",
    "{{ \"they're bill's\".title() }} {{ 'hELLO wORLD'.capitalize() }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'abcabc'.find('c') }} {{ 'abcabc'.count('b') }}",
    "{{ messages[2].get('extra') }} {{ messages[2].get('nope', 'dflt') }} {{ messages[2].get('nope') }} {{ messages[0].keys() | list }}",
    "{% for k, v in messages[0].items() %}{{ k }}={{ v }};{% endfor %} {{ messages[0].values() | list }}",
    "{{ 'é日本'[1] }} {{ 'é日本' | length }} {{ 'é日本'[::-1] }} {{ '😀x'[1:] }}",
    # loops
    "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}",
    "{% for m in messages %}[{{ loop.previtem.role if loop.previtem is defined else '-' }}>{{ m.role }}>{{ loop.nextitem.role if loop.nextitem is defined else '-' }}]{% endfor %}",
    "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.role }} {% endfor %}",
    "{% for x in [] %}never{% else %}empty{% endfor %} {% for x in undefined_thing %}never{% else %}undef{% endfor %}",
    "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }} {% endfor %}{% for (a, b) in [[5, 6]] %}{{ a * b }}{% endfor %}",
    "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% for i in range(2) %}{% for j in range(1, 7, 2) %}{{ i }}{{ j }}{{ loop.cycle('a', 'b') }} {% endfor %}{% endfor %}",
    "{% for c in 'ab' %}{{ c }}.{% endfor %} {% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}",
    # scoping, set, namespace
    "{% set x = 1 %}{% for i in [1, 2] %}{% set x = i %}[{{ x }}]{% endfor %}{{ x }}",
    "{% set ns = namespace(n=0, found=false) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.n }} {{ ns.found }}",
    "{% if true %}{% set leaked = 'yes' %}{% endif %}{{ leaked }} {% set a, b = 1, 2 %}{{ a }}{{ b }} {% set t = 1, 2 %}{{ t }}",
    "{% set block %}  inner {{ 1 + 1 }}\n{% endset %}[{{ block }}] {% set up | upper %}shout{% endset %}{{ up }}",
    # macros
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(punct='.', name='C') }}",
    "{% set g = 'global' %}{% macro show() %}{{ g }}{% endmacro %}{{ show() }}{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %} {{ rec(3) }}",
    # filters
    "{{ '  x  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'hi' | upper }}|{{ 'HI' | lower }}|{{ 'hELLO wORLD' | capitalize }}|{{ \"they're bill-o'(x\" | title }}",
    "{{ messages | length }} {{ messages | count }} {{ (messages | first).role }} {{ (messages | last).role }} {{ 'abc' | first }} {{ [] | first is defined }}",
    "{{ [1, 2, 3] | join(', ') }} {{ messages | map(attribute='role') | join('|') }} {{ ['a', 'b'] | map('upper') | list }}",
    "{{ undefined_x | default('d') }} {{ '' | default('e', true) }} {{ none | default('n') }} {{ undefined_x | d('dd') }}",
    "{{ 'aXbX' | replace('X', '-') }} {{ 'abc' | list }} {{ {'a': 1} | items | list }} {{ undefined_x | items | list }} {{ (1, 2) | list }}",
    "{{ messages[2].extra | tojson }} {{ 'é\"\\n' | tojson }} {{ {'b': 1, 'a': [1, {'c': none}]} | tojson(indent=2) }}",
    "{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} {{ [1, 2] | tojson(separators=(',', ':')) }} {{ 'é' | tojson(ensure_ascii=true) }} {{ [] | tojson(indent=4) }} {{ 1.0 | tojson }}",
    "{{ 1 | string }}{{ [1] | string }} {{ '42' | int + 1 }} {{ '4.7' | int }} {{ 'x' | int }} {{ '2.5' | float }} {{ 3 | float }} {{ -3 | abs }} {{ -2.5 | abs }}",
    "{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }} {{ 3 | round }}",
    "{{ '<a href=\"x\">&\\'</a>' | e }} {{ '<b>' | escape }} {{ '<i>' | safe }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }}",
    "{{ [1, 2, 3, 4] | select('even') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ [0, 1, '', 'a'] | select | list }} {{ messages | selectattr('extra') | list | length }}",
    "{{ ['b', 'A', 'a', 'B'] | unique | list }} {{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort(reverse=true) }} {{ messages | sort(attribute='role') | map(attribute='role') | list }}",
    "{{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }} {{ {'b': 1, 'a': 2} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value', reverse=true) }}",
    "[{{ 'a\\nb\\n\\nc' | indent }}] [{{ 'a\\nb' | indent(2, true) }}] [{{ 'a\\n\\nb' | indent('> ', blank=true) }}]",
    "{{ 'one two  three' | wordcount }} {{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 0) | list }} {{ [1, 2, 3] | sum }} {{ [3, 1] | min }} {{ [3, 1] | max }}",
    # tests
    "{{ x is defined }} {{ messages is defined }} {{ x is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }}",
    "{{ {} is mapping }} {{ [] is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ [] is sequence }} {{ true is boolean }} {{ true is true }} {{ 0 is false }}",
    "{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 'a' is eq 'a' }} {{ 'a' is equalto('b') }} {{ 1 is ne 2 }} {{ 2 is in [1, 2] }} {{ 'x' is not string }}",
    "{{ messages[0].content is string and messages[0].content is not mapping }} {{ 1 is gt 0 }} {{ 1 is lt 0 }} {{ none is sameas none }}",
    # filters bind tighter than operators
    "{{ 'a' ~ ' b ' | trim ~ 'c' }} {{ -1 | abs }} {{ messages | length > 2 }} {{ not messages | length }}",
    "{{ range(3) | list }} {{ range(1, 10, 4) | list }} {{ dict(a=1, b='x') }} {{ namespace(a=1).a }}",
]

ERRORS = [
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}",
    "{% if messages | length > 1 %}{{ raise_exception('Too many: ' ~ messages | length) }}{% endif %}",
]


def env():
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    return e


def main():
    e = env()
    out = []
    for t in CASES:
        out.append({"template": t, "expected": e.from_string(t).render(messages=M)})
    for t in ERRORS:
        try:
            e.from_string(t).render(messages=M)
            raise SystemExit("expected an exception: " + t)
        except jinja2.exceptions.TemplateError as err:
            out.append({"template": t, "raises": str(err)})
    path = os.path.join(os.path.dirname(__file__), "data", "features.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump({"messages": M, "cases": out}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
