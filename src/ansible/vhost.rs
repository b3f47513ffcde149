//! The web server configuration a role installs for one site (SPEC §7.3: the redirect goes into
//! the vhost of the registry's public name, found by meaning — Fedora's own first attempt went
//! into the wrong vhost).
//!
//! A site is a use of a role (in any play or task file) whose site parameter names the host.
//! The configuration is the template the role's template task picks for that use — its `src`,
//! or the first of its `with_first_found` candidates the tree holds — rendered with the use's
//! parameters; then, in order, the files it includes (`{% include %}`), as Apache reads them.

use std::collections::BTreeSet;

use minijinja::Value;

use super::EnvVars;
use super::render::{Context, Vars, join, literal_includes};
use super::roles;
use super::tasks::resolve_in_tree;
use crate::formats::tree::Node;
use crate::formats::{is_yaml_file, yaml};
use crate::migration::Env;
use crate::walk::View;

/// One use of the role for the site: where it is written, the template it installs, and what
/// it is rendered with.
#[derive(Debug, Clone)]
pub struct Site {
    /// The play or task file applying the role.
    pub file: String,
    /// The template installed, as a tree path.
    pub template: String,
    /// Where it is installed (the task's `dest` rendered), when that renders.
    pub dest: Option<String>,
    /// The use's parameters (plain values).
    pub params: Vars,
    /// The use's `when:`, as written, when it has one.
    pub when: Option<String>,
    /// The role applied.
    pub role: String,
}

impl Site {
    /// The variables the template renders with in `env`: the environment's group variables and
    /// the use's parameters.
    pub fn vars(&self, vars: &EnvVars, env: Env) -> Context {
        let view = vars.renderer().view();
        let role_vars = |layer: &str| {
            super::read_vars(view, &format!("roles/{}/{layer}/main.yml", self.role))
                .unwrap_or_default()
        };
        // Ansible's precedence: role defaults < group variables < role vars < role params.
        let mut all = role_vars("defaults");
        all.extend(vars.vars(env).iter().map(|(k, v)| (k.clone(), v.clone())));
        all.extend(role_vars("vars"));
        all.extend(self.params.iter().map(|(k, v)| (k.clone(), v.clone())));
        // Ansible templates a parameter's value when the role reads it.
        Context::from(&super::render::template_vars(vars.renderer(), &all))
    }

    /// Whether the use serves `env` (its `when:` does not render false there).
    pub fn serves(&self, vars: &EnvVars, env: Env) -> bool {
        self.when.as_deref().is_none_or(|w| {
            vars.render(&format!("{{{{ ({w}) | bool }}}}"), env)
                .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
        })
    }
}

/// Includes nest; deeper than this is not a configuration anyone writes.
const MAX_INCLUDES: usize = 16;

/// Every use of `role` whose parameter `param` is one of `hosts` (case-insensitive), with the
/// template it installs in `env`.
pub fn sites(vars: &EnvVars, role: &str, param: &str, hosts: &[String], env: Env) -> Vec<Site> {
    let view = vars.renderer().view();
    let hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    let files: Vec<&String> = view.files.iter().filter(|f| is_yaml_file(f)).collect();
    let found = crate::parallel::map(&files, |file| {
        let text = view.read(file)?;
        if !text.contains(role) || !hosts.iter().any(|h| text.contains(h.as_str())) {
            return None;
        }
        let docs = yaml::parse_masked(file, &text).ok()?;
        let mut out = Vec::new();
        for u in roles::uses(&docs, role) {
            let named = u
                .param(param)
                .and_then(|h| h.value.as_scalar().map(|s| s.value.to_ascii_lowercase()));
            if !named.is_some_and(|n| hosts.contains(&n)) {
                continue;
            }
            let params = scalar_params(&u.params);
            if let Some((template, dest)) = installed(vars, role, &params, env) {
                let when = u.entry.get("when").map(|w| match w {
                    Node::Sequence { items, .. } => items
                        .iter()
                        .filter_map(|i| i.as_scalar().map(|s| format!("({})", s.value)))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    other => other
                        .as_scalar()
                        .map_or_else(String::new, |s| s.value.clone()),
                });
                out.push(Site {
                    file: (*file).clone(),
                    template,
                    dest,
                    params,
                    when,
                    role: role.to_string(),
                });
            }
        }
        Some(out)
    });
    let mut out: Vec<Site> = found.into_iter().flatten().flatten().collect();
    // As Apache reads a site's files: by the name they are installed under.
    out.sort_by(|a, b| (&a.dest, &a.template, &a.file).cmp(&(&b.dest, &b.template, &b.file)));
    out
}

