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

/// A deployment environment: one of the names the migration file declares (SPEC §3). A small
/// copyable id for an interned name; environments order by name, so every output lists them
/// alphabetically whatever they are called.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Env(u8);

/// The most environments one run can name (they are a bit set, [`crate::formats::jinja::Envs`]).
pub const MAX_ENVS: usize = 64;

/// Interned environment names, by id: each slot is written once, then read without a lock
/// (names are asked for in hot paths: ordering, sets). Names are few and live as long as the
/// run: leaked.
static NAMES: [std::sync::OnceLock<&'static str>; MAX_ENVS] =
    [const { std::sync::OnceLock::new() }; MAX_ENVS];
/// Serialises interning (reading needs no lock).
static INTERNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Env {
    /// The environment called `name` (`None` past [`MAX_ENVS`] names).
    pub fn named(name: &str) -> Option<Env> {
        let found = |slots: &[std::sync::OnceLock<&'static str>]| {
            slots
                .iter()
                .position(|s| s.get().is_some_and(|n| *n == name))
        };
        if let Some(id) = found(&NAMES) {
            return u8::try_from(id).ok().map(Env);
        }
        let _one_at_a_time = INTERNING.lock().ok()?;
        if let Some(id) = found(&NAMES) {
            return u8::try_from(id).ok().map(Env);
        }
        let id = NAMES.iter().position(|s| s.get().is_none())?;
        let _ = NAMES[id].set(Box::leak(name.to_string().into_boxed_str()));
        u8::try_from(id).ok().map(Env)
    }

    /// Whether the environment whose bit is `index` has a name (ids are given in order).
    pub(crate) fn is_named(index: u8) -> bool {
        NAMES
            .get(usize::from(index))
            .is_some_and(|n| n.get().is_some())
    }

    pub fn name(self) -> &'static str {
        NAMES
            .get(usize::from(self.0))
            .and_then(|n| n.get().copied())
            .unwrap_or("?")
    }

    /// The bit this environment has in a set.
    pub fn bit(self) -> u64 {
        1u64 << self.0
    }

    /// The environment whose bit is `index` (named or not).
    pub(crate) fn from_index(index: u8) -> Env {
        Env(index)
    }
}

impl Ord for Env {
    fn cmp(&self, other: &Env) -> std::cmp::Ordering {
        self.name().cmp(other.name()).then(self.0.cmp(&other.0))
    }
}

impl PartialOrd for Env {
    fn partial_cmp(&self, other: &Env) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Env, D::Error> {
        let name = String::deserialize(d)?;
        Env::named(&name).ok_or_else(|| serde::de::Error::custom("too many environment names"))
    }
}

/// A per-environment value as regshift writes it: `VARIABLE == 'TESTED'` picks `tested`'s value,
/// anything else `otherwise`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'s> {
    pub variable: &'s str,
    /// The variable's value in `tested`.
    pub value: &'s str,
    pub tested: Env,
    pub otherwise: Env,
}

impl Split<'_> {
    /// The condition naming the tested environment: `VAR == 'VALUE'`.
    pub fn condition(&self) -> String {
        format!("{} == '{}'", self.variable, self.value)
    }
}

/// How the tree tells the environments apart (SPEC §3 `selector`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The variable whose value tells the environment (Fedora: `env`), set in each
    /// environment's group variables; conditions on it decide which environments a template
    /// branch, a `when:` or a split serves.
    pub variable: Option<String>,
    /// The variable's value per environment, where it is not the environment's name.
    pub values: BTreeMap<Env, String>,
    /// Inventory groups whose hosts belong to an environment (Fedora: `staging`); their
    /// `group_vars` file holds that environment's variables.
    pub groups: BTreeMap<String, Env>,
    /// The environment of hosts in none of `groups` (the only one, when there is one).
    pub default: Env,
    /// A variable each environment sets to the suffix of its host names. Validated and kept for
    /// the reports; the engine needs it nowhere else, as Jinja-built hosts are rendered with
    /// each environment's variables, which set it.
    pub suffix_variable: Option<String>,
}

