//! regshift's own commits in a repository's history, and their reverts (SPEC §7.5: rollback
//! reverts regshift's commits — found by their `Regshift-Rule:` trailers — in reverse order as
//! new commits; never a reversed migration file).
//!
//! The history is read from `HEAD` along first parents. A commit regshift made carries
//! `Regshift-Rule:` (and, since rollback exists, `Regshift-Step:` and
//! `Regshift-Environments:`); a revert carries `Regshift-Reverts: <id>`, and git's own
//! `This reverts commit <id>.` counts too, so a commit already reverted is not reverted twice.
//! Reverts are built as commit objects one on top of the other, with libgit2's three-way
//! revert; one that conflicts — a later commit changed the same lines — stops everything
//! before any file or ref is touched, naming the later commits.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::git::{Repo, git_error};

/// How far back the history is read (a repository's regshift commits are recent).
const MAX_COMMITS: usize = 20_000;

/// A commit regshift made.
#[derive(Debug, Clone)]
pub struct Made {
    pub oid: git2::Oid,
    pub subject: String,
    pub rule: String,
    /// `Regshift-Step:` (absent on commits made before it existed).
    pub step: Option<u8>,
    /// `Regshift-Environments:` (empty when absent).
    pub envs: Vec<String>,
}

impl Made {
    /// `abcdef12 subject`, as messages name a commit.
    pub fn named(&self) -> String {
        named(self.oid, &self.subject)
    }
}

fn named(oid: git2::Oid, subject: &str) -> String {
    let id = oid.to_string();
    format!("{} {subject}", &id[..id.len().min(8)])
}

/// The value of trailer `key` in `message` (the last paragraph's `Key: value` lines).
fn trailer<'m>(message: &'m str, key: &str) -> Option<&'m str> {
    message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
}

/// `HEAD`'s first-parent history, newest first.
fn first_parents(repo: &Repo) -> Result<git2::Revwalk<'_>> {
    let dir = repo.dir();
    let mut walk = repo
        .raw()
        .revwalk()
        .map_err(|e| git_error(dir, "cannot read the history", &e))?;
    walk.push_head()
        .map_err(|e| git_error(dir, "HEAD has no commit", &e))?;
    walk.simplify_first_parent()
        .map_err(|e| git_error(dir, "cannot read the history", &e))?;
    Ok(walk)
}