/// `template` and the files it includes, depth first in the order they are read.
pub fn with_includes(view: &View, template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    collect(view, template, 0, &mut seen, &mut out);
    out
}

fn collect(
    view: &View,
    file: &str,
    depth: usize,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<String>,
) {
    if depth > MAX_INCLUDES || !seen.insert(file.to_string()) {
        return;
    }
    out.push(file.to_string());
    let Some(text) = view.read(file) else { return };
    for name in literal_includes(&text) {
        let path = join(view, &name, file).into_owned();
        if view.exists(&path) {
            collect(view, &path, depth + 1, seen, out);
        }
    }
}

/// The use's parameters that are plain values.
pub fn scalar_params(holders: &[&Node]) -> Vars {
    let mut out = Vars::new();
    for holder in holders {
        if let Node::Mapping { entries, .. } = holder {
            for (k, v) in entries {
                if let (Some(k), Some(v)) = (k.as_scalar(), v.as_scalar()) {
                    out.insert(k.value.clone(), Value::from(v.value.clone()));
                }
            }
        }
    }
    out
}

/// The template `role`'s template tasks install for a use with `params`: a task's `src`, or
/// the first `with_first_found` candidate the tree holds; and its `dest`, rendered.
pub fn installed(
    vars: &EnvVars,
    role: &str,
    params: &Vars,
    env: Env,
) -> Option<(String, Option<String>)> {
    let view = vars.renderer().view();
    let prefix = format!("roles/{role}/tasks/");
    let mut context = vars.vars(env).clone();
    context.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
    // Ansible's roles directory, which templates name as `{{ roles_path }}`.
    context
        .entry("roles_path".to_string())
        .or_insert_with(|| Value::from("roles"));
    let context = Context::from(&context);
    for file in view
        .files
        .iter()
        .filter(|f| f.starts_with(&prefix) && is_yaml_file(f))
    {
        let Some(text) = view.read(file) else {
            continue;
        };
        let Ok(docs) = yaml::parse_masked(file, &text) else {
            continue;
        };
        for task in docs.iter().flat_map(tasks) {
            for candidate in candidates(task) {
                let Ok(src) = vars.renderer().render("<src>", &candidate, &context) else {
                    continue;
                };
                let found = if src.starts_with('/') {
                    resolve_in_tree(view, &src)
                } else {
                    // Relative to the role's templates, or (`{{ roles_path }}/…`) to the tree.
                    let beside = format!("roles/{role}/templates/{src}");
                    [beside, src].into_iter().find(|p| view.exists(p))
                };
                if let Some(template) = found {
                    let dest = super::tasks::template_dest(task)
                        .and_then(|d| vars.renderer().render("<dest>", &d, &context).ok());
                    return Some((template, dest));
                }
            }
        }
    }
    None
}

/// The tasks of a task file (blocks not entered: a site's template task is at the top).
fn tasks(doc: &Node) -> Vec<&Node> {
    match doc {
        Node::Sequence { items, .. } => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// A template task's sources, in the order Ansible tries them.
fn candidates(task: &Node) -> Vec<String> {
    let Some(src) = super::tasks::template_src(task) else {
        return Vec::new();
    };
    let listed = task
        .get("with_first_found")
        .map(|n| match n {
            Node::Sequence { items, .. } => items
                .iter()
                .filter_map(|i| i.as_scalar().map(|s| s.value.clone()))
                .collect(),
            Node::Scalar(s) => vec![s.value.clone()],
            _ => Vec::new(),
        })
        .unwrap_or_default();
    if !listed.is_empty() && src.contains("item") {
        listed
    } else {
        vec![src]
    }
}
