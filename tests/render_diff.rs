//! Differential tests: corpus templates rendered by regshift's renderer and by Python's Jinja2
//! set up as Ansible's template module (tests/oracle/render.py) must be byte-identical.

mod common;

use std::process::Command;
use std::sync::Arc;

use regshift::ansible::EnvVars;
use regshift::walk::{Tree, View};

/// Templates that use the features the migration targets need: the four targets themselves, a
/// relative include, the `load_file` macro with `indent`, `ternary`, `is defined`, method calls,
/// `vars[...]`, loops over list literals, and look-alikes (`${X}`, `%(here)s`, `%{SERVER_NAME}`).
const TEMPLATES: &[&str] = &[
    "files/osbs/dockercfg-production-secret.j2",
    "files/osbs/dockercfg-staging-secret.j2",
    "roles/koji_builder/templates/flatpak.conf",
    "roles/bodhi2/base/templates/production.ini.j2",
    "roles/bodhi2/base/templates/configmap.yml",
    "roles/openshift-apps/flatpak-indexer/templates/configmap.yml",
    "roles/httpd/reverseproxy/templates/reversepassproxy.registry-fedora.conf",
    "roles/haproxy/templates/haproxy.cfg",
    "roles/varnish/templates/proxies.vcl.j2",
    "roles/nagios_server/templates/nagios/services/websites.cfg.j2",
];

#[test]
fn renderings_match_python_jinja2_byte_for_byte() {
    let Some((_dir, root)) = common::corpus() else {
        return;
    };
    let Some(python) = common::python_oracle() else {
        return;
    };
    let tree = Tree::walk(&root).expect("walk");
    let migration = regshift::migration::Migration::embedded().expect("default migration");
    let vars =
        EnvVars::load(Arc::new(View::of(&tree)), &migration.selector).expect("group_vars load");
    let mut failures = Vec::new();
    for template in TEMPLATES {
        for env in vars.envs() {
            let ours = vars
                .renderer()
                .render_file(template, &vars.vars(env).into());
            let out = Command::new(python)
                .arg(common::repo_path("tests/oracle/render.py"))
                .arg(&root)
                .arg(template)
                .arg(env.name())
                .output()
                .expect("python runs");
            let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
            match ours {
                Ok(ours) if out.status.success() && ours == theirs => {}
                Ok(ours) if out.status.success() => failures.push(format!(
                    "{template} ({env}): differs\n{}",
                    first_difference(&ours, &theirs)
                )),
                Ok(_) => failures.push(format!(
                    "{template} ({env}): python failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )),
                Err(e) => failures.push(format!("{template} ({env}): regshift failed: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn first_difference(ours: &str, theirs: &str) -> String {
    for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        if a != b {
            return format!("line {}:\n  regshift: {a:?}\n  jinja2:   {b:?}", i + 1);
        }
    }
    format!(
        "lengths: regshift {} bytes, jinja2 {} bytes",
        ours.len(),
        theirs.len()
    )
}
