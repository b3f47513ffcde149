//! Hostile input (issue 12, SPEC §6.6): nesting deep enough to overflow a recursive parser and a
//! template whose rendering would not end are located errors, never a crash or a hang, and
//! nothing is written.

mod common;

use std::path::Path;

use common::{copy_tree, regshift, repo_path, snapshot_bytes};

fn mini() -> tempfile::TempDir {
    copy_tree(&repo_path("fixtures/fedora-mini"))
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `plan` and `apply` refuse the tree with exit 2, naming `file:line:` and saying `why`; nothing
/// is written.
fn refused_located(tree: &Path, file: &str, why: &str) {
    refused_located_by(tree, &["plan", "apply"], &format!("{file}:"), why);
}

/// Each of `commands` refuses the tree with exit 2, naming `place` and saying `why`; nothing is
/// written.
fn refused_located_by(tree: &Path, commands: &[&str], place: &str, why: &str) {
    let before = snapshot_bytes(tree);
    for &command in commands {
        let run = regshift(&[command, "-C", arg(tree)]);
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            run.stderr.contains(place) && run.stderr.contains(why),
            "{command}: {}",
            run.stderr
        );
    }
    assert_eq!(snapshot_bytes(tree), before, "nothing written");
}

const DEPTH: usize = 10_000;

#[test]
fn json_nested_ten_thousand_deep_is_a_located_error() {
    let tree = mini();
    let file = "files/osbs/dockercfg-production-secret.j2";
    let deep = format!(
        "{{\"auths\": {{\"candidate-registry.fedoraproject.org\": {}{}}}}}\n",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    );
    common::write(tree.path(), file, &deep);
    refused_located(tree.path(), file, "nests deeper than");
}

#[test]
fn yaml_nested_ten_thousand_deep_is_a_located_error() {
    let tree = mini();
    let file = "playbooks/groups/buildvm.yml";
    let path = tree.path().join(file);
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str(&format!(
        "\n- hosts: x\n  vars:\n    deep: {}{}\n",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    ));
    std::fs::write(&path, text).expect("write");
    refused_located(tree.path(), file, "YAML does not parse");
}

#[test]
fn toml_nested_ten_thousand_deep_is_a_located_error() {
    let tree = mini();
    let file = "roles/openshift-apps/cloud-image-uploader/templates/config.toml";
    let deep = format!(
        "[[consumer_config.container.registries]]\nurl = \"registry.fedoraproject.org\"\nx = {}{}\n",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    );
    common::write(tree.path(), file, &deep);
    refused_located(tree.path(), file, "TOML does not parse");
}

#[test]
fn a_rendering_that_would_not_end_is_stopped_and_located() {
    let tree = mini();
    let file = "roles/bodhi2/base/templates/production.ini.j2";
    let path = tree.path().join(file);
    let mut text = std::fs::read_to_string(&path).expect("read");
    let line = text.lines().count() + 1;
    text.push_str(
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}\n",
    );
    std::fs::write(&path, text).expect("write");
    let before = snapshot_bytes(tree.path());
    let verify = regshift(&["verify", "-C", arg(tree.path())]);
    assert_eq!(verify.code, 1, "{}", verify.stderr);
    assert!(
        verify.stdout.contains(&format!(
            "{file}:{line}:1: template does not render: the rendering exceeds its budget"
        )),
        "{}",
        verify.stdout
    );
    // apply proves before writing: the rendering fails, so nothing is written.
    let apply = regshift(&["apply", "-C", arg(tree.path())]);
    assert_eq!(apply.code, 2, "{}", apply.stderr);
    assert!(
        apply.stderr.contains("exceeds its budget"),
        "{}",
        apply.stderr
    );
    assert_eq!(snapshot_bytes(tree.path()), before, "nothing written");
}

/// A secret beside the tree, which nothing regshift does may read.
fn beside(tree: &Path) -> std::path::PathBuf {
    let outside = tree.with_extension("outside");
    std::fs::write(&outside, "password: hunter2-outside\n").expect("write");
    outside
}

#[test]
fn explain_refuses_a_file_outside_the_tree() {
    let tree = mini();
    let outside = beside(tree.path());
    let name = outside.file_name().and_then(|n| n.to_str()).expect("name");
    for target in [format!("{}:1", outside.display()), format!("../{name}:1")] {
        let run = regshift(&["audit", "-C", arg(tree.path()), "--explain", &target]);
        assert_eq!(run.code, 2, "{target}: {}", run.stdout);
        assert!(run.stderr.contains("inside the tree"), "{}", run.stderr);
        assert!(
            !run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"),
            "{target}: the file was read"
        );
    }
    let _ = std::fs::remove_file(outside);
}

