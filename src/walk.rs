//! The tree (SPEC §2): every file under the root that git does not ignore, tracked or not,
//! `.git/` excluded. One parallel walk (ripgrep's `ignore` walker); symlinks are listed, never
//! followed; binary and non-UTF-8 files are skipped with a note.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::{WalkBuilder, WalkState};

use crate::error::{Error, Result};

/// The files of a tree, as sorted `/`-separated paths relative to the root.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub root: PathBuf,
    pub files: Vec<String>,
    pub symlinks: Vec<String>,
}

/// The tree's text as it would be after some planned edits: files in `overlay` read as their new
/// text, everything else from disk. Rendering and proofs read through it, so `apply` proves the
/// result before writing anything.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub root: PathBuf,
    pub files: Vec<String>,
    pub overlay: std::collections::BTreeMap<String, String>,
    /// Files the planned edits remove: absent from this view.
    pub gone: std::collections::BTreeSet<String>,
    /// Texts another reader already has (`audit`'s scan hands over the task files and
    /// playbooks the template index will read), each read once more at most from disk.
    pub handed: Arc<Handed>,
    /// Read from `HEAD`'s objects instead of the disk (a proof's baseline).
    pub head: Option<Arc<crate::git::HeadTree>>,
    /// Files that exist but could not be read (permissions, I/O): a run that needed one fails
    /// naming it ([`View::check_reads`]) instead of taking it for absent.
    pub unreadable: Arc<Mutex<Vec<(String, String)>>>,
}

/// Texts handed over between readers of one tree, taken by the first read.
#[derive(Debug, Default)]
pub struct Handed(Mutex<std::collections::BTreeMap<String, String>>);

impl Handed {
    pub fn put(&self, rel: &str, text: &str) {
        if let Ok(mut texts) = self.0.lock() {
            texts.insert(rel.to_string(), text.to_string());
        }
    }

    fn take(&self, rel: &str) -> Option<String> {
        self.0.lock().ok()?.remove(rel)
    }
}

impl View {
    pub fn of(tree: &Tree) -> View {
        View {
            root: tree.root.clone(),
            files: tree.files.clone(),
            overlay: Default::default(),
            gone: Default::default(),
            handed: Arc::default(),
            head: None,
            unreadable: Arc::default(),
        }
    }

    /// The tree at `root` as `HEAD` has it, each file read from git's objects when asked.
    pub fn of_head(root: &Path, head: crate::git::HeadTree) -> View {
        View {
            root: root.to_path_buf(),
            files: head.files(),
            overlay: Default::default(),
            gone: Default::default(),
            handed: Arc::default(),
            head: Some(Arc::new(head)),
            unreadable: Arc::default(),
        }
    }

    /// This view with planned texts laid over it: `Some(text)` a file's new text, `None` a
    /// file removed.
    pub fn with_planned(
        mut self,
        planned: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> View {
        for (path, text) in planned {
            match text {
                Some(text) => {
                    self.overlay.insert(path, text);
                }
                None => {
                    self.files.retain(|f| *f != path);
                    self.gone.insert(path);
                }
            }
        }
        self
    }

    /// The text of `rel` (`None`: absent, a symlink, binary or not UTF-8, or a path that
    /// leaves the tree).
    pub fn read(&self, rel: &str) -> Option<String> {
        if !inside(rel) || self.gone.contains(rel) {
            return None;
        }
        if let Some(text) = self.overlay.get(rel) {
            return Some(text.clone());
        }
        if let Some(text) = self.handed.take(rel) {
            return Some(text);
        }
        if let Some(head) = &self.head {
            return decode(head.read(rel)?).ok().map(|f| f.text);
        }
        let path = self.root.join(rel);
        // The walk listed regular files only; any other path may be a symlink or a directory.
        let walked = self.files.binary_search_by(|f| f.as_str().cmp(rel)).is_ok();
        if !walked {
            let meta = std::fs::symlink_metadata(&path).map_err(|e| self.failed(rel, e));
            if !meta.ok()?.file_type().is_file() {
                return None;
            }
        }
        let bytes = read_bytes(&path).map_err(|e| self.failed(rel, e)).ok()?;
        decode(bytes).ok().map(|f| f.text)
    }

    /// Records a read that failed for another reason than absence.
    fn failed(&self, rel: &str, e: std::io::Error) {
        if e.kind() != std::io::ErrorKind::NotFound
            && let Ok(mut list) = self.unreadable.lock()
        {
            list.push((rel.to_string(), e.to_string()));
        }
    }

    /// Fails, naming the file, when a file this run read could not be read: it was not absent,
    /// and taking it for absent would change the result silently.
    pub fn check_reads(&self) -> Result<()> {
        let list = self.unreadable.lock().map(|l| l.first().cloned());
        match list.ok().flatten() {
            Some((rel, e)) => Err(Error::file(Path::new(&rel), format!("cannot read: {e}"))),
            None => Ok(()),
        }
    }

    pub fn exists(&self, rel: &str) -> bool {
        if !inside(rel) || self.gone.contains(rel) {
            return false;
        }
        if let Some(head) = &self.head {
            return self.overlay.contains_key(rel) || head.contains(rel);
        }
        self.overlay.contains_key(rel)
            || std::fs::symlink_metadata(self.root.join(rel)).is_ok_and(|m| m.file_type().is_file())
    }
}

/// Whether `rel` names something under the tree's root: a relative path of plain components
/// (no root, no `..`), so that joining it to the root cannot leave the tree.
pub fn inside(rel: &str) -> bool {
    !rel.is_empty()
        && Path::new(rel).components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

/// A text file's contents, its byte-order mark set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileText {
    pub text: String,
    pub bom: bool,
}

impl FileText {
    /// The file's bytes with `text` as its new contents (the BOM kept).
    pub fn bytes_with(&self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() + 3);
        if self.bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// Length of the BOM, to turn text offsets into file offsets.
    pub fn bom_len(&self) -> usize {
        if self.bom { 3 } else { 0 }
    }
}

/// Why a file was not read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Binary,
    NotUtf8,
}

