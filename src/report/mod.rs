//! Renders a plan for people and machines: unified diffs, JSON and a per-file summary. Output is
//! deterministic (sorted by path, then position) and never shows a literal secret.
//!
//! JSON (`--format json`): `{"step", "edits": [...], "notes": [...]}`. Each edit has `file`,
//! `line` and `column` (1-based, columns in characters), `start`/`end` (byte offsets in the
//! file), `old` (empty for an insertion), `new`, `rule`, `class`, `step`, `context` (the
//! reference's context, or null), `environments` (a list) and `why`.

pub mod pr;
pub mod sarif;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::error::Position;
use crate::plan::{Edit, Plan};
use crate::redact;
use crate::rules::{Class, RuleSet};

/// The version of regshift's JSON documents (`plan`, `audit`, `check`); their JSON Schemas are
/// `schemas/*.schema.json`. Raised when a field changes meaning or goes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    step: u8,
    edits: Vec<JsonEdit<'a>>,
    notes: Vec<JsonNote<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    start: usize,
    end: usize,
    old: String,
    new: String,
    rule: &'a str,
    class: Option<Class>,
    step: u8,
    context: Option<&'static str>,
    environments: Vec<&'static str>,
    why: &'a str,
    /// Made by `unclaimed: rewrite`, not by a rule: shown `rewrite (inferred)`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    inferred: bool,
}

#[derive(Serialize)]
struct JsonNote<'a> {
    file: &'a str,
    message: &'a str,
}

/// Edits sorted by path, then position.
fn sorted(plan: &Plan) -> Vec<&Edit> {
    let mut edits: Vec<&Edit> = plan.edits.iter().collect();
    edits.sort_by(|a, b| {
        (&a.path, a.range.start, a.range.end).cmp(&(&b.path, b.range.start, b.range.end))
    });
    edits
}

pub fn json(plan: &Plan, rules: &RuleSet, step: u8) -> String {
    let texts: BTreeMap<&str, (&str, usize)> = plan
        .changed
        .iter()
        .map(|c| (c.path.as_str(), (c.file.text.as_str(), c.file.bom_len())))
        .collect();
    let edits = sorted(plan)
        .into_iter()
        .map(|e| {
            let (text, bom) = texts.get(e.path.as_str()).copied().unwrap_or(("", 0));
            let at = Position::of(text, e.range.start);
            let rule = rules.get(&e.rule);
            JsonEdit {
                file: &e.path,
                line: at.line,
                column: at.column,
                start: e.range.start + bom,
                end: e.range.end + bom,
                old: e.shown(&e.old).to_string(),
                new: e.shown(&e.new).to_string(),
                rule: &e.rule,
                class: rule.map(|r| r.class),
                step,
                context: e.context.map(|c| c.name()),
                environments: e.envs.iter().map(|env| env.name()).collect(),
                why: rule.map_or("", |r| r.why.as_str()),
                inferred: e.rule == crate::rules::INFERRED,
            }
        })
        .collect();
    let notes = plan
        .notes
        .iter()
        .map(|n| JsonNote {
            file: &n.path,
            message: &n.message,
        })
        .collect();
    let report = JsonReport {
        format_version: FORMAT_VERSION,
        step,
        edits,
        notes,
    };
    let mut out = serde_json::to_string_pretty(&report).unwrap_or_default();
    out.push('\n');
    out
}

/// Unified diffs, each file preceded by the rules that changed it and why.
pub fn diff(plan: &Plan, rules: &RuleSet) -> String {
    let mut out = String::new();
    let mut changed: Vec<_> = plan.changed.iter().collect();
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    for c in changed {
        let mut ids: Vec<&str> = plan
            .edits
            .iter()
            .filter(|e| e.path == c.path)
            .map(|e| e.rule.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let why = rules.get(id).map_or("", |r| r.why.as_str());
            let _ = writeln!(out, "# {id}: {why}");
        }
        out.push_str(&redacted_diff(&c.path, &c.file.text, &c.new_text, c.gone));
    }
    out
}

/// The unified diff of `old` → `new` (3 lines of context) with every line shown as the redacted
/// whole text shows it: a line in a vault block or a secret's block scalar is hidden even when
/// the hunk does not reach the block's first line (SPEC §6.5).
pub fn redacted_diff(path: &str, old: &str, new: &str, gone: bool) -> String {
    let shown_old: Vec<String> = redact::text(old)
        .split_inclusive('\n')
        .map(str::to_string)
        .collect();
    let shown_new: Vec<String> = redact::text(new)
        .split_inclusive('\n')
        .map(str::to_string)
        .collect();
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    let mut unified = diff.unified_diff();
    unified.context_radius(3);
    for (i, hunk) in unified.iter_hunks().enumerate() {
        if i == 0 && gone {
            let _ = writeln!(out, "deleted file\n--- a/{path}\n+++ /dev/null");
        } else if i == 0 {
            let _ = writeln!(out, "--- a/{path}\n+++ b/{path}");
        }
        let _ = writeln!(out, "{}", hunk.header());
        for change in hunk.iter_changes() {
            let (sign, shown) = match change.tag() {
                ChangeTag::Delete => ('-', change.old_index().and_then(|i| shown_old.get(i))),
                ChangeTag::Insert => ('+', change.new_index().and_then(|i| shown_new.get(i))),
                ChangeTag::Equal => (' ', change.old_index().and_then(|i| shown_old.get(i))),
            };
            out.push(sign);
            out.push_str(shown.map_or("", String::as_str));
            if change.missing_newline() {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// One line per file: path, edit count, rules; then a total.
pub fn stat(plan: &Plan) -> String {
    let mut per_file: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for e in &plan.edits {
        let slot = per_file.entry(&e.path).or_default();
        slot.0 += 1;
        if !slot.1.contains(&e.rule.as_str()) {
            slot.1.push(&e.rule);
        }
    }
    let width = per_file
        .keys()
        .map(|p| p.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (path, (n, ids)) in &per_file {
        let _ = writeln!(
            out,
            " {path:<width$} | {n:>2} {} ({})",
            if *n == 1 { "edit " } else { "edits" },
            ids.join(", ")
        );
    }
    let _ = writeln!(
        out,
        " {} files changed, {} edits",
        per_file.len(),
        plan.edits.len()
    );
    out
}

/// Notes for stderr; detail notes only when `verbose`.
pub fn notes(plan: &Plan, verbose: bool) -> String {
    plan.notes
        .iter()
        .filter(|n| verbose || !n.detail)
        .map(|n| {
            format!(
                "note: {}\n",
                printable(&format!("{}: {}", n.path, n.message))
            )
        })
        .collect()
}

/// `text` for a line of human-readable output: control characters (a newline in a file name
/// or a value, which a CI runner would read as the start of a command) written as escapes.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\n::warning::x"), "a\\n::warning::x");
        assert_eq!(printable("t\tr\r\u{1b}[31m"), "t\\tr\\r\\u{001b}[31m");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
