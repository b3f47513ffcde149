//! End-to-end runs on the real Fedora tree (../shared/corpus): issue 2's acceptance, measured.

mod common;

use std::path::Path;
use std::process::Command;

use common::{copy_tree, corpus, git, python_oracle, regshift, repo_path, stdout_of, succeeds};

/// Lines changed per file by step 2 on the corpus, as read off the diff by hand against SPEC §7:
/// (path, added, deleted).
const EXPECTED_NUMSTAT: &[(&str, u32, u32)] = &[
    ("files/osbs/dockercfg-production-secret.j2", 1, 1),
    ("files/osbs/dockercfg-staging-secret.j2", 1, 1),
    ("inventory/group_vars/osbs_masters", 1, 1),
    ("inventory/group_vars/osbs_masters_stg", 1, 1),
    ("playbooks/groups/buildhw.yml", 6, 6),
    ("playbooks/groups/buildvm.yml", 6, 6),
    (
        "playbooks/groups/osbs/setup-orchestrator-namespace.yml",
        2,
        2,
    ),
    ("playbooks/groups/osbs/setup-worker-namespace.yml", 2, 2),
    ("playbooks/groups/releng-compose.yml", 6, 6),
    // two staging values edited, `{% else %}` and two production keys added
    ("roles/bodhi2/base/templates/production.ini.j2", 5, 2),
    ("roles/koji_builder/tasks/main.yml", 1, 1),
    // flatpak-indexer's public_url is a registry root: with the default (namespaced) `to` it
    // stays (SPEC §7), so the configmap is not edited.
];

fn numstat(root: &Path) -> Vec<(String, u32, u32)> {
    git(root, &["diff", "--numstat"])
        .lines()
        .map(|l| {
            let parts: Vec<&str> = l.split('\t').collect();
            (
                parts[2].to_string(),
                parts[0].parse().expect("added"),
                parts[1].parse().expect("deleted"),
            )
        })
        .collect()
}

fn oracle(before: &Path, after: &Path, migration: &Path) {
    let Some(python) = python_oracle() else {
        return;
    };
    let out = Command::new(python)
        .arg(repo_path("tests/oracle/check_step2.py"))
        .args([before, after, migration])
        .output()
        .expect("oracle runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "oracle failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("0 checks failed"), "{text}");
}

