//! A plan as a series of reviewable commits (SPEC §1, issue 5): one commit per rule, split per
//! environment only where the rule's edits are separate, staging first. Each commit carries the
//! full contents of the files it changes (every earlier commit's edits included), a subject under
//! 72 characters, a body listing files and before→after values (secrets redacted) with the rule's
//! rationale, and trailers. Pure: git is `git`'s business.

use std::collections::BTreeMap;

use crate::edit::{self, Splice};
use crate::error::Position;
use crate::formats::jinja::Envs;
use crate::migration::{Env, Migration};
use crate::plan::{Edit, Plan};
use crate::redact::REDACTED;
use crate::rules::RuleSet;

/// The longest subject git's tooling shows without folding.
const SUBJECT_MAX: usize = 71;

/// One commit to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSpec {
    pub rule: String,
    pub envs: Envs,
    /// The plan's edits this commit makes, by file and position.
    pub edits: Vec<Edit>,
    pub subject: String,
    /// The body, trailers included; `message()` joins it to the subject.
    pub body: String,
    /// Every file the commit changes (tree-relative path) with its bytes after the commit
    /// (`None`: the commit removes it).
    pub files: Vec<(String, Option<Vec<u8>>)>,
}

impl CommitSpec {
    pub fn message(&self) -> String {
        format!("{}\n\n{}", self.subject, self.body)
    }
}

/// The series for `plan`. `signoff` is the `Signed-off-by:` identity, when asked for.
pub fn series(
    plan: &Plan,
    rules: &RuleSet,
    migration: &Migration,
    signoff: Option<&str>,
) -> Vec<CommitSpec> {
    let rollout = migration.selector.rollout(migration.all().iter());
    let groups = groups(plan, &rollout);
    let mut applied: Vec<&Edit> = Vec::new();
    groups
        .into_iter()
        .map(|(rule, envs, edits)| {
            applied.extend(edits.iter().copied());
            let why = rules.get(&rule).map(|r| r.why.trim().to_string());
            let trailers = Trailers {
                rule: &rule,
                step: rules.get(&rule).map(|r| r.step),
                envs,
                signoff,
            };
            CommitSpec {
                subject: subject(&rule, envs, &edits, migration, plan),
                body: body(why.as_deref(), &edits, plan, &trailers),
                files: contents(plan, &applied, &edits),
                edits: edits.into_iter().cloned().collect(),
                rule,
                envs,
            }
        })
        .collect()
}

/// (rule, environments, edits) per commit, by rule id (the order `rules list` shows); a rule
/// whose edits each change one environment, several environments among them, becomes a commit
/// per environment, in rollout order (staging first).
fn groups<'p>(plan: &'p Plan, rollout: &[Env]) -> Vec<(String, Envs, Vec<&'p Edit>)> {
    let mut by_rule: BTreeMap<&str, Vec<&Edit>> = BTreeMap::new();
    for e in &plan.edits {
        by_rule.entry(&e.rule).or_default().push(e);
    }
    let mut out = Vec::new();
    for (rule, mut edits) in by_rule {
        let rule = rule.to_string();
        edits.sort_by(|a, b| (&a.path, a.range.start).cmp(&(&b.path, b.range.start)));
        let single = |env| edits.iter().all(|e| e.envs == Envs::only(env));
        let separate = edits.iter().all(|e| e.envs.iter().count() == 1)
            && !rollout.iter().any(|env| single(*env));
        if separate {
            for env in rollout.iter().copied() {
                let part = edits
                    .iter()
                    .copied()
                    .filter(|e| e.envs == Envs::only(env))
                    .collect();
                out.push((rule.clone(), Envs::only(env), part));
            }
        } else {
            let envs = edits.iter().fold(Envs::NONE, |a, e| a.union(e.envs));
            out.push((rule, envs, edits));
        }
    }
    out
}

fn env_label(envs: Envs) -> String {
    let names: Vec<&str> = envs.iter().map(Env::name).collect();
    if names.len() == 1 {
        names[0].to_string()
    } else {
        "both environments".to_string()
    }
}

/// `rule: what → where (env)`: the migration's mapping for the registries the new values name
/// (or the credentials they read), shortened until it fits.
fn subject(rule: &str, envs: Envs, edits: &[&Edit], migration: &Migration, plan: &Plan) -> String {
    if let Some(removed) = removals(rule, envs, edits, plan) {
        return removed;
    }
    let names = |needle: &str| edits.iter().any(|e| contains_word(&e.new, needle));
    // A registry moved when a new value names its `to`, or an edit swaps its host for `to`'s.
    let mut moved: Vec<_> = migration
        .envs
        .values()
        .flat_map(|m| m.registries.values())
        .filter(|r| {
            names(&r.to.to_string())
                || edits
                    .iter()
                    .any(|e| contains_word(&e.old, &r.from) && contains_word(&e.new, &r.to.host))
        })
        .collect();
    moved.sort_by(|a, b| (&a.label, &a.from).cmp(&(&b.label, &b.from)));
    let creds: Vec<&str> = migration
        .envs
        .iter()
        .filter(|(env, _)| envs.contains(**env))
        .flat_map(|(_, m)| m.credential_vars())
        .filter(|v| names(v))
        .map(String::as_str)
        .collect();
    let list = |mut items: Vec<String>| {
        items.sort();
        items.dedup();
        items.join(", ")
    };
    let env = if envs.iter().count() == 1 {
        format!(" ({})", env_label(envs))
    } else {
        String::new()
    };
    let values = match edits.len() {
        1 => "1 value".to_string(),
        n => format!("{n} values"),
    };
    let mut candidates = Vec::new();
    if !moved.is_empty() {
        let from = list(moved.iter().map(|r| r.from.clone()).collect());
        let to = list(moved.iter().map(|r| r.to.to_string()).collect());
        let labels = list(moved.iter().map(|r| r.label.clone()).collect());
        let hosts = list(moved.iter().map(|r| r.to.host.clone()).collect());
        candidates.push(format!("{rule}: {from} → {to}{env}"));
        candidates.push(format!("{rule}: {labels} → {to}{env}"));
        candidates.push(format!("{rule}: {labels} → {hosts}{env}"));
    } else if !creds.is_empty() {
        candidates.push(format!("{rule}: credentials → {}{env}", creds.join(", ")));
        candidates.push(format!("{rule}: new registry credentials{env}"));
    }
    candidates.push(format!("{rule}: {values}{env}"));
    let last = candidates.last().cloned().unwrap_or_default();
    candidates
        .into_iter()
        .find(|s| s.chars().count() <= SUBJECT_MAX)
        .unwrap_or_else(|| {
            let mut s: String = last.chars().take(SUBJECT_MAX - 1).collect();
            s.push('…');
            s
        })
}

