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

/// How Ansible reads a file as data, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Yaml,
    Json,
}

/// The data format of the file named `path`: JSON, YAML (`.yml`, `.yaml`, or no extension, as
/// group and host variables are), or `None` (a script, a document, a template of another kind).
/// Whether `path` names a YAML file by its extension (playbooks, task files, role vars).
pub fn is_yaml_file(path: &str) -> bool {
    path.ends_with(".yml") || path.ends_with(".yaml")
}

pub fn data_format(path: &str) -> Option<DataFormat> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("json") => Some(DataFormat::Json),
        Some("yml" | "yaml") | None => Some(DataFormat::Yaml),
        Some(_) => None,
    }
}

/// `text` (and its Jinja-masked `masked`) parsed as `format`; `None` when it does not parse.
pub fn parse_data(
    format: DataFormat,
    path: &str,
    text: &str,
    masked: &str,
) -> Option<Vec<tree::Node>> {
    let p = std::path::Path::new(path);
    match format {
        DataFormat::Json => json::parse(p, text, masked).ok().map(|d| vec![d]),
        DataFormat::Yaml => yaml::parse(p, text, masked).ok(),
    }
}
