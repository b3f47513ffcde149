//! Span-aware locators, one per file format. Each scans text (Jinja masked first) and returns
//! byte ranges into the original; none of them ever serialises a document.

pub mod ini;
pub mod jinja;
pub mod json;
pub mod toml;
pub mod tree;
pub mod yaml;
