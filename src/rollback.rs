//! `regshift rollback [--step N] [--env E]` (SPEC §7.5): regshift's own commits of the
//! selected steps and environments are reverted, newest first, as new commits on the current
//! branch — never a reversed migration file (the new registry is already in the tree before
//! the migration, and keys regshift added must go, not be swapped).
//!
//! Everything is checked and every revert built before the first write: a clean work tree, the
//! branch, git's locks, and no revert conflicting with a later commit (which is named). The
//! files are then written as one transaction and the branch moved (as `apply --commit`). A
//! step-3 rollback turns the redirect off this way: its commits set the switch.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::formats::jinja::Envs;
use crate::git::{Committed, Repo};
use crate::history::{self, Made};
use crate::migration::Migration;
use crate::rules::RuleSet;
use crate::transaction;

/// What a rollback did.
#[derive(Debug)]
pub struct Done {
    pub branch: String,
    /// The commits reverted, newest first (`abcdef12 subject`).
    pub reverted: Vec<String>,
    pub files: usize,
}

/// Reverts regshift's commits of `step` (every step when `None`) that change the environments
/// `envs`, in the tree at `dir`.
pub fn rollback(
    dir: &Path,
    migration: &Migration,
    rules: &RuleSet,
    step: Option<u8>,
    envs: Envs,
) -> Result<Done> {
    let repo = Repo::open(dir)?;
    let branch = repo.current_branch().ok_or_else(|| {
        Error::Usage("HEAD is detached: switch to the branch to roll back".into())
    })?;
    let dirty = repo.dirty()?;
    if !dirty.is_empty() {
        return Err(Error::Usage(format!(
            "the work tree has uncommitted changes ({}): commit or stash them first",
            dirty.join(", ")
        )));
    }
    repo.unlocked(&branch)?;
    let made = history::made(&repo)?;
    let chosen = select(&made, migration, rules, step, envs)?;
    if chosen.is_empty() {
        return Ok(Done {
            branch,
            reverted: Vec::new(),
            files: 0,
        });
    }
    let who = repo.identity()?;
    let reverts = history::revert(&repo, &chosen, &who)?;
    let files: Vec<(PathBuf, Vec<u8>)> = reverts
        .files
        .iter()
        .map(|(p, b)| (PathBuf::from(p), b.clone()))
        .collect();
    let gone: Vec<PathBuf> = reverts.gone.iter().map(PathBuf::from).collect();
    let written: Vec<&str> = reverts
        .files
        .iter()
        .map(|(p, _)| p.as_str())
        .chain(reverts.gone.iter().map(String::as_str))
        .collect();
    let committed = Committed {
        branch: branch.clone(),
        commits: reverts.commits.clone(),
    };
    transaction::held(|| -> Result<()> {
        transaction::write_and_remove(dir, &files, &gone).map_err(|e| match e {
            transaction::Failure::Interrupted => Error::Interrupted,
            transaction::Failure::Io(e) => Error::file(dir, format!("cannot write: {e}")),
        })?;
        repo.publish(&committed, &written)
    })?;
    transaction::stop_if_interrupted(&format!("after the rollback was committed on {branch}"));
    Ok(Done {
        branch,
        reverted: chosen.iter().map(|m| m.named()).collect(),
        files: files.len() + gone.len(),
    })
}

/// The commits to revert, newest first: those of `step` whose environments meet `envs`. A
/// commit that also changes an environment not selected cannot be rolled back alone.
fn select<'m>(
    made: &'m [Made],
    migration: &Migration,
    rules: &RuleSet,
    step: Option<u8>,
    envs: Envs,
) -> Result<Vec<&'m Made>> {
    let mut out = Vec::new();
    for m in made {
        let of_step = m.step.or_else(|| rules.get(&m.rule).map(|r| r.step));
        if step.is_some_and(|s| of_step != Some(s)) {
            continue;
        }
        let named: Envs = m
            .envs
            .iter()
            .filter_map(|n| migration.env_named(n))
            .fold(Envs::NONE, |a, e| a.union(Envs::only(e)));
        // A commit without the trailer changed every environment.
        let changes = if m.envs.is_empty() {
            migration.all()
        } else {
            named
        };
        if changes.intersect(envs) == Envs::NONE {
            continue;
        }
        if changes.minus(envs) != Envs::NONE {
            return Err(Error::Usage(format!(
                "{} changes {} too: roll back with `--env all`, or revert it by hand",
                m.named(),
                changes
                    .minus(envs)
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        out.push(m);
    }
    Ok(out)
}
