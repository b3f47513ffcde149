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

/// Issue 15.5 on the 2025 tree: the PR body names the plays to run in staging, found by the
/// model and checked here against the tree by hand: Bodhi's production.ini.j2 is installed by
/// the `bodhi2/backend` role (playbooks/groups/bodhi-backend.yml and manual/upgrade/bodhi.yml,
/// hosts `bodhi_backend:bodhi_backend_stg`) and read by the configmap that
/// playbooks/openshift-apps/bodhi.yml renders through `object_template_fullpath` (a variable
/// holding Jinja); the uploader's templates go through playbooks/openshift-apps/
/// cloud-image-uploader.yml; koji's flatpak.conf through buildvm.yml; buildhw.yml's hosts
/// (`buildhw:bkernel`) have none in staging. production.ini.j2 is rendered for the first of its
/// two plays, and the proof column says so.
#[test]
fn the_pull_request_names_the_plays_to_run_per_environment() {
    let Some((_dir, root)) = corpus_2025() else {
        return;
    };
    // The corpus is a git checkout: commits go on a branch of its history.
    common::identity(&root);
    let out = tempfile::tempdir().expect("tmp");
    let body = out.path().join("pr.md");
    let dir = root.to_str().expect("utf-8 path");
    let pr = body.to_str().expect("utf-8 path");
    succeeds(&[
        "apply",
        "-C",
        dir,
        "--env",
        "staging",
        "--commit",
        "--pr-body",
        pr,
    ]);
    let text = std::fs::read_to_string(&body).expect("pr body");
    let plays = common::between(&text, "## Plays to run", "## Needs a human");
    assert!(!plays.is_empty(), "{text}");
    for (playbook, hosts, deploys) in [
        (
            "playbooks/groups/bodhi-backend.yml",
            "bodhi_backend:bodhi_backend_stg",
            "roles/bodhi2/base/templates/production.ini.j2",
        ),
        (
            "playbooks/manual/upgrade/bodhi.yml",
            "bodhi_backend:bodhi_backend_stg",
            "roles/bodhi2/base/templates/production.ini.j2",
        ),
        (
            "playbooks/openshift-apps/bodhi.yml",
            "os_control[0]:os_control_stg[0]",
            "roles/bodhi2/base/templates/configmap.yml.j2",
        ),
        (
            "playbooks/openshift-apps/cloud-image-uploader.yml",
            "os_control[0]:os_control_stg[0]",
            "roles/openshift-apps/cloud-image-uploader/templates/container-secrets.yml.j2",
        ),
    ] {
        let row = plays
            .lines()
            .find(|l| {
                l.starts_with(&format!("| `{playbook}`")) && l.contains(&format!("`{hosts}`"))
            })
            .unwrap_or_else(|| panic!("{playbook}: {plays}"));
        assert!(row.contains(deploys), "{row}");
    }
    assert!(
        plays
            .lines()
            .any(|l| l.starts_with("| `playbooks/groups/buildvm.yml`")
                && l.contains("roles/koji_builder/templates/flatpak.conf")),
        "{plays}"
    );
    assert!(
        !plays.contains("| `playbooks/groups/buildhw.yml`"),
        "{plays}"
    );
    assert!(
        plays.contains(
            "No play with a host in staging was found deploying `playbooks/groups/buildhw.yml`"
        ),
        "{plays}"
    );
    assert!(
        text.contains(
            "roles/bodhi2/base/templates/production.ini.j2 (staging) rendered for `playbooks/groups/bodhi-backend.yml` (hosts `bodhi_backend:bodhi_backend_stg`), 1 other play deploying it there not rendered separately"
        ),
        "{text}"
    );
}
