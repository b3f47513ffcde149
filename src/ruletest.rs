//! Rule fixtures (SPEC §4): `DIR/<rule-id>/before/` is a small tree, `after/` what the rule alone
//! must make of it. A case passes when planning the rule on `before` yields exactly `after`
//! (every other file byte-identical) and planning it on `after` yields nothing (idempotence).
//! `regshift rules test` and `cargo test` both run this.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::migration::Migration;
use crate::plan::{self, Selection};
use crate::rules::{Rule, RuleSet};
use std::sync::Arc;

use crate::formats::jinja::Envs;
use crate::prove;
use crate::walk::{Tree, View};

/// The outcome of one fixture: `Ok` or what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub rule: String,
    pub failures: Vec<String>,
}

/// Runs every fixture under `dir` whose name is a rule id; a fixture without a rule fails.
pub fn run_all(dir: &Path, rules: &RuleSet, migration: &Migration) -> Result<Vec<Outcome>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir, format!("cannot read fixtures: {e}")))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| match rules.get(&name) {
            Some(rule) => run_one(&dir.join(&name), rule, migration),
            None => Ok(Outcome {
                rule: name,
                failures: vec!["no rule with this id".into()],
            }),
        })
        .collect()
}

/// Runs the fixture at `case` for `rule` alone.
pub fn run_one(case: &Path, rule: &Rule, migration: &Migration) -> Result<Outcome> {
    let only = RuleSet {
        rules: vec![rule.clone()],
    };
    let selection = Selection {
        step: rule.step,
        envs: Envs::ALL,
    };
    let before = Tree::walk(&case.join("before"))?;
    let after = Tree::walk(&case.join("after"))?;
    let mut failures = Vec::new();
    let planned = plan::plan(&before, migration, &only, selection)?;
    if planned.edits.is_empty() {
        failures.push("no edits on before/".to_string());
    }
    let all: BTreeSet<&String> = before.files.iter().chain(&after.files).collect();
    for path in all {
        let expected = std::fs::read(after.root.join(path)).ok();
        let got = match planned.changed.iter().find(|c| &c.path == path) {
            Some(c) => Some(c.file.bytes_with(&c.new_text)),
            None => std::fs::read(before.root.join(path)).ok(),
        };
        if got != expected {
            failures.push(format!("{path}: result differs from after/"));
        }
    }
    let again = plan::plan(&after, migration, &only, selection)?;
    for e in &again.edits {
        failures.push(format!(
            "{}: not idempotent: a second run edits `{}`",
            e.path, e.old
        ));
    }
    // after/ keeps every promise the rule makes (and changed only registry lines); before/ breaks
    // at least one, so the proofs can fail.
    let (before_view, after_view) = (Arc::new(View::of(&before)), Arc::new(View::of(&after)));
    let proven = prove::prove(
        Arc::clone(&after_view),
        Some(prove::Baseline {
            view: Arc::clone(&before_view),
            isolate: true,
        }),
        migration,
        &only,
        Envs::ALL,
    )?;
    failures.extend(proven.failures.iter().map(|f| {
        format!(
            "after/ {} ({}): {}: expected {}, got {}",
            f.template, f.env, f.what, f.expected, f.got
        )
    }));
    let unproven = prove::prove(before_view, None, migration, &only, Envs::ALL)?;
    if !rule.proofs.is_empty() && unproven.checks > 0 && unproven.failures.is_empty() {
        failures
            .push("before/ already keeps every promise: the proofs cannot fail here".to_string());
    }
    Ok(Outcome {
        rule: rule.id.clone(),
        failures,
    })
}
