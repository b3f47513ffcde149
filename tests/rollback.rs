//! `regshift rollback` (issue 14.6) on both corpora: after each step applied with `--commit`
//! (staging, then production), rolling back returns `git diff` to empty against the starting
//! commit; a later commit changing the same lines refuses the rollback, naming it, and nothing
//! is written.

mod common;

use std::path::Path;

use common::regshift_in as run;

fn ok(root: &Path, args: &[&str]) -> String {
    common::succeeds_in(root, args).stdout
}

use common::identity;

/// Applies `step` staging first then production, with commits, and rolls it back.
fn round_trip(root: &Path, step: &str) {
    let start = common::git(root, &["rev-parse", "HEAD"]);
    ok(
        root,
        &["apply", "--commit", "--step", step, "--env", "staging"],
    );
    ok(
        root,
        &["apply", "--commit", "--step", step, "--env", "production"],
    );
    assert_ne!(
        common::git(root, &["diff", start.trim()]),
        "",
        "step {step} changed the tree"
    );
    // Staging cannot go back alone while production's commits sit on the same lines (step 3:
    // production turns the switch on in the line staging's commit added).
    let rolled = ok(root, &["rollback", "--step", step, "--env", "production"]);
    assert!(rolled.contains("reverted "), "{rolled}");
    let rolled = ok(root, &["rollback", "--step", step, "--env", "staging"]);
    assert!(rolled.contains("reverted "), "{rolled}");
    assert_eq!(
        common::git(root, &["diff", start.trim()]),
        "",
        "step {step}: the rollback gives the starting tree back"
    );
    assert_eq!(common::git(root, &["status", "--porcelain"]), "");
    let again = ok(root, &["rollback", "--step", step]);
    assert!(again.contains("no commit of regshift's"), "{again}");
}

fn corpus_round_trips(root: &Path) {
    identity(root);
    round_trip(root, "3");
    round_trip(root, "2");
}

#[test]
fn rollback_after_each_step_restores_the_2023_tree() {
    let Some((_dir, root)) = common::corpus() else {
        return;
    };
    corpus_round_trips(&root);
}

#[test]
fn rollback_after_each_step_restores_the_2025_tree() {
    let Some((_dir, root)) = common::corpus_2025() else {
        return;
    };
    corpus_round_trips(&root);
}

#[test]
fn a_later_commit_on_the_same_lines_refuses_the_rollback_and_names_it() {
    let tree = common::copy_tree(&common::repo_path("fixtures/fedora-mini"));
    let root = tree.path();
    common::commit_all(root, "mini");
    identity(root);
    ok(root, &["apply", "--commit"]);
    // Someone edits a line regshift's commit wrote.
    let file = root.join("roles/koji_builder/tasks/main.yml");
    let text = std::fs::read_to_string(&file).expect("read");
    let changed = text.replacen("quay.io/fedora-candidate", "quay.io/fedora-other", 1);
    assert_ne!(
        changed, text,
        "the mini tree's koji task names the new registry"
    );
    std::fs::write(&file, &changed).expect("write");
    common::git(root, &["commit", "-qam", "Point koji elsewhere"]);
    let before = common::snapshot_bytes(root);
    let refused = run(root, &["rollback", "--step", "2"]);
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("Point koji elsewhere")
            && refused.stderr.contains("roles/koji_builder/tasks/main.yml"),
        "{}",
        refused.stderr
    );
    assert_eq!(common::snapshot_bytes(root), before, "nothing written");
    // A dirty tree is refused too.
    std::fs::write(root.join("stray"), "x").expect("write");
    let dirty = run(root, &["rollback"]);
    assert_eq!(dirty.code, 2);
    assert!(
        dirty.stderr.contains("uncommitted changes"),
        "{}",
        dirty.stderr
    );
}
