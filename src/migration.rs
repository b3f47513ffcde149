//! The migration file: which old registry host becomes which new registry reference, per
//! environment, and which credential variables each environment logs in with (SPEC §3).
//!
//! This module owns parsing and validation; lookups are by host (SPEC §2: mapping is by host,
//! not by environment). It knows no registry names: the default file is data, embedded.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{Error, Position, Result};

/// The embedded default: Fedora's plan.
pub const DEFAULT: &str = include_str!("defaults/migration.yaml");

/// A deployment environment. Fedora's inventory knows exactly these two (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Production,
    Staging,
}

impl Env {
    pub const ALL: [Env; 2] = [Env::Production, Env::Staging];

    pub fn name(self) -> &'static str {
        match self {
            Env::Production => "production",
            Env::Staging => "staging",
        }
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A registry reference `host[:port][/namespace…]`, the `to` of a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// `host[:port]`.
    pub host: String,
    /// The namespace path without leading slash; empty for a bare host.
    pub namespace: String,
}

impl RegistryRef {
    /// Parses `host[:port][/namespace…]`; `None` if it is not a registry reference.
    pub fn parse(text: &str) -> Option<RegistryRef> {
        let (host, namespace) = text.split_once('/').unwrap_or((text, ""));
        if text.contains('/') && namespace.is_empty() {
            return None;
        }
        let (name, port) = match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        };
        let name_ok = is_hostname(name);
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        let ns_ok = namespace.is_empty()
            || namespace.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        (name_ok && port_ok && ns_ok).then(|| RegistryRef {
            host: host.to_string(),
            namespace: namespace.to_string(),
        })
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.host)
        } else {
            write!(f, "{}/{}", self.host, self.namespace)
        }
    }
}

/// `name` is a DNS hostname: dot-separated labels of letters, digits and inner hyphens.
pub fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[derive(Debug, Clone)]
pub struct Registry {
    /// The label rules refer to (`stable`, `candidate`).
    pub label: String,
    pub from: String,
    pub to: RegistryRef,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub username_var: String,
    pub password_var: String,
}

#[derive(Debug, Clone)]
pub struct EnvMigration {
    pub registries: BTreeMap<String, Registry>,
    pub credentials: Credentials,
}

/// A validated migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Where it came from, for error messages (`<embedded>` for the default).
    pub source: String,
    pub envs: BTreeMap<Env, EnvMigration>,
    /// Whole-hostname globs of the old registry's infrastructure; audited, never mapped.
    pub related: Vec<String>,
}

/// A registry found by its `from` host.
#[derive(Debug, Clone, Copy)]
pub struct Mapped<'m> {
    pub env: Env,
    pub registry: &'m Registry,
}

impl Migration {
    pub fn embedded() -> Result<Migration> {
        Migration::parse(Path::new("<embedded migration>"), DEFAULT)
    }

