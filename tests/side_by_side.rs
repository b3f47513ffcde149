//! `--mode side-by-side` then `--mode cutover` (issue 14.5, SPEC §7.5) on both corpora: side by
//! side, staging first, adds the new registry beside the old where a target can hold two (the
//! login-registry uses, the image uploader's tables) and leaves the single-valued targets
//! (koji's flatpak.conf, Bodhi) on the old registry with a note; a second run changes nothing;
//! cutover afterwards ends byte for byte where cutover alone does.

mod common;

use std::path::Path;

use common::{regshift_in as run, succeeds_in as ok};

fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    common::snapshot_bytes(root)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(".git/"))
        .collect()
}

fn side_by_side_then_cutover(root: &Path, alone: &Path) {
    let staged = ok(
        root,
        &["apply", "--mode", "side-by-side", "--env", "staging"],
    );
    assert!(
        staged.stderr.contains("needs a mirror until cut-over")
            && staged.stderr.contains("koji-flatpak-registry"),
        "{}",
        staged.stderr
    );
    ok(
        root,
        &["check", "--mode", "side-by-side", "--env", "staging"],
    );
    ok(root, &["apply", "--mode", "side-by-side"]);
    assert_eq!(
        run(root, &["plan", "--mode", "side-by-side"]).code,
        0,
        "side by side is idempotent"
    );
    let buildvm = std::fs::read_to_string(root.join("playbooks/groups/buildvm.yml")).expect("read");
    assert!(
        buildvm.contains("candidate_registry: \"candidate-registry.fedoraproject.org\"")
            && buildvm.contains("candidate_registry: \"quay.io\""),
        "the old login stays and the new one is added beside it"
    );
    ok(root, &["apply"]);
    assert_eq!(run(root, &["plan"]).code, 0);
    ok(alone, &["apply"]);
    assert!(
        files(root) == files(alone),
        "side by side then cutover == cutover alone"
    );
}

fn both(corpus: fn() -> Option<(tempfile::TempDir, std::path::PathBuf)>) {
    let (Some((_a, root)), Some((_b, alone))) = (corpus(), corpus()) else {
        return;
    };
    side_by_side_then_cutover(&root, &alone);
}

#[test]
fn side_by_side_then_cutover_on_the_2023_tree() {
    both(common::corpus);
}

#[test]
fn side_by_side_then_cutover_on_the_2025_tree() {
    both(common::corpus_2025);
}

#[test]
fn side_by_side_is_step_two_only() {
    let r = common::regshift(&[
        "plan",
        "--mode",
        "side-by-side",
        "--step",
        "3",
        "-C",
        "fixtures/fedora-mini",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("`--mode side-by-side` is step 2's"),
        "{}",
        r.stderr
    );
}
