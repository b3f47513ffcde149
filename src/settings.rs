//! `.regshift.yaml` at the repository's root (SPEC §5): the settings a tree's CI and pre-commit
//! hook would otherwise pass as flags — `migration`, `rules`, `env`, `step`, `mode`. Flags win.
//! Paths are relative to the root; an unknown key or a bad value is a located error.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The file's name, at the root the upward search finds.
pub const FILE: &str = ".regshift.yaml";

/// The settings a tree carries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub migration: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub env: Option<String>,
    /// `1`–`4` or `all`.
    pub step: Option<StepSetting>,
    /// `cutover` or `side-by-side`.
    pub mode: Option<String>,
}

/// A step as YAML writes it: a number or `all`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StepSetting {
    Number(u8),
    Word(String),
}

impl StepSetting {
    /// As the command line writes it.
    pub fn as_flag(&self) -> String {
        match self {
            StepSetting::Number(n) => n.to_string(),
            StepSetting::Word(w) => w.clone(),
        }
    }
}

/// The settings of the tree at `root` (none without the file), paths made relative to the
/// working directory.
pub fn load(root: &Path) -> Result<Settings> {
    let path = root.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(e) => return Err(Error::file(&path, format!("cannot read: {e}"))),
    };
    let mut settings: Settings = serde_saphyr::from_str(&text)
        .map_err(|e| crate::migration::yaml_error(&path, &text, &e))?;
    settings.migration = settings.migration.map(|p| root.join(p));
    settings.rules = settings.rules.map(|p| root.join(p));
    Ok(settings)
}
