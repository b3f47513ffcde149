//! Other migrations on both real trees (issue 11's acceptance): a registry without namespace
//! moves the registry root too; everything else holds as with the default.

mod common;

use std::path::Path;
use std::process::Command;

use common::{copy_tree, corpus, corpus_2025, git, python_oracle, repo_path, succeeds};

/// Runs a Python oracle script and asserts it passes.
fn oracle(script: &str, args: &[&Path]) {
    let Some(python) = python_oracle() else {
        return;
    };
    let out = Command::new(python)
        .arg(repo_path(script))
        .args(args)
        .output()
        .expect("the oracle runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{script} failed:\n{text}");
    assert!(text.contains(" 0 checks failed"), "{text}");
}

/// Applies `migration` and checks the result is proven, clean and complete.
fn apply_and_check(root: &Path, migration: &Path) {
    let dir = root.to_str().expect("utf-8 path");
    let m = migration.to_str().expect("utf-8 path");
    succeeds(&["apply", "-C", dir, "--migration", m, "--builtin-rules"]);
    let verify = succeeds(&["verify", "-C", dir, "--migration", m, "--builtin-rules"]);
    assert!(verify.stdout.ends_with(" 0 failed\n"), "{}", verify.stdout);
    let check = succeeds(&["check", "-C", dir, "--migration", m, "--builtin-rules"]);
    assert!(
        check.stdout.ends_with(common::CLEAN_CHECK),
        "{}",
        check.stdout
    );
    common::nothing_pending(&["-C", dir, "--migration", m, "--builtin-rules"]);
}

/// The registry-root lines the migration changed.
fn root_lines(root: &Path) -> Vec<String> {
    git(root, &["diff", "-U0"])
        .lines()
        .filter(|l| l.contains("public_url:") && !l.starts_with("@@"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_registry_without_namespace_moves_the_registry_root_on_both_trees() {
    let migration = repo_path("fixtures/migrations/no-namespace.yaml");
    // SPEC §7: public_url becomes https://<to>/ where its bytes are: the template itself (2023),
    // the file the template's macro includes (2025).
    let want = [
        "- public_url: https://registry.fedoraproject.org/",
        "+ public_url: https://registry.example.org/",
    ];
    if let Some((_dir, root)) = corpus() {
        let before = copy_tree(&root);
        apply_and_check(&root, &migration);
        assert_eq!(root_lines(&root), want);
        oracle(
            "tests/oracle/check_step2.py",
            &[before.path(), &root, &migration],
        );
    }
    if let Some((_dir, root)) = corpus_2025() {
        apply_and_check(&root, &migration);
        assert_eq!(root_lines(&root), want);
        let changed = git(&root, &["diff", "--name-only"]);
        assert!(
            changed.contains("flatpak-indexer/templates/config-registry_fedora.yaml"),
            "{changed}"
        );
        oracle("tests/oracle/check_uploader.py", &[&root, &migration]);
    }
}

#[test]
fn another_registry_with_a_port_and_other_names_on_the_2025_tree() {
    let Some((_dir, root)) = corpus_2025() else {
        return;
    };
    let migration = repo_path("fixtures/migrations/example-port.yaml");
    apply_and_check(&root, &migration);
    // A namespaced `to`: the registry root stays (SPEC §7), and nothing of the default leaks.
    assert!(root_lines(&root).is_empty());
    let added: Vec<String> = git(&root, &["diff", "-U0"])
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(str::to_string)
        .collect();
    assert!(!added.is_empty());
    // The default's registry and credential variables never appear as values (the tree's own
    // secret keys keep their names, `quay_io_username: "{{ example_stg_user }}"`).
    for line in &added {
        assert!(
            !line.contains("quay.io") && !line.contains("{{ quay_io"),
            "default leaked: {line}"
        );
    }
    oracle("tests/oracle/check_uploader.py", &[&root, &migration]);
}
