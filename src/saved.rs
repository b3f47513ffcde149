//! Saved plans (SPEC §5, issue 15.1; Terraform's `plan -out`): `plan --out FILE` records what
//! was planned and everything it was planned from — the step, environments and mode, digests of
//! the migration and the rules, every file of the tree with the git blob id of its bytes, the
//! tool's version — and the edits. `apply FILE` applies exactly that plan: it refuses (exit 2,
//! naming them) when any of those changed, and when planning again does not give the same edits.
//!
//! The file is readable JSON with `format_version`. Edits are recorded by place, rule and the
//! blob ids of their old and new text, with the text itself shown as displays show it (a secret
//! is `<redacted>`): the file holds no secret.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::{Edit, Mode, Plan};
use crate::walk::Tree;

/// The version of the saved-plan format.
pub const FORMAT_VERSION: u32 = 1;

/// One planned edit, as a saved plan records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SavedEdit {
    pub file: String,
    pub start: usize,
    pub end: usize,
    pub rule: String,
    /// Blob ids of the old and new text.
    pub old_id: String,
    pub new_id: String,
    /// The texts as displays show them (for people; never compared).
    pub old: String,
    pub new: String,
}

/// A saved plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub tool: String,
    pub step: u8,
    pub environments: Vec<String>,
    pub mode: String,
    pub migration: String,
    pub rules: String,
    /// Every file of the tree: its blob id.
    pub files: BTreeMap<String, String>,
    pub edits: Vec<SavedEdit>,
}

/// What a plan was made from, besides the tree.
pub struct Inputs<'a> {
    pub step: u8,
    pub environments: Vec<String>,
    pub mode: Mode,
    pub migration_text: &'a str,
    pub rules: &'a crate::rules::RuleSet,
}

/// The git blob id of `bytes` (what `git hash-object` prints).
pub fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map_or_else(|_| String::new(), |o| o.to_string())
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Cutover => "cutover",
        Mode::SideBySide => "side-by-side",
    }
}

/// The mode a saved plan names.
pub fn mode_named(name: &str) -> Option<Mode> {
    match name {
        "cutover" => Some(Mode::Cutover),
        "side-by-side" => Some(Mode::SideBySide),
        _ => None,
    }
}

/// A digest of the rules (id and text, by id).
fn rules_digest(rules: &crate::rules::RuleSet) -> String {
    let mut all: Vec<(&str, &str)> = rules
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.text.as_str()))
        .collect();
    all.sort_unstable();
    let joined: String = all
        .iter()
        .map(|(id, text)| format!("{id}\n{text}\n\u{0}"))
        .collect();
    blob_id(joined.as_bytes())
}

/// Every file of the tree with its blob id.
fn file_ids(tree: &Tree) -> BTreeMap<String, String> {
    let ids = crate::parallel::map(&tree.files, |f| {
        std::fs::read(tree.root.join(f))
            .ok()
            .map(|b| (f.clone(), blob_id(&b)))
    });
    ids.into_iter().flatten().collect()
}

/// The edits as a saved plan records them, sorted.
pub fn saved_edits(plan: &Plan) -> Vec<SavedEdit> {
    let mut out: Vec<SavedEdit> = plan
        .edits
        .iter()
        .map(|e: &Edit| SavedEdit {
            file: e.path.clone(),
            start: e.range.start,
            end: e.range.end,
            rule: e.rule.clone(),
            old_id: blob_id(e.old.as_bytes()),
            new_id: blob_id(e.new.as_bytes()),
            old: e.shown(&e.old).to_string(),
            new: e.shown(&e.new).to_string(),
        })
        .collect();
    out.sort();
    out
}

/// The saved plan of `plan`, made from `inputs` over `tree`.
pub fn save(tree: &Tree, plan: &Plan, inputs: &Inputs<'_>) -> SavedPlan {
    SavedPlan {
        format_version: FORMAT_VERSION,
        tool: format!("regshift {}", env!("CARGO_PKG_VERSION")),
        step: inputs.step,
        environments: inputs.environments.clone(),
        mode: mode_name(inputs.mode).to_string(),
        migration: blob_id(inputs.migration_text.as_bytes()),
        rules: rules_digest(inputs.rules),
        files: file_ids(tree),
        edits: saved_edits(plan),
    }
}

