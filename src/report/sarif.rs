//! SARIF 2.1.0 and GitHub workflow annotations for `check` and `audit`: the same findings as the
//! text and JSON reports, as code-scanning results. Pending edits carry their replacement as a
//! SARIF fix (byte offsets, as the edits are made). Columns count characters
//! (`columnKind: unicodeCodePoints`), lines and columns start at 1.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::audit::Finding;
use crate::error::Position;
use crate::plan::Plan;
use crate::prove::Failure;
use crate::rules::RuleSet;

/// Everything a CI report can hold.
pub struct Findings<'a> {
    pub plan: &'a Plan,
    pub references: &'a [Finding],
    pub failures: &'a [Failure],
    /// Classified references are reported too (as notes): `audit`.
    pub all_references: bool,
}

/// One result, format-neutral.
struct Item {
    rule: String,
    level: &'static str,
    message: String,
    path: String,
    start: Position,
    end: Position,
    fix: Option<(usize, usize, String)>,
}

const UNCLASSIFIED: &str = "unclassified-reference";

fn items(f: &Findings<'_>, rules: &RuleSet) -> Vec<Item> {
    let texts: BTreeMap<&str, (&str, usize)> = f
        .plan
        .changed
        .iter()
        .map(|c| (c.path.as_str(), (c.file.text.as_str(), c.file.bom_len())))
        .collect();
    let mut out = Vec::new();
    for e in &f.plan.edits {
        let (text, bom) = texts.get(e.path.as_str()).copied().unwrap_or(("", 0));
        let why = rules.get(&e.rule).map_or("", |r| r.why.as_str());
        let message = if e.old.is_empty() {
            format!("add `{}`: {why}", e.shown(&e.new))
        } else {
            format!("`{}` → `{}`: {why}", e.shown(&e.old), e.shown(&e.new))
        };
        out.push(Item {
            rule: e.rule.clone(),
            level: "error",
            message,
            path: e.path.clone(),
            start: Position::of(text, e.range.start),
            end: Position::of(text, e.range.end),
            fix: (!e.secret).then(|| (e.range.start + bom, e.range.len(), e.new.clone())),
        });
    }
    for r in f
        .references
        .iter()
        .filter(|r| f.all_references || r.rule.is_none())
    {
        let (rule, level, message) = match &r.rule {
            Some((id, class, step)) => (
                id.clone(),
                "note",
                format!("{} ({class:?}, step {step})", r.host).to_lowercase(),
            ),
            None => (
                UNCLASSIFIED.to_string(),
                "error",
                format!("{}: no rule classifies this reference", r.host),
            ),
        };
        let end = Position {
            line: r.at.line,
            column: r.at.column + (r.end - r.start),
        };
        out.push(Item {
            rule,
            level,
            message,
            path: r.path.clone(),
            start: r.at,
            end,
            fix: None,
        });
    }
    for p in f.failures {
        out.push(Item {
            rule: p.rule.clone(),
            level: "error",
            message: format!(
                "{} ({}): {}: expected {}, got {}",
                p.template, p.env, p.what, p.expected, p.got
            ),
            path: p.template.clone(),
            start: p.at.unwrap_or(Position { line: 1, column: 1 }),
            end: p.at.unwrap_or(Position { line: 1, column: 1 }),
            fix: None,
        });
    }
    out.sort_by(|a, b| (&a.path, a.start, &a.rule).cmp(&(&b.path, b.start, &b.rule)));
    out
}

/// A SARIF 2.1.0 log.
pub fn sarif(f: &Findings<'_>, rules: &RuleSet) -> String {
    let items = items(f, rules);
    let mut descriptors: Vec<Value> = rules
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": {"text": r.id},
                "fullDescription": {"text": r.why},
                "properties": {"class": format!("{:?}", r.class).to_lowercase(), "step": r.step},
            })
        })
        .collect();
    descriptors.push(json!({
        "id": UNCLASSIFIED,
        "shortDescription": {"text": UNCLASSIFIED},
        "fullDescription": {"text": "A reference to an old registry that no rule classifies: decide what it becomes and add a rule."},
    }));
    let results: Vec<Value> = items
        .iter()
        .map(|i| {
            let location = json!({
                "physicalLocation": {
                    "artifactLocation": {"uri": i.path},
                    "region": {"startLine": i.start.line, "startColumn": i.start.column, "endLine": i.end.line, "endColumn": i.end.column},
                }
            });
            let mut result = json!({"ruleId": i.rule, "level": i.level, "message": {"text": i.message}, "locations": [location]});
            if let Some((offset, length, text)) = &i.fix {
                result["fixes"] = json!([{
                    "description": {"text": format!("apply rule {}", i.rule)},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": i.path},
                        "replacements": [{"deletedRegion": {"byteOffset": offset, "byteLength": length}, "insertedContent": {"text": text}}],
                    }],
                }]);
            }
            result
        })
        .collect();
    let log = json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {"name": "regshift", "version": env!("CARGO_PKG_VERSION"), "rules": descriptors}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&log).unwrap_or_default()
    )
}

/// GitHub workflow commands: `::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`.
pub fn github(f: &Findings<'_>, rules: &RuleSet) -> String {
    items(f, rules)
        .iter()
        .map(|i| {
            let level = if i.level == "note" { "notice" } else { "error" };
            format!(
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
                property(&i.path),
                i.start.line,
                i.start.column,
                i.end.line,
                i.end.column,
                property(&i.rule),
                data(&i.message)
            )
        })
        .collect()
}

/// Escapes a workflow-command message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
