//! `audit`: every reference to the migration's old registries in the tree, literal or built by
//! Jinja (SPEC §2, §8), with where it is, the environments that render it, and the rule that
//! claims it. A reference no rule claims is unclassified, never silently kept.
//!
//! This version knows the claims of the step-2 rewrite rules (a reference inside a place they
//! edit); classes for what stays, redirects and decommissions come with their rules.

use std::fmt::Write as _;
use std::sync::Mutex;

use crate::ansible::EnvVars;
use crate::ansible::tasks;
use crate::error::{Position, Result};
use crate::find::{Finder, suffixes};
use crate::formats::jinja::{Envs, Structure};
use crate::migration::Migration;
use crate::parallel;
use crate::plan::{Plan, Planner, Selection};
use crate::project::Project;
use crate::report::printable;
use crate::rules::{Action, Class, Rule, RuleSet};
use crate::walk::{Handed, Tree};

/// One reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub path: String,
    pub start: usize,
    pub end: usize,
    pub at: Position,
    /// The host, or for a Jinja-built reference the hosts it renders to (`a | b`).
    pub host: String,
    pub built: bool,
    pub envs: Envs,
    /// The rule claiming it and its class, if any.
    pub rule: Option<(String, Class, u8)>,
    /// The source line holding it (for line-matching rules; never printed).
    pub line: String,
}

/// Finds every reference in `tree`, each claimed by the rule whose edit (planned for
/// `selection`) covers it, or else by a classification rule. `progress` counts the files
/// scanned (the CLI draws it on a terminal only).
pub fn audit(job: &Job<'_>, progress: &indicatif::ProgressBar) -> Result<Vec<Finding>> {
    run(job, false, progress).map(|(_, found)| found)
}

/// [`audit`] and the whole plan of `selection` (the CI gate needs both).
pub fn audit_and_plan(
    job: &Job<'_>,
    progress: &indicatif::ProgressBar,
) -> Result<(Plan, Vec<Finding>)> {
    run(job, true, progress)
}

/// What an audit looks at: the tree, its model, the migration and the rules.
pub struct Job<'a> {
    pub tree: &'a Tree,
    pub project: &'a Project,
    pub migration: &'a Migration,
    pub rules: &'a RuleSet,
    pub selection: Selection,
}

/// The references and the plan of every file (`whole`) or of the files holding references
/// (enough to claim them: an edit claims only references in its own file).
fn run(
    job: &Job<'_>,
    whole: bool,
    progress: &indicatif::ProgressBar,
) -> Result<(Plan, Vec<Finding>)> {
    let Job {
        tree,
        project,
        migration,
        rules,
        selection,
    } = *job;
    // A planning thread loads the group variables and traces the rules' variables while the
    // files are scanned (planning is mostly one thread's work); the scan sets aside the texts
    // with Jinja-built candidates it meets before the variables are loaded.
    let (planner, found) = std::thread::scope(|scope| {
        let planner = scope.spawn(|| {
            let _release = Release(project);
            Planner::new(project, migration, rules, selection)
        });
        let found = scan_tree(tree, migration, rules, project, progress);
        let planner: Result<Planner> = planner
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (planner, found)
    });
    let (planner, found) = (planner?, found?);
    let (mut found, seen) = found;
    let planner = planner.knowing_readers(crate::unread::Readers::from_seen(seen));
    // Claims come from the files holding references (an edit or a place claims only references
    // in its own file); `check` also needs the plan of every file, without the classifications.
    let mut referenced: Vec<&String> = found.iter().map(|f| &f.path).collect();
    referenced.sort();
    referenced.dedup();
    let claims = planner.claims(tree, &referenced)?;
    let plan = if whole {
        let all: Vec<&String> = tree.files.iter().collect();
        Some(planner.plan(tree, &all)?)
    } else {
        None
    };
    for f in &mut found {
        f.rule = claimed(rules, &claims, f);
        if f.rule.is_none() {
            f.rule = classify(rules, f).map(|r| (r.id.clone(), r.class, r.step));
        }
    }
    claim_by_other_steps(job, &mut found)?;
    found.sort();
    job.project.check_reads()?;
    Ok((plan.unwrap_or(claims), found))
}

/// The rule a plan's claims give `f`: an edit that overlaps the reference claims it for its
/// rule; else a place a rule looked at and leaves (a registry root kept), with its class.
fn claimed(rules: &RuleSet, claims: &Plan, f: &Finding) -> Option<(String, Class, u8)> {
    claims
        .edits
        .iter()
        .find(|e| e.path == f.path && e.range.start < f.end && f.start < e.range.end)
        .and_then(|e| rules.get(&e.rule).map(|r| (r.id.clone(), r.class, r.step)))
        .or_else(|| {
            claims
                .claims
                .iter()
                .find(|c| c.path == f.path && c.range.start <= f.start && f.end <= c.range.end)
                .and_then(|c| rules.get(&c.rule).map(|r| (r.id.clone(), c.class, r.step)))
        })
}

