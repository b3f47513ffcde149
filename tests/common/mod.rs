//! Helpers shared by the integration tests: run the binary, copy trees, extract the corpus.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the regshift binary with `args`.
pub fn regshift(args: &[&str]) -> Run {
    regshift_with(args, &[])
}

/// Runs the regshift binary with `args` and extra environment variables (`""` removes one).
pub fn regshift_with(args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_regshift"));
    command.args(args).env("NO_COLOR", "1");
    for (k, v) in vars {
        match v.is_empty() {
            true => command.env_remove(k),
            false => command.env(k, v),
        };
    }
    let out = command.output().expect("regshift runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs regshift with `args` on the tree at `root` (`-C root` appended).
pub fn regshift_in(root: &Path, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["-C", root.to_str().expect("utf-8 path")]);
    regshift(&all)
}

/// [`regshift_in`], asserting exit 0.
pub fn succeeds_in(root: &Path, args: &[&str]) -> Run {
    let run = regshift_in(root, args);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    run
}

/// Sets a git identity for commits in the repository at `root`.
pub fn identity(root: &Path) {
    git(root, &["config", "user.name", "T"]);
    git(root, &["config", "user.email", "t@example.org"]);
}

/// Runs regshift and asserts it exits 0.
pub fn succeeds(args: &[&str]) -> Run {
    let run = regshift(args);
    assert_eq!(
        run.code, 0,
        "regshift {args:?}\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    run
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Copies `from` into a new temporary directory (symlinks copied as symlinks).
pub fn copy_tree(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(status.success());
    dir
}

/// Every file under `root` with its bytes, sorted (symlinks as their target).
pub fn snapshot_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let kind = entry.file_type().expect("type");
            let rel = path
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            if kind.is_symlink() {
                out.push((
                    rel,
                    std::fs::read_link(&path)
                        .expect("link")
                        .to_string_lossy()
                        .into_owned()
                        .into_bytes(),
                ));
            } else if kind.is_dir() {
                if entry.file_name() != ".git" {
                    stack.push(path);
                }
            } else {
                out.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// The 2023 corpus, extracted into a temporary git repository; see [`corpus_of`].
pub fn corpus() -> Option<(tempfile::TempDir, PathBuf)> {
    corpus_of("2023-09-20")
}

/// The 2025 corpus (a whole checkout), extracted into a temporary git repository.
pub fn corpus_2025() -> Option<(tempfile::TempDir, PathBuf)> {
    corpus_of("2025-07-17")
}

/// The shared corpus of `date`, extracted into a temporary git repository; `None` (with a loud
/// message) when `../shared` is absent — a failure, never a skip, when `CI` is set.
pub fn corpus_of(date: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let tarball = repo_path(&format!(
        "../shared/corpus/fedora-infra-ansible-{date}.tar.gz"
    ));
    if !tarball.exists() {
        missing(&format!("the corpus tarball {}", tarball.display()));
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar")
        .success();
    assert!(ok, "corpus extracts");
    let root = dir.path().join("ansible");
    commit_all(&root, "corpus");
    Some((dir, root))
}

/// Makes `dir` a git repository with everything in one commit.
pub fn commit_all(dir: &Path, message: &str) {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(
        dir,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "commit",
            "-qm",
            message,
        ],
    );
}

/// The embedded migration file with `from` replaced by `to` (which must occur).
pub fn default_migration_with(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(repo_path("src/defaults/migration.yaml")).expect("read");
    assert!(text.contains(from), "{from}");
    text.replace(from, to)
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    stdout_of(Command::new("git").current_dir(dir).args(args))
}

/// Runs `command`, asserts it succeeds, and returns its standard output.
pub fn stdout_of(command: &mut Command) -> String {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Python 3 with Jinja2 and PyYAML, for the oracle; `None` with a loud message otherwise.
pub fn python_oracle() -> Option<&'static str> {
    let ok = Command::new("python3")
        .args(["-c", "import jinja2, yaml, tomllib"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        missing("python3 with jinja2, yaml and tomllib (the Jinja2 oracle)");
    }
    ok.then_some("python3")
}

/// What a test does when something it needs is missing.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing {
    /// Fail, saying what is missing and how to skip knowingly.
    Fail,
    /// Skip, saying so (`REGSHIFT_ALLOW_SKIP=1`, never with `CI` set).
    Skip,
}

/// A test cannot pass by skipping (issue 15.7): with `CI` set a missing prerequisite fails;
/// locally too, unless `REGSHIFT_ALLOW_SKIP=1` says the skip is wanted.
pub fn on_missing(ci: bool, allow_skip: bool) -> Missing {
    match (ci, allow_skip) {
        (false, true) => Missing::Skip,
        _ => Missing::Fail,
    }
}

/// Fails the test for `what` missing, or (`REGSHIFT_ALLOW_SKIP=1`, not in CI) prints that it is
/// skipped.
pub fn missing(what: &str) {
    let ci = std::env::var_os("CI").is_some();
    let allow = std::env::var("REGSHIFT_ALLOW_SKIP").is_ok_and(|v| v == "1");
    match on_missing(ci, allow) {
        Missing::Skip => eprintln!("SKIPPED (REGSHIFT_ALLOW_SKIP=1): {what} is missing"),
        Missing::Fail if ci => panic!("CI is set and {what} is missing"),
        Missing::Fail => panic!(
            "{what} is missing: put ../shared beside the checkout and install python3's jinja2 and \
             pyyaml (README), or run with REGSHIFT_ALLOW_SKIP=1 to skip these tests knowingly"
        ),
    }
}

/// Writes `text` to `root/rel`, making its folders.
#[allow(dead_code)]
pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// What `check` prints last on a clean tree.
#[allow(dead_code)]
pub const CLEAN_CHECK: &str =
    "check: 0 pending edits, 0 unclassified references, 0 proof failures\n";

/// `regshift plan ARGS` has nothing left to do (idempotence): exit 0 and no diff.
#[allow(dead_code)]
pub fn nothing_pending(args: &[&str]) {
    let mut all = vec!["plan"];
    all.extend_from_slice(args);
    let again = regshift(&all);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
}

/// Writes `text` as a migration file beside the tree at `tree` (outside it, so the walk never
/// sees it) and returns its path; the caller removes it.
pub fn migration_beside(tree: &Path, text: &str) -> PathBuf {
    let name = tree.file_name().and_then(|n| n.to_str()).unwrap_or("tree");
    let path = tree.with_file_name(format!("{name}-migration.yaml"));
    std::fs::write(&path, text).expect("write the migration file");
    path
}

/// What a command printed on a pseudo-terminal, and its exit code.
pub struct Terminal {
    pub code: i32,
    /// Everything drawn on the terminal (stdout and stderr, answers echoed).
    pub screen: String,
}

/// Runs regshift with `args` in `dir` on a pseudo-terminal (`script` from util-linux), typing
/// `input` (`None`: the terminal's own input stays empty). `None` when `script` is missing
/// (reported through [`missing`]). `extra` is appended to the command line as written (a
/// redirection, say).
pub fn on_terminal(args: &[&str], input: &str, extra: &str) -> Option<Terminal> {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tmp");
    let typescript = dir.path().join("typescript");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let cmd = format!(
        "NO_COLOR=1 {} {} {extra}",
        env!("CARGO_BIN_EXE_regshift"),
        quoted.join(" ")
    );
    let child = Command::new("script")
        .args(["-qec", &cmd])
        .arg(&typescript)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        missing("`script` (util-linux), to run regshift on a pseudo-terminal");
        return None;
    };
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("typed");
    drop(stdin);
    let status = child.wait().expect("script ran");
    let screen = std::fs::read(&typescript).expect("typescript");
    Some(Terminal {
        code: status.code().unwrap_or(-1),
        screen: String::from_utf8_lossy(&screen).replace("\r\n", "\n"),
    })
}

/// The part of `text` after the first `start` and before the next `end` (empty without
/// `start`): a section of a Markdown document between two headings.
pub fn between<'t>(text: &'t str, start: &str, end: &str) -> &'t str {
    text.split_once(start)
        .map(|(_, rest)| rest.split(end).next().unwrap_or(rest))
        .unwrap_or_default()
}
