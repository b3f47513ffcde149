//! Rule fixtures (SPEC §4). `DIR/<rule-id>/` is one case, or holds several (each a directory);
//! a case may carry its own `migration.yaml` (else the one given), and an `environments` file
//! naming the environments it selects, as `--env` would (else all of them).
//!
//! - An editing rule's case has `before/`, a small tree, and `after/`, what the rule alone must
//!   make of it. It passes when planning the rule on `before` yields exactly `after` (every other
//!   file byte-identical), planning it on `after` yields nothing (idempotence), `after` keeps
//!   every promise and `before` breaks one. An `after/` equal to `before/` says the rule must
//!   leave the tree as it is (a value it keeps).
//! - A classification rule's case has `tree/` and `claims`: one `path:line:column` per line, the
//!   references the rule alone claims in an audit of the tree — no more, no fewer.
//!
//! `regshift rules test` and `cargo test` both run this.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::formats::jinja::Envs;
use crate::migration::Migration;
use crate::plan::{self, Changed, Selection};
use crate::rules::{Action, Rule, RuleSet};
use std::sync::Arc;

use crate::project::Project;
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
            Some(rule) => run_cases(&dir.join(&name), rule, migration),
            None => Ok(Outcome {
                rule: name,
                failures: vec!["no rule with this id".into()],
            }),
        })
        .collect()
}

/// Runs the case at `dir`, or each case under it; failures name their case.
pub fn run_cases(dir: &Path, rule: &Rule, migration: &Migration) -> Result<Outcome> {
    let is_case = |d: &Path| d.join("before").is_dir() || d.join("tree").is_dir();
    if is_case(dir) {
        return run_case(dir, rule, migration);
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir, format!("cannot read fixtures: {e}")))?;
    let mut cases: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_case(p))
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    if cases.is_empty() {
        failures.push("no case (before/ and after/, or tree/ and claims)".to_string());
    }
    for case in cases {
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned());
        let outcome = run_case(&case, rule, migration)?;
        failures.extend(
            outcome
                .failures
                .into_iter()
                .map(|f| format!("{}: {f}", name.as_deref().unwrap_or("?"))),
        );
    }
    Ok(Outcome {
        rule: rule.id.clone(),
        failures,
    })
}

/// One case, with its own migration file when it has one (the rule is compiled against it).
fn run_case(case: &Path, rule: &Rule, migration: &Migration) -> Result<Outcome> {
    let own = case.join("migration.yaml");
    let (rule, migration) = if own.exists() {
        let migration = Migration::load(&own)?;
        (
            Rule::parse(&rule.source, &rule.text, &migration)?,
            migration,
        )
    } else {
        (rule.clone(), migration.clone())
    };
    if case.join("tree").is_dir() {
        run_classification(case, &rule, &migration)
    } else {
        run_one(case, &rule, &migration)
    }
}

/// A classification case: an audit of `tree/` with the rule alone claims exactly `claims`.
fn run_classification(case: &Path, rule: &Rule, migration: &Migration) -> Result<Outcome> {
    let only = RuleSet {
        rules: vec![rule.clone()],
        skipped: Vec::new(),
    };
    let tree = Tree::walk(&case.join("tree"))?;
    let selection = Selection {
        step: 2,
        envs: migration.all(),
        mode: plan::Mode::Cutover,
    };
    let job = crate::audit::Job {
        tree: &tree,
        project: &Project::of(&tree, &migration.selector),
        migration,
        rules: &only,
        selection,
    };
    let found = crate::audit::audit(&job, &indicatif::ProgressBar::hidden())?;
    let got: BTreeSet<String> = found
        .iter()
        .filter(|f| f.rule.as_ref().is_some_and(|r| r.0 == rule.id))
        .map(|f| format!("{}:{}:{}", f.path, f.at.line, f.at.column))
        .collect();
    let listed = std::fs::read_to_string(case.join("claims"))
        .map_err(|e| Error::file(&case.join("claims"), format!("cannot read: {e}")))?;
    let want: BTreeSet<String> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let mut failures: Vec<String> = want
        .difference(&got)
        .map(|c| format!("{c}: not claimed"))
        .collect();
    failures.extend(
        got.difference(&want)
            .map(|c| format!("{c}: claimed, not listed")),
    );
    if want.is_empty() {
        failures.push("claims lists nothing: the case cannot fail".to_string());
    }
    Ok(Outcome {
        rule: rule.id.clone(),
        failures,
    })
}

