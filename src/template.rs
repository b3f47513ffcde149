//! `${…}` value templates over the migration file (SPEC §4). They are not Jinja, so a rule can
//! write a literal `{{ quay_io_username }}`: `${credentials.username_var}` fills in the name.
//!
//! Placeholders: `${registry}` (the `to` mapped from the reference's host), `${host}` (its
//! `host[:port]`), `${env}`, `${registries.LABEL.to|host|namespace|from}`,
//! `${credentials.username_var|password_var}` of the environment the value belongs to.

use crate::migration::{Env, Migration, RegistryRef};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Registry,
    Host,
    Env,
    Label {
        label: String,
        field: LabelField,
    },
    Username,
    Password,
    /// `${production.…}` / `${staging.…}`: a value of that environment, whichever is rendering.
    Pinned(Env, Box<Piece>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelField {
    To,
    Host,
    Namespace,
    From,
    /// The registry root clients use (SPEC §2 `registry-root`): `https://<to>/` when the new
    /// registry serves at its root, else the old `https://<from>/`, which stays.
    Root,
}

/// A compiled value template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// What a template is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'m> {
    pub migration: &'m Migration,
    pub env: Env,
    /// The registry mapped from the reference being rewritten, if any.
    pub registry: Option<&'m RegistryRef>,
}

