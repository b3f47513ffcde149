//! Issue 15.2: `apply --interactive` on a pseudo-terminal: each edit is shown with its rule and
//! answered y/n/a/q; the proof covers the accepted set and only it is written.

mod common;

use common::{copy_tree, on_terminal, regshift_in, repo_path};

#[test]
fn the_accepted_edits_are_proven_and_written_and_the_skipped_stay_pending() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let root = tree.path().to_str().expect("utf-8");
    // The fixture's 17 staging edits in file order: the first of osbs-dockercfg's three is
    // skipped and `a` takes the other two; osbs-reactor-registry yes; `a` at the first
    // login-registry edit takes all nine; osbs-auth-info-staging no; Bodhi's two yes; koji
    // quits. 2 + 1 + 9 + 2 = 14 accepted.
    let answers = "n\na\ny\na\nn\ny\ny\nq\n";
    let Some(run) = on_terminal(
        &["apply", "--interactive", "--env", "staging", "-C", root],
        answers,
        "",
    ) else {
        return;
    };
    let screen = &run.screen;
    assert_eq!(run.code, 0, "{screen}");
    assert!(
        screen.contains("[1/17] files/osbs/dockercfg-staging-secret.j2:1:12 [rule osbs-dockercfg]"),
        "{screen}"
    );
    // The hunk under the question is the file with that edit alone, as `plan` shows diffs.
    assert!(
        screen.contains("-      candidate_registry: \"candidate-registry.stg.fedoraproject.org\"\n+      candidate_registry: \"quay.io\"\n"),
        "{screen}"
    );
    // `a` answered for the rule: its later edits are not asked.
    assert!(!screen.contains("[3/17]"), "{screen}");
    assert!(!screen.contains("[6/17]"), "{screen}");
    assert!(screen.contains("accepted 14 of 17 edits"), "{screen}");
    // The progress line steps aside for the questions and comes back for the proof.
    let after = screen
        .split("accepted 14 of 17 edits")
        .nth(1)
        .unwrap_or_default();
    assert!(after.contains("proving 14 edits"), "{screen}");
    assert!(
        screen.contains("rule `koji-flatpak-registry`: 1 of 1 edits skipped"),
        "{screen}"
    );
    // What was skipped is exactly what is still pending.
    let pending = regshift_in(
        tree.path(),
        &["plan", "--env", "staging", "--format", "stat"],
    );
    assert_eq!(pending.code, 1, "{}", pending.stderr);
    let files: Vec<&str> = pending.stdout.lines().filter(|l| l.contains('|')).collect();
    assert_eq!(files.len(), 3, "{}", pending.stdout);
    for (file, rule) in [
        (
            "files/osbs/dockercfg-staging-secret.j2",
            "1 edit  (osbs-dockercfg)",
        ),
        (
            "playbooks/groups/osbs/setup-worker-namespace.yml",
            "1 edit  (osbs-auth-info-staging)",
        ),
        (
            "roles/koji_builder/tasks/main.yml",
            "1 edit  (koji-flatpak-registry)",
        ),
    ] {
        assert!(
            files.iter().any(|l| l.contains(file) && l.contains(rule)),
            "{file}: {}",
            pending.stdout
        );
    }
}

#[test]
fn a_quit_at_the_first_edit_writes_nothing() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let before = common::snapshot_bytes(tree.path());
    let root = tree.path().to_str().expect("utf-8");
    let Some(run) = on_terminal(&["apply", "--interactive", "-C", root], "q\n", "") else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.screen);
    assert!(
        run.screen.contains("accepted 0 of 32 edits"),
        "{}",
        run.screen
    );
    assert_eq!(common::snapshot_bytes(tree.path()), before);
}

#[test]
fn without_a_terminal_or_with_a_saved_plan_interactive_is_refused() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let before = common::snapshot_bytes(tree.path());
    let piped = regshift_in(tree.path(), &["apply", "--interactive"]);
    assert_eq!(piped.code, 2, "{}", piped.stderr);
    assert!(
        piped
            .stderr
            .contains("--interactive needs a terminal on stdin"),
        "{}",
        piped.stderr
    );
    let saved = regshift_in(tree.path(), &["apply", "--interactive", "plan.json"]);
    assert_eq!(saved.code, 2, "{}", saved.stderr);
    assert!(
        saved.stderr.contains("cannot be used with"),
        "{}",
        saved.stderr
    );
    assert_eq!(common::snapshot_bytes(tree.path()), before);
}
