//! The git repository around the tree, through the user's own `git` (its configuration and
//! hooks apply). Only what the commands need: a snapshot of `HEAD` to compare renderings with.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// `HEAD` of the repository at `dir`, extracted into a temporary directory; `None` when `dir` is
/// not a git work tree or has no commit yet.
pub fn head_snapshot(dir: &Path) -> Result<Option<tempfile::TempDir>> {
    let inside = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .output();
    if !inside.is_ok_and(|o| o.status.success()) {
        return Ok(None);
    }
    let out = tempfile::tempdir()
        .map_err(|e| Error::file(dir, format!("cannot make a temporary directory: {e}")))?;
    let archive = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["archive", "--format=tar", "HEAD", "--", "."])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::file(dir, format!("cannot run git archive: {e}")))?;
    let Some(stdout) = archive.stdout else {
        return Ok(None);
    };
    let status = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(out.path())
        .stdin(stdout)
        .status()
        .map_err(|e| Error::file(dir, format!("cannot run tar: {e}")))?;
    if !status.success() {
        return Err(Error::file(dir, "cannot extract HEAD"));
    }
    Ok(Some(out))
}

/// The repository holding a tree, opened with libgit2 (SPEC §10): status, branch, commits and
/// patches. Pushing goes through the user's own `git` ([`push`]).
pub struct Repo {
    repo: git2::Repository,
    /// The tree's path inside the work tree (`""` when the tree is the work tree's root).
    prefix: String,
}

/// What a commit series produced.
#[derive(Debug, Clone)]
pub struct Committed {
    pub branch: String,
    pub commits: Vec<git2::Oid>,
}

fn git_error(dir: &Path, what: &str, e: &git2::Error) -> Error {
    Error::file(dir, format!("{what}: {}", e.message()))
}

