//! Writing a set of files as one recoverable transaction (SPEC §6.5): a kill at any moment
//! leaves either every file old or, after the next run, every file new — never a mix, never a
//! torn file, never a temporary file beside the targets.
//!
//! The journal (`.git/regshift-journal.json`, or `.regshift-journal.json` at the root of a tree
//! without a `.git` directory) lists each target, the temporary file its new bytes are staged
//! in (`.NAME.regshift-new` beside it) and the git blob id of its old bytes. It is written
//! before the first staged file (`staging`), rewritten once every staged file is on disk
//! (`renaming`: the commit point), and removed after the last rename. The next run of any
//! command [`recover`]s: `staging` is rolled back (the staged files removed, no target was
//! touched), `renaming` is completed (each target still holding its old bytes gets its staged
//! file). SIGINT, SIGTERM and SIGHUP during a write are held until the transaction is rolled
//! back (before the commit point) or completed (after it); at any other time they end the
//! process at once, before anything is written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

const JOURNAL: &str = "regshift-journal.json";
const STAGED_SUFFIX: &str = ".regshift-new";

/// How many [`held`] sections are under way: while any is, a signal is held until the work can
/// stop cleanly; with none, a signal ends the process at once (nothing is being written).
static HELD: AtomicUsize = AtomicUsize::new(0);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The exit status of a process ended by SIGINT (128 + 2), as shells report it.
pub const INTERRUPTED_EXIT: i32 = 130;

