#!/usr/bin/env python3
"""The truth regshift's step 2 must meet for fedora-image-uploader (SPEC §7), checked with
Python's Jinja2 (render.py, as Ansible renders) and tomllib, independently of regshift.

For each environment of MIGRATION: the rendered config.toml lists the environment's stable `to`
exactly once and no old registry; every listed registry's credential_prefix maps, through the
deployment's <prefix>USER / <prefix>PASSWORD secretKeyRefs, to keys of the podman-credentials
secret that render to that environment's credential variables (`<name>` placeholders).

usage: check_uploader.py ROOT MIGRATION.yaml      (exit 0: all hold; 1: a failure, listed)
"""
import os
import subprocess
import sys
import tomllib

import yaml

ROLE = "roles/openshift-apps/cloud-image-uploader/templates"


def render(root, template, env):
    here = os.path.dirname(os.path.abspath(__file__))
    # The role renders config.toml once per queue; the container queue's holds the registries.
    out = subprocess.run(
        [sys.executable, os.path.join(here, "render.py"), root, template, env, "queue_suffix=containers"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def secret_keys(deployment, variable):
    """The podman-credentials key the container's environment variable `variable` reads."""
    for doc in yaml.safe_load_all(deployment):
        if not doc:
            continue
        for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            for entry in container.get("env", []) or []:
                if entry.get("name") == variable:
                    ref = entry.get("valueFrom", {}).get("secretKeyRef", {})
                    if ref.get("name") == "podman-credentials":
                        return ref.get("key")
    return None


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    root, migration_file = sys.argv[1], sys.argv[2]
    with open(migration_file) as f:
        migration = yaml.safe_load(f)
    old = {r["from"] for e in migration["environments"].values() for r in e["registries"].values()}
    failures = []
    checks = 0
    for env_name, env in migration["environments"].items():
        config = tomllib.loads(render(root, ROLE + "/config.toml", env_name))
        registries = config["consumer_config"]["container"]["registries"]
        urls = [r["url"] for r in registries]
        stable = env["registries"]["stable"]["to"]
        checks += 1
        if urls.count(stable) != 1 or any(u.split("/")[0] in old for u in urls):
            failures.append("%s: registries %r: want %s once and no old registry" % (env_name, urls, stable))
        deployment = render(root, ROLE + "/deployment.yml.j2", env_name)
        secret = yaml.safe_load(render(root, ROLE + "/container-secrets.yml.j2", env_name))["stringData"]
        creds = env["credentials"]
        for r in registries:
            if r["url"] != stable:
                continue
            for suffix, var in (("USER", creds["username_var"]), ("PASSWORD", creds["password_var"])):
                checks += 1
                key = secret_keys(deployment, r["credential_prefix"] + suffix)
                got = secret.get(key) if key else None
                if got != "<%s>" % var:
                    failures.append("%s: %s%s reads secret key %r = %r, want <%s>" % (env_name, r["credential_prefix"], suffix, key, got, var))
    for f in failures:
        print(f)
    print("%d checks, %d checks failed" % (checks, len(failures)))
    sys.exit(1 if failures else 0)


main()
