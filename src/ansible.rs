//! What Ansible knows that text search does not: the per-environment variables (`env`,
//! `env_suffix`, … from `inventory/group_vars/all` and `inventory/group_vars/staging`) and a
//! renderer set up as Ansible's template module (trim_blocks, kept trailing newline).
//!
//! This first version reads only those two group_vars files (top-level scalars) and renders
//! single values, enough to resolve a Jinja-built host such as
//! `candidate-registry{{ env_suffix }}.example.org` per environment. Variable precedence across
//! roles, plays and set_fact is not modelled yet.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value, syntax::SyntaxConfig};

use crate::error::Result;
use crate::formats::{jinja, tree::Node, yaml};
use crate::migration::Env;

/// Group variables per environment.
pub struct EnvVars {
    vars: BTreeMap<Env, BTreeMap<String, String>>,
    renderer: Environment<'static>,
}

const ALL: &str = "inventory/group_vars/all";
const STAGING: &str = "inventory/group_vars/staging";

impl EnvVars {
    /// Reads the group_vars of the tree at `root`; absent files give just `env`.
    pub fn load(root: &Path) -> Result<EnvVars> {
        let all = read_scalars(root, ALL)?;
        let mut staging = all.clone();
        staging.extend(read_scalars(root, STAGING)?);
        let mut production = all;
        production
            .entry("env".into())
            .or_insert_with(|| Env::Production.name().into());
        staging
            .entry("env".into())
            .or_insert_with(|| Env::Staging.name().into());
        let vars = BTreeMap::from([(Env::Production, production), (Env::Staging, staging)]);
        Ok(EnvVars {
            vars,
            renderer: renderer(),
        })
    }

    /// Renders one value for `env`; `None` when it uses something this version cannot know.
    pub fn render(&self, source: &str, env: Env) -> Option<String> {
        let ctx = Value::from_pairs(
            self.vars[&env]
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        self.renderer.render_str(source, ctx).ok()
    }
}

fn renderer() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

fn read_scalars(root: &Path, rel: &str) -> Result<BTreeMap<String, String>> {
    let path = root.join(rel);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(BTreeMap::new());
    };
    let masked = jinja::mask(&text);
    let docs = yaml::parse(Path::new(rel), &text, &masked)?;
    let mut vars = BTreeMap::new();
    for doc in &docs {
        if let Node::Mapping { entries, .. } = doc {
            for (k, v) in entries {
                if let (Some(k), Some(v)) = (k.as_scalar(), v.as_scalar()) {
                    vars.insert(k.value.clone(), v.value.clone());
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
