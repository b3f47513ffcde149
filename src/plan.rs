//! Plans the edits of a step: for every rule, in every file its globs match, locate the rule's
//! place with the format's locator and compute the byte splices that carry the migration out.
//! Pure: reads the tree, writes nothing.
//!
//! Flow per file: read → mask Jinja → parse once per format → each rule's action yields edits
//! → splices applied in memory → the result re-parsed with the same locators (an edit must never
//! break a file) → kept for `apply` to write.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use crate::ansible::EnvVars;
use crate::edit::{self, Splice};
use crate::error::{Error, Result};
use crate::find::Finder;
use crate::formats::jinja::{self, Envs, Structure};
use crate::formats::tree::{Hit, Node, Scalar, Style};
use crate::formats::{ini, json, yaml};
use crate::migration::{Env, Migration, RegistryRef};
use crate::redact;
use crate::rules::{Action, Anchor, Context, Format, Rule, RuleSet};
use crate::template::{Scope, Template};
use crate::walk::{FileText, Skip, Tree};

/// One planned change to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: String,
    /// Byte range in the file's text (after any BOM).
    pub range: Range<usize>,
    pub old: String,
    pub new: String,
    pub rule: String,
    /// The environments whose rendering this edit changes.
    pub envs: Envs,
    pub context: Option<Context>,
    /// The old or new value is a literal secret: displays show `<redacted>`.
    pub secret: bool,
}

/// Something a person should know that is not an error.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub path: String,
    pub message: String,
    /// Shown on the terminal only with `-v` (always in JSON).
    pub detail: bool,
}

impl Note {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Note {
        Note {
            path: path.into(),
            message: message.into(),
            detail: false,
        }
    }
}

/// A file with its planned new text.
#[derive(Debug, Clone)]
pub struct Changed {
    pub path: String,
    pub file: FileText,
    pub new_text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub edits: Vec<Edit>,
    pub notes: Vec<Note>,
    pub changed: Vec<Changed>,
}

/// What to plan.
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    pub step: u8,
}

/// Plans `rules` (those of the selected step) over `tree`.
pub fn plan(
    tree: &Tree,
    migration: &Migration,
    rules: &RuleSet,
    selection: Selection,
) -> Result<Plan> {
    let planner = Planner {
        migration,
        vars: EnvVars::load(&tree.root)?,
        finder: Finder::new(&migration.from_hosts()),
    };
    let mut out = Plan::default();
    if !tree.symlinks.is_empty() {
        let message = format!(
            "{} symlinks not followed (-v lists them)",
            tree.symlinks.len()
        );
        out.notes.push(Note::new(".", message));
        for link in &tree.symlinks {
            out.notes.push(Note {
                path: link.clone(),
                message: "symlink not followed".into(),
                detail: true,
            });
        }
    }
    for path in &tree.files {
        let matching: Vec<&Rule> = rules
            .rules
            .iter()
            .filter(|r| r.step == selection.step && r.globs.is_match(path))
            .collect();
        if matching.is_empty() {
            continue;
        }
        let file = match tree.read(path)? {
            Ok(file) => file,
            Err(skip) => {
                let why = match skip {
                    Skip::Binary => "binary file skipped",
                    Skip::NotUtf8 => "not UTF-8, skipped",
                };
                out.notes.push(Note::new(path.clone(), why));
                continue;
            }
        };
        planner.plan_file(path, file, &matching, &mut out)?;
    }
    out.notes.sort();
    Ok(out)
}

struct Planner<'m> {
    migration: &'m Migration,
    vars: EnvVars,
    finder: Finder,
}

/// A file being planned: its text, its Jinja structure and the masked text scanners read.
struct Source<'f> {
    path: &'f str,
    text: &'f str,
    jinja: Structure,
}

enum Doc {
    Tree(Vec<Node>),
    Ini(ini::Ini),
}