#[test]
fn a_promise_naming_a_file_outside_the_tree_is_refused() {
    let tree = mini();
    let outside = beside(tree.path());
    let name = outside.file_name().and_then(|n| n.to_str()).expect("name");
    let rules = tempfile::tempdir().expect("tmp");
    for template in [outside.display().to_string(), format!("../{name}")] {
        let rule = format!(
            "id: outside\nwhy: y\nstep: 2\nclass: rewrite\nfiles: [a]\nformat: yaml\nselect: a\n\
             context: host\nprove:\n  - template: \"{template}\"\n    format: yaml\n    render: false\n    \
             at: password\n    equals: x\n"
        );
        std::fs::write(rules.path().join("outside.yaml"), rule).expect("write");
        let before = snapshot_bytes(tree.path());
        for command in ["verify", "apply"] {
            let run = regshift(&[
                command,
                "-C",
                arg(tree.path()),
                "--rules",
                arg(rules.path()),
            ]);
            assert_eq!(run.code, 2, "{command} {template}: {}", run.stdout);
            assert!(run.stderr.contains("leaves the tree"), "{}", run.stderr);
            assert!(
                !run.stdout.contains("hunter2"),
                "{command}: the file was read"
            );
        }
        assert_eq!(snapshot_bytes(tree.path()), before, "nothing written");
    }
    let _ = std::fs::remove_file(outside);
}

#[test]
fn text_outputs_never_start_a_line_from_a_file_name_or_value() {
    let tree = mini();
    // A file name and a value with newlines, each shaped as a GitHub workflow command.
    let name = "roles/x/files/a\n::warning file=forged::name.txt";
    common::write(tree.path(), name, "candidate-registry.fedoraproject.org\n");
    let value =
        "- hosts: x\n  vars:\n    note: \"registry.fedoraproject.org\\n::error::forged value\"\n";
    common::write(tree.path(), "playbooks/forged.yml", value);
    let dir = arg(tree.path());
    for args in [
        vec!["audit", "-C", dir],
        vec!["check", "-C", dir],
        vec!["verify", "-C", dir],
    ] {
        let run = regshift(&args);
        for line in run.stdout.lines().chain(run.stderr.lines()) {
            assert!(!line.starts_with("::"), "{args:?}: {line}");
        }
    }
    let audit = regshift(&["audit", "-C", dir]);
    assert!(
        audit
            .stdout
            .contains("roles/x/files/a\\n::warning file=forged::name.txt:1:1"),
        "the name is shown escaped: {}",
        audit.stdout
    );
}

