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
    Label { label: String, field: LabelField },
    Username,
    Password,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelField {
    To,
    Host,
    Namespace,
    From,
}

/// A compiled value template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    source: String,
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
        Ok(Template {
            pieces,
            source: source.to_string(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template needs a reference (`${registry}` or `${host}`).
    pub fn needs_reference(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Registry | Piece::Host))
    }

    /// Evaluates the template; `None` when it needs a reference and the scope has none.
    pub fn render(&self, scope: &Scope<'_>) -> Option<String> {
        let env = scope.migration.env(scope.env);
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Registry => out.push_str(&scope.registry?.to_string()),
                Piece::Host => out.push_str(&scope.registry?.host),
                Piece::Env => out.push_str(scope.env.name()),
                Piece::Username => out.push_str(&env.credentials.username_var),
                Piece::Password => out.push_str(&env.credentials.password_var),
                Piece::Label { label, field } => {
                    let r = env.registries.get(label)?;
                    match field {
                        LabelField::To => out.push_str(&r.to.to_string()),
                        LabelField::Host => out.push_str(&r.to.host),
                        LabelField::Namespace => out.push_str(&r.to.namespace),
                        LabelField::From => out.push_str(&r.from),
                    }
                }
            }
        }
        Some(out)
    }
}

fn placeholder(name: &str, migration: &Migration) -> Result<Piece, String> {
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
                other => {
                    return Err(format!(
                        "`${{{name}}}`: unknown field `{other}`, expected to, host, namespace or from"
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
            env: Env::Production,
            registry: None,
        });
        let stg = t.render(&Scope {
            migration: &m,
            env: Env::Staging,
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
    fn reference_placeholders_need_a_reference() {
        let m = Migration::embedded().expect("default");
        let t = Template::parse("${host}", &m).expect("ok");
        assert!(t.needs_reference());
        assert_eq!(
            t.render(&Scope {
                migration: &m,
                env: Env::Production,
                registry: None
            }),
            None
        );
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let m = Migration::embedded().expect("default");
        assert!(Template::parse("${nope}", &m).is_err());
        assert!(Template::parse("${registries.stable.port}", &m).is_err());
        assert!(Template::parse("${registry", &m).is_err());
    }
}
