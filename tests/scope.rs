//! Scope (issue 13.5, SPEC §5): `-C` is searched upward for the tree's root; a directory that is
//! not an Ansible tree, or a migration whose hosts occur nowhere and whose rules match nothing,
//! is exit 2 with a message that says so; a `from` host that occurs nowhere is a warning.

mod common;

use std::path::Path;

use common::{copy_tree, regshift, repo_path};

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

const COMMANDS: [&str; 5] = ["plan", "apply", "audit", "check", "verify"];

#[test]
fn a_subdirectory_runs_on_the_whole_tree() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let root = regshift(&["plan", "-C", arg(tree.path()), "--format", "json"]);
    let sub = tree.path().join("roles/koji_builder/tasks");
    let below = regshift(&["plan", "-C", arg(&sub), "--format", "json"]);
    assert_eq!(root.code, 1, "{}", root.stderr);
    assert_eq!(below.stdout, root.stdout, "the same plan from below");
}

#[test]
fn a_directory_that_is_no_ansible_tree_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    common::write(
        dir.path(),
        "notes/readme.md",
        "candidate-registry.fedoraproject.org\n",
    );
    for command in COMMANDS {
        let run = regshift(&[command, "-C", arg(&dir.path().join("notes"))]);
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            run.stderr.contains("is not an Ansible tree")
                && run.stderr.contains("Is this the repository root?"),
            "{command}: {}",
            run.stderr
        );
    }
}

#[test]
fn rules_commands_need_no_tree() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = regshift(&["rules", "list", "-C", arg(dir.path())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("login-registry-params"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_migration_whose_hosts_occur_nowhere_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    common::write(
        dir.path(),
        "inventory/inventory",
        "[web]\nweb01.example.org\n",
    );
    common::write(
        dir.path(),
        "playbooks/web.yml",
        "- hosts: web\n  roles: [nginx]\n",
    );
    for command in ["plan", "apply", "audit", "check"] {
        let run = regshift(&[command, "-C", arg(dir.path())]);
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            run.stderr.contains("no host of the migration")
                && run.stderr.contains("is this the repository root"),
            "{command}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_from_host_that_occurs_nowhere_is_a_warning() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let migration = common::migration_beside(
        tree.path(),
        "version: 1\nunclaimed: report\nenvironments:\n  production:\n    registries:\n      main: {from: candidate-registry.fedoraproject.org, to: quay.io/x}\n      typo: {from: registyr.example.org, to: quay.io/y}\n",
    );
    for command in ["audit", "check"] {
        let run = regshift(&[
            command,
            "-C",
            arg(tree.path()),
            "--migration",
            arg(&migration),
        ]);
        assert_ne!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("warning: `registyr.example.org` occurs nowhere in the tree"),
            "{command}: {}",
            run.stderr
        );
    }
    let _ = std::fs::remove_file(migration);
}
