#!/usr/bin/env python3
"""Renders one template of an ansible tree the way Ansible's template module does, with Python's
Jinja2 (the oracle for regshift's renderer; see tests/render_diff.rs).

Settings: trim_blocks, lstrip_blocks off, trailing newline kept, `#jinja2:` header overrides,
Ansible's filters, includes searched beside the template and then from the tree root. Variables:
inventory/group_vars/all (+ staging for staging), templated when read; every variable the template
(or a template it includes by literal name) reads but the tree does not define renders as
`<name>`, a stand-in for the private vars' secrets.

usage: render.py ROOT TEMPLATE ENV [NAME=VALUE…]      (the rendering goes to stdout, byte for byte)
"""
import base64
import json
import os
import re
import sys

import jinja2
import jinja2.meta
import yaml


def ansible_bool(a):
    if isinstance(a, bool):
        return a
    if isinstance(a, str):
        a = a.lower()
    return a in ("yes", "on", "1", "true", 1)


def combine(*dicts, recursive=False):
    def merge(a, b):
        out = dict(a)
        for k, v in b.items():
            if recursive and isinstance(out.get(k), dict) and isinstance(v, dict):
                out[k] = merge(out[k], v)
            else:
                out[k] = v
        return out

    result = {}
    for d in dicts:
        result = merge(result, d)
    return result


def regex_replace(value="", pattern="", replacement="", ignorecase=False, multiline=False):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.sub(pattern, replacement, value, flags=flags)


def regex_search(value, pattern):
    m = re.search(pattern, value)
    return m.group(0) if m else None


def ternary(value, true_val, false_val, none_val=None):
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


FILTERS = {
    "b64encode": lambda s: base64.b64encode(str(s).encode()).decode(),
    "b64decode": lambda s: base64.b64decode(s).decode(),
    "ternary": ternary,
    "combine": combine,
    "bool": ansible_bool,
    "to_json": lambda a, **kw: json.dumps(a, **kw),
    "to_nice_json": lambda a, indent=4: json.dumps(a, indent=indent, sort_keys=True, separators=(",", ": ")),
    "regex_replace": regex_replace,
    "regex_search": regex_search,
    "basename": os.path.basename,
    "dirname": os.path.dirname,
}

TESTS = {
    "match": lambda v, p: re.match(p, v) is not None,
    "search": lambda v, p: re.search(p, v) is not None,
}


def environment(root, template_dir, overrides):
    settings = dict(trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=True)
    settings.update(overrides)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([os.path.join(root, template_dir), root]),
        undefined=jinja2.ChainableUndefined,
        **settings,
    )
    env.filters.update(FILTERS)
    env.tests.update(TESTS)
    return env


def header(source):
    """Ansible's `#jinja2:` first line: overrides, and the line itself is removed."""
    if not source.startswith("#jinja2:"):
        return {}, source
    line, _, body = source.partition("\n")
    overrides = {}
    for pair in line[len("#jinja2:"):].split(","):
        key, sep, value = pair.partition(":")
        if not sep:
            continue
        value = value.strip().strip("'\"")
        key = key.strip()
        overrides[key] = value.lower() == "true" if key in ("trim_blocks", "lstrip_blocks", "keep_trailing_newline") else value
    return overrides, body


def group_vars(root, env_name):
    out = {}
    for name in ["all"] + (["staging"] if env_name == "staging" else []):
        path = os.path.join(root, "inventory/group_vars", name)
        if os.path.exists(path):
            with open(path) as f:
                out.update(yaml.safe_load(f) or {})
    out.setdefault("env", env_name)
    return out


def template_vars(root, variables):
    """Ansible templates strings when read; render them against the others until stable."""
    env = environment(root, ".", {})

    def render_value(value, context):
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            try:
                return env.from_string(value).render(context)
            except Exception:
                return value
        if isinstance(value, list):
            return [render_value(v, context) for v in value]
        if isinstance(value, dict):
            return {k: render_value(v, context) for k, v in value.items()}
        return value

    out = dict(variables)
    for _ in range(4):
        context = with_placeholders(env, out, [v for v in out.values() if isinstance(v, str) and "{" in v])
        new = {k: render_value(v, context) for k, v in out.items()}
        if new == out:
            break
        out = new
    return out


def with_placeholders(env, variables, sources):
    context = dict(variables)
    for source in sources:
        try:
            free = jinja2.meta.find_undeclared_variables(env.parse(source))
        except jinja2.TemplateSyntaxError:
            continue
        for name in free:
            context.setdefault(name, "<%s>" % name)
    return context


def sources(root, template_dir, name, source, seen=None):
    """The template's source and those of the templates it includes by literal name."""
    seen = seen if seen is not None else set()
    if name in seen:
        return []
    seen.add(name)
    out = [source]
    names = re.findall(r"{%[-+]?\s*include\s+['\"]([^'\"]+)['\"]", source)
    names += re.findall(r"load_file\(\s*['\"]([^'\"]+)['\"]", source)
    for included in names:
        for base in (os.path.join(root, template_dir), root):
            path = os.path.normpath(os.path.join(base, included))
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path) as f:
                    out += sources(root, os.path.dirname(os.path.relpath(path, root)), path, f.read(), seen)
                break
    return out


def render(root, template, env_name, extra=None):
    with open(os.path.join(root, template)) as f:
        source = f.read()
    overrides, body = header(source)
    template_dir = os.path.dirname(template)
    env = environment(root, template_dir, overrides)
    variables = template_vars(root, group_vars(root, env_name))
    variables.update(extra or {})
    context = with_placeholders(env, variables, sources(root, template_dir, template, body))
    context["vars"] = dict(context)
    return env.from_string(body).render(context)


if __name__ == "__main__":
    if len(sys.argv) < 4 or any("=" not in a for a in sys.argv[4:]):
        raise SystemExit(__doc__)
    # NAME=VALUE: a variable the task gives (a loop item), over the group variables.
    extra = dict(a.split("=", 1) for a in sys.argv[4:])
    sys.stdout.write(render(*sys.argv[1:4], extra))