/// Writes `saved` to `path` as pretty JSON.
pub fn write(path: &Path, saved: &SavedPlan) -> Result<()> {
    let text = serde_json::to_string_pretty(saved).map_err(|e| Error::Usage(e.to_string()))?;
    std::fs::write(path, format!("{text}\n"))
        .map_err(|e| Error::file(path, format!("cannot write: {e}")))
}

/// Reads a saved plan.
pub fn read(path: &Path) -> Result<SavedPlan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| Error::At {
        path: path.to_path_buf(),
        at: crate::error::Position {
            line: e.line(),
            column: e.column(),
        },
        message: format!("not a saved plan: {e}"),
    })?;
    if saved.format_version != FORMAT_VERSION {
        return Err(Error::file(
            path,
            format!(
                "a saved plan of format {} (this regshift reads {FORMAT_VERSION})",
                saved.format_version
            ),
        ));
    }
    Ok(saved)
}

/// Refuses a saved plan whose inputs are not today's: another regshift, migration or rules,
/// or a file of the tree changed, added or gone (named, the first ten).
pub fn check_inputs(
    path: &Path,
    saved: &SavedPlan,
    tree: &Tree,
    inputs: &Inputs<'_>,
) -> Result<()> {
    let tool = format!("regshift {}", env!("CARGO_PKG_VERSION"));
    let stale = |what: String| Err(Error::file(path, format!("stale plan: {what}; plan again")));
    if saved.tool != tool {
        return stale(format!("made by {}, this is {tool}", saved.tool));
    }
    if saved.migration != blob_id(inputs.migration_text.as_bytes()) {
        return stale("the migration file is not the one it was made with".into());
    }
    if saved.rules != rules_digest(inputs.rules) {
        return stale("the rules are not the ones it was made with".into());
    }
    let now = file_ids(tree);
    let mut changed: Vec<&str> = saved
        .files
        .iter()
        .filter(|(f, id)| now.get(*f) != Some(*id))
        .map(|(f, _)| f.as_str())
        .chain(
            now.keys()
                .filter(|f| !saved.files.contains_key(*f))
                .map(String::as_str),
        )
        .collect();
    changed.sort_unstable();
    changed.dedup();
    if !changed.is_empty() {
        let more = changed.len().saturating_sub(10);
        let shown = changed
            .iter()
            .take(10)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return stale(format!("files changed since: {shown}{more}"));
    }
    Ok(())
}

/// Refuses when planning again gave other edits than the saved ones.
pub fn check_edits(path: &Path, saved: &SavedPlan, plan: &Plan) -> Result<()> {
    if saved_edits(plan) != saved.edits {
        return Err(Error::file(
            path,
            "planning again gives other edits than the saved plan (the rules or the tree \
             differ in a way the digests did not catch); plan again",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jinja::Envs;

    fn plan(new: &str) -> Plan {
        let mut plan = Plan::default();
        plan.edits = vec![Edit {
            path: "a.yml".into(),
            range: 3..6,
            old: "old".into(),
            new: new.into(),
            rule: "r".into(),
            envs: Envs::ALL,
            context: None,
            secret: true,
            target: None,
        }];
        plan
    }

    #[test]
    fn edits_are_compared_by_digest_and_no_secret_is_recorded() {
        let saved = saved_edits(&plan("s3cr3t"));
        assert_eq!(
            saved[0].new,
            crate::redact::REDACTED,
            "a secret is not written down"
        );
        assert_eq!(saved[0].new_id, blob_id(b"s3cr3t"));
        let file = SavedPlan {
            format_version: FORMAT_VERSION,
            tool: String::new(),
            step: 2,
            environments: Vec::new(),
            mode: "cutover".into(),
            migration: String::new(),
            rules: String::new(),
            files: BTreeMap::new(),
            edits: saved,
        };
        let path = Path::new("p.json");
        assert!(check_edits(path, &file, &plan("s3cr3t")).is_ok());
        let other = check_edits(path, &file, &plan("other")).expect_err("another value");
        assert!(
            other
                .to_string()
                .contains("other edits than the saved plan"),
            "{other}"
        );
        assert_eq!(mode_named("side-by-side"), Some(Mode::SideBySide));
        assert_eq!(mode_named("sideways"), None);
    }
}