/// Installs the SIGINT/SIGTERM/SIGHUP handler once per process.
pub fn handle_signals() {
    let _ = ctrlc::set_handler(|| {
        if HELD.load(Ordering::SeqCst) == 0 {
            eprintln!("regshift: interrupted; nothing was written");
            std::process::exit(INTERRUPTED_EXIT);
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
    });
}

/// Runs `work` with signals held: a SIGINT/SIGTERM/SIGHUP meanwhile is acted on only when it
/// ends ([`stop_if_interrupted`]), so that a write and the commits after it are never cut
/// halfway (`apply --commit` holds its write, publish included).
pub fn held<T>(work: impl FnOnce() -> T) -> T {
    HELD.fetch_add(1, Ordering::SeqCst);
    let out = work();
    HELD.fetch_sub(1, Ordering::SeqCst);
    out
}

/// Ends the process (exit 130) if a signal came while signals were held and none is held any
/// more, saying what was done.
pub fn stop_if_interrupted(done: &str) {
    if INTERRUPTED.load(Ordering::SeqCst) && HELD.load(Ordering::SeqCst) == 0 {
        eprintln!("regshift: interrupted {done}; stopping");
        std::process::exit(INTERRUPTED_EXIT);
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum State {
    Staging,
    Renaming,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// Relative to the tree's root, like every path regshift prints.
    target: PathBuf,
    staged: PathBuf,
    /// The git blob id of the target's bytes before the write (empty: the target is new).
    old: String,
    /// The target is removed at the commit point (nothing is staged for it).
    #[serde(default)]
    delete: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    state: State,
    entries: Vec<Entry>,
}

/// A write that could not finish.
#[derive(Debug)]
pub enum Failure {
    /// A signal came before the commit point: every target is as it was.
    Interrupted,
    /// An I/O error, with what became of the targets.
    Io(std::io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Interrupted => write!(f, "interrupted; nothing was written"),
            Failure::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Where the journal of the tree at `root` lives.
fn journal_path(root: &Path) -> PathBuf {
    let git = root.join(".git");
    if git.is_dir() {
        git.join(JOURNAL)
    } else {
        root.join(format!(".{JOURNAL}"))
    }
}

fn staged_path(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".{name}{STAGED_SUFFIX}"))
}

fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map_or_else(|_| String::new(), |o| o.to_string())
}

/// Writes every `(path relative to root, bytes)` as one transaction (see the module's
/// documentation). Each file keeps its permissions, and its owner and group where the process
/// may set them.
pub fn write(root: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), Failure> {
    write_and_remove(root, files, &[])
}

/// [`write`], and removes `gone` (paths relative to root) in the same transaction: at the
/// commit point, with the renames. A file written that does not exist yet is created (mode
/// 0644).
pub fn write_and_remove(
    root: &Path,
    files: &[(PathBuf, Vec<u8>)],
    gone: &[PathBuf],
) -> Result<(), Failure> {
    let result = held(|| write_held(root, files, gone));
    if result.is_ok() {
        stop_if_interrupted("after every file was written");
    }
    result
}

fn write_held(root: &Path, files: &[(PathBuf, Vec<u8>)], gone: &[PathBuf]) -> Result<(), Failure> {
    let mut entries = Vec::with_capacity(files.len() + gone.len());
    for (rel, _) in files {
        let target = root.join(rel);
        let old = match std::fs::read(&target) {
            Ok(bytes) => blob_id(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Failure::Io(with_path(&target, e))),
        };
        entries.push(Entry {
            target: rel.clone(),
            staged: staged_path(rel),
            old,
            delete: false,
        });
    }
    for rel in gone {
        let target = root.join(rel);
        let old = std::fs::read(&target).map_err(|e| Failure::Io(with_path(&target, e)))?;
        entries.push(Entry {
            target: rel.clone(),
            staged: staged_path(rel),
            old: blob_id(&old),
            delete: true,
        });
    }
    let mut journal = Journal {
        state: State::Staging,
        entries,
    };
    let jpath = journal_path(root);
    save(&jpath, &journal).map_err(Failure::Io)?;
    let staged = files
        .iter()
        .zip(&journal.entries)
        .try_for_each(|((_, bytes), e)| {
            if INTERRUPTED.load(Ordering::SeqCst) {
                return Err(Failure::Interrupted);
            }
            pause_for_tests("stage");
            stage(&root.join(&e.target), &root.join(&e.staged), bytes)
                .map_err(|err| Failure::Io(with_path(&root.join(&e.target), err)))
        });
    pause_for_tests("staged");
    if let Err(failure) = staged.and_then(|()| {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(Failure::Interrupted);
        }
        journal.state = State::Renaming;
        save(&jpath, &journal).map_err(Failure::Io)
    }) {
        roll_back(root, &journal);
        let _ = std::fs::remove_file(&jpath);
        return Err(failure);
    }
    // Past the commit point: every rename (and removal) is done, a signal or not.
    for (i, e) in journal.entries.iter().enumerate() {
        if i == 1 {
            pause_for_tests("rename");
        }
        if e.delete {
            std::fs::remove_file(root.join(&e.target))
                .map_err(|err| Failure::Io(with_path(&root.join(&e.target), err)))?;
            continue;
        }
        std::fs::rename(root.join(&e.staged), root.join(&e.target)).map_err(|err| {
            Failure::Io(with_path(
                &root.join(&e.target),
                std::io::Error::new(
                    err.kind(),
                    format!("{err}; the next run of regshift completes the write"),
                ),
            ))
        })?;
    }
    sync_dirs(root, &journal);
    std::fs::remove_file(&jpath).map_err(|e| Failure::Io(with_path(&jpath, e)))?;
    Ok(())
}

/// What [`recover`] did, for the user.
pub fn recover(root: &Path) -> crate::error::Result<Option<String>> {
    let jpath = journal_path(root);
    let text = match std::fs::read_to_string(&jpath) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            // An unreadable tree is named as such, not by the journal looked for in it.
            let (path, e) = match std::fs::read_dir(root) {
                Err(dir) => (root, dir),
                Ok(_) => (jpath.as_path(), e),
            };
            return Err(crate::error::Error::file(path, format!("cannot read: {e}")));
        }
    };
    let journal: Journal = serde_json::from_str(&text).map_err(|e| crate::error::Error::At {
        path: jpath.clone(),
        at: crate::error::Position {
            line: e.line(),
            column: e.column(),
        },
        message: format!(
            "the journal of an interrupted write does not parse ({e}); check the files it \
                 lists and delete it"
        ),
    })?;
    for e in &journal.entries {
        if !crate::walk::inside(&e.target.to_string_lossy())
            || !crate::walk::inside(&e.staged.to_string_lossy())
        {
            return Err(crate::error::Error::file(
                &jpath,
                format!("names {} outside the tree; delete it", e.target.display()),
            ));
        }
    }
    let said = match journal.state {
        State::Staging => {
            let n = roll_back(root, &journal);
            format!(
                "an interrupted `apply` had written nothing; rolled back ({n} temporary files removed)"
            )
        }
        State::Renaming => complete(root, &jpath, &journal)?,
    };
    std::fs::remove_file(&jpath)
        .map_err(|e| crate::error::Error::file(&jpath, format!("cannot remove: {e}")))?;
    Ok(Some(said))
}

