//! The command line on fixtures/fedora-mini: snapshots of every output format, exit codes,
//! idempotence, and bad input refused with a located error and nothing written.

mod common;

use std::path::Path;

use common::{copy_tree, regshift, repo_path, snapshot_bytes, succeeds};

fn mini() -> tempfile::TempDir {
    copy_tree(&repo_path("fixtures/fedora-mini"))
}

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn plan_diff_json_and_stat() {
    let tree = mini();
    let dir = arg(tree.path());
    let diff = regshift(&["plan", "-C", dir]);
    assert_eq!(diff.code, 1);
    insta::assert_snapshot!("mini_plan_diff", diff.stdout);
    let json = regshift(&["plan", "-C", dir, "--format", "json"]);
    assert_eq!(json.code, 1);
    insta::assert_snapshot!("mini_plan_json", json.stdout);
    let stat = regshift(&["plan", "-C", dir, "--format", "stat"]);
    assert_eq!(stat.code, 1);
    insta::assert_snapshot!("mini_plan_stat", stat.stdout);
}

#[test]
fn apply_then_plan_is_empty_and_only_planned_files_change() {
    let tree = mini();
    let dir = arg(tree.path());
    let before = snapshot_bytes(tree.path());
    let json = regshift(&["plan", "-C", dir, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let mut planned: Vec<String> = report["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .map(|e| e["file"].as_str().expect("file").to_string())
        .collect();
    planned.dedup();
    succeeds(&["apply", "-C", dir, "-q"]);
    let after = snapshot_bytes(tree.path());
    let changed: Vec<&String> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| &b.0)
        .collect();
    assert_eq!(changed, planned.iter().collect::<Vec<_>>());
    let again = regshift(&["plan", "-C", dir]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
}

#[test]
fn edits_keep_crlf_bom_and_a_missing_final_newline() {
    let tree = mini();
    let root = tree.path();
    let cfg = root.join("files/osbs/dockercfg-staging-secret.j2");
    let ini = root.join("roles/bodhi2/base/templates/production.ini.j2");
    let ini_text = std::fs::read_to_string(&ini)
        .expect("read")
        .replace('\n', "\r\n");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(ini_text.as_bytes());
    std::fs::write(&ini, &bom).expect("write");
    succeeds(&["apply", "-C", arg(root), "-q"]);
    let cfg_after = std::fs::read(&cfg).expect("read");
    assert!(!cfg_after.ends_with(b"\n"), "no final newline added");
    assert!(cfg_after.starts_with(b"{\"auths\":{\"quay.io\":"));
    let ini_after = std::fs::read(&ini).expect("read");
    assert!(
        ini_after.starts_with(b"\xEF\xBB\xBF[DEFAULT]\r\n"),
        "BOM and CRLF kept"
    );
    let text = String::from_utf8(ini_after[3..].to_vec()).expect("utf-8");
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "every line still ends in CRLF"
    );
    assert!(
        text.contains("{% else %}\r\ncontainer.destination_registry = quay.io/fedora\r\n"),
        "{text}"
    );
    succeeds(&["plan", "-C", arg(root)]);
}

/// Bad input: exit 2, a located error, and no file anywhere written.
fn refused(tree: &Path, extra: &[&str], expect_in_stderr: &str) {
    let before = snapshot_bytes(tree);
    let mut args = vec!["apply", "-C", arg(tree)];
    args.extend_from_slice(extra);
    let run = regshift(&args);
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains(expect_in_stderr), "{}", run.stderr);
    assert_eq!(snapshot_bytes(tree), before, "nothing written");
}

#[test]
fn malformed_migration_file_is_refused() {
    let tree = mini();
    let bad = tree.path().join("bad-migration.yaml");
    let text = common::default_migration_with(
        "credentials: {username_var: quay_io_username",
        "credentials: {user_var: quay_io_username",
    );
    std::fs::write(&bad, text).expect("write");
    refused(
        tree.path(),
        &["--migration", arg(&bad)],
        "bad-migration.yaml:8:",
    );
    let text = common::default_migration_with("to: quay.io/fedora}", "to: https://quay.io/fedora}");
    std::fs::write(&bad, text).expect("write");
    refused(
        tree.path(),
        &["--migration", arg(&bad)],
        "bad-migration.yaml:6:",
    );
}

#[test]
fn rule_file_with_an_unknown_key_is_refused() {
    let tree = mini();
    let rules = tree.path().join("extra-rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::write(rules.join("x.yaml"), "id: x\nwhy: y\nstep: 2\nclass: rewrite\nfiles: [a]\nformat: yaml\nselect: a\ncontext: host\nfile: b\n").expect("write");
    refused(
        tree.path(),
        &["--rules", arg(&rules)],
        "x.yaml:9:1: unknown field `file`",
    );
}

#[test]
fn broken_targets_are_refused_with_their_position() {
    for (rel, from, to, expect) in [
        (
            "files/osbs/dockercfg-production-secret.j2",
            "\"email\":\"\",",
            "\"email\" \"\",",
            "dockercfg-production-secret.j2:1:",
        ),
        (
            "roles/bodhi2/base/templates/production.ini.j2",
            "skopeo.cmd = ",
            "skopeo.cmd\n  junk\nbroken line\n",
            "production.ini.j2:12:1: INI does not parse",
        ),
        (
            "inventory/group_vars/osbs_masters",
            "  registries:\n",
            "  registries: [\n",
            "osbs_masters:",
        ),
    ] {
        let tree = mini();
        let path = tree.path().join(rel);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{rel}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
        refused(tree.path(), &[], expect);
    }
}

#[test]
fn symlinks_are_never_followed_and_binary_files_are_skipped() {
    let outside = tempfile::tempdir().expect("tmp");
    let target = outside.path().join("osbs_masters");
    std::fs::copy(
        repo_path("fixtures/fedora-mini/inventory/group_vars/osbs_masters"),
        &target,
    )
    .expect("copy");
    let tree = mini();
    let link = tree.path().join("inventory/group_vars/osbs_masters");
    std::fs::remove_file(&link).expect("rm");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let nul = tree.path().join("files/osbs/dockercfg-staging-secret.j2");
    std::fs::write(
        &nul,
        b"{\"auths\":{\"candidate-registry.stg.fedoraproject.org\":\0{}}}",
    )
    .expect("write");
    let latin1 = tree.path().join("inventory/group_vars/osbs_masters_stg");
    std::fs::write(
        &latin1,
        b"# caf\xe9\nurl: https://candidate-registry.stg.fedoraproject.org/v2\n",
    )
    .expect("write");
    let before_outside = std::fs::read(&target).expect("read");
    let run = regshift(&["apply", "-C", arg(tree.path()), "-v"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(&target).expect("read"),
        before_outside,
        "the file outside the tree is untouched"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert!(
        run.stderr
            .contains("inventory/group_vars/osbs_masters: symlink not followed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("files/osbs/dockercfg-staging-secret.j2: binary file skipped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("inventory/group_vars/osbs_masters_stg: not UTF-8, skipped"),
        "{}",
        run.stderr
    );
}

/// Rewrites the mini tree's Bodhi keys as lines both environments share (no `{% if env %}`), and
/// returns the file.
fn share_bodhi_registries(root: &Path) -> std::path::PathBuf {
    let ini = root.join("roles/bodhi2/base/templates/production.ini.j2");
    let text = std::fs::read_to_string(&ini).expect("read");
    let shared = text.replace(
        "{% if env == 'staging' %}\ncontainer.destination_registry = registry.stg.fedoraproject.org\ncontainer.source_registry = candidate-registry.stg.fedoraproject.org\n{% endif %}\n",
        "container.source_registry = candidate-registry.fedoraproject.org\ncontainer.destination_registry = registry.fedoraproject.org\n",
    );
    assert_ne!(shared, text);
    std::fs::write(&ini, &shared).expect("write");
    ini
}

#[test]
fn a_shared_ini_line_is_split_per_environment_and_completed_later() {
    let tree = mini();
    let ini = share_bodhi_registries(tree.path());
    let dir = arg(tree.path());
    succeeds(&["apply", "-C", dir, "--env", "staging", "-q"]);
    let staged = std::fs::read_to_string(&ini).expect("read");
    assert!(
        staged.contains("{% if env == 'staging' %}\ncontainer.source_registry = quay.io/fedora-testing-candidate\n{% else %}\ncontainer.source_registry = candidate-registry.fedoraproject.org\n{% endif %}\n"),
        "{staged}"
    );
    assert_eq!(
        regshift(&["plan", "-C", dir, "--env", "staging"]).code,
        0,
        "staging is done"
    );
    succeeds(&["apply", "-C", dir, "--env", "production", "-q"]);
    let done = std::fs::read_to_string(&ini).expect("read");
    assert!(
        done.contains("{% if env == 'staging' %}\ncontainer.source_registry = quay.io/fedora-testing-candidate\n{% else %}\ncontainer.source_registry = quay.io/fedora-candidate\n{% endif %}\n"),
        "{done}"
    );
    succeeds(&["plan", "-C", dir]);
}

#[test]
fn step_four_waits_for_step_two() {
    let tree = common::copy_tree(&repo_path("fixtures/fedora-mini"));
    let dir = arg(tree.path());
    let before = common::snapshot_bytes(tree.path());
    let run = regshift(&["apply", "--step", "4", "-C", dir]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("step 2 first"), "{}", run.stderr);
    assert_eq!(
        common::snapshot_bytes(tree.path()),
        before,
        "nothing written"
    );
}

#[test]
fn step_three_without_the_site_is_a_note_not_an_error() {
    let run = regshift(&[
        "plan",
        "-C",
        arg(&repo_path("fixtures/fedora-mini")),
        "--step",
        "3",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rule `redirect-registry-api`: no use of role `httpd/reverseproxy`"),
        "{}",
        run.stderr
    );
}

/// fedora-mini as a git repository with one commit.
fn mini_repo() -> tempfile::TempDir {
    let tree = mini();
    common::commit_all(tree.path(), "mini");
    tree
}

#[test]
fn verify_fails_on_an_unmigrated_tree_and_passes_after_apply() {
    let tree = mini_repo();
    let dir = arg(tree.path());
    let before = regshift(&["verify", "-C", dir]);
    assert_eq!(before.code, 1, "{}", before.stdout);
    assert!(
        before.stdout.contains("FAIL roles/koji_builder/templates/flatpak.conf (staging): [push] registry: expected docker://quay.io/fedora-testing-candidate, got docker://candidate-registry.stg.fedoraproject.org"),
        "{}",
        before.stdout
    );
    assert!(before.stdout.contains("FAIL roles/bodhi2/base/templates/production.ini.j2 (production): [app:main] container.source_registry: expected quay.io/fedora-candidate, got nothing there"), "{}", before.stdout);
    // Issue 15.5: a next step after the failures (both environments: no --env in it).
    assert!(
        before.stdout.ends_with(
            " failed\nnext: `regshift plan` shows the edits; `regshift apply` makes them\nnext: `regshift audit --explain FILE:LINE` says where a failed value comes from, per environment\n"
        ),
        "{}",
        before.stdout
    );
    succeeds(&["apply", "-C", dir, "-q"]);
    let after = regshift(&["verify", "-C", dir]);
    assert_eq!(after.code, 0, "{}", after.stdout);
    assert!(after.stdout.ends_with(" 0 failed\n"), "{}", after.stdout);
}

#[test]
fn verify_flags_a_rendering_that_changed_beyond_registry_values() {
    let tree = mini_repo();
    let dir = arg(tree.path());
    succeeds(&["apply", "-C", dir, "-q"]);
    let conf = tree
        .path()
        .join("roles/koji_builder/templates/flatpak.conf");
    let text = std::fs::read_to_string(&conf).expect("read");
    std::fs::write(&conf, format!("{text}timeout=30\n")).expect("write");
    let run = regshift(&["verify", "-C", dir]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("diff: expected only registry lines change, got +timeout=30"),
        "{}",
        run.stdout
    );
}

#[test]
fn apply_writes_nothing_when_the_proof_fails() {
    let tree = mini();
    let rules = tree.path().join("extra-rules");
    std::fs::create_dir(&rules).expect("mkdir");
    let wrong = std::fs::read_to_string(repo_path("rules/koji-flatpak-registry.yaml"))
        .expect("read")
        .replace(
            "equals: \"docker://${registries.candidate.to}\"",
            "equals: \"docker://${registries.stable.to}\"",
        );
    std::fs::write(rules.join("koji.yaml"), wrong).expect("write");
    let before = snapshot_bytes(tree.path());
    let run = regshift(&["apply", "-C", arg(tree.path()), "--rules", arg(&rules)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("expected docker://quay.io/fedora, got docker://quay.io/fedora-candidate"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert_eq!(snapshot_bytes(tree.path()), before);
}

#[test]
fn explain_traces_a_template_variable_to_its_definition() {
    let run = regshift(&[
        "audit",
        "-C",
        arg(&repo_path("fixtures/fedora-mini")),
        "--explain",
        "roles/koji_builder/templates/flatpak.conf:2",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Line 9, column 25 of the task file: the value of `candidate_registry:` under the task's
    // `vars:` (4 spaces + 20 characters before it).
    let expected = "\
roles/koji_builder/templates/flatpak.conf:2: registry=docker://{{candidate_registry}}
  `candidate_registry`:
    production: roles/koji_builder/tasks/main.yml:9:25 (task vars) = \"candidate-registry{{ env_suffix }}.fedoraproject.org\"
      renders as candidate-registry.fedoraproject.org
    staging: roles/koji_builder/tasks/main.yml:9:25 (task vars) = \"candidate-registry{{ env_suffix }}.fedoraproject.org\"
      renders as candidate-registry.stg.fedoraproject.org
";
    assert_eq!(run.stdout, expected);
    let bad = regshift(&[
        "audit",
        "-C",
        arg(&repo_path("fixtures/fedora-mini")),
        "--explain",
        "nofile",
    ]);
    assert_eq!(bad.code, 2);
}

#[test]
fn audit_lists_literal_and_jinja_built_references_with_their_claims() {
    let tree = mini();
    let dir = arg(tree.path());
    let before = regshift(&["audit", "-C", dir]);
    assert_eq!(
        before.code, 1,
        "the traps are not classified yet: {}",
        before.stdout
    );
    // Positions read off the fixture by hand: the host starts after `cert_dest_dir: "/etc/docker/certs.d/`
    // (4 + 16 + 20 characters) and after `deltas_uri: https://` (4 + 12 + 8); the releng login is
    // line 14 of its file, after `candidate_registry: "` (6 + 21).
    for line in [
        // The push certificates of the stable servers stay (SPEC §7: not candidate-registry).
        "playbooks/groups/bodhi-backend.yml:7:41\tregistry.fedoraproject.org | registry.stg.fedoraproject.org\tjinja\tproduction,staging\tkeep (step 4)\tkeep-registry-push-certificates",
        "roles/openshift-apps/flatpak-indexer/templates/configmap.yml:12:25\tregistry.stg.fedoraproject.org\tjinja\tstaging\tkeep (step 2)\tkeep-flatpak-static-files",
        // A look-alike no rule knows (a comment in a role the corpus does not have) is reported.
        "roles/push-container-registry/tasks/main.yml:1:50\tregistry.fedoraproject.org\tliteral\tproduction,staging\tunclassified\t-",
        "roles/koji_builder/tasks/main.yml:9:26\tcandidate-registry.fedoraproject.org | candidate-registry.stg.fedoraproject.org\tjinja\tproduction,staging\trewrite (step 2)\tkoji-flatpak-registry",
        "playbooks/groups/releng-compose.yml:14:28\tcandidate-registry.stg.fedoraproject.org\tliteral\tproduction,staging\trewrite (step 2)\tlogin-registry-params",
    ] {
        assert!(
            before.stdout.lines().any(|l| l == line),
            "missing {line}\n{}",
            before.stdout
        );
    }
    succeeds(&["apply", "-C", dir, "-q"]);
    let after = regshift(&["audit", "-C", dir]);
    assert!(
        !after.stdout.contains("rewrite (step 2)"),
        "{}",
        after.stdout
    );
    assert!(
        after
            .stdout
            .contains("playbooks/groups/bodhi-backend.yml:7:41"),
        "step-4 items stay: {}",
        after.stdout
    );
}

#[test]
fn an_ini_split_whose_branches_agree_collapses_to_one_line() {
    let tree = mini();
    let ini = share_bodhi_registries(tree.path());
    // Both environments' candidate registries move to one namespace.
    let migration = tree.path().join("same-candidate.yaml");
    let same = common::default_migration_with(
        "to: quay.io/fedora-testing-candidate",
        "to: quay.io/fedora-candidate",
    );
    std::fs::write(&migration, same).expect("write");
    let dir = arg(tree.path());
    let m = arg(&migration);
    assert_eq!(
        regshift(&[
            "apply",
            "-C",
            dir,
            "--migration",
            m,
            "--builtin-rules",
            "--env",
            "staging",
            "-q"
        ])
        .code,
        0
    );
    let staged = std::fs::read_to_string(&ini).expect("read");
    assert!(staged.contains("{% if env == 'staging' %}\ncontainer.source_registry = quay.io/fedora-candidate\n{% else %}\ncontainer.source_registry = candidate-registry.fedoraproject.org\n{% endif %}\n"), "{staged}");
    assert_eq!(
        regshift(&[
            "apply",
            "-C",
            dir,
            "--migration",
            m,
            "--builtin-rules",
            "--env",
            "production",
            "-q"
        ])
        .code,
        0
    );
    let done = std::fs::read_to_string(&ini).expect("read");
    // The candidate line agrees in both environments and collapses; the stable one still differs.
    let expected = "\ncontainer.source_registry = quay.io/fedora-candidate\n{% if env == 'staging' %}\ncontainer.destination_registry = quay.io/fedora-testing\n{% else %}\ncontainer.destination_registry = quay.io/fedora\n{% endif %}\n";
    assert!(done.contains(expected), "{done}");
    succeeds(&["plan", "-C", dir, "--migration", m, "--builtin-rules"]);
}

#[test]
fn progress_shows_on_a_terminal_only_and_stdout_is_the_same() {
    // Issue 15.5: audit counts files; check, verify and apply name their phases. Each runs
    // once piped and once on a pseudo-terminal (its stdout still redirected to a file): stderr
    // piped holds no progress, and stdout is byte for byte the same.
    let cases: [(&[&str], &[&str]); 4] = [
        (&["audit"], &["scanning"]),
        (
            &["check"],
            &["scanning", "proving step 2 in production and staging"],
        ),
        (
            &["verify", "--env", "staging"],
            &["proving step 2 in staging"],
        ),
        (
            &["apply", "--env", "staging"],
            &["planning step 2", "proving 17 edits", "writing 8 files"],
        ),
    ];
    for (args, phases) in cases {
        let (piped_tree, terminal_tree) = (
            common::copy_tree(&repo_path("fixtures/fedora-mini")),
            common::copy_tree(&repo_path("fixtures/fedora-mini")),
        );
        let piped = common::regshift_in(piped_tree.path(), args);
        assert!(
            !piped.stderr.contains(phases[0]),
            "{args:?}: {}",
            piped.stderr
        );
        let out = terminal_tree.path().join("..").join(format!(
            "{}.stdout",
            terminal_tree
                .path()
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
        ));
        let mut all = args.to_vec();
        all.extend(["-C", arg(terminal_tree.path())]);
        let redirect = format!("> '{}'", out.display());
        let Some(run) = common::on_terminal(&all, "", &redirect) else {
            return;
        };
        assert_eq!(run.code, piped.code, "{args:?}: {}", run.screen);
        let stdout = std::fs::read_to_string(&out).expect("stdout");
        let _ = std::fs::remove_file(&out);
        assert_eq!(
            stdout, piped.stdout,
            "{args:?}: stdout identical on a terminal"
        );
        for phase in phases {
            assert!(
                run.screen.contains(phase),
                "{args:?} draws {phase:?}: {}",
                run.screen
            );
        }
    }
}

#[test]
fn a_rule_that_finds_nothing_says_so_and_the_run_goes_on() {
    // A tree older than the login-registry role (SPEC §11.7): Bodhi is planned, the role's rule
    // notes that it found no use, and verify notes that it had nothing to check.
    let case = common::copy_tree(&common::repo_path(
        "fixtures/rules/bodhi-container-registries/default/before",
    ));
    let plan = regshift(&["plan", "-C", arg(case.path()), "--format", "stat"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("3 edits (bodhi-container-registries)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains(
            "rule `login-registry-params`: no use of role `login-registry` with `candidate_registry` in the tree"
        ),
        "{}",
        plan.stderr
    );
    let verify = regshift(&["verify", "-C", arg(case.path())]);
    let notes = verify
        .stdout
        .lines()
        .filter(|l| l.starts_with("note: rule `login-registry-params`"))
        .count();
    assert_eq!(notes, 2, "one per environment: {}", verify.stdout);
}

#[test]
fn explain_shows_who_can_see_a_definition() {
    // `unread`'s evidence (SPEC §4): a group's variable named only by another group's file is
    // read by nothing that can see it; the other group's own definition is read there.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let inventory = "[builders]\nb1.example.org\n\n[reactor]\nr1.example.org\n";
    common::write(root, "inventory/inventory", inventory);
    let definition = "source_registry: registry.fedoraproject.org\n";
    common::write(root, "inventory/group_vars/builders", definition);
    let reader = format!("{definition}url: \"{{{{ source_registry }}}}\"\n");
    common::write(root, "inventory/group_vars/reactor", &reader);
    let explain = |file: &str| {
        succeeds(&["audit", "-C", arg(root), "--explain", &format!("{file}:1")]).stdout
    };
    let dead = explain("inventory/group_vars/builders");
    assert!(
        dead.contains(
            "`source_registry` defined here: nothing that can see this definition reads it (unread)"
        ),
        "{dead}"
    );
    assert!(
        dead.contains("named also in (cannot see this definition): inventory/group_vars/reactor"),
        "{dead}"
    );
    let read = explain("inventory/group_vars/reactor");
    assert!(
        read.contains("`source_registry` defined here is read by: inventory/group_vars/reactor"),
        "{read}"
    );
}

/// Issue 15.3: completion scripts and the manual page come from the command line's own
/// definition, and every command's help shows an example and what each format prints.
#[test]
fn completions_man_and_help_with_examples() {
    for shell in ["bash", "zsh", "fish"] {
        let run = regshift(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for word in ["plan", "apply", "rollback", "side-by-side"] {
            assert!(run.stdout.contains(word), "{shell} completion lacks {word}");
        }
    }
    let man = regshift(&["man"]);
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(
        man.stdout.contains(".TH regshift 1"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("rollback"));
    for command in [
        "plan",
        "apply",
        "audit",
        "check",
        "verify",
        "rollback",
        "rules",
        "completions",
        "man",
    ] {
        let help = regshift(&[command, "--help"]);
        assert_eq!(help.code, 0, "{command}: {}", help.stderr);
        assert!(
            help.stdout.contains("Example"),
            "{command} --help has no example:\n{}",
            help.stdout
        );
    }
    let plan = regshift(&["plan", "--help"]).stdout;
    assert!(
        plan.contains("Unified diffs") && plan.contains("One line per file"),
        "{plan}"
    );
    let check = regshift(&["check", "--help"]).stdout;
    assert!(
        check.contains("SARIF 2.1.0") && check.contains("GitHub workflow annotations"),
        "{check}"
    );
}

/// Issue 15.5: `check` names each pending edit where it is, old → new, and says what to do
/// next; `plan` with nothing pending says so in one line on stderr, stdout staying empty; and
/// `apply --commit` outside a git repository is refused even when nothing is pending.
#[test]
fn check_and_plan_say_where_what_and_next() {
    let tree = mini();
    let dir = arg(tree.path());
    let check = regshift(&["check", "-C", dir]);
    assert_eq!(check.code, 1);
    let line = check
        .stdout
        .lines()
        .find(|l| l.starts_with("pending: roles/koji_builder/tasks/main.yml:"))
        .expect("a pending koji edit");
    assert!(
        line.contains(" → ") && line.contains("[rule koji-flatpak-registry]"),
        "{line}"
    );
    let at = line["pending: roles/koji_builder/tasks/main.yml:".len()..]
        .split_whitespace()
        .next()
        .expect("line:col");
    assert!(at.split(':').all(|n| n.parse::<usize>().is_ok()), "{at}");
    assert!(
        check
            .stdout
            .contains("next: `regshift plan` shows the edits"),
        "{}",
        check.stdout
    );
    succeeds(&["apply", "-C", dir]);
    let plan = regshift(&["plan", "--format", "json", "-C", dir]);
    assert_eq!(plan.code, 0);
    assert!(
        plan.stderr
            .contains("nothing pending: step 2 is done in production, staging"),
        "{}",
        plan.stderr
    );
    let json: serde_json::Value =
        serde_json::from_str(&plan.stdout).expect("stdout is the JSON alone");
    assert_eq!(json["edits"], serde_json::json!([]));
    let refused = regshift(&["apply", "--commit", "-C", dir]);
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("not inside a git repository"),
        "{}",
        refused.stderr
    );
}

/// Issue 15.1: `plan --out FILE` saves the plan (readable JSON with `format_version`, step,
/// environments, mode, digests, every file's blob id, the edits); `apply FILE` applies exactly
/// it; a file changed since, or another migration, is refused naming it, nothing written.
#[test]
fn a_saved_plan_is_applied_exactly_or_refused_when_stale() {
    let tree = mini();
    let dir = arg(tree.path());
    let out = tree.path().with_extension("plan.json");
    let file = arg(&out);
    let planned = regshift(&["plan", "--env", "staging", "--out", file, "-C", dir]);
    assert_eq!(planned.code, 1, "{}", planned.stderr);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("saved")).expect("JSON");
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["step"], 2);
    assert_eq!(saved["environments"], serde_json::json!(["staging"]));
    assert_eq!(saved["mode"], "cutover");
    assert!(saved["files"]["roles/koji_builder/tasks/main.yml"].is_string());
    let edits = saved["edits"].as_array().expect("edits");
    assert!(!edits.is_empty());
    // Stale: a file changed since the plan.
    let all = tree.path().join("inventory/group_vars/all");
    let text = std::fs::read_to_string(&all).expect("read");
    std::fs::write(&all, format!("{text}# edited since\n")).expect("write");
    let before = snapshot_bytes(tree.path());
    let stale = regshift(&["apply", file, "-C", dir]);
    assert_eq!(stale.code, 2);
    assert!(
        stale
            .stderr
            .contains("stale plan: files changed since: inventory/group_vars/all"),
        "{}",
        stale.stderr
    );
    assert_eq!(snapshot_bytes(tree.path()), before, "nothing written");
    std::fs::write(&all, text).expect("restore");
    // Another migration file is another plan.
    let other = repo_path("fixtures/migrations/no-namespace.yaml");
    let migration = regshift(&[
        "apply",
        file,
        "--migration",
        arg(&other),
        "--builtin-rules",
        "-C",
        dir,
    ]);
    assert_eq!(migration.code, 2);
    assert!(
        migration
            .stderr
            .contains("the migration file is not the one"),
        "{}",
        migration.stderr
    );
    // Applied exactly: staging is done, production untouched.
    succeeds(&["apply", file, "-C", dir]);
    assert_eq!(regshift(&["plan", "--env", "staging", "-C", dir]).code, 0);
    assert_eq!(
        regshift(&["plan", "--env", "production", "-C", dir]).code,
        1
    );
    let _ = std::fs::remove_file(&out);
}

/// Issue 15.6 (part): the pre-commit hook definition runs `regshift check` with pre-commit's
/// Rust support, and the changelog has an Unreleased section.
#[test]
fn the_pre_commit_hook_and_the_changelog_are_there() {
    let hooks = std::fs::read_to_string(repo_path(".pre-commit-hooks.yaml")).expect("hooks file");
    let parsed: serde_json::Value = serde_saphyr::from_str(&hooks).expect("YAML");
    let hook = &parsed[0];
    assert_eq!(hook["id"], "regshift-check");
    assert_eq!(hook["entry"], "regshift check");
    assert_eq!(hook["language"], "rust");
    assert_eq!(hook["pass_filenames"], false);
    let changelog = std::fs::read_to_string(repo_path("CHANGELOG.md")).expect("changelog");
    assert!(changelog.contains("## [Unreleased]") && changelog.contains("## [0.1.0]"));
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("readme");
    assert!(readme.contains("cargo install --locked"));
}

/// Issue 15.4: `.regshift.yaml` at the root sets the environments, step and mode (and migration
/// and rules) so that CI needs no flags; flags win; an unknown key is a located error.
#[test]
fn the_tree_settings_file_stands_in_for_flags_and_flags_win() {
    let tree = mini();
    let dir = arg(tree.path());
    let stat = |args: &[&str]| {
        let mut all = vec!["plan", "--format", "json", "-C", dir];
        all.extend(args);
        let run = regshift(&all);
        serde_json::from_str::<serde_json::Value>(&run.stdout).expect("JSON")
    };
    let staging_by_flag = stat(&["--env", "staging"]);
    let production_by_flag = stat(&["--env", "production"]);
    assert_ne!(staging_by_flag["edits"], production_by_flag["edits"]);
    common::write(
        tree.path(),
        ".regshift.yaml",
        "env: staging\nmode: cutover\n",
    );
    assert_eq!(stat(&[]), staging_by_flag, "the file's env is the flag's");
    assert_eq!(
        stat(&["--env", "production"]),
        production_by_flag,
        "a flag wins over the file"
    );
    common::write(tree.path(), ".regshift.yaml", "step: 3\n");
    assert_eq!(stat(&[])["step"], 3);
    // From a directory below the root, the upward search finds the file too.
    let below = regshift(&[
        "plan",
        "--format",
        "json",
        "-C",
        arg(&tree.path().join("roles")),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&below.stdout).expect("JSON");
    assert_eq!(doc["step"], 3);
    common::write(tree.path(), ".regshift.yaml", "env: staging\nsteps: 2\n");
    let bad = regshift(&["plan", "-C", dir]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains(".regshift.yaml:2:"), "{}", bad.stderr);
    common::write(tree.path(), ".regshift.yaml", "mode: sideways\n");
    let bad = regshift(&["plan", "-C", dir]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("`mode: sideways`"), "{}", bad.stderr);
}