#[test]
fn step_two_on_the_corpus_is_exact_proven_and_idempotent() {
    let Some((_dir, root)) = corpus() else { return };
    let before = copy_tree(&root);
    let dir = root.to_str().expect("utf-8 path");

    let plan = regshift(&["plan", "-C", dir]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let unproven = regshift(&["verify", "-C", dir]);
    assert_eq!(unproven.code, 1);
    assert!(
        // 14 checks of the other rules fail; login-registry-params checks 3 parameters at each
        // use serving an environment: production 4 (buildvm, buildhw, releng-compose's candidate
        // entry and its existing quay.io entry, whose 3 pass), staging 3.
        unproven
            .stdout
            .contains("\nverify: 3 passed, 32 failed\nnext: "),
        "{}",
        unproven.stdout
    );
    let json = regshift(&["plan", "-C", dir, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(report["edits"].as_array().expect("edits").len(), 34);

    let apply = regshift(&["apply", "-C", dir]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let got = numstat(&root);
    let want: Vec<(String, u32, u32)> = EXPECTED_NUMSTAT
        .iter()
        .map(|(p, a, d)| (p.to_string(), *a, *d))
        .collect();
    assert_eq!(got, want);

    common::nothing_pending(&["-C", dir]);
    let proven = succeeds(&["verify", "-C", dir]);
    assert_eq!(proven.stdout, "verify: 35 passed, 0 failed\n"); // the 3 + 32 checks above

    oracle(
        before.path(),
        &root,
        &repo_path("src/defaults/migration.yaml"),
    );
}

#[test]
fn another_migration_file_leaks_nothing_of_the_default() {
    let Some((_dir, root)) = corpus() else { return };
    let before = copy_tree(&root);
    let migration = repo_path("fixtures/migrations/example-port.yaml");
    let dir = root.to_str().expect("utf-8 path");
    let m = migration.to_str().expect("path");
    succeeds(&["apply", "-C", dir, "--migration", m, "--builtin-rules"]);
    let diff = git(&root, &["diff", "-U0"]);
    let added: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(added.len(), 32, "{diff}"); // as many lines as the default adds (EXPECTED_NUMSTAT)
    for line in &added {
        assert!(!line.contains("quay"), "default leaked: {line}");
        assert!(
            !line.contains("fedora-candidate") && !line.contains("fedora-testing"),
            "default leaked: {line}"
        );
    }
    assert!(
        diff.contains("+      url: https://registry.example.com:5000/v2"),
        "{diff}"
    );
    assert!(
        diff.contains("+container.source_registry = registry.example.com:5000/fedora/candidate"),
        "{diff}"
    );
    succeeds(&["plan", "-C", dir, "--migration", m, "--builtin-rules"]);
    let proven = succeeds(&["verify", "-C", dir, "--migration", m, "--builtin-rules"]);
    assert!(proven.stdout.ends_with(" 0 failed\n"), "{}", proven.stdout);
    oracle(before.path(), &root, &migration);
}

#[test]
fn identifiers_and_step_four_items_on_the_corpus_stay() {
    let Some((_dir, root)) = corpus() else { return };
    let dir = root.to_str().expect("utf-8 path");
    succeeds(&["apply", "-C", dir]);
    let diff = git(&root, &["diff", "-U0"]);
    for kept in [
        "certs.d/registry",
        "site_name",
        "website:",
        "check_website_ssl",
        "X-Forwarded-Server",
        "registry: fedora",
        "deltas_uri",
        "icons_uri",
        "fedora:38",
        "flatpak-build-base",
        "source_registry: \"registry",
        "# container.",
    ] {
        assert!(
            !diff
                .lines()
                .any(|l| (l.starts_with('+') || l.starts_with('-'))
                    && !l.starts_with("+++")
                    && !l.starts_with("---")
                    && l.contains(kept)),
            "{kept} changed:\n{diff}"
        );
    }
    let changed = git(&root, &["diff", "--name-only"]);
    for untouched in [
        "playbooks/groups/oci-registry.yml",
        "playbooks/groups/bodhi-backend.yml",
        "roles/haproxy/templates/haproxy.cfg",
        "playbooks/include/proxies-websites.yml",
    ] {
        assert!(!changed.contains(untouched), "{untouched} changed");
    }
}

/// Renders `template` for `env` with Python's Jinja2 as Ansible does (the oracle).
fn python_render(root: &Path, template: &str, env: &str) -> Option<String> {
    let python = python_oracle()?;
    Some(stdout_of(
        Command::new(python)
            .arg(repo_path("tests/oracle/render.py"))
            .arg(root)
            .arg(template)
            .arg(env),
    ))
}

/// Templates that production renders (the staging dockercfg is picked by `dockercfg-{{env}}` and
/// never rendered for production).
const RENDERED_TARGETS: &[&str] = &[
    "roles/bodhi2/base/templates/production.ini.j2",
    "roles/openshift-apps/flatpak-indexer/templates/configmap.yml",
    "files/osbs/dockercfg-production-secret.j2",
];

#[test]
fn staging_first_leaves_production_untouched_and_production_completes_it() {
    let Some((_dir, root)) = corpus() else { return };
    let dir = root.to_str().expect("utf-8 path");
    let before = copy_tree(&root);
    let staged = regshift(&["apply", "-C", dir, "--env", "staging", "-q"]);
    assert_eq!(staged.code, 0, "{}", staged.stderr);
    succeeds(&["verify", "-C", dir, "--env", "staging"]);
    assert_eq!(
        regshift(&["verify", "-C", dir, "--env", "production"]).code,
        1
    );
    succeeds(&["plan", "-C", dir, "--env", "staging"]);
    // Staging first passes CI (SPEC §5): production's references are pending production edits.
    let gate = succeeds(&["check", "-C", dir, "--env", "staging"]);
    assert!(
        gate.stdout.ends_with(common::CLEAN_CHECK),
        "{}",
        gate.stdout
    );
    // Jinja2 (not regshift) renders production identically, and staging differently.
    for template in RENDERED_TARGETS {
        let (Some(old), Some(new)) = (
            python_render(before.path(), template, "production"),
            python_render(&root, template, "production"),
        ) else {
            break;
        };
        assert_eq!(old, new, "{template}: production rendering changed");
    }
    let (old, new) = (
        python_render(before.path(), RENDERED_TARGETS[0], "staging"),
        python_render(&root, RENDERED_TARGETS[0], "staging"),
    );
    assert_ne!(old.as_ref().map(String::len), Some(0));
    assert!(old.is_none() || old != new, "staging rendering changed");

    succeeds(&["apply", "-C", dir, "--env", "production", "-q"]);
    succeeds(&["verify", "-C", dir]);
    // The two steps end exactly where one `--env all` run does.
    let all = copy_tree(before.path());
    succeeds(&["apply", "-C", all.path().to_str().expect("path"), "-q"]);
    assert_eq!(
        common::snapshot_bytes(&root),
        common::snapshot_bytes(all.path())
    );
}

#[test]
fn the_dockercfg_auth_is_traced_to_both_playbooks_that_render_the_secret() {
    let Some((_dir, root)) = corpus() else { return };
    let run = regshift(&[
        "audit",
        "-C",
        root.to_str().expect("path"),
        "--explain",
        "files/osbs/dockercfg-production-secret.j2:1",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "  literal reference to candidate-registry.fedoraproject.org at column 12 (production)"
        ),
        "{}",
        run.stdout
    );
    for site in [
        "setup-orchestrator-namespace.yml:145:25 (set_fact)",
        "setup-worker-namespace.yml:54:25 (set_fact)",
    ] {
        assert!(
            run.stdout
                .contains(&format!("    production: playbooks/groups/osbs/{site}")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn audit_finds_the_jinja_built_references_the_regex_misses() {
    let Some((_dir, root)) = corpus() else { return };
    let run = regshift(&["audit", "-C", root.to_str().expect("path")]);
    assert_eq!(run.code, 0, "every reference is classified: {}", run.stdout);
    assert!(
        run.stdout.ends_with(
            "audit: 113 references (4 built by Jinja), 113 classified, 0 unclassified\n"
        ),
        "{}",
        run.stdout
    );
    let built: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("\tjinja\t"))
        .map(|l| l.split('\t').next().unwrap_or_default())
        .collect();
    // context/corpus-inventory.md §1.2 and row 45: the configmap's staging deltas/icons URIs,
    // bodhi-backend's push certificate directory, and the koji task var.
    assert_eq!(
        built,
        [
            "playbooks/groups/bodhi-backend.yml:90:41",
            "roles/koji_builder/tasks/main.yml:135:26",
            "roles/openshift-apps/flatpak-indexer/templates/configmap.yml:15:25",
            "roles/openshift-apps/flatpak-indexer/templates/configmap.yml:16:24",
        ]
    );
    let claimed = run
        .stdout
        .lines()
        .filter(|l| l.contains("\trewrite (step 2)\t"))
        .count();
    // The 34 step-2 edits hold 13 references (the credentials and auth edits hold none);
    // public_url, a registry root, is kept.
    assert_eq!(claimed, 13, "the references inside the 34 step-2 edits");
}

#[test]
fn audit_classes_on_the_corpus_match_the_inventory() {
    let Some((_dir, root)) = corpus() else { return };
    let run = regshift(&["audit", "-C", root.to_str().expect("path")]);
    let mut classes = std::collections::BTreeMap::new();
    for line in run.stdout.lines().filter(|l| l.contains('\t')) {
        let class = line
            .split('\t')
            .nth(4)
            .unwrap_or_default()
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        *classes.entry(class).or_insert(0) += 1;
    }
    // context/corpus-inventory.md §1: the dead docker_registry/source_registry definitions (35
    // regex lines, plus the osbs_masters pair), 13 step-2 references, the rest kept, redirected or
    // decommissioned; every number here was checked against the audit lines by hand.
    let expected: std::collections::BTreeMap<String, i32> = [
        // 35: the builders' and OSBS groups' unread definitions; osbs_masters' own
        // source_registry (L133) is read by its reactor config (L27, L62), so it is kept.
        ("dead", 35),
        // The candidate registry's servers, logins, prune playbook and module, proxies; the
        // stable servers (6 inventory lines) and the push certificates (3) are kept (SPEC §7).
        ("decommission", 14),
        ("keep", 48), // + public_url, the osbs_masters pair, stable servers, push certificates
        ("redirect", 3),
        ("rewrite", 13),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(classes, expected, "{}", run.stdout);
}

#[test]
fn a_new_image_is_kept_by_meaning_and_a_new_push_target_is_unclassified() {
    // Rules by meaning (SPEC §4): a new app's image field is a pull, kept wherever it is; a new
    // reference in a place no rule understands is reported, never silently kept.
    let Some((_dir, root)) = corpus() else { return };
    let t = "roles/openshift-apps/new-app/templates";
    let image = "spec:\n  containers:\n  - image: registry.fedoraproject.org/fedora:40\n";
    common::write(&root, &format!("{t}/deployment.yml"), image);
    let push = "publish:\n  push_to: candidate-registry.fedoraproject.org/new-app\n";
    common::write(&root, &format!("{t}/config.yml"), push);
    let run = regshift(&["audit", "-C", root.to_str().expect("path")]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains(&format!("{t}/deployment.yml:3:12\tregistry.fedoraproject.org\tliteral\tproduction,staging\tkeep (step 2)\tkeep-pull-only-images")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("{t}/config.yml:2:12\tcandidate-registry.fedoraproject.org\tliteral\tproduction,staging\tunclassified\t-")), "{}", run.stdout);
}

#[test]
fn check_gates_pending_edits_and_passes_after_apply() {
    let Some((_dir, root)) = corpus() else { return };
    let dir = root.to_str().expect("path");
    let before = regshift(&["check", "-C", dir]);
    assert_eq!(before.code, 1);
    assert!(
        before
            .stdout
            .contains("\ncheck: 34 pending edits, 0 unclassified references, 32 proof failures\n"),
        "{}",
        before.stdout
    );
    assert!(
        before
            .stdout
            .contains("next: `regshift verify` shows each failed promise with its source\n"),
        "{}",
        before.stdout
    );
    succeeds(&["apply", "-C", dir, "-q"]);
    let after = regshift(&["check", "-C", dir, "--format", "json"]);
    assert_eq!(after.code, 0, "{}", after.stdout);
    let report: serde_json::Value = serde_json::from_str(&after.stdout).expect("json");
    assert_eq!(report["clean"], true);
    assert_eq!(report["pending"].as_array().map(Vec::len), Some(0));
}
