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
    // fedora-image-uploader: staging's table moves (url and credential_prefix); production's
    // old table is dropped, quay.io/fedora being listed beside it already (SPEC §7).
    (
        "roles/openshift-apps/cloud-image-uploader/templates/config.toml",
        3,
    ),
    // Staging's quay.io credentials in the podman-credentials secret (username, password).
    (
        "roles/openshift-apps/cloud-image-uploader/templates/container-secrets.yml.j2",
        2,
    ),
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

    // Every reference classified (the uploader's TOML, the new builders' dead group_vars, the
    // value moved into an included file, the scripts).
    let audit = regshift(&["audit", "-C", dir]);
    assert_eq!(audit.code, 0, "{}", audit.stdout);
    assert!(
        audit.stdout.ends_with(", 0 unclassified\n"),
        "{}",
        audit.stdout
    );

    // The `when:` of the builders' entries gained `and koji_instance != 'secondary'` in 2025:
    // staging is applied and proven alone, then production.
    succeeds(&["apply", "-C", dir, "--env", "staging"]);
    let staging = succeeds(&["verify", "-C", dir, "--env", "staging"]);
    assert!(
        staging.stdout.ends_with(" 0 failed\n"),
        "{}",
        staging.stdout
    );
    // Staging first passes CI (SPEC §5): production's references are pending production edits.
    let gate = succeeds(&["check", "-C", dir, "--env", "staging"]);
    let clean = common::CLEAN_CHECK;
    assert!(gate.stdout.ends_with(clean), "{}", gate.stdout);
    succeeds(&["apply", "-C", dir, "--env", "production"]);
    let all = succeeds(&["verify", "-C", dir]);
    assert!(all.stdout.ends_with(" 0 failed\n"), "{}", all.stdout);
    common::nothing_pending(&["-C", dir]);
    let gate = succeeds(&["check", "-C", dir]);
    assert!(gate.stdout.ends_with(clean), "{}", gate.stdout);
    // Python's Jinja2 and tomllib, not regshift, read the uploader's result (SPEC §7).
    if let Some(python) = common::python_oracle() {
        let out = std::process::Command::new(python)
            .arg(common::repo_path("tests/oracle/check_uploader.py"))
            .arg(&root)
            .arg(common::repo_path("src/defaults/migration.yaml"))
            .output()
            .expect("the oracle runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "oracle failed:\n{text}");
        assert!(text.ends_with("6 checks, 0 checks failed\n"), "{text}");
    }
}