/// Completes the renames of a transaction past its commit point. A target that is neither its
/// old bytes nor already renamed was changed since: refused, nothing renamed.
fn complete(root: &Path, jpath: &Path, journal: &Journal) -> crate::error::Result<String> {
    let pending: Vec<&Entry> = journal
        .entries
        .iter()
        .filter(|e| match e.delete {
            true => root.join(&e.target).exists(),
            false => root.join(&e.staged).exists(),
        })
        .collect();
    for e in &pending {
        let now = std::fs::read(root.join(&e.target))
            .map(|b| blob_id(&b))
            .unwrap_or_default();
        if now != e.old {
            return Err(crate::error::Error::file(
                &root.join(&e.target),
                format!(
                    "changed since an interrupted `apply` staged its new version in {}; \
                     keep one of them, then delete {}",
                    e.staged.display(),
                    jpath.display()
                ),
            ));
        }
    }
    for e in &pending {
        let done = match e.delete {
            true => std::fs::remove_file(root.join(&e.target)),
            false => std::fs::rename(root.join(&e.staged), root.join(&e.target)),
        };
        done.map_err(|err| {
            crate::error::Error::file(&root.join(&e.target), format!("cannot write: {err}"))
        })?;
    }
    sync_dirs(root, journal);
    Ok(format!(
        "completed an interrupted `apply`: {} of {} files written now, the others before",
        pending.len(),
        journal.entries.len()
    ))
}

/// Removes the staged files of a transaction before its commit point; how many there were.
fn roll_back(root: &Path, journal: &Journal) -> usize {
    journal
        .entries
        .iter()
        .filter(|e| std::fs::remove_file(root.join(&e.staged)).is_ok())
        .count()
}

/// Writes the journal atomically (a temporary file beside it, synced, renamed).
fn save(path: &Path, journal: &Journal) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(journal).map_err(std::io::Error::other)?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| with_path(&tmp, e))?;
    f.write_all(&text)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).map_err(|e| with_path(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// Writes `bytes` to `staged` (created afresh), synced, with `target`'s permissions, owner and
/// group.
fn stage(target: &Path, staged: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let meta = match std::fs::metadata(target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = staged.parent() {
                std::fs::create_dir_all(dir)?;
            }
            None
        }
        Err(e) => return Err(e),
    };
    let _ = std::fs::remove_file(staged);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(staged)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    let Some(meta) = meta else {
        // A new file (a rollback putting back one a step removed).
        std::fs::set_permissions(staged, std::fs::Permissions::from_mode(0o644))?;
        return Ok(());
    };
    std::fs::set_permissions(staged, meta.permissions())?;
    // The new file keeps the old one's owner and group where this process may give them (root,
    // or a group the user belongs to); otherwise it belongs to the user running regshift, as
    // any editor's save would (README, "Writing files").
    if std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(&f, None, Some(meta.gid()));
    }
    Ok(())
}

