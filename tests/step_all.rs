//! `--step all` (issue 14, SPEC §7.2): every step in order. On the 2025 checkout, `apply --step
//! all --commit` applies steps 2, 3 and 4 in that order on one branch; afterwards nothing is
//! pending and `check --step all` passes; `rollback` with no step reverts every one of them,
//! newest first, back to the starting tree.

mod common;

use common::regshift_in as run;

#[test]
fn every_step_in_order_and_back() {
    let Some((_dir, root)) = common::corpus_2025() else {
        return;
    };
    let root = root.as_path();
    common::identity(root);
    let start = common::git(root, &["rev-parse", "HEAD"]);
    let applied = run(root, &["apply", "--step", "all", "--commit"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let order: Vec<String> = common::git(
        root,
        &[
            "log",
            "--reverse",
            "--format=%(trailers:key=Regshift-Step,valueonly)",
            &format!("{}..HEAD", start.trim()),
        ],
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(str::to_string)
    .collect();
    assert!(!order.is_empty());
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "steps in order: {order:?}");
    for step in ["2", "3", "4"] {
        assert!(
            order.iter().any(|s| s == step),
            "step {step} applied: {order:?}"
        );
    }
    assert_eq!(
        common::git(root, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "regshift/step-all"
    );
    assert_eq!(
        run(root, &["plan", "--step", "all"]).code,
        0,
        "nothing pending"
    );
    let check = run(root, &["check", "--step", "all"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let back = run(root, &["rollback"]);
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert_eq!(common::git(root, &["diff", start.trim()]), "");
}
