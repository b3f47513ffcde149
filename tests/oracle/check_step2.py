#!/usr/bin/env python3
"""The truth regshift's step 2 must meet, checked independently of regshift (issue 2).

Renders each step-2 target of BEFORE and AFTER (two copies of an ansible tree) per environment
with Python's Jinja2 configured as Ansible's template module (trim_blocks, kept trailing newline,
b64encode), parses the result, checks the values SPEC §7 promises for the migration file given,
and checks that nothing else in any rendering changed. Secrets from the private vars are absent:
an undefined variable renders as `<name>`.

usage: check_step2.py BEFORE AFTER MIGRATION.yaml      (exit 0: all hold; 1: a failure, listed)
"""
import base64
import configparser
import difflib
import json
import os
import sys

import jinja2
import yaml


class Placeholder(jinja2.Undefined):
    """A missing (secret) variable renders as <name>."""

    def __str__(self):
        return "<%s>" % self._undefined_name

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder(name="%s.%s" % (self._undefined_name, name))


def environment(root):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=Placeholder,
    )
    env.filters["b64encode"] = lambda s: base64.b64encode(str(s).encode()).decode()
    env.filters["ternary"] = lambda c, a, b: a if c else b
    return env


def group_vars(root, name):
    with open(os.path.join(root, "inventory/group_vars", name)) as f:
        return yaml.safe_load(f)


def variables(root, env_name):
    v = dict(group_vars(root, "all"))
    if env_name == "staging":
        v.update(group_vars(root, "staging"))
    v["inventory_hostname"] = "bodhi-backend01.%siad2.fedoraproject.org" % ("stg." if env_name == "staging" else "")
    return v


def render_string(root, source, variables):
    return environment(root).from_string(source).render(variables)


def render(root, template, variables):
    return environment(root).get_template(template).render(variables)


def load_yaml(root, rel):
    with open(os.path.join(root, rel)) as f:
        return yaml.safe_load(f)


def set_fact(root, env_name, v):
    """auth_info_* as the setup-*-namespace set_fact defines them (both playbooks must agree)."""
    facts = {}
    for play in ("setup-orchestrator-namespace.yml", "setup-worker-namespace.yml"):
        doc = load_yaml(root, "playbooks/groups/osbs/" + play)
        for p in doc:
            for task in p.get("pre_tasks", []):
                for k, val in (task.get("set_fact") or {}).items():
                    rendered = render_string(root, val, v)
                    if facts.setdefault(k, rendered) != rendered:
                        raise SystemExit("%s: %s differs between playbooks" % (play, k))
    return facts


def koji_vars(root, v):
    for task in load_yaml(root, "roles/koji_builder/tasks/main.yml"):
        if "flatpak.conf" in str(task.get("template", "")):
            return {k: render_string(root, val, v) for k, val in task.get("vars", {}).items()}
    raise SystemExit("koji_builder: no flatpak.conf task")


def login_params(root, env_name, v):
    """login-registry role params that apply in env_name, per playbook."""
    out = {}
    for play in ("buildvm.yml", "buildhw.yml", "releng-compose.yml"):
        for p in load_yaml(root, "playbooks/groups/" + play):
            for role in p.get("roles", []):
                if not isinstance(role, dict) or role.get("role") != "login-registry":
                    continue
                when = role.get("when")
                if when and render_string(root, "{{ %s }}" % when, v) != "True":
                    continue
                params = {k: render_string(root, str(val), v) for k, val in role.items() if k.startswith("candidate_registry")}
                out.setdefault(play, []).append(params)
    return out


def renderings(root, env_name):
    """Every rendered artifact of the step-2 targets for env_name: name -> text."""
    v = variables(root, env_name)
    v.update(set_fact(root, env_name, v))
    out = {}
    out["dockercfg"] = render(root, "files/osbs/dockercfg-%s-secret.j2" % env_name, v)
    out["flatpak.conf"] = render(root, "roles/koji_builder/templates/flatpak.conf", dict(v, **koji_vars(root, v)))
    out["production.ini"] = render(root, "roles/bodhi2/base/templates/production.ini.j2", v)
    out["configmap.yml"] = render(root, "roles/openshift-apps/flatpak-indexer/templates/configmap.yml", v)
    masters = "osbs_masters_stg" if env_name == "staging" else "osbs_masters"
    out["reactor"] = json.dumps(group_vars(root, masters)["_osbs_reactor_config_map"], indent=1, sort_keys=True) + "\n"
    out["login-registry"] = json.dumps(login_params(root, env_name, v), indent=1, sort_keys=True) + "\n"
    return out


