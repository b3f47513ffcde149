//! Byte splices and atomic writes. This module knows no formats: an edit is a byte range and the
//! text that replaces it, applied literally.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Replaces `range` of a text with `text` (an insertion when the range is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub range: Range<usize>,
    pub text: String,
}

/// Two splices that touch the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: Range<usize>,
    pub second: Range<usize>,
}

/// Applies `splices` to `text`. They may come in any order; overlapping ones are refused, and
/// two insertions at one offset are refused too (their order would be a guess).
pub fn apply(text: &str, splices: &[Splice]) -> Result<String, Overlap> {
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| (s.range.start, s.range.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut prev: Option<&Range<usize>> = None;
    for s in sorted {
        if let Some(p) = prev {
            let touches = s.range.start < p.end
                || (s.range.start == p.start && (s.range.is_empty() || p.is_empty()));
            if touches {
                return Err(Overlap {
                    first: p.clone(),
                    second: s.range.clone(),
                });
            }
        }
        debug_assert!(s.range.start <= s.range.end && s.range.end <= text.len());
        out.push_str(&text[pos..s.range.start]);
        out.push_str(&s.text);
        pos = s.range.end;
        prev = Some(&s.range);
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

/// Writes every `(path, bytes)` through a temporary file beside it, then renames them all: a
/// failure while preparing leaves every file untouched, and the renames come last. Each file keeps
/// its permissions.
pub fn write_all_atomic(files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        staged.push((stage(path, bytes).map_err(|e| with_path(path, e))?, path));
    }
    for (tmp, path) in staged {
        tmp.persist(path).map_err(|e| with_path(path, e.error))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`write_all_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_all_atomic(&[(path.to_path_buf(), bytes.to_vec())])
}

fn stage(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::MetadataExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let meta = std::fs::metadata(path)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    std::fs::set_permissions(tmp.path(), meta.permissions())?;
    // The new file keeps the old one's owner and group where this process may give them (root,
    // or a group the user belongs to); otherwise it belongs to the user running regshift, as
    // any editor's save would (README, "Writing files").
    let file = tmp.as_file();
    if std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(meta.gid()));
    }
    Ok(tmp)
}

fn with_path(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn splice(range: Range<usize>, text: &str) -> Splice {
        Splice {
            range,
            text: text.to_string(),
        }
    }

    #[test]
    fn applies_in_any_order() {
        let out = apply(
            "abcdef",
            &[splice(4..5, "E"), splice(0..1, "A"), splice(2..2, "+")],
        )
        .expect("ok");
        assert_eq!(out, "Ab+cdEf");
    }

    #[test]
    fn refuses_overlaps() {
        assert!(apply("abcdef", &[splice(0..3, "x"), splice(2..4, "y")]).is_err());
        assert!(apply("abcdef", &[splice(2..2, "x"), splice(2..2, "y")]).is_err());
        assert!(apply("abcdef", &[splice(0..2, "x"), splice(2..4, "y")]).is_ok());
    }

    #[test]
    fn keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f");
        std::fs::write(&path, "a").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        write_atomic(&path, b"b").expect("atomic");
        assert_eq!(std::fs::read(&path).expect("read"), b"b");
        assert_eq!(
            std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o640
        );
    }

    proptest! {
        /// Bytes outside the splices are identical, in order, and each splice's text sits where
        /// its range was.
        #[test]
        fn bytes_outside_splices_stay(text in "[a-z\\n]{0,60}", cuts in proptest::collection::vec((0usize..60, 0usize..4, "[A-Z]{0,3}"), 0..5)) {
            let mut splices: Vec<Splice> = Vec::new();
            for (start, len, new) in cuts {
                let start = start.min(text.len());
                let end = (start + len).min(text.len());
                let candidate = splice(start..end, &new);
                let clash = splices.iter().any(|s| candidate.range.start < s.range.end && s.range.start < candidate.range.end
                    || candidate.range.start == s.range.start);
                if !clash { splices.push(candidate); }
            }
            let out = apply(&text, &splices).expect("disjoint splices apply");
            let mut sorted = splices.clone();
            sorted.sort_by_key(|s| s.range.start);
            let mut expected = String::new();
            let mut pos = 0;
            for s in &sorted {
                prop_assert!(out.len() >= expected.len());
                expected.push_str(&text[pos..s.range.start]);
                expected.push_str(&s.text);
                pos = s.range.end;
            }
            expected.push_str(&text[pos..]);
            prop_assert_eq!(out, expected);
        }
    }
}