fn parse_doc(format: Format, src: &Source<'_>) -> Result<Doc> {
    let path = Path::new(src.path);
    let masked = &src.jinja.masked;
    Ok(match format {
        Format::Json => Doc::Tree(vec![json::parse(path, src.text, masked)?]),
        Format::Yaml => Doc::Tree(yaml::parse(path, src.text, masked)?),
        Format::Ini => Doc::Ini(ini::parse(path, src.text, masked)?),
    })
}

impl Planner<'_> {
    fn plan_file(&self, path: &str, file: FileText, rules: &[&Rule], out: &mut Plan) -> Result<()> {
        let src = Source {
            path,
            text: &file.text,
            jinja: Structure::of(&file.text),
        };
        let mut docs: BTreeMap<u8, Doc> = BTreeMap::new();
        let mut edits = Vec::new();
        for rule in rules {
            let key = rule.format as u8;
            if let std::collections::btree_map::Entry::Vacant(slot) = docs.entry(key) {
                slot.insert(parse_doc(rule.format, &src)?);
            }
            let before = edits.len();
            match (&docs[&key], &rule.action) {
                (Doc::Tree(nodes), _) => {
                    self.tree_rule(&src, nodes, rule, &mut edits, &mut out.notes)?
                }
                (Doc::Ini(doc), Action::PerEnv { values }) => {
                    self.ini_rule(&src, doc, rule, values, &mut edits, &mut out.notes)
                }
                (Doc::Ini(_), _) => {}
            }
            if edits.len() == before && !self.anchor_present(&src, &docs[&key], rule)? {
                out.notes.push(Note::new(
                    path,
                    format!("rule `{}`: `{}` not found", rule.id, rule.select),
                ));
            }
        }
        if edits.is_empty() {
            return Ok(());
        }
        let new_text = splice_all(&src, &edits)?;
        recheck(path, &new_text, rules)?;
        out.edits.extend(edits);
        out.changed.push(Changed {
            path: path.into(),
            new_text,
            file,
        });
        Ok(())
    }

    fn anchor_present(&self, src: &Source<'_>, doc: &Doc, rule: &Rule) -> Result<bool> {
        Ok(match (doc, &rule.path) {
            (Doc::Tree(nodes), Some(p)) => !p
                .find(Path::new(src.path), src.text, &src.jinja.masked, nodes)?
                .is_empty(),
            (Doc::Ini(ini), _) => match &rule.action {
                Action::PerEnv { values } => values
                    .iter()
                    .any(|(k, _)| ini.entries_in(&rule.select).any(|e| &e.key == k)),
                _ => false,
            },
            _ => false,
        })
    }

    fn tree_rule(
        &self,
        src: &Source<'_>,
        nodes: &[Node],
        rule: &Rule,
        edits: &mut Vec<Edit>,
        notes: &mut Vec<Note>,
    ) -> Result<()> {
        let Some(path) = &rule.path else {
            return Ok(());
        };
        for hit in path.find(Path::new(src.path), src.text, &src.jinja.masked, nodes)? {
            let found = match &rule.action {
                Action::Reference {
                    anchor,
                    context,
                    set,
                } => self.reference(src, &hit, rule, *anchor, *context, set, notes),
                Action::Fixed { env, value } => self.fixed(src, &hit, rule, *env, value),
                Action::PerEnv { .. } => Vec::new(),
            };
            edits.extend(found);
        }
        Ok(())
    }

    /// The environments that render `offset`: its Jinja branches and the `when:` of the mapping
    /// holding it.
    fn envs_at(&self, src: &Source<'_>, offset: usize, holder: Option<&Node>) -> Envs {
        let when = holder
            .and_then(|m| m.get("when"))
            .and_then(Node::as_scalar)
            .and_then(|s| jinja::env_condition(&s.value))
            .unwrap_or(Envs::ALL);
        src.jinja.envs_at(offset).intersect(when)
    }

    #[allow(clippy::too_many_arguments)]
    fn reference(
        &self,
        src: &Source<'_>,
        hit: &Hit,
        rule: &Rule,
        anchor: Anchor,
        context: Context,
        set: &[(String, Template)],
        notes: &mut Vec<Note>,
    ) -> Vec<Edit> {
        let (scalar, holder) = match anchor {
            Anchor::Key => (hit.key.as_ref(), Some(&hit.value)),
            Anchor::Value => (hit.value.as_scalar(), hit.parent.as_ref()),
        };
        let Some(scalar) = scalar else {
            return Vec::new();
        };
        let envs = self.envs_at(src, scalar.span.start, holder);
        let in_flow = matches!(holder, Some(Node::Mapping { flow: true, .. }));
        let (mut edits, per_env) = match self.literal(src, scalar, rule, context, envs) {
            Some(found) => found,
            None => match self.rendered(src, scalar, rule, context, envs, in_flow, notes) {
                Some(found) => found,
                None => return Vec::new(),
            },
        };
        for (key, template) in set {
            let sibling = holder.and_then(|h| h.get(key)).and_then(Node::as_scalar);
            let Some(sibling) = sibling else {
                notes.push(Note::new(
                    src.path,
                    format!(
                        "rule `{}`: no `{key}` beside line {}; not added",
                        rule.id,
                        line_of(src.text, scalar.span.start)
                    ),
                ));
                continue;
            };
            let values: BTreeMap<Env, String> = per_env
                .iter()
                .filter_map(|(env, reg)| {
                    Some((
                        *env,
                        template.render(&Scope {
                            migration: self.migration,
                            env: *env,
                            registry: Some(reg),
                        })?,
                    ))
                })
                .collect();
            let Some(value) = one_value(&values) else {
                notes.push(Note::new(
                    src.path,
                    format!(
                        "rule `{}`: `{key}` would differ per environment; left for a human",
                        rule.id
                    ),
                ));
                continue;
            };
            if sibling.value != value {
                let envs = edits.first().map_or(envs, |e| e.envs);
                let mut edit = self.replace(src, sibling, &value, in_flow, rule, envs, None);
                edit.secret =
                    redact::is_secret(key, &sibling.value) || redact::is_secret(key, &value);
                edits.push(edit);
            }
        }
        edits
    }

    /// Literal references inside `scalar`: each host is spliced in place.
    fn literal(
        &self,
        src: &Source<'_>,
        scalar: &Scalar,
        rule: &Rule,
        context: Context,
        envs: Envs,
    ) -> Option<(Vec<Edit>, BTreeMap<Env, RegistryRef>)> {
        let raw = &src.text[scalar.span.clone()];
        let refs: Vec<_> = self
            .finder
            .find(raw)
            .into_iter()
            .filter(|r| !r.escaped)
            .collect();
        let mut edits = Vec::new();
        let mut per_env = BTreeMap::new();
        for r in refs {
            let mapped = self.migration.by_host(&r.host)?;
            let to = &mapped.registry.to;
            let mut end = r.end;
            if to.host.contains(':') {
                end += port_len(&raw[r.end..]);
            }
            let range = scalar.span.start + r.start..scalar.span.start + end;
            // A push or login target belongs to the environment whose registry it names; a pull
            // URL is rendered wherever its template is.
            let envs = match context {
                Context::Host | Context::ApiUrl => envs.intersect(Envs::only(mapped.env)),
                Context::ImagePrefix | Context::Url => envs,
            };
            edits.push(Edit {
                path: src.path.into(),
                old: src.text[range.clone()].to_string(),
                new: target(to, context),
                range,
                rule: rule.id.clone(),
                envs,
                context: Some(context),
                secret: false,
            });
            per_env.insert(mapped.env, to.clone());
        }
        (!edits.is_empty()).then_some((edits, per_env))
    }

    /// A Jinja-built value: rendered per environment, rewritten, and written back whole (split
    /// per environment when the new values differ, SPEC §6.7).
    #[allow(clippy::too_many_arguments)]
    fn rendered(
        &self,
        src: &Source<'_>,
        scalar: &Scalar,
        rule: &Rule,
        context: Context,
        envs: Envs,
        in_flow: bool,
        notes: &mut Vec<Note>,
    ) -> Option<(Vec<Edit>, BTreeMap<Env, RegistryRef>)> {
        if !scalar.value.contains("{{") || scalar.style == Style::Block {
            return None;
        }
        let mut new = BTreeMap::new();
        let mut per_env = BTreeMap::new();
        for env in envs.iter() {
            let Some(rendered) = self.vars.render(&scalar.value, env) else {
                notes.push(Note::new(
                    src.path,
                    format!(
                        "rule `{}`: cannot evaluate `{}` for {env}",
                        rule.id, scalar.value
                    ),
                ));
                return None;
            };
            let refs: Vec<_> = self
                .finder
                .find(&rendered)
                .into_iter()
                .filter(|r| !r.escaped)
                .collect();
            let mut value = rendered.clone();
            for r in refs.iter().rev() {
                let mapped = self.migration.by_host(&r.host)?;
                value.replace_range(r.start..r.end, &target(&mapped.registry.to, context));
                per_env.insert(env, mapped.registry.to.clone());
            }
            if !refs.is_empty() {
                new.insert(env, value);
            }
        }
        if new.is_empty() {
            return None;
        }
        if new.len() != envs.iter().count() {
            notes.push(Note::new(src.path, format!("rule `{}`: `{}` names an old registry in only some environments; left for a human", rule.id, scalar.value)));
            return None;
        }
        let value = one_value(&new).unwrap_or_else(|| split(&new));
        Some((
            vec![self.replace(src, scalar, &value, in_flow, rule, envs, Some(context))],
            per_env,
        ))
    }

    fn fixed(
        &self,
        src: &Source<'_>,
        hit: &Hit,
        rule: &Rule,
        env: Env,
        template: &Template,
    ) -> Vec<Edit> {
        let Some(scalar) = hit.value.as_scalar() else {
            return Vec::new();
        };
        let Some(value) = template.render(&Scope {
            migration: self.migration,
            env,
            registry: None,
        }) else {
            return Vec::new();
        };
        if scalar.value == value || scalar.style == Style::Block {
            return Vec::new();
        }
        let in_flow = matches!(hit.parent, Some(Node::Mapping { flow: true, .. }));
        let mut edit = self.replace(src, scalar, &value, in_flow, rule, Envs::only(env), None);
        let key = hit.key.as_ref().map_or("", |k| k.value.as_str());
        edit.secret = redact::is_secret(key, &scalar.value) || redact::is_secret(key, &value);
        vec![edit]
    }

    /// An edit replacing a whole scalar with `value`, written in the scalar's style.
    #[allow(clippy::too_many_arguments)]
    fn replace(
        &self,
        src: &Source<'_>,
        scalar: &Scalar,
        value: &str,
        in_flow: bool,
        rule: &Rule,
        envs: Envs,
        context: Option<Context>,
    ) -> Edit {
        let (range, new) =
            narrow_to_quotes(src.text, scalar, yaml::encode(value, scalar.style, in_flow));
        Edit {
            path: src.path.into(),
            old: src.text[range.clone()].to_string(),
            range,
            new,
            rule: rule.id.clone(),
            envs,
            context,
            secret: false,
        }
    }

    /// INI: each key of `values` must render, in every environment, to its template. Existing
    /// lines are edited in their environment's branch; a missing environment gets the keys added
    /// in an `{% else %}` branch of the block that holds the others.
    fn ini_rule(
        &self,
        src: &Source<'_>,
        doc: &ini::Ini,
        rule: &Rule,
        values: &[(String, Template)],
        edits: &mut Vec<Edit>,
        notes: &mut Vec<Note>,
    ) {
        let want = |key: &Template, env: Env| {
            key.render(&Scope {
                migration: self.migration,
                env,
                registry: None,
            })
        };
        let mut covered: BTreeMap<&str, Envs> = BTreeMap::new();
        let mut holders = Vec::new();
        for (key, template) in values {
            for entry in doc.entries_in(&rule.select).filter(|e| &e.key == key) {
                let envs = src.jinja.envs_at(entry.line.start);
                let seen = covered.entry(key).or_insert(Envs::NONE);
                *seen = seen.union(envs);
                holders.push(entry.line.start);
                let per_env: BTreeMap<Env, String> = envs
                    .iter()
                    .filter_map(|e| Some((e, want(template, e)?)))
                    .collect();
                let current = &src.text[entry.value.clone()];
                match one_value(&per_env) {
                    Some(v) if v == current => {}
                    Some(v) => edits.push(ini_edit(src, entry.value.clone(), v, rule, envs)),
                    None => notes.push(Note::new(src.path, format!("rule `{}`: `{key}` is shared by both environments but needs a value per environment; left for a human", rule.id))),
                }
            }
        }
        if holders.is_empty() {
            return;
        }
        let missing: Vec<Env> = Env::ALL
            .into_iter()
            .filter(|env| {
                values.iter().any(|(k, _)| {
                    !covered
                        .get(k.as_str())
                        .copied()
                        .unwrap_or(Envs::NONE)
                        .contains(*env)
                })
            })
            .collect();
        for env in missing {
            match self.add_branch(src, doc, rule, values, env, &holders) {
                Some(edit) => edits.push(edit),
                None => notes.push(Note::new(
                    src.path,
                    format!(
                        "rule `{}`: cannot place the {env} keys; left for a human",
                        rule.id
                    ),
                )),
            }
        }
    }

    /// Adds `{% else %}` + the keys for `env` before the `{% endif %}` of the block holding the
    /// other environment's keys (or at the end of an existing branch for `env`).
    fn add_branch(
        &self,
        src: &Source<'_>,
        doc: &ini::Ini,
        rule: &Rule,
        values: &[(String, Template)],
        env: Env,
        holders: &[usize],
    ) -> Option<Edit> {
        let (block, _) = src.jinja.branch_at(holders[0])?;
        let eol = if src.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut lines = String::new();
        let ordered = ordered_keys(doc, rule, values, holders);
        for (key, template) in ordered {
            let value = template.render(&Scope {
                migration: self.migration,
                env,
                registry: None,
            })?;
            let sample = doc.entries_in(&rule.select).find(|e| &e.key == key)?;
            let prefix = &src.text[sample.line.start..sample.value.start];
            lines.push_str(&format!("{prefix}{value}{eol}"));
        }
        let (at, text) = match block
            .branches
            .iter()
            .find(|b| b.env_test && b.envs.contains(env))
        {
            Some(branch) => (branch.body.end, lines),
            None if block.branches.iter().all(|b| b.env_test) => {
                (block.endif.start, format!("{{% else %}}{eol}{lines}"))
            }
            None => return None,
        };
        let line_start = src.text[..at].rfind('\n').map_or(0, |i| i + 1);
        if line_start != at {
            return None;
        }
        Some(Edit {
            path: src.path.into(),
            range: at..at,
            old: String::new(),
            new: text,
            rule: rule.id.clone(),
            envs: Envs::only(env),
            context: None,
            secret: false,
        })
    }
}

