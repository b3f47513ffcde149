//! `unclaimed: rewrite` (issue 13.2, SPEC §3): every reference no rule claims is rewritten in
//! place by the context its syntax shows, in any file, Jinja kept verbatim; identifiers stay
//! (`keep (inferred)`); a rule says what to keep. The worked example `fixtures/k8s-mini`:
//! `after/` was checked by hand.

mod common;

use std::path::Path;

use common::{copy_tree, regshift, repo_path, snapshot_bytes};

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn example() -> (tempfile::TempDir, String) {
    let tree = copy_tree(&repo_path("fixtures/k8s-mini/before"));
    let m = repo_path("fixtures/k8s-mini/migration.yaml");
    (tree, m.to_str().expect("utf-8").to_string())
}

#[test]
fn the_worked_example_becomes_its_after_tree_and_stays() {
    let (tree, m) = example();
    let dir = arg(tree.path());
    let applied = regshift(&["apply", "-C", dir, "--migration", &m]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(
        snapshot_bytes(tree.path()),
        snapshot_bytes(&repo_path("fixtures/k8s-mini/after")),
        "byte for byte the reviewed after/ tree"
    );
    for command in ["plan", "check", "audit"] {
        let run = regshift(&[command, "-C", dir, "--migration", &m]);
        assert_eq!(
            run.code, 0,
            "{command} after apply: {}{}",
            run.stdout, run.stderr
        );
    }
}

#[test]
fn inferred_rewrites_are_listed_as_such() {
    let (tree, m) = example();
    let dir = arg(tree.path());
    let audit = regshift(&["audit", "-C", dir, "--migration", &m]);
    assert_eq!(audit.code, 0, "nothing unclassified: {}", audit.stdout);
    assert!(audit.stdout.contains("roles/csi/templates/provisioner.yaml.j2:10:14\tk8s.gcr.io\tliteral\tproduction\trewrite (inferred)\tinferred"), "{}", audit.stdout);
    assert!(
        audit.stdout.contains("roles/csi/tasks/main.yml:9:35\tk8s.gcr.io\tliteral\tproduction\tkeep (inferred)\tinferred"),
        "certs.d/<host> is an identifier: {}",
        audit.stdout
    );
    let plan = regshift(&["plan", "-C", dir, "--migration", &m, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).expect("JSON");
    let edits = json["edits"].as_array().expect("edits");
    assert_eq!(edits.len(), 9, "{}", plan.stdout);
    assert!(
        edits
            .iter()
            .all(|e| e["inferred"] == true && e["rule"] == "inferred")
    );
    let contexts: Vec<&str> = edits.iter().filter_map(|e| e["context"].as_str()).collect();
    for c in ["host", "image-prefix", "url", "api-url"] {
        assert!(
            contexts.contains(&c),
            "{c} inferred somewhere: {contexts:?}"
        );
    }
}

#[test]
fn a_keep_rule_makes_an_exception() {
    let (tree, m) = example();
    let dir = arg(tree.path());
    let rules = repo_path("fixtures/k8s-mini/rules");
    let applied = regshift(&[
        "apply",
        "-C",
        dir,
        "--migration",
        &m,
        "--rules",
        arg(&rules),
    ]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let script =
        std::fs::read_to_string(tree.path().join("roles/csi/files/pull-images.sh")).expect("read");
    assert!(
        script.contains("podman pull k8s.gcr.io/pause:3.9"),
        "{script}"
    );
    assert!(
        script.contains("podman pull registry.example.net/k8s/sig-storage/"),
        "{script}"
    );
    let audit = regshift(&[
        "audit",
        "-C",
        dir,
        "--migration",
        &m,
        "--rules",
        arg(&rules),
    ]);
    assert!(
        audit.stdout.contains("keep (step 2)\tkeep-pause-image"),
        "{}",
        audit.stdout
    );
}

#[test]
fn report_leaves_unclaimed_references_unclassified() {
    let (tree, m) = example();
    let text = std::fs::read_to_string(&m)
        .expect("read")
        .replace("unclaimed: rewrite", "unclaimed: report");
    let report = common::migration_beside(tree.path(), &text);
    let dir = arg(tree.path());
    let audit = regshift(&["audit", "-C", dir, "--migration", arg(&report)]);
    assert_eq!(audit.code, 1, "{}", audit.stdout);
    assert!(audit.stdout.contains("10 unclassified"), "{}", audit.stdout);
    let plan = regshift(&["plan", "-C", dir, "--migration", arg(&report)]);
    assert_eq!(
        plan.code, 0,
        "nothing planned without rules: {}",
        plan.stdout
    );
    let _ = std::fs::remove_file(report);
}