/// References the selected step leaves unclaimed that another step's edits claim (`check
/// --step 3` on a tree where step 2 is pending: those are step 2's, never unclassified). Only
/// the files still holding such references are planned again, once per other step.
fn claim_by_other_steps(job: &Job<'_>, found: &mut [Finding]) -> Result<()> {
    for step in 1..=4u8 {
        let edits = |r: &Rule| r.step == step && !matches!(r.action, Action::Classify { .. });
        if step == job.selection.step || !job.rules.rules.iter().any(edits) {
            continue;
        }
        let mut open: Vec<&String> = found
            .iter()
            .filter(|f| f.rule.is_none())
            .map(|f| &f.path)
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        open.sort();
        open.dedup();
        let selection = Selection {
            step,
            ..job.selection
        };
        let planner = Planner::new(job.project, job.migration, job.rules, selection)?;
        let claims = planner.claims(job.tree, &open)?;
        let open: Vec<String> = open.into_iter().cloned().collect();
        for f in found
            .iter_mut()
            .filter(|f| f.rule.is_none() && open.contains(&f.path))
        {
            f.rule = claimed(job.rules, &claims, f);
        }
    }
    Ok(())
}

/// Releases the scan if the planning thread ends without variables (an error, a panic).
struct Release<'p>(&'p Project);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.release_waiters();
    }
}

/// The references of every file, and what the files say of the `unread` rules' variables (the
/// same pass reads each file once).
fn scan_tree(
    tree: &Tree,
    migration: &Migration,
    rules: &RuleSet,
    project: &Project,
    progress: &indicatif::ProgressBar,
) -> Result<(Vec<Finding>, Vec<crate::unread::Seen>)> {
    let handed: &Handed = &project.view().handed;
    progress.set_length(tree.files.len() as u64);
    let mut hosts = migration.from_hosts();
    hosts.extend(migration.related.iter().cloned());
    let finder = Finder::new(&hosts);
    let suffixes = suffixes(&migration.from_hosts());
    // The files the template index reads go first, and their texts to the planning thread,
    // which would otherwise read them again (findings are sorted afterwards).
    let mut order: Vec<(&String, Option<&Handed>)> = tree
        .files
        .iter()
        .map(|f| (f, tasks::indexes(f).then_some(handed)))
        .collect();
    order.sort_by_key(|(_, handed)| handed.is_none());
    // A text with Jinja-built candidates met before the variables are loaded waits until the
    // end of the scan instead of stalling its thread.
    let waiting: Mutex<Vec<(String, String)>> = Mutex::default();
    let names = crate::unread::names(rules);
    let seen: Mutex<Vec<crate::unread::Seen>> = Mutex::default();
    let scan = Scan {
        names: &names,
        seen: &seen,
        finder: &finder,
        selector: &migration.selector,
        suffixes: &suffixes,
        project,
    };
    let mut found: Vec<Finding> = parallel::map(&order, |&(path, handed)| {
        progress.inc(1);
        scan.file(tree, path, handed, &waiting)
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?
    .into_iter()
    .flatten()
    .collect();
    let waiting = waiting.into_inner().unwrap_or_default();
    if let Some(vars) = project.vars_when_read() {
        let built = parallel::map(&waiting, |(path, text)| {
            scan.built(path, text, &Structure::of(text, scan.selector), vars)
        });
        found.extend(built.into_iter().flatten());
    }
    progress.finish_and_clear();
    Ok((found, seen.into_inner().unwrap_or_default()))
}

/// The classification rule that claims a reference: those that name lines first, then by id.
fn classify<'r>(rules: &'r RuleSet, f: &Finding) -> Option<&'r Rule> {
    classify_line(rules, &f.path, &f.line, &f.host)
}

/// The classification rule that claims a reference to `host` on `line` of `path` (the text
/// rules: their files, lines and hosts); inference asks too, so that it never rewrites what a
/// rule keeps.
pub fn classify_line<'r>(
    rules: &'r RuleSet,
    path: &str,
    line: &str,
    host: &str,
) -> Option<&'r Rule> {
    let claims = |r: &&Rule| match &r.action {
        // A rule placed by meaning claims through the plan, never by its files alone.
        Action::Classify { .. } if r.where_.is_some() => false,
        Action::Classify { lines, hosts } => {
            r.globs.is_match(path)
                && lines.as_ref().is_none_or(|re| re.is_match(line))
                && (hosts.is_empty()
                    || host.split(" | ").all(|h| {
                        hosts
                            .iter()
                            .any(|g| crate::ansible::inventory::wildcard(g, h))
                    }))
        }
        _ => false,
    };
    let named_lines = |r: &&Rule| matches!(&r.action, Action::Classify { lines: Some(_), .. });
    rules
        .rules
        .iter()
        .filter(named_lines)
        .find(claims)
        .or_else(|| rules.rules.iter().filter(|r| !named_lines(r)).find(claims))
}

