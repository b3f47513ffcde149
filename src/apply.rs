//! `apply` (SPEC §5, §6.3, §6.5; issue 5): staging first, prove, then write; with `--commit`,
//! hand the change over as one commit per rule on a branch, with patches, a pull-request body
//! and a push on request. Every check and every commit object comes before the first write.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::audit;
use crate::error::{Error, Result};
use crate::formats::jinja::Envs;
use crate::git::{self, Committed, Repo};
use crate::migration::{Env, Migration};
use crate::plan::{self, Changed, Plan, Selection};
use crate::project::Project;
use crate::prove::{self, Report};
use crate::report::pr::{self, PullRequest};
use crate::rules::RuleSet;
use crate::series::{self, CommitSpec};
use crate::transaction;
use crate::walk::{Tree, View};

/// What `apply` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub commit: bool,
    pub branch: Option<String>,
    pub signoff: bool,
    pub allow_dirty: bool,
    pub format_patch: Option<PathBuf>,
    pub pr_body: Option<PathBuf>,
    pub push: Option<String>,
    /// Override the staging-first refusal.
    pub force: bool,
    /// A saved plan (its file) the new plan must equal (`apply PLANFILE`).
    pub expected: Option<(PathBuf, crate::saved::SavedPlan)>,
    /// Ask on the terminal which edits to make (`--interactive`); the proof covers those.
    pub interactive: bool,
    /// Where the phases are shown (a terminal's stderr, or nowhere).
    pub progress: crate::progress::Progress,
}

/// The tree and the settings `apply` works with.
pub struct Job<'a> {
    pub tree: &'a std::path::Path,
    pub migration: &'a Migration,
    pub rules: &'a RuleSet,
    pub step: u8,
    pub envs: Envs,
    pub mode: plan::Mode,
}

/// What `apply` did, for the command line to report.
pub struct Outcome {
    pub plan: Plan,
    pub committed: Option<Committed>,
    pub patches: Vec<PathBuf>,
}

