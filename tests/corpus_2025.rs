//! End-to-end runs on the newest real tree (../shared/corpus, 2025-07-17): the drift of SPEC §11
//! must not stop step 2 (issue 11).

mod common;

use common::{corpus_2025, regshift, succeeds};

/// Step 2's edits on the 2025 tree, by file, derived from the tree by hand: each
/// `login-registry` use naming the candidate registry has 3 edits (host and two credentials),
/// two per builder playbook and two in releng-compose (its third use already names quay.io);
/// Bodhi's 2 staging keys are edited in their `{% if %}` branch and one insertion adds an
/// `{% else %}` branch with production's 2 keys; koji's flatpak.conf value is set in one task's
/// vars (a split, since it is built with `env_suffix`).
const EXPECTED_EDITS: &[(&str, usize)] = &[
    ("playbooks/groups/buildhw.yml", 6),
    ("playbooks/groups/buildvm.yml", 6),
    ("playbooks/groups/releng-compose.yml", 6),
    ("roles/bodhi2/base/templates/production.ini.j2", 3),
    ("roles/koji_builder/tasks/main.yml", 1),
];

#[test]
fn step_two_applies_on_the_2025_tree_staging_first_and_is_idempotent() {
    let Some((_dir, root)) = corpus_2025() else {
        return;
    };
    let dir = root.to_str().expect("utf-8 path");
    let json = regshift(&["plan", "-C", dir, "--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let mut per_file: std::collections::BTreeMap<String, usize> = Default::default();
    for e in report["edits"].as_array().expect("edits") {
        *per_file
            .entry(e["file"].as_str().expect("file").to_string())
            .or_default() += 1;
    }
    let want: std::collections::BTreeMap<String, usize> = EXPECTED_EDITS
        .iter()
        .map(|(p, n)| (p.to_string(), *n))
        .collect();
    assert_eq!(per_file, want);

    // The `when:` of the builders' entries gained `and koji_instance != 'secondary'` in 2025:
    // staging is applied and proven alone, then production.
    succeeds(&["apply", "-C", dir, "--env", "staging"]);
    let staging = succeeds(&["verify", "-C", dir, "--env", "staging"]);
    assert!(
        staging.stdout.ends_with(" 0 failed\n"),
        "{}",
        staging.stdout
    );
    succeeds(&["apply", "-C", dir, "--env", "production"]);
    let all = succeeds(&["verify", "-C", dir]);
    assert!(all.stdout.ends_with(" 0 failed\n"), "{}", all.stdout);
    let again = regshift(&["plan", "-C", dir]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stderr
    );
}
