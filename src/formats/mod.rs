//! Span-aware locators, one per file format. Each scans text (Jinja masked first) and returns
//! byte ranges into the original; none of them ever serialises a document.

pub mod ini;
pub mod jinja;
pub mod json;
pub mod toml;
pub mod tree;
pub mod yaml;

/// How deep objects, arrays, mappings and sequences may nest in a file regshift parses. Real
/// configuration nests a few dozen levels at most; every walk over a parsed tree (paths,
/// leaves, values, dropping it) recurses once per level, so a bound here keeps them all within
/// a thread's stack. Deeper input is a located error.
pub const MAX_NESTING: usize = 256;