impl Job<'_> {
    fn selection(&self, envs: Envs) -> Selection {
        Selection {
            step: self.step,
            envs,
            mode: self.mode,
        }
    }

    pub fn run(&self, options: &Options) -> Result<Outcome> {
        // `--commit` outside a git repository is refused even with nothing to do: silence would
        // read as a commit made.
        if options.commit {
            Repo::open(self.tree)?;
        }
        let shown = &options.progress;
        shown.phase(format!("planning step {}", self.step));
        let tree = Tree::walk(self.tree)?;
        // One model of the tree for the whole run: staging first, plan, proof, PR body.
        let project = Project::of(&tree, &self.migration.selector);
        if !options.force {
            self.staging_first(&tree, &project)?;
            self.step_two_done(&tree, &project)?;
        }
        let plan = plan::plan_in(
            &project,
            &tree,
            self.migration,
            self.rules,
            self.selection(self.envs),
        )?;
        if let Some((path, saved)) = &options.expected {
            crate::saved::check_edits(path, saved, &plan)?;
        }
        let uncommitted = |plan| Outcome {
            plan,
            committed: None,
            patches: Vec::new(),
        };
        let (plan, skipped) = match options.interactive && !plan.edits.is_empty() {
            true => shown.suspend(|| reviewed(plan, self.rules))?,
            false => (plan, BTreeSet::new()),
        };
        if plan.edits.is_empty() {
            return Ok(uncommitted(plan));
        }
        shown.phase(format!("proving {} edits", plan.edits.len()));
        let proof = self.prove(&tree, &project, &plan, &skipped)?;
        if options.commit {
            shown.phase("preparing the commits");
        }
        let prepared = match options.commit {
            true => Some(self.prepare_commits(&tree, &project, &plan, &proof, options)?),
            false => None,
        };
        // Everything is computed and checked before the first write (SPEC §6.5).
        let files: Vec<(PathBuf, Vec<u8>)> = plan
            .changed
            .iter()
            .filter(|c| !c.gone)
            .map(|c| (PathBuf::from(&c.path), c.file.bytes_with(&c.new_text)))
            .collect();
        let gone: Vec<PathBuf> = plan
            .changed
            .iter()
            .filter(|c| c.gone)
            .map(|c| PathBuf::from(&c.path))
            .collect();
        shown.phase(format!("writing {} files", plan.changed.len()));
        // The write and the commits after it are one piece: a signal waits for both.
        let published = transaction::held(|| -> Result<_> {
            transaction::write_and_remove(self.tree, &files, &gone).map_err(|e| match e {
                transaction::Failure::Interrupted => Error::Interrupted,
                transaction::Failure::Io(e) => Error::file(self.tree, format!("cannot write: {e}")),
            })?;
            let Some((repo, committed, pr_text)) = prepared else {
                return Ok(None);
            };
            let written: Vec<&str> = plan.changed.iter().map(|c| c.path.as_str()).collect();
            let prior = repo.refs_now(&committed.branch);
            transaction::pause_for_tests("publish");
            if let Err(e) = repo.publish(&committed, &written) {
                return Err(self.put_back(&repo, &prior, &plan, &written, e));
            }
            Ok(Some((repo, committed, pr_text)))
        })?;
        shown.done();
        let Some((repo, committed, pr_text)) = published else {
            transaction::stop_if_interrupted("after every file was written");
            return Ok(uncommitted(plan));
        };
        transaction::stop_if_interrupted(&format!(
            "after the files were written and committed on branch {} (no patches, PR body or push)",
            committed.branch
        ));
        let patches = match &options.format_patch {
            Some(dir) => repo.format_patches(&committed, dir)?,
            None => Vec::new(),
        };
        if let (Some(path), Some(text)) = (&options.pr_body, pr_text) {
            std::fs::write(path, text)
                .map_err(|e| Error::file(path, format!("cannot write: {e}")))?;
        }
        if let Some(remote) = &options.push {
            git::push(self.tree, remote, &committed.branch)?;
        }
        Ok(Outcome {
            plan,
            committed: Some(committed),
            patches,
        })
    }

    /// Step 4 waits for step 2 (SPEC §7.4): while a pusher still targets the registry being
    /// decommissioned (a step-2 edit pending in the selected environments), removing it would
    /// remove logins and configuration that step 2 rewrites.
    fn step_two_done(&self, tree: &Tree, project: &Project) -> Result<()> {
        if self.step != 4 {
            return Ok(());
        }
        let pending = plan::plan_in(
            project,
            tree,
            self.migration,
            self.rules,
            Selection {
                step: 2,
                envs: self.envs,
                mode: plan::Mode::Cutover,
            },
        )?;
        match pending.edits.first() {
            None => Ok(()),
            Some(e) => Err(Error::Usage(format!(
                "step 2 first: {} step-2 edits are still pending (the first in {}); apply and deploy \
                 step 2 before decommissioning (or pass --force)",
                pending.edits.len(),
                e.path
            ))),
        }
    }

    /// Staging first (issue 5): an environment waits while the step's edits of an environment
    /// before it in the rollout (the selector's groups before its default) are pending.
    fn staging_first(&self, tree: &Tree, project: &Project) -> Result<()> {
        let selector = &self.migration.selector;
        let order = selector.rollout(self.migration.all().iter());
        let selected: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(_, e)| self.envs.contains(**e))
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = selected.first() else {
            return Ok(());
        };
        for earlier in order[..first].iter().copied() {
            let pending = plan::plan_in(
                project,
                tree,
                self.migration,
                self.rules,
                self.selection(Envs::only(earlier)),
            )?;
            if !pending.edits.is_empty() {
                return Err(Error::Usage(format!(
                    "{earlier} first: {} {earlier} edits of step {} are still pending; apply them \
                     with `--env {earlier}`, deploy and check {earlier}, then come back (or pass \
                     --force)",
                    pending.edits.len(),
                    self.step
                )));
            }
        }
        Ok(())
    }

    /// Proves the planned result (SPEC §6.3), rendered from the planned texts.
    fn prove(
        &self,
        tree: &Tree,
        before: &Project,
        plan: &Plan,
        skipped: &BTreeSet<String>,
    ) -> Result<Report> {
        let after = View::of(tree).with_planned(plan.changed.iter().map(Changed::planned));
        let after = Project::new(Arc::new(after), &self.migration.selector);
        let report = prove::planned(
            before,
            &after,
            &plan.edits,
            self.migration,
            &(self.rules.of_step(self.step).promising(self.mode)).without_promises_of(skipped),
            self.proven_envs(),
        )?;
        if !report.failures.is_empty() {
            return Err(Error::Proof(prove::text(&report)));
        }
        Ok(report)
    }

    /// The environments whose renderings the plan may change (see [`Selection::proven`]).
    fn proven_envs(&self) -> Envs {
        self.selection(self.envs).proven(self.migration)
    }

    /// After a failure that follows the writes (the branch cannot be made, HEAD or the index
    /// cannot move): the files get their old bytes, the refs and index entries their old state,
    /// and the error says so (or says what could not be put back).
    fn put_back(
        &self,
        repo: &Repo,
        prior: &git::Refs,
        plan: &Plan,
        written: &[&str],
        error: Error,
    ) -> Error {
        let originals: Vec<(PathBuf, Vec<u8>)> = plan
            .changed
            .iter()
            .map(|c| (PathBuf::from(&c.path), c.file.bytes_with(&c.file.text)))
            .collect();
        let files = transaction::write(self.tree, &originals).map_err(|e| e.to_string());
        let refs = files
            .clone()
            .and_then(|()| repo.restore(prior, written).map_err(|e| e.to_string()));
        match refs {
            Ok(()) => Error::Usage(format!(
                "{error}\nthe work tree, the index and the refs are back as they were before \
                 `apply`"
            )),
            Err(why) => Error::Usage(format!(
                "{error}\nputting things back failed too ({why}): check `git status` and \
                 `git branch`"
            )),
        }
    }

    /// The repository checks, the commit objects and the pull-request text, before any write.
    fn prepare_commits(
        &self,
        tree: &Tree,
        project: &Project,
        plan: &Plan,
        proof: &Report,
        options: &Options,
    ) -> Result<(Repo, Committed, Option<String>)> {
        let repo = Repo::open(self.tree)?;
        let dirty = repo.dirty()?;
        let touched: Vec<&str> = plan.changed.iter().map(|c| c.path.as_str()).collect();
        if !options.allow_dirty && !dirty.is_empty() {
            return Err(Error::Usage(format!(
                "the work tree has uncommitted changes ({}); commit or stash them, or pass \
                 --allow-dirty",
                listing(&dirty)
            )));
        }
        let mixed = repo.dirty_among(&dirty, &touched);
        if !mixed.is_empty() {
            return Err(Error::Usage(format!(
                "files regshift would edit have uncommitted changes ({}); commit or stash them \
                 first, so the commits hold regshift's edits only",
                listing(&mixed)
            )));
        }
        let who = repo.identity()?;
        let branch = options
            .branch
            .clone()
            .unwrap_or_else(|| default_branch(self.step, self.envs));
        // Everything the steps after the first write need must hold now (issue 12.2).
        repo.unlocked(&branch)?;
        outputs_writable(options)?;
        let signoff = options.signoff.then(|| {
            format!(
                "{} <{}>",
                who.name().unwrap_or_default(),
                who.email().unwrap_or_default()
            )
        });
        let series = series::series(plan, self.rules, self.migration, signoff.as_deref());
        let committed = repo.commit_series(&branch, &series, &who)?;
        let pr_text = match options.pr_body {
            Some(_) => Some(self.pr_body(tree, project, plan, proof, &series, &branch)?),
            None => None,
        };
        Ok((repo, committed, pr_text))
    }

    fn pr_body(
        &self,
        tree: &Tree,
        project: &Project,
        plan: &Plan,
        proof: &Report,
        series: &[CommitSpec],
        branch: &str,
    ) -> Result<String> {
        // References are claimed as `audit` claims them: by the step's edits in both environments.
        let selection = self.selection(Envs::ALL);
        let silent = indicatif::ProgressBar::hidden();
        let job = audit::Job {
            tree,
            project,
            migration: self.migration,
            rules: self.rules,
            selection,
        };
        let references = audit::audit(&job, &silent)?;
        let plays = crate::plays::to_run(project, plan, proof, self.envs);
        Ok(pr::body(&PullRequest {
            plays: &plays,
            step: self.step,
            envs: self.envs,
            branch,
            plan,
            series,
            proof,
            references: &references,
            migration: self.migration,
            rules: self.rules,
        }))
    }
}

