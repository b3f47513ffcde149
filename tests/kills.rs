//! Kills during `apply` (issue 12.3, SPEC §6.5): SIGINT and SIGTERM before the commit point
//! leave every file as it was and no temporary file; SIGKILL leaves a journal the next run acts
//! on — rolled back before the commit point, completed after it — and says so. The write is
//! paused at a chosen moment through `REGSHIFT_TEST_PAUSE` (the fault-injection point of
//! `transaction`), so every kill lands where the test means it to.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{copy_tree, regshift, repo_path, snapshot_bytes};

fn mini() -> tempfile::TempDir {
    copy_tree(&repo_path("fixtures/fedora-mini"))
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Starts `apply` on `tree`, waits until the write pauses at `point`, sends `signal` (a `kill`
/// option such as `-TERM`), and returns the exit code and everything printed on stderr.
fn kill_at(tree: &Path, point: &str, signal: &str) -> (Option<i32>, String) {
    kill_apply_at(tree, &[], point, signal)
}

/// [`kill_at`] for `apply` with more arguments (`--commit`).
fn kill_apply_at(tree: &Path, more: &[&str], point: &str, signal: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regshift"))
        .args(["apply", "-C", arg(tree)])
        .args(more)
        .env("NO_COLOR", "1")
        .env("REGSHIFT_TEST_PAUSE", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("regshift starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut said = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("stderr") == 0 {
            panic!("apply ended before pausing at {point}:\n{said}");
        }
        said.push_str(&line);
        if line.contains(&format!("paused at {point}")) {
            break;
        }
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    said.push_str(&rest);
    let code = child.wait().expect("wait").code();
    (code, said)
}

/// Files regshift leaves beside targets or at the root when it did not finish.
fn leftovers(tree: &Path) -> Vec<String> {
    snapshot_bytes(tree)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.contains(".regshift-") || p.contains(".tmp"))
        .collect()
}

/// The tree as a clean `apply` leaves it.
fn applied() -> Vec<(String, Vec<u8>)> {
    let tree = mini();
    assert_eq!(regshift(&["apply", "-C", arg(tree.path())]).code, 0);
    snapshot_bytes(tree.path())
}

#[test]
fn sigint_and_sigterm_before_the_commit_point_leave_every_file_as_it_was() {
    for (point, signal) in [("stage", "-INT"), ("staged", "-TERM"), ("staged", "-HUP")] {
        let tree = mini();
        let before = snapshot_bytes(tree.path());
        let (code, said) = kill_at(tree.path(), point, signal);
        assert_eq!(code, Some(130), "{point} {signal}: {said}");
        assert!(said.contains("nothing was written"), "{said}");
        assert_eq!(
            snapshot_bytes(tree.path()),
            before,
            "{point} {signal}: unchanged"
        );
    }
}

#[test]
fn sigint_after_the_commit_point_finishes_the_write() {
    let tree = mini();
    let (code, said) = kill_at(tree.path(), "rename", "-INT");
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains("after every file was written"), "{said}");
    assert_eq!(snapshot_bytes(tree.path()), applied());
}

#[test]
fn sigkill_while_staging_is_rolled_back_by_the_next_run() {
    let tree = mini();
    let before = snapshot_bytes(tree.path());
    let (code, _) = kill_at(tree.path(), "staged", "-KILL");
    assert_eq!(code, None, "killed");
    assert!(
        !leftovers(tree.path()).is_empty(),
        "the kill left staged files"
    );
    let next = regshift(&["audit", "-C", arg(tree.path())]);
    assert!(
        next.stderr
            .contains("an interrupted `apply` had written nothing; rolled back"),
        "{}",
        next.stderr
    );
    assert_eq!(snapshot_bytes(tree.path()), before);
}

#[test]
fn sigkill_while_renaming_is_completed_by_the_next_run() {
    let tree = mini();
    let (code, _) = kill_at(tree.path(), "rename", "-KILL");
    assert_eq!(code, None, "killed");
    assert!(
        !leftovers(tree.path()).is_empty(),
        "the kill left staged files"
    );
    let next = regshift(&["plan", "-C", arg(tree.path())]);
    assert!(
        next.stderr.contains("completed an interrupted `apply`"),
        "{}",
        next.stderr
    );
    assert_eq!(next.code, 0, "nothing left to plan: {}", next.stdout);
    assert_eq!(snapshot_bytes(tree.path()), applied());
}

#[test]
fn sigint_while_committing_finishes_the_commits_and_stops() {
    let tree = mini();
    common::commit_all(tree.path(), "the tree");
    common::git(tree.path(), &["config", "user.name", "Ada Admin"]);
    common::git(tree.path(), &["config", "user.email", "ada@example.org"]);
    let (code, said) = kill_apply_at(
        tree.path(),
        &["--commit", "--env", "staging"],
        "publish",
        "-INT",
    );
    assert_eq!(code, Some(130), "{said}");
    assert!(
        said.contains("committed on branch regshift/step-2-staging"),
        "{said}"
    );
    let git = |args: &[&str]| common::git(tree.path(), args);
    assert!(!git(&["rev-parse", "regshift/step-2-staging"]).is_empty());
    assert_eq!(
        git(&["status", "--porcelain"]),
        "",
        "the work tree is the new HEAD"
    );
    assert!(!tree.path().join(".git/index.lock").exists());
}

#[test]
fn a_journal_that_does_not_parse_is_a_located_error() {
    let tree = mini();
    common::write(
        tree.path(),
        ".regshift-journal.json",
        "{\"state\": \"renaming\",\n oops",
    );
    let run = regshift(&["plan", "-C", arg(tree.path())]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(".regshift-journal.json:2:"),
        "{}",
        run.stderr
    );
}