impl Selector {
    /// The selector variable's value in `env` (its name unless `values` says otherwise).
    pub fn value_of(&self, env: Env) -> &str {
        self.values.get(&env).map_or(env.name(), String::as_str)
    }

    /// Every environment: those chosen by a group and the default one, by name.
    pub fn envs(&self) -> Vec<Env> {
        let mut out: Vec<Env> = self.groups.values().copied().collect();
        out.push(self.default);
        out.sort();
        out.dedup();
        out
    }

    /// How a value that differs per environment is written (SPEC §6.7): two environments told
    /// apart by the variable, the one a group chooses tested, the default otherwise. `None` for
    /// one environment (never split) or more than two.
    pub fn split(&self) -> Option<Split<'_>> {
        let variable = self.variable.as_deref()?;
        let envs = self.envs();
        let [a, b] = envs.as_slice() else {
            return None;
        };
        let tested = if *a == self.default { *b } else { *a };
        Some(Split {
            variable,
            value: self.value_of(tested),
            tested,
            otherwise: self.default,
        })
    }

    /// The inventory group whose hosts are in `env`, if any.
    pub fn group_of(&self, env: Env) -> Option<&str> {
        self.groups
            .iter()
            .find(|(_, e)| **e == env)
            .map(|(g, _)| g.as_str())
    }

    /// The environments in the order a rollout takes them: those chosen by a group (staging)
    /// before the default one (production).
    pub fn rollout(&self, envs: impl IntoIterator<Item = Env>) -> Vec<Env> {
        let mut out: Vec<Env> = envs.into_iter().collect();
        out.sort_by_key(|e| (*e == self.default, *e));
        out
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
    /// The variables holding the new registry's robot account, when the migration names them
    /// (rules that write credentials are skipped without them).
    pub credentials: Option<Credentials>,
}

impl EnvMigration {
    /// The credential variable names (none when the migration names no credentials).
    pub fn credential_vars(&self) -> Vec<&String> {
        self.credentials
            .iter()
            .flat_map(|c| [&c.username_var, &c.password_var])
            .collect()
    }
}

/// What happens to a reference no rule claims (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unclaimed {
    /// It is `unclassified`: a human decides (Fedora's choice).
    #[default]
    Report,
    /// It is rewritten in place by the context its syntax shows, as `rewrite (inferred)`.
    Rewrite,
}