/// What the scan of every file shares.
struct Scan<'s> {
    /// The `unread` rules' variables, and what the files said of them.
    names: &'s std::collections::BTreeSet<String>,
    seen: &'s Mutex<Vec<crate::unread::Seen>>,
    finder: &'s Finder,
    selector: &'s crate::migration::Selector,
    suffixes: &'s [String],
    project: &'s Project,
}

impl Scan<'_> {
    /// The references of one file (none for binary or non-UTF-8 files; a file that cannot be
    /// read is an error); a text with Jinja-built candidates goes to `waiting` when the
    /// variables are not loaded yet.
    fn file(
        &self,
        tree: &Tree,
        path: &str,
        handed: Option<&Handed>,
        waiting: &Mutex<Vec<(String, String)>>,
    ) -> Result<Vec<Finding>> {
        let Ok(file) = tree.read(path)? else {
            return Ok(Vec::new());
        };
        let text = file.text;
        if let Some(handed) = handed {
            handed.put(path, &text);
        }
        let said = crate::unread::look(path, &text, self.names);
        if !said.is_empty()
            && let Ok(mut seen) = self.seen.lock()
        {
            seen.extend(said);
        }
        let literal = self.finder.find(&text);
        let maybe_built =
            text.contains("{{") && self.suffixes.iter().any(|s| text.contains(s.as_str()));
        if literal.is_empty() && !maybe_built {
            return Ok(Vec::new());
        }
        let jinja = Structure::of(&text, self.selector);
        let mut out: Vec<Finding> = literal
            .into_iter()
            .map(|r| Finding {
                line: line_at(&text, r.start).to_string(),
                path: path.to_string(),
                at: Position::of(&text, r.start),
                envs: jinja.envs_at(r.start),
                built: false,
                rule: None,
                host: r.host,
                start: r.start,
                end: r.end,
            })
            .collect();
        if maybe_built {
            match self.project.vars_if_read() {
                Some(vars) => out.extend(self.built(path, &text, &jinja, vars)),
                None => {
                    if let Ok(mut waiting) = waiting.lock() {
                        waiting.push((path.to_string(), text));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The Jinja-built references of one file.
    fn built(&self, path: &str, text: &str, jinja: &Structure, vars: &EnvVars) -> Vec<Finding> {
        let mut out = Vec::new();
        let render = |t: &str, env| vars.render(t, env);
        for b in self
            .finder
            .find_built(text, self.suffixes, &vars.envs(), render)
        {
            let envs = b
                .hosts
                .keys()
                .fold(Envs::NONE, |acc, e| acc.union(Envs::only(*e)))
                .intersect(jinja.envs_at(b.start));
            let mut hosts: Vec<&str> = b
                .hosts
                .iter()
                .filter(|(e, _)| envs.contains(**e))
                .map(|(_, h)| h.as_str())
                .collect();
            hosts.dedup();
            out.push(Finding {
                line: line_at(text, b.start).to_string(),
                path: path.to_string(),
                at: Position::of(text, b.start),
                host: hosts.join(" | "),
                built: true,
                envs,
                rule: None,
                start: b.start,
                end: b.end,
            });
        }
        out
    }
}

fn line_at(text: &str, offset: usize) -> &str {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    &text[start..end]
}

/// The table: one line per reference, then a summary.
pub fn table(found: &[Finding]) -> String {
    let mut out = String::new();
    for f in found {
        let envs: Vec<&str> = f.envs.iter().map(|e| e.name()).collect();
        let (class, rule) = match &f.rule {
            // Rewritten (or kept, an identifier) by `unclaimed: rewrite`, not by a rule.
            Some((id, class, _)) if id == crate::rules::INFERRED => {
                (format!("{class:?} (inferred)").to_lowercase(), id.as_str())
            }
            Some((id, class, step)) => (
                format!("{class:?} (step {step})").to_lowercase(),
                id.as_str(),
            ),
            None => ("unclassified".to_string(), "-"),
        };
        let kind = if f.built { "jinja" } else { "literal" };
        let _ = writeln!(
            out,
            "{}:{}:{}\t{}\t{kind}\t{}\t{class}\t{rule}",
            printable(&f.path),
            f.at.line,
            f.at.column,
            printable(&f.host),
            envs.join(",")
        );
    }
    let unclassified = found.iter().filter(|f| f.rule.is_none()).count();
    let built = found.iter().filter(|f| f.built).count();
    let _ = writeln!(
        out,
        "audit: {} references ({built} built by Jinja), {} classified, {unclassified} unclassified",
        found.len(),
        found.len() - unclassified
    );
    out
}

/// JSON: `{"references": [{file, line, column, start, end, host, kind, environments, class, step, rule}]}`.
pub fn json(found: &[Finding]) -> String {
    let refs: Vec<serde_json::Value> = found
        .iter()
        .map(|f| {
            serde_json::json!({
                "file": f.path, "line": f.at.line, "column": f.at.column, "start": f.start, "end": f.end,
                "host": f.host, "kind": if f.built { "jinja" } else { "literal" },
                "environments": f.envs.iter().map(|e| e.name()).collect::<Vec<_>>(),
                "class": f.rule.as_ref().map_or("unclassified".to_string(), |(_, c, _)| format!("{c:?}").to_lowercase()),
                "step": f.rule.as_ref().map(|(_, _, s)| *s),
                "rule": f.rule.as_ref().map(|(id, _, _)| id.clone()),
                "inferred": f.rule.as_ref().is_some_and(|(id, _, _)| id == crate::rules::INFERRED),
            })
        })
        .collect();
    format!(
        "{}\n",
        serde_json::to_string_pretty(&serde_json::json!({
            "format_version": crate::report::FORMAT_VERSION,
            "references": refs,
        }))
        .unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jinja::Envs;

    fn mini() -> (Tree, Migration) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fedora-mini");
        let tree = Tree::walk(&root).expect("walk");
        (tree, Migration::embedded().expect("migration"))
    }

    /// Claims come from planning only the files that hold references: the same claims as from
    /// the whole plan, some of them by edits.
    #[test]
    fn planning_the_referenced_files_claims_as_the_whole_plan_does() {
        let (tree, migration) = mini();
        let rules = RuleSet::load(None, &migration, true).expect("rules");
        let selection = Selection {
            step: 2,
            envs: Envs::ALL,
            mode: crate::plan::Mode::Cutover,
        };
        let silent = indicatif::ProgressBar::hidden();
        // Each run with a model of its own, as two commands would.
        let (one, two) = (
            Project::of(&tree, &migration.selector),
            Project::of(&tree, &migration.selector),
        );
        let job = |project| Job {
            tree: &tree,
            project,
            migration: &migration,
            rules: &rules,
            selection,
        };
        let found = audit(&job(&one), &silent).expect("audit");
        let (plan, whole) = audit_and_plan(&job(&two), &silent).expect("whole");
        assert_eq!(found, whole);
        let by_edit = |f: &&Finding| {
            plan.edits
                .iter()
                .any(|e| e.path == f.path && e.range.start < f.end && f.start < e.range.end)
        };
        assert!(found.iter().filter(by_edit).count() >= 3, "{found:#?}");
        assert!(found.iter().filter(by_edit).all(|f| f.rule.is_some()));
    }

    /// Texts met before the variables are loaded get their Jinja-built references at the end of
    /// the scan: the same references as when the variables come first.
    #[test]
    fn built_references_wait_for_late_variables() {
        let (tree, migration) = mini();
        let scan = |project: &Project, progress: &indicatif::ProgressBar| {
            let rules = RuleSet::default();
            scan_tree(&tree, &migration, &rules, project, progress)
                .expect("scan")
                .0
        };
        let early = Project::of(&tree, &migration.selector);
        early.vars().expect("vars");
        let mut first = scan(&early, &indicatif::ProgressBar::hidden());
        let late = Project::of(&tree, &migration.selector);
        let progress = indicatif::ProgressBar::hidden();
        let (all_scanned, mut second) = std::thread::scope(|s| {
            let setter = s.spawn(|| {
                // The variables arrive once every file is scanned (or, should the scan wait
                // for them, after ten seconds, and the test fails).
                let waited = std::time::Instant::now();
                while progress.position() < tree.files.len() as u64 {
                    if waited.elapsed() > std::time::Duration::from_secs(10) {
                        break;
                    }
                    std::thread::yield_now();
                }
                let all_scanned = progress.position() == tree.files.len() as u64;
                late.vars().expect("vars");
                all_scanned
            });
            let second = scan(&late, &progress);
            (setter.join().expect("setter"), second)
        });
        assert!(all_scanned, "the scan waited for the variables");
        first.sort();
        second.sort();
        assert!(first.iter().any(|f| f.built), "{first:#?}");
        assert_eq!(first, second);
    }
}
