//! What Ansible knows that text search does not: the per-environment variables and how
//! templates render.
//!
//! Variables come from `inventory/group_vars/all`, overlaid with `inventory/group_vars/staging`
//! for staging (SPEC §2), read with YAML 1.1 typing and templated when read, as Ansible does.
//! Rendering (`render`) follows Ansible's template module. Precedence across roles, plays, task
//! vars and set_fact is not modelled yet.

pub mod filters;
pub mod render;
pub mod value;

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Value;

use crate::error::Result;
use crate::formats::{jinja, tree::Node, yaml};
use crate::migration::Env;
use render::{Renderer, Vars, template_vars};

/// Group variables per environment, and a renderer for the tree.
pub struct EnvVars {
    vars: BTreeMap<Env, Vars>,
    renderer: Renderer,
}

const ALL: &str = "inventory/group_vars/all";
const STAGING: &str = "inventory/group_vars/staging";

impl EnvVars {
    /// Reads the group_vars of the tree at `root`; absent files give just `env`.
    pub fn load(root: &Path) -> Result<EnvVars> {
        let renderer = Renderer::new(root);
        let all = read_vars(root, ALL)?;
        let mut staging = all.clone();
        staging.extend(read_vars(root, STAGING)?);
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

fn read_vars(root: &Path, rel: &str) -> Result<Vars> {
    let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
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
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("inventory/group_vars")).expect("mkdir");
        std::fs::write(dir.path().join(ALL), "env: production\nenv_suffix: \"\"\n").expect("write");
        std::fs::write(dir.path().join(STAGING), "env: staging\nenv_suffix: .stg\n")
            .expect("write");
        let vars = EnvVars::load(dir.path()).expect("load");
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