/// A validated migration.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Where it came from, for error messages (`<embedded>` for the default).
    pub source: String,
    pub envs: BTreeMap<Env, EnvMigration>,
    /// How the tree tells the environments apart.
    pub selector: Selector,
    /// Whole-hostname globs of the old registry's infrastructure; audited, never mapped.
    pub related: Vec<String>,
    pub unclaimed: Unclaimed,
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

    /// What the migration says for `env` (`None`: not one of its environments).
    pub fn env(&self, env: Env) -> Option<&EnvMigration> {
        self.envs.get(&env)
    }

    /// Every environment the migration declares.
    pub fn all(&self) -> crate::formats::jinja::Envs {
        crate::formats::jinja::Envs::of(self.envs.keys().copied())
    }

    /// The declared environment called `name`.
    pub fn env_named(&self, name: &str) -> Option<Env> {
        self.envs.keys().copied().find(|e| e.name() == name)
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

    /// The `from` hosts of the registry `label` in every environment that has it, lowercase (a
    /// site, a check or a server list names them).
    pub fn from_hosts_of(&self, label: &str) -> Vec<String> {
        self.envs
            .values()
            .filter_map(|m| m.registries.get(label))
            .map(|r| r.from.to_ascii_lowercase())
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
    environments: BTreeMap<String, RawEnv>,
    selector: Option<Spanned<RawSelector>>,
    #[serde(default)]
    related: Vec<Spanned<String>>,
    #[serde(default)]
    unclaimed: Unclaimed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    variable: Option<String>,
    /// Inventory group → environment name.
    #[serde(default)]
    groups: BTreeMap<String, String>,
    /// Environment name → the variable's value there (default: the name).
    #[serde(default)]
    values: BTreeMap<String, String>,
    suffix_variable: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    registries: BTreeMap<String, RawRegistry>,
    credentials: Option<RawCredentials>,
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
        let located = |key: &str, message: String| {
            let offset = text.find(&format!("{key}:")).unwrap_or(0);
            Error::at(path, text, offset, message)
        };
        if self.environments.is_empty() {
            return Err(located(
                "environments",
                "`environments` declares none".into(),
            ));
        }
        check_hosts(path, &self.environments)?;
        let mut envs = BTreeMap::new();
        for (name, raw) in self.environments {
            if !is_identifier(&name.replace('-', "_")) {
                return Err(located(
                    "environments",
                    format!("environment name `{name}` is not a plain name"),
                ));
            }
            let env = Env::named(&name).ok_or_else(|| {
                located("environments", format!("more than {MAX_ENVS} environments"))
            })?;
            envs.insert(env, raw.validate(path)?);
        }
        let selector = selector(path, text, self.selector, &envs)?;
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
            selector,
            related,
            unclaimed: self.unclaimed,
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
        let credentials = match self.credentials {
            Some(c) => {
                for var in [&c.username_var, &c.password_var] {
                    if !is_identifier(&var.value) {
                        return Err(at(
                            path,
                            var,
                            format!("`{}` is not an Ansible variable name", var.value),
                        ));
                    }
                }
                Some(Credentials {
                    username_var: c.username_var.value,
                    password_var: c.password_var.value,
                })
            }
            None => None,
        };
        Ok(EnvMigration {
            registries,
            credentials,
        })
    }
}

/// The selector as written, checked against the environments: groups name declared
/// environments, and exactly one environment is chosen by no group (the default). Several
/// environments need a selector; one needs none.
fn selector(
    path: &Path,
    text: &str,
    raw: Option<Spanned<RawSelector>>,
    envs: &BTreeMap<Env, EnvMigration>,
) -> Result<Selector> {
    let names: Vec<Env> = envs.keys().copied().collect();
    let Some(raw) = raw else {
        return match names.as_slice() {
            [only] => Ok(Selector {
                variable: None,
                values: BTreeMap::new(),
                groups: BTreeMap::new(),
                default: *only,
                suffix_variable: None,
            }),
            _ => Err(Error::at(
                path,
                text,
                text.find("environments:").unwrap_or(0),
                "several environments need a `selector` (how the tree tells them apart: `variable`, `groups`)".to_string(),
            )),
        };
    };
    let mut groups = BTreeMap::new();
    for (group, name) in &raw.value.groups {
        let env = names.iter().copied().find(|e| e.name() == name).ok_or_else(|| {
            at(path, &raw, format!("selector group `{group}` names `{name}`, which `environments` does not declare"))
        })?;
        groups.insert(group.clone(), env);
    }
    let ungrouped: Vec<Env> = names
        .iter()
        .copied()
        .filter(|e| !groups.values().any(|g| g == e))
        .collect();
    let [default] = ungrouped.as_slice() else {
        return Err(at(
            path,
            &raw,
            "exactly one environment must be chosen by no selector group (the hosts in none)"
                .into(),
        ));
    };
    let mut values = BTreeMap::new();
    for (name, value) in &raw.value.values {
        let env = names
            .iter()
            .copied()
            .find(|e| e.name() == name)
            .ok_or_else(|| {
                at(
                    path,
                    &raw,
                    format!("selector value for `{name}`, which `environments` does not declare"),
                )
            })?;
        values.insert(env, value.clone());
    }
    for var in raw.value.variable.iter().chain(&raw.value.suffix_variable) {
        if !is_identifier(var) {
            return Err(at(
                path,
                &raw,
                format!("`{var}` is not an Ansible variable name"),
            ));
        }
    }
    Ok(Selector {
        variable: raw.value.variable.clone(),
        values,
        groups,
        default: *default,
        suffix_variable: raw.value.suffix_variable.clone(),
    })
}