fn sync_dirs(root: &Path, journal: &Journal) {
    let mut dirs: Vec<PathBuf> = journal
        .entries
        .iter()
        .map(|e| {
            root.join(&e.target)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        sync_dir(&d);
    }
}

/// Makes renames in `dir` durable; a file system that cannot sync a directory is left be.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn with_path(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Fault injection for the tests that kill a write (or the commits after it) at a chosen
/// moment: with
/// `REGSHIFT_TEST_PAUSE` naming `point`, says so on stderr and sleeps up to 30 s.
pub fn pause_for_tests(point: &str) {
    if std::env::var("REGSHIFT_TEST_PAUSE").is_ok_and(|p| p == point) {
        eprintln!("regshift: paused at {point}");
        for _ in 0..300 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if INTERRUPTED.load(Ordering::SeqCst) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("a")).expect("mkdir");
        std::fs::write(dir.path().join("a/one"), "old 1\n").expect("write");
        std::fs::write(dir.path().join("two"), "old 2\n").expect("write");
        dir
    }

    fn files() -> Vec<(PathBuf, Vec<u8>)> {
        vec![
            ("a/one".into(), b"new 1\n".to_vec()),
            ("two".into(), b"new 2\n".to_vec()),
        ]
    }

    /// `rel`'s new bytes staged beside it, as a write killed before its rename leaves them.
    fn staged_as_a_kill_leaves_it(root: &Path, rel: &str, bytes: &[u8]) {
        stage(
            &root.join(rel),
            &root.join(staged_path(Path::new(rel))),
            bytes,
        )
        .expect("stage");
    }

    fn read(root: &Path, rel: &str) -> String {
        std::fs::read_to_string(root.join(rel)).expect("read")
    }

    #[test]
    fn keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let t = tree();
        let path = t.path().join("two");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write(t.path(), &files()).expect("written");
        assert_eq!(
            std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn a_write_leaves_no_journal_and_no_staged_file() {
        let t = tree();
        write(t.path(), &files()).expect("written");
        assert_eq!(read(t.path(), "a/one"), "new 1\n");
        assert_eq!(read(t.path(), "two"), "new 2\n");
        let left: Vec<_> = walk(t.path());
        assert_eq!(left, ["a/one", "two"]);
    }

    fn walk(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("dir").flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(root).expect("inside").to_owned();
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }

    /// The state a SIGKILL leaves at each moment, and what the next run makes of it.
    #[test]
    fn the_next_run_rolls_back_before_the_commit_point_and_completes_after() {
        // Killed while staging: one staged file, the journal says `staging`.
        let t = tree();
        let mut j = Journal {
            state: State::Staging,
            entries: files()
                .iter()
                .map(|(rel, _)| Entry {
                    target: rel.clone(),
                    staged: staged_path(rel),
                    old: blob_id(read(t.path(), &rel.to_string_lossy()).as_bytes()),
                    delete: false,
                })
                .collect(),
        };
        save(&journal_path(t.path()), &j).expect("journal");
        staged_as_a_kill_leaves_it(t.path(), "a/one", b"new 1\n");
        let said = recover(t.path())
            .expect("recovered")
            .expect("something done");
        assert!(
            said.contains("rolled back (1 temporary files removed)"),
            "{said}"
        );
        assert_eq!(walk(t.path()), ["a/one", "two"]);
        assert_eq!(read(t.path(), "a/one"), "old 1\n");
        // Killed after the first rename: `renaming`, one target new, the other staged.
        j.state = State::Renaming;
        save(&journal_path(t.path()), &j).expect("journal");
        std::fs::write(t.path().join("a/one"), "new 1\n").expect("renamed");
        staged_as_a_kill_leaves_it(t.path(), "two", b"new 2\n");
        let said = recover(t.path())
            .expect("recovered")
            .expect("something done");
        assert!(said.contains("1 of 2 files written now"), "{said}");
        assert_eq!(walk(t.path()), ["a/one", "two"]);
        assert_eq!(read(t.path(), "two"), "new 2\n");
        assert_eq!(
            recover(t.path()).expect("nothing"),
            None,
            "the journal is gone"
        );
    }

    /// A journal past its commit point for the file `two` (old bytes `old 2`), written or removed.
    fn renaming_two(delete: bool) -> Journal {
        Journal {
            state: State::Renaming,
            entries: vec![Entry {
                target: "two".into(),
                staged: ".two.regshift-new".into(),
                old: blob_id(b"old 2\n"),
                delete,
            }],
        }
    }

    #[test]
    fn files_are_removed_and_created_in_the_same_transaction() {
        let t = tree();
        write_and_remove(
            t.path(),
            &[(PathBuf::from("a/three"), b"new 3\n".to_vec())],
            &[PathBuf::from("two")],
        )
        .expect("written");
        assert_eq!(walk(t.path()), ["a/one", "a/three"]);
        assert_eq!(read(t.path(), "a/three"), "new 3\n");
        // Killed after the commit point with the removal still to do: completed.
        std::fs::write(t.path().join("two"), "old 2\n").expect("put back");
        let j = renaming_two(true);
        save(&journal_path(t.path()), &j).expect("journal");
        let said = recover(t.path()).expect("recovered").expect("done");
        assert!(said.contains("1 of 1 files written now"), "{said}");
        assert_eq!(walk(t.path()), ["a/one", "a/three"]);
    }

    #[test]
    fn a_target_changed_since_is_not_overwritten() {
        let t = tree();
        let j = renaming_two(false);
        save(&journal_path(t.path()), &j).expect("journal");
        staged_as_a_kill_leaves_it(t.path(), "two", b"new 2\n");
        std::fs::write(t.path().join("two"), "the user's own\n").expect("edit");
        let e = recover(t.path()).expect_err("refused");
        assert!(
            e.to_string()
                .contains("changed since an interrupted `apply`"),
            "{e}"
        );
        assert_eq!(read(t.path(), "two"), "the user's own\n");
    }
}
