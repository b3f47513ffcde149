//! One hard file does not stop the run (issue 13.4, SPEC §5): valid YAML whose block scalar
//! opens with a `{% %}` line is parsed as YAML reads it; a file that truly does not parse is a
//! note when it names no registry of the migration, and exit 2 saying why when it does.

mod common;

use std::path::Path;

use common::{copy_tree, regshift, repo_path, snapshot_bytes};

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn mini() -> tempfile::TempDir {
    copy_tree(&repo_path("fixtures/fedora-mini"))
}

const PLAY: &str = "- hosts: all
  tasks:
    - name: list the registries
      shell: |
        {% for r in registries %}
        echo {{ r }}
        {% endfor %}
  roles:
    - role: login-registry
      candidate_registry: candidate-registry.fedoraproject.org
      when: env == 'production'
";

#[test]
fn a_block_scalar_opening_with_a_jinja_tag_is_read_as_yaml_reads_it() {
    let tree = mini();
    common::write(tree.path(), "playbooks/groups/loop.yml", PLAY);
    let run = regshift(&["plan", "-C", arg(tree.path()), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let edited = plan["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .any(|e| e["file"] == "playbooks/groups/loop.yml" && e["new"] == "quay.io");
    assert!(
        edited,
        "the login-registry param in it is planned: {}",
        run.stdout
    );
}

#[test]
fn a_broken_file_naming_no_registry_is_a_note() {
    let tree = mini();
    let broken = "- hosts: all\n  roles:\n    - role: login-registry\n   bad: [\n";
    common::write(tree.path(), "playbooks/groups/broken.yml", broken);
    let dir = arg(tree.path());
    let plan = regshift(&["plan", "-C", dir]);
    assert_eq!(plan.code, 1, "the other edits are planned: {}", plan.stderr);
    assert!(
        plan.stderr
            .contains("playbooks/groups/broken.yml: not read")
            && plan
                .stderr
                .contains("it names no registry of the migration"),
        "{}",
        plan.stderr
    );
    for command in ["audit", "check"] {
        assert_ne!(regshift(&[command, "-C", dir]).code, 2, "{command}");
    }
}

#[test]
fn a_broken_file_naming_a_registry_stops_the_run_saying_why() {
    let tree = mini();
    let broken = "- hosts: all\n  roles:\n    - role: login-registry\n      candidate_registry: candidate-registry.fedoraproject.org\n   bad: [\n";
    common::write(tree.path(), "playbooks/groups/broken.yml", broken);
    let before = snapshot_bytes(tree.path());
    for command in ["plan", "apply"] {
        let run = regshift(&[command, "-C", arg(tree.path())]);
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            run.stderr.contains("playbooks/groups/broken.yml:")
                && run.stderr.contains("it names a registry of the migration"),
            "{command}: {}",
            run.stderr
        );
    }
    assert_eq!(snapshot_bytes(tree.path()), before, "nothing written");
}

/// A vars file a play names that does not parse (the 2025 checkout has one, which Ansible
/// refuses too): its definitions are unknown, said in a note, and the run goes on.
#[test]
fn a_vars_file_that_does_not_parse_is_a_note() {
    let tree = mini();
    let path = tree.path().join("vars/global.yml");
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("list:\n  - a\n- b\n");
    std::fs::write(&path, text).expect("write");
    let run = regshift(&["plan", "-C", arg(tree.path())]);
    assert_eq!(run.code, 1, "the edits are still planned: {}", run.stderr);
    assert!(
        run.stderr.contains("vars/global.yml: line ")
            && run
                .stderr
                .contains("its definitions are unknown to regshift"),
        "{}",
        run.stderr
    );
}