/// Runs the fixture at `case` for `rule` alone.
pub fn run_one(case: &Path, rule: &Rule, migration: &Migration) -> Result<Outcome> {
    let selection = Selection {
        step: rule.step,
        envs: selected(case, migration)?,
        mode: mode(case)?,
    };
    let only = RuleSet {
        rules: vec![rule.clone()],
        skipped: Vec::new(),
    };
    // What the rule promises in this mode (side by side, an added entry leaves the old value).
    let promised = only.promising(selection.mode);
    let before = Tree::walk(&case.join("before"))?;
    let after = Tree::walk(&case.join("after"))?;
    let mut failures = Vec::new();
    let selector = &migration.selector;
    let before_project = Project::of(&before, selector);
    let planned = plan::plan_in(&before_project, &before, migration, &only, selection)?;
    let keeps = same_trees(&before, &after);
    if planned.edits.is_empty() && !keeps {
        failures.push("no edits on before/".to_string());
    }
    let all: BTreeSet<&String> = before.files.iter().chain(&after.files).collect();
    for path in all {
        let expected = std::fs::read(after.root.join(path)).ok();
        let got = match planned.changed.iter().find(|c| &c.path == path) {
            Some(c) if c.gone => None,
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
    // The planned result passes the proof derived from its edits and the rule's promises;
    // before/ breaks at least one promise, so the proofs can fail.
    let after_view = View::of(&before).with_planned(planned.changed.iter().map(Changed::planned));
    let proven = prove::planned(
        &before_project,
        &Project::new(Arc::new(after_view), selector),
        &planned.edits,
        migration,
        &promised,
        selection.proven(migration),
    )?;
    failures.extend(
        proven
            .failures
            .iter()
            .map(|f| format!("planned {}", f.describe())),
    );
    // The fixture's own after/ keeps the promises too (a wrong after/ fails twice).
    let kept = prove::prove(
        &Project::of(&after, selector),
        None,
        migration,
        &promised,
        selection.envs,
    )?;
    failures.extend(kept.failures.iter().map(|f| {
        format!(
            "after/ {} ({}): {}: expected {}, got {}",
            f.template, f.env, f.what, f.expected, f.got
        )
    }));
    let unproven = prove::prove(&before_project, None, migration, &promised, selection.envs)?;
    let promises =
        !rule.proofs.is_empty() || matches!(rule.action, Action::Redirect(_) | Action::Pages(..));
    if !keeps && promises && unproven.checks > 0 && unproven.failures.is_empty() {
        failures
            .push("before/ already keeps every promise: the proofs cannot fail here".to_string());
    }
    Ok(Outcome {
        rule: rule.id.clone(),
        failures,
    })
}

/// The environments a case selects: those its `environments` file names (one per line, as
/// `--env` would), or every environment of the migration.
fn selected(case: &Path, migration: &Migration) -> Result<Envs> {
    let file = case.join("environments");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(migration.all());
    };
    let mut envs = Envs::NONE;
    for name in text.split_whitespace() {
        let env = migration.env_named(name).ok_or_else(|| {
            Error::file(
                &file,
                format!("`{name}` is not an environment of the migration"),
            )
        })?;
        envs = envs.union(Envs::only(env));
    }
    Ok(envs)
}

/// The mode a case plans in: `side-by-side` when its `mode` file says so, else cutover.
fn mode(case: &Path) -> Result<plan::Mode> {
    let file = case.join("mode");
    match std::fs::read_to_string(&file).map(|t| t.trim().to_string()) {
        Err(_) => Ok(plan::Mode::Cutover),
        Ok(m) if m == "cutover" => Ok(plan::Mode::Cutover),
        Ok(m) if m == "side-by-side" => Ok(plan::Mode::SideBySide),
        Ok(m) => Err(Error::file(
            &file,
            format!("`{m}` is not a mode (cutover, side-by-side)"),
        )),
    }
}

/// Whether two trees hold the same files with the same bytes.
fn same_trees(a: &Tree, b: &Tree) -> bool {
    a.files == b.files
        && a.files
            .iter()
            .all(|f| std::fs::read(a.root.join(f)).ok() == std::fs::read(b.root.join(f)).ok())
}
