//! What a run works on (SPEC §5): `-C` is searched upward for the Ansible tree's root, as git
//! searches for its repository, and nothing to do is never success by accident — a directory
//! that is no Ansible tree, or a migration whose hosts occur nowhere and whose rules match
//! nothing, is an error that says so; a `from` host that occurs nowhere is a warning.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::find::Finder;
use crate::migration::Migration;
use crate::walk::Tree;

/// What makes a directory the root of an Ansible tree.
const MARKS: &[&str] = &[
    "inventory",
    "playbooks",
    "roles",
    "ansible.cfg",
    "group_vars",
];

/// Whether `dir` holds what an Ansible tree's root holds.
fn is_ansible_root(dir: &Path) -> bool {
    MARKS.iter().any(|m| dir.join(m).exists())
}

/// The root of the Ansible tree `dir` is in: `dir` itself or the nearest directory above it
/// that holds an inventory, playbooks or roles, never above the git repository's root (a
/// directory holding `.git`).
pub fn root(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::file(dir, "not a directory"));
    }
    // An unreadable directory is said as such, not searched past.
    if let Err(e) = std::fs::read_dir(dir) {
        return Err(Error::file(dir, format!("cannot read: {e}")));
    }
    let start = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    for candidate in start.ancestors() {
        if is_ansible_root(candidate) {
            // The directory the user named keeps its spelling (messages show paths under it).
            return Ok(if candidate == start {
                dir.to_path_buf()
            } else {
                candidate.to_path_buf()
            });
        }
        if candidate.join(".git").exists() {
            break;
        }
    }
    Err(Error::Usage(format!(
        "{} is not an Ansible tree: no inventory, playbooks or roles in it or above it up to \
         the repository root. Is this the repository root? (-C DIR)",
        dir.display()
    )))
}

/// The migration's `from` hosts that no file of `tree` names literally, read in one parallel
/// pass (most files hold none of them: a literal search says so without the automaton).
pub fn absent_hosts(tree: &Tree, migration: &Migration) -> Vec<String> {
    let hosts = migration.from_hosts();
    let finder = Finder::new(&hosts);
    let found = crate::parallel::map(&tree.files, |path| match tree.read(path) {
        Ok(Ok(file)) => finder
            .find(&file.text)
            .into_iter()
            .map(|r| r.host)
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    let seen: std::collections::BTreeSet<String> = found.into_iter().flatten().collect();
    hosts.into_iter().filter(|h| !seen.contains(h)).collect()
}

/// A run that found nothing to look at: no `from` host anywhere and no rule matching anything.
pub fn nothing_here(dir: &Path, migration: &Migration) -> Error {
    Error::Usage(format!(
        "no host of the migration ({}) occurs in {}, and no rule matches anything there: is \
         this the repository root, and the right migration file?",
        migration.from_hosts().join(", "),
        dir.display()
    ))
}

/// The warning for `from` hosts that occur nowhere.
pub fn absent_warning(absent: &[String]) -> Option<String> {
    (!absent.is_empty()).then(|| {
        format!(
            "warning: {} occur{} nowhere in the tree (a typo in the migration file, or already moved?)",
            absent
                .iter()
                .map(|h| format!("`{h}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if absent.len() == 1 { "s" } else { "" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_found_upward_but_not_past_the_repository() {
        let dir = tempfile::tempdir().expect("tmp");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).expect("git");
        std::fs::create_dir_all(repo.join("ansible/roles/web/tasks")).expect("roles");
        let deep = repo.join("ansible/roles/web/tasks");
        let found = root(&deep).expect("found upward");
        let canonical = |p: &Path| std::fs::canonicalize(p).expect("canonical");
        assert_eq!(canonical(&found), canonical(&repo.join("ansible")));
        let elsewhere = repo.join("docs");
        std::fs::create_dir_all(&elsewhere).expect("docs");
        let e = root(&elsewhere).expect_err("not an Ansible tree");
        assert!(
            e.to_string().contains("Is this the repository root?"),
            "{e}"
        );
    }
}
