//! What Ansible knows that text search does not: the per-environment variables and how
//! templates render.
//!
//! Variables come from `inventory/group_vars/all`, overlaid with `inventory/group_vars/staging`
//! for staging (SPEC §2), read with YAML 1.1 typing and templated when read, as Ansible does.
//! Rendering (`render`) follows Ansible's template module. Precedence across roles, plays, task
//! vars and set_fact is not modelled yet.

pub mod condition;
pub mod filters;
pub mod inventory;
pub mod origins;
pub mod render;
pub mod roles;
pub mod tasks;
pub mod value;
pub mod vhost;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::Value;

use crate::error::Result;
use crate::formats::jinja::{self, Envs};
use crate::formats::{tree::Node, yaml};
use crate::migration::{Env, Selector};
use crate::walk::View;
use render::{Context, Renderer, Vars, template_vars};

/// Whether Ansible renders the whole file as a Jinja template (a `templates/` file or a
/// `.j2`), as opposed to YAML data whose strings it templates after parsing.
pub fn is_template(path: &str) -> bool {
    path.contains("/templates/") || path.starts_with("templates/") || path.ends_with(".j2")
}

/// Group variables per environment (and where each is defined), and a renderer for the tree.
pub struct EnvVars {
    vars: BTreeMap<Env, Vars>,
    contexts: BTreeMap<Env, Context>,
    defs: BTreeMap<Env, Vec<Definition>>,
    renderer: Renderer,
    selector: Selector,
}

/// Ansible's group of every host; each environment's own group (the selector's) overlays it.
const ALL: &str = "inventory/group_vars/all";

/// The file holding the group variables of `group` (`None`: every host's, `all`), where
/// [`EnvVars::load`] reads them.
pub fn group_vars_file(group: Option<&str>) -> String {
    group.map_or_else(|| ALL.to_string(), |g| format!("inventory/group_vars/{g}"))
}

impl EnvVars {
    /// Reads the group_vars of the tree per environment of `selector`: `all`, overlaid with the
    /// environment's group when it has one; the selector's variable is the environment's name
    /// where the tree does not set it. Absent files give just that.
    pub fn load(view: Arc<View>, selector: &Selector) -> Result<EnvVars> {
        let all_defs = read_defs(&view, ALL, Layer::GroupVars)?;
        let renderer = Renderer::new(view);
        let mut defs = BTreeMap::new();
        let mut vars = BTreeMap::new();
        for env in selector.envs() {
            let mut of_env = all_defs.clone();
            if let Some(group) = selector.group_of(env) {
                let file = group_vars_file(Some(group));
                of_env.extend(read_defs(renderer.view(), &file, Layer::GroupVars)?);
            }
            let mut merged = merge(&of_env);
            if let Some(var) = &selector.variable {
                merged
                    .entry(var.clone())
                    .or_insert_with(|| Value::from(selector.value_of(env)));
            }
            vars.insert(env, template_vars(&renderer, &merged));
            defs.insert(env, of_env);
        }
        let contexts = vars.iter().map(|(env, v)| (*env, v.into())).collect();
        Ok(EnvVars {
            vars,
            contexts,
            defs,
            renderer,
            selector: selector.clone(),
        })
    }

    /// How the tree tells its environments apart.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// Every environment.
    pub fn envs(&self) -> Vec<Env> {
        self.vars.keys().copied().collect()
    }

    /// Where the group variables of `env` are defined, lowest precedence first.
    pub fn definitions(&self, env: Env) -> &[Definition] {
        &self.defs[&env]
    }

    /// The variables of `env`.
    pub fn vars(&self, env: Env) -> &Vars {
        &self.vars[&env]
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Renders one value for `env`, variables the tree does not define shown as `<name>`
    /// placeholders (so `{{x}}` and `{{ x }}` give the same text); `None` when it does not render.
    pub fn render_loose(&self, source: &str, env: Env) -> Option<String> {
        self.renderer
            .render("<value>", source, &self.contexts[&env])
            .ok()
    }

    /// Renders one value for `env`; `None` when it reads a variable the tree does not define
    /// (the result would hold a placeholder, not a value) or does not render.
    pub fn render(&self, source: &str, env: Env) -> Option<String> {
        let out = self
            .renderer
            .render("<value>", source, &self.contexts[&env])
            .ok()?;
        (!out.contains('<')).then_some(out)
    }
}

impl EnvVars {
    /// The environments a `when:` (one expression, or a list that must all hold) may serve: all
    /// but those where it is false for certain (`condition`).
    pub fn when_envs(&self, when: &Node) -> Envs {
        let exprs: Vec<&str> = match when {
            Node::Scalar(s) => vec![s.value.as_str()],
            Node::Sequence { items, .. } => items
                .iter()
                .filter_map(|n| n.as_scalar().map(|s| s.value.as_str()))
                .collect(),
            _ => Vec::new(),
        };
        self.envs()
            .into_iter()
            .filter(|env| {
                exprs
                    .iter()
                    .all(|e| self.truth(e, *env) != condition::Truth::False)
            })
            .fold(Envs::NONE, |acc, env| acc.union(Envs::only(env)))
    }

