//! Errors that stop a run, each naming where the bad input is.
//!
//! Every error maps to exit code 2 (SPEC §5), but an interruption (130, as shells report SIGINT). Input errors carry the file, a 1-based line and a
//! 1-based column counted in characters, so an editor can jump to them.

use std::path::{Path, PathBuf};

/// A position in a text file: 1-based line and 1-based column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text and to a char boundary).
    pub fn of(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Bad input at a known place: a migration file, a rule file or a target file.
    #[error("{}:{}:{}: {message}", path.display(), at.line, at.column)]
    At {
        path: PathBuf,
        at: Position,
        message: String,
    },
    /// Bad input where no position applies (a missing file, a whole-file problem).
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A command-line request this version cannot carry out.
    #[error("{0}")]
    Usage(String),
    /// A signal stopped a write before its commit point: every file is as it was.
    #[error("interrupted; nothing was written")]
    Interrupted,
    /// The proof of planned edits failed (the failures, one per line); nothing was written.
    #[error("{0}the proof of the planned edits failed; nothing was written")]
    Proof(String),
}

impl Error {
    pub fn at(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> Error {
        Error::At {
            path: path.to_path_buf(),
            at: Position::of(text, offset),
            message: message.into(),
        }
    }

    pub fn file(path: &Path, message: impl Into<String>) -> Error {
        Error::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters() {
        let text = "ab\nçd\n";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of(text, 3), Position { line: 2, column: 1 });
        // 'ç' is two bytes: byte 5 is the 'd', the second character of line 2.
        assert_eq!(Position::of(text, 5), Position { line: 2, column: 2 });
    }
}