/// The rule's keys in the order the file already has them.
fn ordered_keys<'v>(
    doc: &ini::Ini,
    rule: &Rule,
    values: &'v [(String, Template)],
    holders: &[usize],
) -> Vec<(&'v String, &'v Template)> {
    let mut keyed: Vec<(usize, &String, &Template)> = values
        .iter()
        .map(|(k, t)| {
            let pos = doc
                .entries_in(&rule.select)
                .find(|e| &e.key == k && holders.contains(&e.line.start))
                .map_or(usize::MAX, |e| e.line.start);
            (pos, k, t)
        })
        .collect();
    keyed.sort_by_key(|(pos, k, _)| (*pos, (*k).clone()));
    keyed.into_iter().map(|(_, k, t)| (k, t)).collect()
}

fn ini_edit(src: &Source<'_>, range: Range<usize>, value: String, rule: &Rule, envs: Envs) -> Edit {
    let secret = rule_values_secret(&src.text[range.clone()], &value, src, &range);
    Edit {
        path: src.path.into(),
        old: src.text[range.clone()].to_string(),
        new: value,
        range,
        rule: rule.id.clone(),
        envs,
        context: None,
        secret,
    }
}

/// When the new text keeps the scalar's quotes, the edit covers only what lies between them, so
/// reports show values rather than quoting.
fn narrow_to_quotes(text: &str, scalar: &Scalar, encoded: String) -> (Range<usize>, String) {
    let quote = match scalar.style {
        Style::Single => '\'',
        Style::Double => '"',
        _ => return (scalar.span.clone(), encoded),
    };
    let raw = &text[scalar.span.clone()];
    let same_quotes = raw.len() >= 2 && raw.starts_with(quote) && raw.ends_with(quote);
    let inner = encoded
        .strip_prefix(quote)
        .and_then(|s| s.strip_suffix(quote));
    match inner {
        Some(inner) if same_quotes && !raw.contains('\n') => (
            scalar.span.start + 1..scalar.span.end - 1,
            inner.to_string(),
        ),
        _ => (scalar.span.clone(), encoded),
    }
}