    /// What the bare expression `expr` says in `env`.
    pub fn truth(&self, expr: &str, env: Env) -> condition::Truth {
        let vars = &self.vars[&env];
        let unknown = |clause: &str| {
            let reads = self.renderer.expression_reads(clause);
            condition::reads_any_unknown(&reads, |name| vars.contains_key(name))
        };
        let eval = |clause: &str| {
            let source = format!("{{% if ({clause}) %}}1{{% else %}}0{{% endif %}}");
            let out = self
                .renderer
                .render("<when>", &source, &self.contexts[&env])
                .ok()?;
            match out.as_str() {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            }
        };
        condition::truth(expr, unknown, eval)
    }
}

/// Where a variable's value comes from, lowest precedence first (Ansible's order, the levels
/// this version reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    RoleDefaults,
    GroupVars,
    HostVars,
    PlayVars,
    VarsFiles,
    RoleVars,
    TaskVars,
    SetFact,
    RoleParams,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::RoleDefaults => "role defaults",
            Layer::GroupVars => "group_vars",
            Layer::HostVars => "host_vars",
            Layer::PlayVars => "play vars",
            Layer::VarsFiles => "play vars_files",
            Layer::RoleVars => "role vars",
            Layer::TaskVars => "task vars",
            Layer::SetFact => "set_fact",
            Layer::RoleParams => "role params",
        }
    }
}

/// One definition of a variable: where it is written and what it holds.
#[derive(Debug, Clone)]
pub struct Definition {
    pub name: String,
    pub value: Value,
    pub file: String,
    /// The value as written in `file`.
    pub span: std::ops::Range<usize>,
    pub layer: Layer,
}

/// The definitions in a mapping's entries.
pub fn definitions(file: &str, entries: &[(Node, Node)], layer: Layer) -> Vec<Definition> {
    entries
        .iter()
        .filter_map(|(k, v)| {
            Some(Definition {
                name: k.as_scalar()?.value.clone(),
                value: value::from_yaml(v),
                file: file.to_string(),
                span: v.span(),
                layer,
            })
        })
        .collect()
}

/// The top-level definitions of a YAML vars file (none when absent).
pub fn read_defs(view: &View, rel: &str, layer: Layer) -> Result<Vec<Definition>> {
    let Some(text) = view.read(rel) else {
        return Ok(Vec::new());
    };
    let masked = jinja::mask(&text);
    let mut defs = Vec::new();
    for doc in yaml::parse(Path::new(rel), &text, &masked)? {
        if let Node::Mapping { entries, .. } = &doc {
            defs.extend(definitions(rel, entries, layer));
        }
    }
    Ok(defs)
}

/// The variables the definitions give, later ones winning.
pub fn merge(defs: &[Definition]) -> Vars {
    defs.iter()
        .map(|d| (d.name.clone(), d.value.clone()))
        .collect()
}

/// The top-level variables of a YAML vars file (empty when absent).
pub fn read_vars(view: &View, rel: &str) -> Result<Vars> {
    Ok(merge(&read_defs(view, rel, Layer::GroupVars)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_env_suffix_per_environment() {
        let overlay = [
            (ALL, "env: production\nenv_suffix: \"\"\n"),
            (
                "inventory/group_vars/staging",
                "env: staging\nenv_suffix: .stg\n",
            ),
        ];
        let overlay = overlay
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let view = View {
            root: "/nonexistent".into(),
            files: Vec::new(),
            overlay,
            ..Default::default()
        };
        let vars =
            EnvVars::load(Arc::new(view), &crate::migration::testing::selector()).expect("load");
        let src = "c-reg{{ env_suffix }}.example.org";
        assert_eq!(
            vars.render(src, crate::migration::testing::prod())
                .as_deref(),
            Some("c-reg.example.org")
        );
        assert_eq!(
            vars.render(src, crate::migration::testing::stg())
                .as_deref(),
            Some("c-reg.stg.example.org")
        );
        assert_eq!(
            vars.render("{{ unknown }}", crate::migration::testing::stg()),
            None
        );
    }
}
