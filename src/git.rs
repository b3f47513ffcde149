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