impl Tree {
    pub fn walk(root: &Path) -> Result<Tree> {
        if !root.is_dir() {
            return Err(Error::file(root, "not a directory"));
        }
        let found = Mutex::new((Vec::new(), Vec::new()));
        // A directory or file the walk cannot read would silently shrink the tree.
        let failed: Mutex<Option<ignore::Error>> = Mutex::default();
        WalkBuilder::new(root)
            .hidden(false)
            .ignore(false)
            .parents(false)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build_parallel()
            .run(|| {
                let found = &found;
                let failed = &failed;
                Box::new(move |entry| {
                    let entry = match entry {
                        Ok(entry) => entry,
                        // Only I/O errors: git too passes over a `.gitignore` line it cannot read.
                        Err(e) if e.io_error().is_some() => {
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(e);
                            }
                            return WalkState::Quit;
                        }
                        Err(_) => return WalkState::Continue,
                    };
                    let Some(kind) = entry.file_type() else {
                        return WalkState::Continue;
                    };
                    let Ok(rel) = entry.path().strip_prefix(root) else {
                        return WalkState::Continue;
                    };
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    if let Ok(mut f) = found.lock() {
                        if kind.is_symlink() {
                            f.1.push(rel);
                        } else if kind.is_file() {
                            f.0.push(rel);
                        }
                    }
                    WalkState::Continue
                })
            });
        if let Some(e) = failed.into_inner().ok().flatten() {
            return Err(walk_error(root, e));
        }
        let (mut files, mut symlinks) = found.into_inner().unwrap_or_default();
        files.sort();
        symlinks.sort();
        Ok(Tree {
            root: root.to_path_buf(),
            files,
            symlinks,
        })
    }

    /// Reads `rel` as text.
    pub fn read(&self, rel: &str) -> Result<std::result::Result<FileText, Skip>> {
        let path = self.root.join(rel);
        let bytes = read_bytes(&path)
            .map_err(|e| Error::file(Path::new(rel), format!("cannot read: {e}")))?;
        Ok(decode(bytes))
    }
}

/// A walk error as a located one: the path (relative to the root) and what went wrong.
fn walk_error(root: &Path, e: ignore::Error) -> Error {
    match e {
        ignore::Error::WithPath { path, err } => {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let rel = if rel.as_os_str().is_empty() {
                path
            } else {
                rel
            };
            Error::file(&rel, format!("cannot read: {err}"))
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error(root, *err)
        }
        other => Error::file(root, format!("cannot read: {other}")),
    }
}

/// A file's bytes. Unlike `std::fs::read` it does not ask the file's size first: most files of
/// a configuration tree fit the first buffer, and on a tree of thousands of small files the
/// saved `statx` per file is a tenth of the scan's system time.
fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(16 * 1024);
    // Through `take`, the generic loop: the one for `File` asks the size (`statx`, `lseek`).
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_end(&mut bytes)?;
    // Texts the template index keeps would each hold 16 KiB; the allocator shrinks in place.
    bytes.shrink_to_fit();
    Ok(bytes)
}

/// A file is binary when it holds a NUL byte in its first 8 KiB (as git and ripgrep decide).
pub fn decode(bytes: Vec<u8>) -> std::result::Result<FileText, Skip> {
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(Skip::Binary);
    }
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest.to_vec()),
        None => (false, bytes),
    };
    String::from_utf8(body)
        .map(|text| FileText { text, bom })
        .map_err(|_| Skip::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handed_text_is_read_once_then_the_disk_again() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("a.yml"), "disk\n").expect("write");
        let view = View {
            root: dir.path().to_path_buf(),
            ..View::default()
        };
        view.handed.put("a.yml", "handed\n");
        assert_eq!(view.read("a.yml").as_deref(), Some("handed\n"));
        assert_eq!(view.read("a.yml").as_deref(), Some("disk\n"));
    }

    #[test]
    fn walks_without_following_symlinks_or_ignored_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        std::fs::write(root.join("a/b/c.yml"), "x").expect("write");
        std::fs::write(root.join(".git/config"), "x").expect("write");
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").expect("write");
        std::fs::write(root.join("ignored.txt"), "x").expect("write");
        std::os::unix::fs::symlink("/etc", root.join("out")).expect("symlink");
        let tree = Tree::walk(root).expect("walk");
        assert_eq!(tree.files, [".gitignore", "a/b/c.yml"]);
        assert_eq!(tree.symlinks, ["out"]);
    }

    #[test]
    fn decode_sets_bom_aside_and_skips_binary() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFa".to_vec()),
            Ok(FileText {
                text: "a".into(),
                bom: true
            })
        );
        assert_eq!(decode(b"a\0b".to_vec()), Err(Skip::Binary));
        assert_eq!(decode(b"a\xFFb".to_vec()), Err(Skip::NotUtf8));
    }
}