    pub fn load(path: &Path) -> Result<Migration> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::file(path, format!("cannot read migration file: {e}")))?;
        Migration::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Migration> {
        let raw: RawMigration =
            serde_saphyr::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
        raw.validate(path, text)
    }

    pub fn env(&self, env: Env) -> &EnvMigration {
        // Validation guarantees both environments exist.
        &self.envs[&env]
    }

    /// The registry whose `from` is exactly `host` (hosts compare case-insensitively).
    pub fn by_host(&self, host: &str) -> Option<Mapped<'_>> {
        self.envs.iter().find_map(|(env, m)| {
            m.registries
                .values()
                .find(|r| r.from.eq_ignore_ascii_case(host))
                .map(|registry| Mapped {
                    env: *env,
                    registry,
                })
        })
    }

    /// Every `from` host, for the reference finder.
    pub fn from_hosts(&self) -> Vec<String> {
        self.envs
            .values()
            .flat_map(|m| m.registries.values().map(|r| r.from.clone()))
            .collect()
    }

    /// Whether `value` names one of the migration's registries, old or new: a `from` host or a
    /// `to`'s host, alone or followed by a port, path or tag.
    pub fn names_a_registry(&self, value: &str) -> bool {
        let value = value.trim().to_ascii_lowercase();
        let value = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .unwrap_or(&value);
        self.envs
            .values()
            .flat_map(|m| m.registries.values())
            .any(|r| {
                [r.from.as_str(), r.to.host.as_str()].iter().any(|h| {
                    value
                        .strip_prefix(&h.to_ascii_lowercase())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
                })
            })
    }

    /// Checks that every label a rule uses exists in both environments.
    pub fn require_label(&self, label: &str, rule: &str) -> Result<()> {
        for (env, m) in &self.envs {
            if !m.registries.contains_key(label) {
                return Err(Error::file(
                    Path::new(&self.source),
                    format!(
                        "rule `{rule}` uses registry label `{label}`, which environment `{env}` does not define"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Turns a serde-saphyr error into ours, keeping its line and column.
pub fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> Error {
    let message = first_line(&e.to_string());
    match e.location() {
        Some(loc) if loc.line() > 0 => Error::At {
            path: path.to_path_buf(),
            at: Position {
                line: loc.line() as usize,
                column: loc.column().max(1) as usize,
            },
            message,
        },
        _ => Error::at(path, text, 0, message),
    }
}

/// serde-saphyr renders a snippet after the message; our error line carries the position.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    let line = line.strip_prefix("error: ").unwrap_or(line);
    // Drop serde-saphyr's own "line N column M: " prefix; ours says file:line:column.
    match line.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((pos, rest)) if pos.split(' ').count() == 3 => rest.to_string(),
        _ => line.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMigration {
    version: Spanned<u32>,
    environments: RawEnvs,
    #[serde(default)]
    related: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvs {
    production: Option<RawEnv>,
    staging: Option<RawEnv>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    registries: BTreeMap<String, RawRegistry>,
    credentials: RawCredentials,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    from: Spanned<String>,
    to: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    username_var: Spanned<String>,
    password_var: Spanned<String>,
}

fn at<T>(path: &Path, spanned: &Spanned<T>, message: String) -> Error {
    Error::At {
        path: path.to_path_buf(),
        at: Position {
            line: spanned.referenced.line().max(1) as usize,
            column: spanned.referenced.column().max(1) as usize,
        },
        message,
    }
}

impl RawMigration {
    fn validate(self, path: &Path, text: &str) -> Result<Migration> {
        if self.version.value != 1 {
            return Err(at(
                path,
                &self.version,
                format!("unsupported version {}, expected 1", self.version.value),
            ));
        }
        let mut envs = BTreeMap::new();
        let listed = [
            (Env::Production, self.environments.production),
            (Env::Staging, self.environments.staging),
        ];
        for (env, raw) in listed {
            let Some(raw) = raw else {
                let offset = text.find("environments:").unwrap_or(0);
                return Err(Error::at(
                    path,
                    text,
                    offset,
                    format!("missing environment `{env}` under `environments`"),
                ));
            };
            envs.insert(env, raw.validate(path)?);
        }
        check_unique_from(path, &envs)?;
        let mut related = Vec::new();
        for glob in self.related {
            if !is_hostname(&glob.value.replace('*', "x")) {
                return Err(at(
                    path,
                    &glob,
                    format!("`related` entry `{}` is not a hostname glob", glob.value),
                ));
            }
            related.push(glob.value);
        }
        Ok(Migration {
            source: path.display().to_string(),
            envs,
            related,
        })
    }
}

impl RawEnv {
    fn validate(self, path: &Path) -> Result<EnvMigration> {
        let mut registries = BTreeMap::new();
        for (label, raw) in self.registries {
            if !is_hostname(&raw.from.value) {
                return Err(at(
                    path,
                    &raw.from,
                    format!("key `from`: `{}` is not a hostname", raw.from.value),
                ));
            }
            let to = RegistryRef::parse(&raw.to.value).ok_or_else(|| {
                at(
                    path,
                    &raw.to,
                    format!(
                        "key `to`: `{}` is not a registry reference host[:port][/namespace]",
                        raw.to.value
                    ),
                )
            })?;
            let from = raw.from.value.to_ascii_lowercase();
            registries.insert(label.clone(), Registry { label, from, to });
        }
        for var in [
            &self.credentials.username_var,
            &self.credentials.password_var,
        ] {
            if !is_identifier(&var.value) {
                return Err(at(
                    path,
                    var,
                    format!("`{}` is not an Ansible variable name", var.value),
                ));
            }
        }
        Ok(EnvMigration {
            registries,
            credentials: Credentials {
                username_var: self.credentials.username_var.value,
                password_var: self.credentials.password_var.value,
            },
        })
    }
}

fn check_unique_from(path: &Path, envs: &BTreeMap<Env, EnvMigration>) -> Result<()> {
    let mut seen: BTreeMap<&str, Env> = BTreeMap::new();
    for (env, m) in envs {
        for r in m.registries.values() {
            if let Some(other) = seen.insert(&r.from, *env)
                && other != *env
            {
                return Err(Error::file(
                    path,
                    format!(
                        "`from: {}` appears in both `{other}` and `{env}`; a host maps to one registry",
                        r.from
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_maps_fedora_hosts() {
        let m = Migration::embedded().expect("embedded migration parses");
        let cand = m
            .by_host("candidate-registry.stg.fedoraproject.org")
            .expect("mapped");
        assert_eq!(cand.env, Env::Staging);
        assert_eq!(
            cand.registry.to.to_string(),
            "quay.io/fedora-testing-candidate"
        );
        assert_eq!(
            m.env(Env::Production).credentials.username_var,
            "quay_io_username"
        );
        assert!(m.by_host("cdn.registry.fedoraproject.org").is_none());
    }

    #[test]
    fn registry_ref_grammar() {
        let r = RegistryRef::parse("reg.example.com:5000/a/b").expect("valid");
        assert_eq!(
            (r.host.as_str(), r.namespace.as_str()),
            ("reg.example.com:5000", "a/b")
        );
        assert!(RegistryRef::parse("https://quay.io").is_none());
        assert!(RegistryRef::parse("quay.io/").is_none());
        assert!(RegistryRef::parse("quay.io:x").is_none());
    }

    #[test]
    fn unknown_key_is_located() {
        let text = DEFAULT.replace("to: quay.io/fedora}", "tox: quay.io/fedora}");
        let err = Migration::parse(Path::new("m.yaml"), &text).expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.starts_with("m.yaml:6:"), "{msg}");
        assert!(msg.contains("tox"), "{msg}");
    }

    #[test]
    fn bad_to_names_key_and_line() {
        let text = DEFAULT.replace("to: quay.io/fedora-candidate", "to: 'https://quay.io'");
        let msg = Migration::parse(Path::new("m.yaml"), &text)
            .expect_err("bad to")
            .to_string();
        assert!(msg.starts_with("m.yaml:7:"), "{msg}");
        assert!(msg.contains("key `to`"), "{msg}");
    }

    #[test]
    fn same_from_in_two_environments_is_refused() {
        let text = DEFAULT.replace(
            "from: registry.stg.fedoraproject.org",
            "from: registry.fedoraproject.org",
        );
        let msg = Migration::parse(Path::new("m.yaml"), &text)
            .expect_err("dup")
            .to_string();
        assert!(msg.contains("appears in both"), "{msg}");
    }

    #[test]
    fn missing_environment_is_refused() {
        let text = "version: 1\nenvironments:\n  production:\n    registries: {}\n    credentials: {username_var: u, password_var: p}\n";
        let msg = Migration::parse(Path::new("m.yaml"), text)
            .expect_err("missing")
            .to_string();
        assert!(msg.contains("missing environment `staging`"), "{msg}");
    }
}