/// The commits regshift made on `HEAD`'s first-parent history and not reverted since, newest
/// first.
pub fn made(repo: &Repo) -> Result<Vec<Made>> {
    let raw = repo.raw();
    let dir = repo.dir();
    let walk = first_parents(repo)?;
    let mut reverted: BTreeSet<git2::Oid> = BTreeSet::new();
    let mut out = Vec::new();
    for oid in walk.take(MAX_COMMITS) {
        let oid = oid.map_err(|e| git_error(dir, "cannot read the history", &e))?;
        let commit = raw
            .find_commit(oid)
            .map_err(|e| git_error(dir, "cannot read a commit", &e))?;
        let message = commit.message().unwrap_or_default();
        for id in reverts(message) {
            reverted.insert(id);
        }
        let Some(rule) = trailer(message, "Regshift-Rule") else {
            continue;
        };
        if reverted.contains(&oid) {
            continue;
        }
        out.push(Made {
            oid,
            subject: commit
                .summary()
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_string(),
            rule: rule.to_string(),
            step: trailer(message, "Regshift-Step").and_then(|s| s.parse().ok()),
            envs: trailer(message, "Regshift-Environments")
                .map(|e| e.split(',').map(|n| n.trim().to_string()).collect())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The commits a message says it reverts.
fn reverts(message: &str) -> Vec<git2::Oid> {
    let ours = message
        .lines()
        .filter_map(|l| l.strip_prefix("Regshift-Reverts:"));
    let gits = message.lines().filter_map(|l| {
        l.trim()
            .strip_prefix("This reverts commit ")?
            .split(|c: char| !c.is_ascii_hexdigit())
            .next()
    });
    ours.chain(gits)
        .filter_map(|id| git2::Oid::from_str(id.trim()).ok())
        .collect()
}

/// The reverts of `commits` (newest first), as commits on top of `HEAD`, and the tree files
/// they change with their new bytes. Nothing is written and no ref moves.
pub struct Reverts {
    pub commits: Vec<git2::Oid>,
    /// Tree-relative paths and their contents after the last revert.
    pub files: Vec<(String, Vec<u8>)>,
    /// Tree-relative paths the reverts remove (files a reverted commit added).
    pub gone: Vec<String>,
}

/// Builds the reverts of `commits`, newest first; a conflict is an error naming the later
/// commits that touched the same files.
pub fn revert(repo: &Repo, commits: &[&Made], who: &git2::Signature<'_>) -> Result<Reverts> {
    let raw = repo.raw();
    let dir = repo.dir();
    let head = raw
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| git_error(dir, "HEAD has no commit", &e))?;
    let mut current = head.clone();
    let mut out = Vec::new();
    for made in commits {
        let commit = raw
            .find_commit(made.oid)
            .map_err(|e| git_error(dir, "cannot read a commit", &e))?;
        if commit.parent_count() != 1 {
            return Err(Error::Usage(format!(
                "{}: a merge commit; regshift reverts only its own commits",
                made.named()
            )));
        }
        let mut index = raw
            .revert_commit(&commit, &current, 0, None)
            .map_err(|e| git_error(dir, "cannot revert a commit", &e))?;
        if index.has_conflicts() {
            let paths = conflicted(&index);
            let later = touching(repo, made.oid, &paths)?;
            return Err(Error::Usage(format!(
                "cannot roll back {}: later commits changed the same lines of {} — {}; revert \
                 or adjust them first",
                made.named(),
                paths.join(", "),
                later.join("; ")
            )));
        }
        let tree_id = index
            .write_tree_to(raw)
            .map_err(|e| git_error(dir, "cannot build a tree", &e))?;
        let tree = raw
            .find_tree(tree_id)
            .map_err(|e| git_error(dir, "cannot read a tree", &e))?;
        let message = format!(
            "Revert \"{}\"\n\nThis reverts commit {} (regshift rollback).\n\nRegshift-Reverts: {}\n",
            made.subject, made.oid, made.oid
        );
        let id = raw
            .commit(None, who, who, &message, &tree, &[&current])
            .map_err(|e| git_error(dir, "cannot commit", &e))?;
        current = raw
            .find_commit(id)
            .map_err(|e| git_error(dir, "cannot read a new commit", &e))?;
        out.push(id);
    }
    let (files, gone) = changed(repo, &head, &current)?;
    Ok(Reverts {
        commits: out,
        files,
        gone,
    })
}

/// The paths an index holds conflicts for.
fn conflicted(index: &git2::Index) -> Vec<String> {
    let mut out: Vec<String> = index
        .conflicts()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|c| c.our.or(c.their).or(c.ancestor))
        .map(|e| String::from_utf8_lossy(&e.path).into_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The commits after `since` (on `HEAD`'s first parents) that changed one of `paths`.
fn touching(repo: &Repo, since: git2::Oid, paths: &[String]) -> Result<Vec<String>> {
    let raw = repo.raw();
    let dir = repo.dir();
    let walk = first_parents(repo)?;
    let mut out = Vec::new();
    for oid in walk.take(MAX_COMMITS) {
        let oid = oid.map_err(|e| git_error(dir, "cannot read the history", &e))?;
        if oid == since {
            break;
        }
        let commit = raw
            .find_commit(oid)
            .map_err(|e| git_error(dir, "cannot read a commit", &e))?;
        let tree = commit.tree().ok();
        let parent = commit.parent(0).ok().and_then(|p| p.tree().ok());
        let Ok(diff) = raw.diff_tree_to_tree(parent.as_ref(), tree.as_ref(), None) else {
            continue;
        };
        let touches = diff.deltas().any(|d| {
            [d.old_file().path(), d.new_file().path()]
                .into_iter()
                .flatten()
                .any(|p| paths.iter().any(|q| Path::new(q) == p))
        });
        if touches {
            out.push(named(
                oid,
                commit.summary().ok().flatten().unwrap_or_default(),
            ));
        }
    }
    Ok(out)
}

/// The tree files that differ between two commits: those `to` has, with their contents, and
/// those it lacks.
type Changes = (Vec<(String, Vec<u8>)>, Vec<String>);

fn changed(repo: &Repo, from: &git2::Commit<'_>, to: &git2::Commit<'_>) -> Result<Changes> {
    let raw = repo.raw();
    let dir = repo.dir();
    let (a, b) = (
        from.tree()
            .map_err(|e| git_error(dir, "cannot read a tree", &e))?,
        to.tree()
            .map_err(|e| git_error(dir, "cannot read a tree", &e))?,
    );
    let diff = raw
        .diff_tree_to_tree(Some(&a), Some(&b), None)
        .map_err(|e| git_error(dir, "cannot compare trees", &e))?;
    let (mut files, mut gone) = (Vec::new(), Vec::new());
    for delta in diff.deltas() {
        let file = match delta.status() {
            git2::Delta::Deleted => delta.old_file(),
            _ => delta.new_file(),
        };
        let Some(rel) = file
            .path()
            .and_then(Path::to_str)
            .and_then(|p| repo.in_tree(p))
        else {
            continue;
        };
        if delta.status() == git2::Delta::Deleted {
            gone.push(rel);
            continue;
        }
        let blob = raw
            .find_blob(file.id())
            .map_err(|e| git_error(dir, "cannot read a file's contents", &e))?;
        files.push((rel, blob.content().to_vec()));
    }
    Ok((files, gone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_and_reverts_are_read_from_the_message() {
        let message =
            "s\n\nbody\n\nRegshift-Rule: r\nRegshift-Step: 3\nRegshift-Environments: a, b\n";
        assert_eq!(trailer(message, "Regshift-Rule"), Some("r"));
        assert_eq!(trailer(message, "Regshift-Step"), Some("3"));
        assert_eq!(trailer(message, "Regshift-Missing"), None);
        let id = "0123456789abcdef0123456789abcdef01234567";
        let revert = format!("Revert \"x\"\n\nThis reverts commit {id}.\n");
        assert_eq!(
            reverts(&revert),
            vec![git2::Oid::from_str(id).expect("oid")]
        );
        let ours = format!("Revert\n\nRegshift-Reverts: {id}\n");
        assert_eq!(reverts(&ours).len(), 1);
    }
}