/// `rule: remove N files and M entries (env)` when every edit removes something (step 4).
fn removals(rule: &str, envs: Envs, edits: &[&Edit], plan: &Plan) -> Option<String> {
    if edits.is_empty() || edits.iter().any(|e| !e.new.is_empty() || e.old.is_empty()) {
        return None;
    }
    let gone = |e: &&&Edit| plan.changed.iter().any(|c| c.gone && c.path == e.path);
    let files = edits.iter().filter(gone).count();
    let entries = edits.len() - files;
    let env = match envs.iter().count() {
        1 => format!(" ({})", env_label(envs)),
        _ => String::new(),
    };
    let s = |n: usize| if n == 1 { "" } else { "s" };
    Some(format!(
        "{rule}: remove {files} file{} and {entries} entr{}{env}",
        s(files),
        if entries == 1 { "y" } else { "ies" }
    ))
}

/// `needle` in `text` as a whole name: `reg.example/a` is not in `reg.example/a-b`,
/// nor `registry.example.org` in `candidate-registry.example.org`.
fn contains_word(text: &str, needle: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(needle).any(|(i, _)| {
        !text[..i].ends_with(|c: char| part(c) || c == '.')
            && !text[i + needle.len()..].starts_with(part)
    })
}

/// What a commit's trailers say: the rule, its step and the environments it changes — what
/// `regshift rollback` reads back (`history`).
struct Trailers<'t> {
    rule: &'t str,
    step: Option<u8>,
    envs: Envs,
    signoff: Option<&'t str>,
}

fn body(why: Option<&str>, edits: &[&Edit], plan: &Plan, trailers: &Trailers<'_>) -> String {
    let mut out = String::new();
    if let Some(why) = why.filter(|w| !w.is_empty()) {
        out.push_str(why);
        out.push_str("\n\n");
    }
    out.push_str("Values (before → after):\n");
    for e in edits {
        let line = edit_line(plan, e);
        let (old, new) = shown(e);
        out.push_str(&format!(
            "- {}:{} [{}]: {} → {}\n",
            e.path,
            line,
            env_label(e.envs),
            old,
            new
        ));
    }
    out.push_str(&format!("\nRegshift-Rule: {}\n", trailers.rule));
    if let Some(step) = trailers.step {
        out.push_str(&format!("Regshift-Step: {step}\n"));
    }
    let envs: Vec<&str> = trailers.envs.iter().map(Env::name).collect();
    if !envs.is_empty() {
        out.push_str(&format!("Regshift-Environments: {}\n", envs.join(", ")));
    }
    if let Some(who) = trailers.signoff {
        out.push_str(&format!("Signed-off-by: {who}\n"));
    }
    out
}

/// An edit's values as reviewers see them: secrets redacted, an insertion shown as such.
pub fn shown(e: &Edit) -> (String, String) {
    let quote = |s: &str| match e.shown(s) {
        "" => "(nothing)".to_string(),
        REDACTED => REDACTED.to_string(),
        s => format!("`{}`", s.trim_end_matches('\n').replace('\n', "⏎")),
    };
    (quote(&e.old), quote(&e.new))
}

/// The line an edit starts on, in the file as it was.
pub fn edit_line(plan: &Plan, e: &Edit) -> usize {
    edit_position(plan, e).line
}

/// Where an edit starts (line and column), in the file as it was.
pub fn edit_position(plan: &Plan, e: &Edit) -> Position {
    plan.changed
        .iter()
        .find(|c| c.path == e.path)
        .map_or(Position { line: 0, column: 0 }, |c| {
            Position::of(&c.file.text, e.range.start)
        })
}

/// The files `edits` touch, each with every edit applied so far (`applied`, this commit's
/// included): the intermediate texts of a file several rules edit.
fn contents(plan: &Plan, applied: &[&Edit], edits: &[&Edit]) -> Vec<(String, Option<Vec<u8>>)> {
    let mut paths: Vec<&str> = edits.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let changed = plan.changed.iter().find(|c| c.path == path)?;
            let splices: Vec<Splice> = applied
                .iter()
                .filter(|e| e.path == path)
                .map(|e| e.splice())
                .collect();
            // The plan already refused overlapping edits, so a subset applies too.
            let text = edit::apply(&changed.file.text, &splices).ok()?;
            // A removed file is gone once its removal is applied.
            let bytes =
                (!(changed.gone && text.is_empty())).then(|| changed.file.bytes_with(&text));
            Some((path.to_string(), bytes))
        })
        .collect()
}