/// Each `from` is listed once across all environments (a host maps to one registry), and no
/// `to` is also a `from` (its new references would be migrated again: `apply` would not be
/// idempotent). Errors point at the entry as written.
fn check_hosts(path: &Path, envs: &BTreeMap<String, RawEnv>) -> Result<()> {
    let entries: Vec<(&str, &str, &RawRegistry)> = envs
        .iter()
        .flat_map(|(env, raw)| {
            raw.registries
                .iter()
                .map(move |(label, r)| (env.as_str(), label.as_str(), r))
        })
        .collect();
    let mut seen: BTreeMap<String, (&str, &str, &RawRegistry)> = BTreeMap::new();
    for &(env, label, r) in &entries {
        let host = r.from.value.to_ascii_lowercase();
        if let Some((other_env, other_label, other)) = seen.insert(host, (env, label, r)) {
            // Pointed at the second as written (the maps iterate by name).
            let place = |r: &RawRegistry| (r.from.referenced.line(), r.from.referenced.column());
            let later = if place(other) > place(r) { other } else { r };
            return Err(at(
                path,
                &later.from,
                format!(
                    "`from: {}` is listed twice (`{other_env}.{other_label}` and `{env}.{label}`); \
                     a host maps to one registry",
                    r.from.value
                ),
            ));
        }
    }
    for &(_, _, r) in &entries {
        let Some(to) = RegistryRef::parse(&r.to.value) else {
            continue; // reported where the entry is validated
        };
        if seen.contains_key(&to.host.to_ascii_lowercase()) {
            return Err(at(
                path,
                &r.to,
                format!(
                    "`to: {}` names `{}`, which is also a `from`: what apply writes would be \
                     migrated again",
                    r.to.value, to.host
                ),
            ));
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
        assert_eq!(cand.env, crate::migration::testing::stg());
        assert_eq!(
            cand.registry.to.to_string(),
            "quay.io/fedora-testing-candidate"
        );
        assert_eq!(
            m.env(crate::migration::testing::prod())
                .expect("declared")
                .credentials
                .as_ref()
                .expect("named")
                .username_var,
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
        assert!(msg.starts_with("m.yaml:11:25:"), "{msg}");
        assert!(msg.contains("listed twice"), "{msg}");
    }

    #[test]
    fn one_environment_needs_no_selector_and_two_do() {
        let one = "version: 1\nenvironments:\n  live:\n    registries: {}\n    credentials: {username_var: u, password_var: p}\n";
        let m = Migration::parse(Path::new("m.yaml"), one).expect("one environment");
        assert_eq!(m.selector.default.name(), "live");
        assert!(m.selector.split().is_none(), "one environment never splits");
        let two = format!(
            "{one}  test:\n    registries: {{}}\n    credentials: {{username_var: u2, password_var: p2}}\n"
        );
        let msg = Migration::parse(Path::new("m.yaml"), &two)
            .expect_err("two without a selector")
            .to_string();
        assert!(msg.contains("need a `selector`"), "{msg}");
        let grouped = format!("{two}selector: {{variable: stage, groups: {{testers: test}}}}\n");
        let m = Migration::parse(Path::new("m.yaml"), &grouped).expect("selector");
        let split = m.selector.split().expect("two environments split");
        assert_eq!(split.condition(), "stage == 'test'");
        assert_eq!(split.otherwise.name(), "live");
    }
}

/// The embedded migration's environments and selector, for unit tests elsewhere.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Env, Migration, Selector};

    fn embedded() -> Migration {
        Migration::embedded().expect("the embedded migration parses")
    }

    pub fn prod() -> Env {
        embedded().env_named("production").expect("declared")
    }

    pub fn stg() -> Env {
        embedded().env_named("staging").expect("declared")
    }

    pub fn selector() -> Selector {
        embedded().selector
    }
}
