//! What Ansible knows that text search does not: the per-environment variables and how
//! templates render.
//!
//! Variables come from `inventory/group_vars/all`, overlaid with `inventory/group_vars/staging`
//! for staging (SPEC §2), read with YAML 1.1 typing and templated when read, as Ansible does.
//! Rendering (`render`) follows Ansible's template module. Precedence across roles, plays, task
//! vars and set_fact is not modelled yet.

pub mod filters;
pub mod render;
pub mod tasks;
pub mod value;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::Value;

use crate::error::Result;
use crate::formats::{jinja, tree::Node, yaml};
use crate::migration::Env;
use crate::walk::View;
use render::{Renderer, Vars, template_vars};

/// Group variables per environment, and a renderer for the tree.
pub struct EnvVars {
    vars: BTreeMap<Env, Vars>,
    renderer: Renderer,
}

const ALL: &str = "inventory/group_vars/all";
const STAGING: &str = "inventory/group_vars/staging";

impl EnvVars {
    /// Reads the group_vars of the tree; absent files give just `env`.
    pub fn load(view: Arc<View>) -> Result<EnvVars> {
        let all = read_vars(&view, ALL)?;
        let mut staging = all.clone();
        staging.extend(read_vars(&view, STAGING)?);
        let renderer = Renderer::new(view);
        let mut production = all;
        production
            .entry("env".into())
            .or_insert_with(|| Value::from(Env::Production.name()));
        staging
            .entry("env".into())
            .or_insert_with(|| Value::from(Env::Staging.name()));
        let vars = BTreeMap::from([
            (Env::Production, template_vars(&renderer, &production)),
            (Env::Staging, template_vars(&renderer, &staging)),
        ]);
        Ok(EnvVars { vars, renderer })
    }

    /// The variables of `env`.
    pub fn vars(&self, env: Env) -> &Vars {
        &self.vars[&env]
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Renders one value for `env`; `None` when it reads a variable the tree does not define
    /// (the result would hold a placeholder, not a value) or does not render.
    pub fn render(&self, source: &str, env: Env) -> Option<String> {
        let out = self
            .renderer
            .render("<value>", source, self.vars(env))
            .ok()?;
        (!out.contains('<')).then_some(out)
    }
}

/// The top-level variables of a YAML vars file (empty when absent).
pub fn read_vars(view: &View, rel: &str) -> Result<Vars> {
    let Some(text) = view.read(rel) else {
        return Ok(Vars::new());
    };
    let masked = jinja::mask(&text);
    let mut vars = Vars::new();
    for doc in yaml::parse(Path::new(rel), &text, &masked)? {
        if let Node::Mapping { entries, .. } = doc {
            for (k, v) in &entries {
                if let Some(k) = k.as_scalar() {
                    vars.insert(k.value.clone(), value::from_yaml(v));
                }
            }
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_env_suffix_per_environment() {
        let overlay = [
            (ALL, "env: production\nenv_suffix: \"\"\n"),
            (STAGING, "env: staging\nenv_suffix: .stg\n"),
        ];
        let overlay = overlay
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let view = View {
            root: "/nonexistent".into(),
            files: Vec::new(),
            overlay,
        };
        let vars = EnvVars::load(Arc::new(view)).expect("load");
        let src = "c-reg{{ env_suffix }}.example.org";
        assert_eq!(
            vars.render(src, Env::Production).as_deref(),
            Some("c-reg.example.org")
        );
        assert_eq!(
            vars.render(src, Env::Staging).as_deref(),
            Some("c-reg.stg.example.org")
        );
        assert_eq!(vars.render("{{ unknown }}", Env::Staging), None);
    }
}
