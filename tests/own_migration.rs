//! A migration file asks only for what a migration needs (issue 13.1, SPEC §3): one environment
//! is enough, labels and credentials are optional, Fedora's rules load only with Fedora's
//! migration (or `--builtin-rules`), a rule needing what the migration lacks is skipped with a
//! note, and step 1's checklist lists only what applies.

mod common;

use std::path::Path;

use common::{copy_tree, regshift, repo_path};

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// SPEC §3's one-environment migration, for Fedora's registries.
const ONE_LINE: &str = "version: 1\nenvironments:\n  production:\n    registries:\n      main: {from: candidate-registry.fedoraproject.org, to: quay.io/fedora-candidate}\n";

fn with_migration(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let migration = common::migration_beside(tree.path(), text);
    (tree, migration)
}

#[test]
fn a_one_environment_migration_without_labels_or_credentials_is_accepted() {
    let (tree, migration) = with_migration(ONE_LINE);
    let (dir, m) = (arg(tree.path()), arg(&migration));
    for command in ["plan", "audit", "check", "verify"] {
        let run = regshift(&[command, "-C", dir, "--migration", m]);
        assert_ne!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            !run.stderr.contains("rule `"),
            "{command}: Fedora's rules do not load with another migration: {}",
            run.stderr
        );
    }
    let _ = std::fs::remove_file(migration);
}

#[test]
fn builtin_rules_needing_what_the_migration_lacks_are_skipped_with_a_note() {
    let (tree, migration) = with_migration(ONE_LINE);
    let (dir, m) = (arg(tree.path()), arg(&migration));
    let run = regshift(&["plan", "-C", dir, "--migration", m, "--builtin-rules"]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    for said in [
        "rule `login-registry-params` skipped: it needs credentials, which environment `production` does not name",
        "rule `bodhi-container-registries` skipped: it needs registry label `stable`",
        "skipped: it needs environment `staging`, which the migration does not declare",
    ] {
        assert!(run.stderr.contains(said), "{said}:\n{}", run.stderr);
    }
    let _ = std::fs::remove_file(migration);
}

#[test]
fn step_one_lists_only_what_applies() {
    let (tree, migration) = with_migration(ONE_LINE);
    let (dir, m) = (arg(tree.path()), arg(&migration));
    let run = regshift(&["plan", "-C", dir, "--migration", m, "--step", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("create `quay.io/fedora-candidate`"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("robot account"), "{}", run.stdout);
    let fedora = regshift(&["plan", "-C", dir, "--step", "1"]);
    assert!(fedora.stdout.contains("robot account"), "{}", fedora.stdout);
    let _ = std::fs::remove_file(migration);
}
