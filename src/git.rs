//! The git repository around the tree, through the user's own `git` (its configuration and
//! hooks apply). Only what the commands need: a snapshot of `HEAD` to compare renderings with.

use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};

/// `HEAD`'s version of the tree's files, read from the repository's objects when asked: a
/// proof's baseline reads the few dozen files its renderings need (extracting all of `HEAD` cost
/// seconds). Symlinks and submodules are not listed (never followed).
pub struct HeadTree {
    repo: std::sync::Mutex<git2::Repository>,
    /// Tree path → blob, for every regular file under the tree's directory.
    blobs: std::collections::BTreeMap<String, git2::Oid>,
}

impl std::fmt::Debug for HeadTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HeadTree({} files)", self.blobs.len())
    }
}

impl HeadTree {
    /// The files of `HEAD` under `dir`; `None` when `dir` is in no repository or it has no commit.
    pub fn open(dir: &Path) -> Result<Option<HeadTree>> {
        let Ok(repo) = Repo::open(dir) else {
            return Ok(None);
        };
        let Ok(head) = repo.repo.head().and_then(|h| h.peel_to_tree()) else {
            return Ok(None);
        };
        let prefix = if repo.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", repo.prefix)
        };
        let mut blobs = std::collections::BTreeMap::new();
        let walked = head.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let regular = matches!(entry.filemode(), 0o100644 | 0o100755);
            if let (true, Ok(name)) = (regular, entry.name()) {
                let path = format!("{parent}{name}");
                if let Some(rel) = path.strip_prefix(&prefix) {
                    blobs.insert(rel.to_string(), entry.id());
                }
            }
            git2::TreeWalkResult::Ok
        });
        walked.map_err(|e| git_error(dir, "cannot read HEAD's tree", &e))?;
        drop(head);
        Ok(Some(HeadTree {
            repo: std::sync::Mutex::new(repo.repo),
            blobs,
        }))
    }

    /// The tree paths of `HEAD`'s regular files, sorted.
    pub fn files(&self) -> Vec<String> {
        self.blobs.keys().cloned().collect()
    }

    pub fn contains(&self, rel: &str) -> bool {
        self.blobs.contains_key(rel)
    }

    /// The bytes of `rel` in `HEAD`.
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        let oid = self.blobs.get(rel)?;
        let repo = self.repo.lock().ok()?;
        let blob = repo.find_blob(*oid).ok()?;
        Some(blob.content().to_vec())
    }
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

pub fn git_error(dir: &Path, what: &str, e: &git2::Error) -> Error {
    Error::file(dir, format!("{what}: {}", e.message()))
}

/// Where `HEAD` and a branch pointed before `apply --commit` moved them.
#[derive(Debug, Clone)]
pub struct Refs {
    /// The ref `HEAD` names (none when detached).
    head: Option<String>,
    head_commit: Option<git2::Oid>,
    branch: String,
    branch_commit: Option<git2::Oid>,
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

    pub fn dir(&self) -> &Path {
        self.repo.workdir().unwrap_or_else(|| self.repo.path())
    }

    /// Refuses while a git process holds (or a crashed one left) the locks `apply --commit`
    /// needs: the index, `HEAD`, the branch's ref.
    pub fn unlocked(&self, branch: &str) -> Result<()> {
        let git_dir = self.repo.path();
        let locks = [
            git_dir.join("index.lock"),
            git_dir.join("HEAD.lock"),
            git_dir.join("refs/heads").join(format!("{branch}.lock")),
        ];
        match locks.iter().find(|l| l.exists()) {
            Some(lock) => Err(Error::file(
                lock,
                "is locked: another git process is running, or one stopped without cleaning up \
                 (remove the lock once no git process runs)",
            )),
            None => Ok(()),
        }
    }

    /// Where `HEAD` and `branch` point now, to put them back after a failed publish.
    pub fn refs_now(&self, branch: &str) -> Refs {
        let head = self.repo.find_reference("HEAD").ok();
        Refs {
            head: head
                .as_ref()
                .and_then(|h| h.symbolic_target().ok().flatten().map(str::to_string)),
            head_commit: self.repo.head().ok().and_then(|h| h.target()),
            branch: format!("refs/heads/{branch}"),
            branch_commit: self
                .repo
                .find_reference(&format!("refs/heads/{branch}"))
                .ok()
                .and_then(|r| r.target()),
        }
    }

    /// Puts `HEAD`, the branch and the index entries of `written` (whose files already have
    /// their old bytes) back as `prior` recorded them.
    pub fn restore(&self, prior: &Refs, written: &[&str]) -> Result<()> {
        let dir = self.dir();
        match (&prior.head, prior.head_commit) {
            (Some(name), _) => self.repo.set_head(name),
            (None, Some(id)) => self.repo.set_head_detached(id),
            (None, None) => Ok(()),
        }
        .map_err(|e| git_error(dir, "cannot put HEAD back", &e))?;
        match (prior.branch_commit, self.repo.find_reference(&prior.branch)) {
            (Some(id), _) => self
                .repo
                .reference(&prior.branch, id, true, "regshift: put back")
                .map(|_| ()),
            (None, Ok(mut made)) => made.delete(),
            (None, Err(_)) => Ok(()),
        }
        .map_err(|e| git_error(dir, "cannot put the branch back", &e))?;
        self.stage(written)
    }

    /// The index entries of `written` set to the files' contents.
    fn stage(&self, written: &[&str]) -> Result<()> {
        let dir = self.dir();
        let mut index = self
            .repo
            .index()
            .map_err(|e| git_error(dir, "cannot read the index", &e))?;
        for path in written {
            let in_repo = self.in_repo(path);
            // A file the series removed leaves the index too.
            let done = match dir.join(&in_repo).exists() {
                true => index.add_path(Path::new(&in_repo)),
                false => index.remove_path(Path::new(&in_repo)),
            };
            done.map_err(|e| git_error(dir, "cannot update the index", &e))?;
        }
        index
            .write()
            .map_err(|e| git_error(dir, "cannot write the index", &e))
    }

    /// The repository itself (`history` walks and reverts commits in it).
    pub fn raw(&self) -> &git2::Repository {
        &self.repo
    }

    /// A repository path as a tree path (`None` outside the tree).
    pub fn in_tree(&self, path: &str) -> Option<String> {
        if self.prefix.is_empty() {
            return Some(path.to_string());
        }
        path.strip_prefix(&format!("{}/", self.prefix))
            .map(str::to_string)
    }

    /// A tree path as a path in the repository.
    pub fn in_repo(&self, path: &str) -> String {
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
                let Some(bytes) = bytes else {
                    update.remove(path.as_str());
                    continue;
                };
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
        self.stage(written)
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