/// `--interactive`: the plan with the edits the reviewer accepted, and the rules some of whose
/// edits were skipped (each said in a note: their promises are not checked, and `check` still
/// shows the skipped edits pending).
fn reviewed(plan: Plan, rules: &RuleSet) -> Result<(Plan, BTreeSet<String>)> {
    let keep = crate::review::on_terminal(&plan, rules)?;
    let mut only = plan.only(&keep)?;
    let mut skipped: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (e, kept) in plan.edits.iter().zip(&keep) {
        let slot = skipped.entry(&e.rule).or_default();
        slot.1 += 1;
        if !kept {
            slot.0 += 1;
        }
    }
    skipped.retain(|_, (n, _)| *n > 0);
    for (rule, (n, of)) in &skipped {
        only.notes.push(plan::Note::new(
            ".",
            format!(
                "rule `{rule}`: {n} of {of} edits skipped; its promises are not checked, and \
                 `regshift check` shows the skipped edits pending"
            ),
        ));
    }
    Ok((only, skipped.keys().map(|r| r.to_string()).collect()))
}

/// The pull-request body's file and the patches' directory can be written: checked before the
/// first write, so that a bad path never leaves the tree written and the commits half-made.
fn outputs_writable(options: &Options) -> Result<()> {
    if let Some(path) = &options.pr_body {
        if path.is_dir() {
            return Err(Error::file(path, "--pr-body names a directory, not a file"));
        }
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !parent.is_dir() {
            return Err(Error::file(path, "--pr-body: its directory does not exist"));
        }
    }
    if let Some(dir) = &options.format_patch {
        // The first part of the path that exists must be a directory (the rest is created).
        let existing = dir
            .ancestors()
            .find(|a| a.exists() || a.as_os_str().is_empty());
        if existing.is_some_and(|a| !a.as_os_str().is_empty() && !a.is_dir()) {
            return Err(Error::file(
                dir,
                "--format-patch needs a directory, and a file is in the way",
            ));
        }
    }
    Ok(())
}

/// `regshift/step-2-staging`, or `regshift/step-2` for both environments.
fn default_branch(step: u8, envs: Envs) -> String {
    let names: Vec<&str> = envs.iter().map(Env::name).collect();
    match names.as_slice() {
        [one] => format!("regshift/step-{step}-{one}"),
        _ => format!("regshift/step-{step}"),
    }
}

/// At most five paths, then how many more.
fn listing(paths: &[String]) -> String {
    let mut shown: Vec<&str> = paths.iter().take(5).map(String::as_str).collect();
    let more = paths.len().saturating_sub(5);
    let extra = format!("and {more} more");
    if more > 0 {
        shown.push(&extra);
    }
    shown.join(", ")
}