impl Template {
    /// Compiles `source`, checking every label against `migration`.
    pub fn parse(source: &str, migration: &Migration) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("${") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{source}`"))?;
            pieces.push(placeholder(&after[..close], migration)?);
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { pieces })
    }

    /// Evaluates the template; `None` when it needs a reference and the scope has none.
    pub fn render(&self, scope: &Scope<'_>) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            out.push_str(&render_piece(piece, scope)?);
        }
        Some(out)
    }
}

fn render_piece(piece: &Piece, scope: &Scope<'_>) -> Option<String> {
    let env = scope.migration.env(scope.env)?;
    Some(match piece {
        Piece::Text(t) => t.clone(),
        Piece::Registry => scope.registry?.to_string(),
        Piece::Host => scope.registry?.host.clone(),
        Piece::Env => scope.env.name().to_string(),
        Piece::Username => env.credentials.as_ref()?.username_var.clone(),
        Piece::Password => env.credentials.as_ref()?.password_var.clone(),
        Piece::Label { label, field } => {
            let r = env.registries.get(label)?;
            match field {
                LabelField::To => r.to.to_string(),
                LabelField::Host => r.to.host.clone(),
                LabelField::Namespace => r.to.namespace.clone(),
                LabelField::From => r.from.clone(),
                LabelField::Root if r.to.namespace.is_empty() => format!("https://{}/", r.to.host),
                LabelField::Root => format!("https://{}/", r.from),
            }
        }
        Piece::Pinned(env, inner) => render_piece(
            inner,
            &Scope {
                env: *env,
                ..*scope
            },
        )?,
    })
}

/// What `text`'s placeholders need that `migration` lacks, said for a note: a registry label
/// or credentials some environment does not define, or an environment it does not declare
/// (`${production.…}`). `None` when it has everything. Syntax is checked by [`Template::parse`].
pub fn lacks(text: &str, migration: &Migration) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        let after = &rest[open + 2..];
        let close = after.find('}')?;
        if let Some(why) = lacks_one(&after[..close], migration) {
            return Some(why);
        }
        rest = &after[close + 1..];
    }
    None
}

fn lacks_one(name: &str, migration: &Migration) -> Option<String> {
    const HEADS: &[&str] = &["registry", "host", "env", "registries", "credentials"];
    let (envs, name): (Vec<Env>, &str) = match name.split_once('.') {
        Some((head, rest)) if !HEADS.contains(&head) => {
            match migration.envs.keys().find(|e| e.name() == head) {
                Some(env) => (vec![*env], rest),
                None => return Some(format!("environment `{head}`, which it does not declare")),
            }
        }
        _ => (migration.envs.keys().copied().collect(), name),
    };
    let parts: Vec<&str> = name.split('.').collect();
    for env in envs {
        let m = migration.env(env)?;
        match parts.as_slice() {
            ["registries", label, _] if !m.registries.contains_key(*label) => {
                return Some(format!(
                    "registry label `{label}`, which environment `{env}` does not define"
                ));
            }
            ["credentials", _] if m.credentials.is_none() => {
                return Some(format!(
                    "credentials, which environment `{env}` does not name"
                ));
            }
            _ => {}
        }
    }
    None
}

fn placeholder(name: &str, migration: &Migration) -> Result<Piece, String> {
    for env in migration.envs.keys().copied() {
        if let Some(rest) = name
            .strip_prefix(env.name())
            .and_then(|r| r.strip_prefix('.'))
        {
            let inner = placeholder(rest, migration)?;
            if matches!(inner, Piece::Registry | Piece::Host | Piece::Env) {
                return Err(format!(
                    "`${{{name}}}`: only registries and credentials can name an environment"
                ));
            }
            return Ok(Piece::Pinned(env, Box::new(inner)));
        }
    }
    let parts: Vec<&str> = name.split('.').collect();
    let piece = match parts.as_slice() {
        ["registry"] => Piece::Registry,
        ["host"] => Piece::Host,
        ["env"] => Piece::Env,
        ["credentials", "username_var"] => Piece::Username,
        ["credentials", "password_var"] => Piece::Password,
        ["registries", label, field] => {
            let field = match *field {
                "to" => LabelField::To,
                "host" => LabelField::Host,
                "namespace" => LabelField::Namespace,
                "from" => LabelField::From,
                "root" => LabelField::Root,
                other => {
                    return Err(format!(
                        "`${{{name}}}`: unknown field `{other}`, expected to, host, namespace, from or root"
                    ));
                }
            };
            for (env, m) in &migration.envs {
                if !m.registries.contains_key(*label) {
                    return Err(format!(
                        "`${{{name}}}` uses registry label `{label}`, which environment `{env}` of {} does not define",
                        migration.source
                    ));
                }
            }
            Piece::Label {
                label: label.to_string(),
                field,
            }
        }
        _ => return Err(format!("unknown placeholder `${{{name}}}`")),
    };
    Ok(piece)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_render_per_environment() {
        let m = Migration::embedded().expect("default");
        let t = Template::parse(
            "{{ ${credentials.username_var} }} ${registries.candidate.to}",
            &m,
        )
        .expect("ok");
        let prod = t.render(&Scope {
            migration: &m,
            env: crate::migration::testing::prod(),
            registry: None,
        });
        let stg = t.render(&Scope {
            migration: &m,
            env: crate::migration::testing::stg(),
            registry: None,
        });
        assert_eq!(
            prod.as_deref(),
            Some("{{ quay_io_username }} quay.io/fedora-candidate")
        );
        assert_eq!(
            stg.as_deref(),
            Some("{{ quay_io_stg_username }} quay.io/fedora-testing-candidate")
        );
    }

    #[test]
    fn what_a_template_needs_and_the_migration_lacks() {
        let one = Migration::parse(
            std::path::Path::new("m.yaml"),
            "version: 1\nenvironments:\n  live:\n    registries:\n      main: {from: k8s.gcr.io, to: registry.k8s.io}\n",
        )
        .expect("a one-line migration");
        assert_eq!(lacks("${registry} ${registries.main.to}", &one), None);
        assert_eq!(
            lacks("x ${registries.candidate.to}", &one).as_deref(),
            Some("registry label `candidate`, which environment `live` does not define")
        );
        assert_eq!(
            lacks("{{ ${credentials.username_var} }}", &one).as_deref(),
            Some("credentials, which environment `live` does not name")
        );
        assert_eq!(
            lacks("${production.registries.main.to}", &one).as_deref(),
            Some("environment `production`, which it does not declare")
        );
    }

    #[test]
    fn reference_placeholders_need_a_reference() {
        let m = Migration::embedded().expect("default");
        let t = Template::parse("${host}", &m).expect("ok");
        assert_eq!(
            t.render(&Scope {
                migration: &m,
                env: crate::migration::testing::prod(),
                registry: None
            }),
            None
        );
    }

    #[test]
    fn pinned_placeholders_ignore_the_rendering_environment() {
        let m = Migration::embedded().expect("default");
        let t = Template::parse("${production.registries.stable.to}", &m).expect("ok");
        let stg = t.render(&Scope {
            migration: &m,
            env: crate::migration::testing::stg(),
            registry: None,
        });
        assert_eq!(stg.as_deref(), Some("quay.io/fedora"));
        assert!(Template::parse("${staging.host}", &m).is_err());
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let m = Migration::embedded().expect("default");
        assert!(Template::parse("${nope}", &m).is_err());
        assert!(Template::parse("${registries.stable.port}", &m).is_err());
        assert!(Template::parse("${registry", &m).is_err());
    }
}