/// Rewritten files keep their owner and group as well as their mode (issue 12.8). Giving a file
/// to another user needs root: elsewhere only the mode is checked, and the test says so.
#[test]
fn rewritten_files_keep_owner_group_and_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let tree = mini();
    let file = tree.path().join("playbooks/groups/buildvm.yml");
    let given = std::os::unix::fs::chown(&file, Some(4242), Some(4343)).is_ok();
    if !given {
        eprintln!("SKIPPED the owner part of rewritten_files_keep_owner_group_and_mode: not root");
    }
    let owner = std::fs::metadata(&file)
        .map(|m| (m.uid(), m.gid()))
        .expect("stat");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let run = regshift(&["apply", "-C", arg(tree.path())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let meta = std::fs::metadata(&file).expect("stat");
    assert!(
        std::fs::read_to_string(&file)
            .expect("read")
            .contains("quay.io"),
        "the file was rewritten"
    );
    assert_eq!((meta.uid(), meta.gid()), owner, "owner and group kept");
    assert_eq!(meta.permissions().mode() & 0o777, 0o640, "mode kept");
}

/// A migration file that maps a host twice, or whose new registry is also an old one, is a
/// located error before anything is read (issue 12.6).
#[test]
fn ambiguous_or_circular_migrations_are_located_errors() {
    let cases = [
        // The same `from` twice in one environment.
        (
            "candidate: {from: candidate-registry.fedoraproject.org,",
            "candidate: {from: registry.fedoraproject.org,",
            ":7:",
            "listed twice",
        ),
        // The same `from` in two environments.
        (
            "stable:    {from: registry.stg.fedoraproject.org,",
            "stable:    {from: registry.fedoraproject.org,",
            ":11:",
            "listed twice",
        ),
        // A `to` that is also a `from`: what apply writes would be migrated again.
        (
            "to: quay.io/fedora-candidate}",
            "to: registry.stg.fedoraproject.org/candidate}",
            ":7:",
            "also a `from`",
        ),
    ];
    for (from, to, line, why) in cases {
        let tree = mini();
        let migration = tree.path().join("m.yaml");
        std::fs::write(&migration, common::default_migration_with(from, to)).expect("write");
        let before = snapshot_bytes(tree.path());
        for command in ["plan", "apply", "audit", "check", "verify"] {
            let run = regshift(&[
                command,
                "-C",
                arg(tree.path()),
                "--migration",
                arg(&migration),
            ]);
            assert_eq!(run.code, 2, "{command} {why}: {}", run.stderr);
            assert!(
                run.stderr.contains(&format!("m.yaml{line}")) && run.stderr.contains(why),
                "{command}: {}",
                run.stderr
            );
        }
        assert_eq!(snapshot_bytes(tree.path()), before, "nothing written");
    }
}

/// A template regshift edits that does not parse (an unclosed `{% if %}`) is a located error
/// for every command, not only for `apply`'s proof (issue 12.6).
#[test]
fn an_unclosed_block_in_an_edited_template_is_located_everywhere() {
    let tree = mini();
    let file = "roles/bodhi2/base/templates/production.ini.j2";
    let path = tree.path().join(file);
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("{% if env == 'staging' %}\nfoo = 1\n");
    std::fs::write(&path, text).expect("write");
    let commands = ["plan", "audit", "check", "apply"];
    refused_located_by(
        tree.path(),
        &commands,
        &format!("{file}:"),
        "does not parse",
    );
}

/// A task file the template index needs that does not parse (a tab in its indentation, which
/// Ansible refuses too) is a located error for every command: before, the koji edit was
/// silently left out (issue 12.6).
#[test]
fn a_tab_in_a_task_file_the_index_needs_is_located_everywhere() {
    let tree = mini();
    let file = "roles/koji_builder/tasks/main.yml";
    let path = tree.path().join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    let broken = text.replacen(
        "  tags:\n  - koji_builder\n",
        "  tags:\n\t- koji_builder\n",
        1,
    );
    assert_ne!(broken, text, "the fixture has the list to break");
    std::fs::write(&path, broken).expect("write");
    let commands = ["plan", "apply", "audit", "check", "verify"];
    refused_located_by(tree.path(), &commands, &format!("{file}:4:"), "tabs");
}

/// Runs regshift as an unprivileged user when the tests run as root (root reads any file
/// whatever its mode); `None` when that is not possible here.
fn as_unprivileged(args: &[&str]) -> Option<common::Run> {
    let uid = common::stdout_of(std::process::Command::new("id").arg("-u"));
    if uid.trim() != "0" {
        return Some(regshift(args));
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let out = std::process::Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_regshift"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .ok()?;
    Some(common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// An unreadable target, group_vars/all, directory or tree root (mode 000, run as another
/// user) is a located error for every command, never taken for absent (issue 12.6).
#[test]
fn unreadable_files_and_directories_are_errors_not_absences() {
    use std::os::unix::fs::PermissionsExt;
    let tree = mini();
    let root = tree.path();
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(root)
        .status()
        .expect("chmod");
    assert!(status.success());
    let mode = |rel: &str, m: u32| {
        std::fs::set_permissions(root.join(rel), std::fs::Permissions::from_mode(m))
            .expect("chmod");
    };
    let before = snapshot_bytes(root);
    for (rel, named, restore) in [
        (
            "roles/koji_builder/tasks/main.yml",
            "roles/koji_builder/tasks/main.yml:",
            0o666,
        ),
        (
            "roles/bodhi2/base/templates/production.ini.j2",
            "production.ini.j2:",
            0o666,
        ),
        (
            "inventory/group_vars/all",
            "inventory/group_vars/all:",
            0o666,
        ),
        ("roles/koji_builder", "roles/koji_builder:", 0o777),
        (".", "cannot read", 0o777),
    ] {
        mode(rel, 0);
        for command in ["plan", "apply", "audit", "check", "verify"] {
            let Some(run) = as_unprivileged(&[command, "-C", arg(root)]) else {
                mode(rel, restore);
                common::missing("a way to run as another user (`setpriv`, as root)");
                return;
            };
            assert_eq!(run.code, 2, "{rel} {command}: {}", run.stderr);
            assert!(
                run.stderr.contains(named) && run.stderr.contains("cannot read"),
                "{rel} {command}: {}",
                run.stderr
            );
        }
        mode(rel, restore);
    }
    assert_eq!(snapshot_bytes(root), before, "nothing written");
}