def expected(migration, env_name):
    e = migration["environments"][env_name]
    reg = {label: r["to"] for label, r in e["registries"].items()}
    host = lambda to: to.split("/", 1)[0]
    prod = migration["environments"]["production"]["registries"]["stable"]
    # SPEC §2/§7: public_url is a registry root (clients append v2/<name>/); it moves only to a
    # `to` without namespace, else it stays on the old registry (step 3 redirects it).
    if "/" in prod["to"]:
        public_url = "https://%s/" % prod["from"]
    else:
        public_url = "https://%s/" % prod["to"]
    return {
        "candidate": reg["candidate"],
        "stable": reg["stable"],
        "candidate_host": host(reg["candidate"]),
        "user": "<%s>" % e["credentials"]["username_var"],
        "password": "<%s>" % e["credentials"]["password_var"],
        "public_url": public_url,
    }


def check_values(r, x, env_name, failures):
    def want(what, got, exp):
        if got != exp:
            failures.append("%s %s: expected %r, got %r" % (env_name, what, exp, got))

    auths = json.loads(r["dockercfg"])["auths"]
    want("dockercfg auth keys", sorted(auths), [x["candidate_host"]])
    entry = auths.get(x["candidate_host"], {})
    want("dockercfg username", entry.get("username"), x["user"])
    want("dockercfg password", entry.get("password"), x["password"])
    want("dockercfg auth", entry.get("auth"), base64.b64encode(("%s:%s" % (x["user"], x["password"])).encode()).decode())

    flat = configparser.ConfigParser(interpolation=None)
    flat.read_string(r["flatpak.conf"])
    want("flatpak.conf registry", flat["push"]["registry"], "docker://" + x["candidate"])

    ini = configparser.ConfigParser(interpolation=None, strict=True)
    ini.optionxform = str
    ini.read_string(r["production.ini"])
    want("bodhi container.source_registry", ini["app:main"].get("container.source_registry"), x["candidate"])
    want("bodhi container.destination_registry", ini["app:main"].get("container.destination_registry"), x["stable"])

    maps = [d for d in yaml.safe_load_all(r["configmap.yml"]) if d and d.get("metadata", {}).get("name") == "indexer-config"]
    config = yaml.safe_load(maps[0]["data"]["config.yaml"])
    want("flatpak-indexer public_url", config["registries"]["fedora"]["public_url"], x["public_url"])

    urls = [reg["url"] for reg in json.loads(r["reactor"])["registries"]]
    want("OSBS reactor registries url", urls, ["https://%s/v2" % x["candidate_host"]])

    for play, logins in json.loads(r["login-registry"]).items():
        for params in logins:
            if params["candidate_registry"] == "quay.io" and play == "releng-compose.yml" and params["candidate_registry_osbs_username"] == "<quay_io_username>" and x["candidate_host"] != "quay.io":
                continue  # the pre-existing quay.io login of releng-compose (production)
            want(play + " login host", params["candidate_registry"], x["candidate_host"])
            want(play + " login user", params["candidate_registry_osbs_username"], x["user"])
            want(play + " login password", params["candidate_registry_osbs_password"], x["password"])


# Lines of each rendering allowed to differ: those that carry the promised values.
ALLOWED = {
    "dockercfg": lambda line: True,  # one line: the whole secret is the registry entry
    "flatpak.conf": lambda line: line.startswith("registry="),
    "production.ini": lambda line: line.startswith("container.source_registry") or line.startswith("container.destination_registry"),
    "configmap.yml": lambda line: line.strip().startswith("public_url:"),
    "reactor": lambda line: line.strip().startswith('"url":'),
    "login-registry": lambda line: '"candidate_registry' in line,
}


def check_rest(before, after, env_name, failures):
    for name, text in before.items():
        for line in difflib.unified_diff(text.splitlines(), after[name].splitlines(), lineterm="", n=0):
            if line.startswith(("---", "+++", "@@")):
                continue
            if not ALLOWED[name](line[1:]):
                failures.append("%s %s: unexpected change: %s" % (env_name, name, line))


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    before_root, after_root, migration_file = sys.argv[1:]
    with open(migration_file) as f:
        migration = yaml.safe_load(f)
    failures = []
    for env_name in ("production", "staging"):
        before = renderings(before_root, env_name)
        after = renderings(after_root, env_name)
        check_values(after, expected(migration, env_name), env_name, failures)
        check_rest(before, after, env_name, failures)
    for f in failures:
        print("FAIL", f)
    print("step-2 oracle: %d checks failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