/// An INI value is secret when its key says so.
fn rule_values_secret(old: &str, new: &str, src: &Source<'_>, range: &Range<usize>) -> bool {
    let line_start = src.text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let key = src.text[line_start..range.start]
        .trim_end()
        .trim_end_matches(['=', ':'])
        .trim();
    redact::is_secret(key, old) || redact::is_secret(key, new)
}

/// The new text for a reference in `context`.
fn target(to: &RegistryRef, context: Context) -> String {
    match context {
        Context::Host | Context::ApiUrl => to.host.clone(),
        Context::ImagePrefix | Context::Url => to.to_string(),
    }
}

/// Length of a `:port` at the start of `rest`, or 0.
fn port_len(rest: &str) -> usize {
    let Some(digits) = rest.strip_prefix(':') else {
        return 0;
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 { 0 } else { n + 1 }
}

/// The single value all environments agree on.
fn one_value(values: &BTreeMap<Env, String>) -> Option<String> {
    let mut it = values.values();
    let first = it.next()?;
    it.all(|v| v == first).then(|| first.clone())
}

/// An inline per-environment split (SPEC §6.7).
fn split(values: &BTreeMap<Env, String>) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let get = |env| values.get(&env).map(String::as_str).unwrap_or_default();
    format!(
        "{{{{ {} if env == 'staging' else {} }}}}",
        quote(get(Env::Staging)),
        quote(get(Env::Production))
    )
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn splice_all(src: &Source<'_>, edits: &[Edit]) -> Result<String> {
    let splices: Vec<Splice> = edits
        .iter()
        .map(|e| Splice {
            range: e.range.clone(),
            text: e.new.clone(),
        })
        .collect();
    edit::apply(src.text, &splices).map_err(|o| {
        let rule_at = |r: &Range<usize>| {
            edits
                .iter()
                .find(|e| &e.range == r)
                .map_or("?", |e| e.rule.as_str())
                .to_string()
        };
        Error::at(
            Path::new(src.path),
            src.text,
            o.second.start,
            format!(
                "rules `{}` and `{}` edit the same bytes",
                rule_at(&o.first),
                rule_at(&o.second)
            ),
        )
    })
}

/// An edited file must still parse with every locator that read it.
fn recheck(path: &str, new_text: &str, rules: &[&Rule]) -> Result<()> {
    let src = Source {
        path,
        text: new_text,
        jinja: Structure::of(new_text),
    };
    for rule in rules {
        parse_doc(rule.format, &src).map_err(|e| match e {
            Error::At { path, at, message } => Error::At {
                path,
                at,
                message: format!("after rule `{}`: {message}", rule.id),
            },
            other => other,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_an_inline_expression() {
        let values = BTreeMap::from([
            (Env::Production, "p.example/a".to_string()),
            (Env::Staging, "s.example/b".to_string()),
        ]);
        assert_eq!(
            split(&values),
            "{{ 's.example/b' if env == 'staging' else 'p.example/a' }}"
        );
    }

    #[test]
    fn port_length() {
        assert_eq!(port_len(":5000/x"), 5);
        assert_eq!(port_len(":x"), 0);
        assert_eq!(port_len("/v2"), 0);
    }
}
