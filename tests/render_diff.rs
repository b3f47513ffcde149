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

/// Origins (SPEC §2): each corpus template rendered a second time with its expressions marked
/// gives the same text, and each origin's output is what its expression renders to.
#[test]
fn origins_name_the_expression_behind_each_output() {
    let Some((_dir, root)) = common::corpus() else {
        return;
    };
    let tree = Tree::walk(&root).expect("walk");
    let migration = regshift::migration::Migration::embedded().expect("default migration");
    let project = regshift::project::Project::of(&tree, &migration.selector);
    let mut with_origins = 0;
    for template in TEMPLATES {
        let source = std::fs::read_to_string(root.join(template)).expect("read");
        for env in project.vars().expect("vars").envs() {
            let (text, origins) = project.render_with_origins(template, env).expect("renders");
            assert_eq!(text, project.render(template, env).expect("renders"));
            with_origins += usize::from(!origins.is_empty());
            for o in &origins {
                let expression = &source[o.source.clone()];
                assert!(
                    expression.starts_with("{{") && expression.ends_with("}}"),
                    "{template}: {expression}"
                );
                assert!(text.get(o.rendered.clone()).is_some(), "{template}: {o:?}");
            }
        }
    }
    // The Apache and Nagios templates hold no expression, and haproxy's render in a branch the
    // corpus's hosts never take: the other seven templates have origins in both environments.
    assert_eq!(with_origins, 14, "renderings with origins");
    // The dockercfg's username is the output of its `{{candidate_registry_osbs_prod_username}}`.
    let dockercfg = TEMPLATES[0];
    let production = migration.env_named("production").expect("production");
    let (text, origins) = project
        .render_with_origins(dockercfg, production)
        .expect("renders");
    let at = text
        .find("<candidate_registry_osbs_prod_username>")
        .expect("placeholder");
    let origin = regshift::ansible::origins::at(&origins, at).expect("an origin");
    let source = std::fs::read_to_string(root.join(dockercfg)).expect("read");
    assert_eq!(
        &source[origin.source.clone()],
        "{{candidate_registry_osbs_prod_username}}"
    );
}