impl Repo {
    /// The repository whose work tree holds `dir`.
    pub fn open(dir: &Path) -> Result<Repo> {
        let repo = git2::Repository::discover(dir)
            .map_err(|_| Error::file(dir, "not inside a git repository (`--commit` needs one)"))?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| Error::file(dir, "a bare repository has no work tree to commit"))?;
        let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let prefix = canonical(dir)
            .strip_prefix(canonical(workdir))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        Ok(Repo { repo, prefix })
    }

    fn dir(&self) -> &Path {
        self.repo.workdir().unwrap_or_else(|| self.repo.path())
    }

    /// A tree path as a path in the repository.
    fn in_repo(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }

    /// Paths (repository-relative) with changes not committed: staged, modified, deleted or
    /// untracked (ignored files do not count).
    pub fn dirty(&self) -> Result<Vec<String>> {
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(false)
            .include_ignored(false);
        let statuses = self
            .repo
            .statuses(Some(&mut options))
            .map_err(|e| git_error(self.dir(), "cannot read git status", &e))?;
        let mut out: Vec<String> = statuses
            .iter()
            .filter(|s| s.status() != git2::Status::CURRENT)
            .filter_map(|s| s.path().ok().map(str::to_string))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Which of the tree paths `paths` have uncommitted changes.
    pub fn dirty_among(&self, dirty: &[String], paths: &[&str]) -> Vec<String> {
        paths
            .iter()
            .map(|p| self.in_repo(p))
            .filter(|p| dirty.contains(p))
            .collect()
    }

    /// The committer: `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL` when both are set, else git's
    /// `user.name`/`user.email`.
    pub fn identity(&self) -> Result<git2::Signature<'static>> {
        let from_env = std::env::var("GIT_AUTHOR_NAME")
            .ok()
            .zip(std::env::var("GIT_AUTHOR_EMAIL").ok());
        let signature = match from_env {
            Some((name, email)) => git2::Signature::now(&name, &email),
            None => self.repo.signature(),
        };
        signature.map_err(|_| {
            Error::Usage(
                "no git identity: set one with `git config user.name \"Your Name\"` and \
                 `git config user.email you@example.org` (or GIT_AUTHOR_NAME and \
                 GIT_AUTHOR_EMAIL)"
                    .into(),
            )
        })
    }

    /// The branch `HEAD` is on, if any.
    pub fn current_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        head.is_branch()
            .then(|| head.shorthand().ok().map(str::to_string))
            .flatten()
    }

    /// Makes the commits of `series` on top of `HEAD` as objects only, refs untouched: the
    /// caller writes the files, then calls [`Repo::publish`]. Refuses an existing `branch` that
    /// `HEAD` is not on.
    pub fn commit_series(
        &self,
        branch: &str,
        series: &[crate::series::CommitSpec],
        who: &git2::Signature<'_>,
    ) -> Result<Committed> {
        let dir = self.dir();
        let on_branch = self.current_branch().as_deref() == Some(branch);
        if !on_branch
            && self
                .repo
                .find_branch(branch, git2::BranchType::Local)
                .is_ok()
        {
            return Err(Error::Usage(format!(
                "branch `{branch}` already exists; switch to it or pass --branch NAME"
            )));
        }
        if git2::Branch::name_is_valid(branch).map_or(true, |ok| !ok) {
            return Err(Error::Usage(format!(
                "`{branch}` is not a valid branch name"
            )));
        }
        let mut parent = self
            .repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(|e| git_error(dir, "HEAD has no commit to branch from", &e))?;
        let mut commits = Vec::new();
        for spec in series {
            let base = parent
                .tree()
                .map_err(|e| git_error(dir, "cannot read HEAD's tree", &e))?;
            let mut update = git2::build::TreeUpdateBuilder::new();
            for (path, bytes) in &spec.files {
                let path = self.in_repo(path);
                let blob = self
                    .repo
                    .blob(bytes)
                    .map_err(|e| git_error(dir, "cannot store a file", &e))?;
                let mode = base
                    .get_path(Path::new(&path))
                    .ok()
                    .and_then(|e| match e.filemode() {
                        0o100755 => Some(git2::FileMode::BlobExecutable),
                        _ => None,
                    })
                    .unwrap_or(git2::FileMode::Blob);
                update.upsert(path.as_str(), blob, mode);
            }
            let tree_id = update
                .create_updated(&self.repo, &base)
                .map_err(|e| git_error(dir, "cannot build a tree", &e))?;
            let tree = self
                .repo
                .find_tree(tree_id)
                .map_err(|e| git_error(dir, "cannot read a new tree", &e))?;
            let id = self
                .repo
                .commit(None, who, who, &spec.message(), &tree, &[&parent])
                .map_err(|e| git_error(dir, "cannot commit", &e))?;
            parent = self
                .repo
                .find_commit(id)
                .map_err(|e| git_error(dir, "cannot read a new commit", &e))?;
            commits.push(id);
        }
        Ok(Committed {
            branch: branch.to_string(),
            commits,
        })
    }

    /// Points `branch` at the last commit, checks it out (`HEAD` and, for the files the series
    /// wrote, the index; the work tree already holds them). Nothing else is staged.
    pub fn publish(&self, done: &Committed, written: &[&str]) -> Result<()> {
        let dir = self.dir();
        let Some(last) = done.commits.last() else {
            return Ok(());
        };
        let refname = format!("refs/heads/{}", done.branch);
        self.repo
            .reference(&refname, *last, true, "regshift: apply --commit")
            .map_err(|e| git_error(dir, "cannot move the branch", &e))?;
        self.repo
            .set_head(&refname)
            .map_err(|e| git_error(dir, "cannot switch to the branch", &e))?;
        let mut index = self
            .repo
            .index()
            .map_err(|e| git_error(dir, "cannot read the index", &e))?;
        for path in written {
            index
                .add_path(Path::new(&self.in_repo(path)))
                .map_err(|e| git_error(dir, "cannot update the index", &e))?;
        }
        index
            .write()
            .map_err(|e| git_error(dir, "cannot write the index", &e))
    }

    /// The commits as numbered mbox patches in `out` (`0001-subject.patch`, as `git
    /// format-patch` names them); `git am` applies them.
    pub fn format_patches(&self, done: &Committed, out: &Path) -> Result<Vec<std::path::PathBuf>> {
        let dir = self.dir();
        std::fs::create_dir_all(out)
            .map_err(|e| Error::file(out, format!("cannot make the directory: {e}")))?;
        let mut written = Vec::new();
        for (i, id) in done.commits.iter().enumerate() {
            let commit = self
                .repo
                .find_commit(*id)
                .map_err(|e| git_error(dir, "cannot read a commit", &e))?;
            let parent_tree = commit
                .parent(0)
                .and_then(|p| p.tree())
                .map_err(|e| git_error(dir, "cannot read a parent commit", &e))?;
            let tree = commit
                .tree()
                .map_err(|e| git_error(dir, "cannot read a commit's tree", &e))?;
            let diff = self
                .repo
                .diff_tree_to_tree(Some(&parent_tree), Some(&tree), None)
                .map_err(|e| git_error(dir, "cannot diff a commit", &e))?;
            let message = commit.message().unwrap_or_default();
            let (subject, body) = message.split_once("\n\n").unwrap_or((message, ""));
            let email = git2::Email::from_diff(
                &diff,
                i + 1,
                done.commits.len(),
                id,
                subject,
                body,
                &commit.author(),
                &mut git2::EmailCreateOptions::default(),
            )
            .map_err(|e| git_error(dir, "cannot format a patch", &e))?;
            let path = out.join(format!("{:04}-{}.patch", i + 1, slug(subject)));
            std::fs::write(&path, email.as_slice())
                .map_err(|e| Error::file(&path, format!("cannot write: {e}")))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// A subject as a file name, as `git format-patch` makes it.
fn slug(subject: &str) -> String {
    let mut out = String::new();
    for c in subject.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(['-', '.']).chars().take(52).collect()
}

/// Pushes `branch` to `remote` with the user's own `git push` (their credentials, hooks and
/// configuration apply), setting it as the branch's upstream.
pub fn push(dir: &Path, remote: &str, branch: &str) -> Result<()> {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["push", "--set-upstream", remote, branch])
        .status()
        .map_err(|e| Error::file(dir, format!("cannot run git push: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "`git push {remote} {branch}` failed (the commits are made; push again by hand)"
        )))
    }
}
