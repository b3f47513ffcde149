//! No silent corruption (issue 13.3, SPEC §6.5): a fixed value written into an empty, null,
//! empty-string or missing value produces `key: NEW` in the file's quoting style, and a second
//! run finds nothing to do. (That a re-parsed file must differ from the original exactly by the
//! planned values is unit-tested in `plan::exact`, where a splice beside a value is refused.)

mod common;

use std::path::Path;

use common::regshift;

const RULE: &str = "id: fixed-registry\nwhy: the push target\nstep: 2\nclass: rewrite\nformat: yaml\nfiles: [\"inventory/group_vars/*\"]\nselect: SELECT\nenvironment: production\nvalue: \"${registries.candidate.host}\"\n";

/// `vars` as `inventory/group_vars/all`, planned and applied with a fixed-value rule on
/// `select`; returns the file after apply.
fn applied(vars: &str, select: &str) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let tree = dir.path().join("tree");
    common::write(&tree, "inventory/inventory", "[all]\nh1\n");
    common::write(&tree, "inventory/group_vars/all", vars);
    common::write(
        dir.path(),
        "rules/fixed.yaml",
        &RULE.replace("SELECT", select),
    );
    let (t, r) = (arg(&tree), dir.path().join("rules"));
    let run = regshift(&["apply", "-C", t, "--rules", arg(&r)]);
    assert_eq!(run.code, 0, "{vars:?}: {}", run.stderr);
    let again = regshift(&["plan", "-C", t, "--rules", arg(&r), "--format", "stat"]);
    assert_eq!(again.code, 0, "{vars:?}: idempotent: {}", again.stdout);
    std::fs::read_to_string(tree.join("inventory/group_vars/all")).expect("read")
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn empty_null_and_empty_string_values_get_the_value_after_their_colon() {
    for (before, after) in [
        ("a: 1\nreg:\nb: 2\n", "a: 1\nreg: quay.io\nb: 2\n"),
        ("a: 1\nreg: ~\nb: 2\n", "a: 1\nreg: quay.io\nb: 2\n"),
        ("a: 1\nreg: null\nb: 2\n", "a: 1\nreg: quay.io\nb: 2\n"),
        ("a: 1\nreg: ''\nb: 2\n", "a: 1\nreg: 'quay.io'\nb: 2\n"),
        ("a: 1\nreg: \"\"\nb: 2\n", "a: 1\nreg: \"quay.io\"\nb: 2\n"),
        (
            "a: 1\nreg:   # set me\nb: 2\n",
            "a: 1\nreg: quay.io   # set me\nb: 2\n",
        ),
        ("a: 1\nreg:", "a: 1\nreg: quay.io"),
    ] {
        assert_eq!(applied(before, "reg"), after, "{before:?}");
    }
}

#[test]
fn a_missing_key_is_added_to_its_mapping_in_its_style() {
    assert_eq!(applied("a: 1\nb: 2\n", "reg"), "a: 1\nb: 2\nreg: quay.io\n");
    assert_eq!(
        applied(
            "a: 1\nnested:\n  x: \"1\"\n  y: \"2\"  # last\nz: 3\n",
            "nested.reg"
        ),
        "a: 1\nnested:\n  x: \"1\"\n  y: \"2\"  # last\n  reg: \"quay.io\"\nz: 3\n"
    );
    assert_eq!(applied("a: 1", "reg"), "a: 1\nreg: quay.io\n");
}
