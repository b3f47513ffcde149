//! Secrets never show (issue 12.4, SPEC §6.5): literal secrets written in any syntax beside the
//! lines regshift edits — one-line JSON, a YAML flow mapping, an INI line behind an inline
//! `{% if %}`, a vault block whose header lies outside the diff's context — and a dockercfg
//! `auth` a proof decodes stay hidden in every output and format, errors included.

mod common;

use std::path::Path;

use common::{copy_tree, regshift, repo_path};

fn arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every secret planted below holds this word; no output may.
const MARK: &str = "Hunt3r";

fn assert_hidden(args: &[&str]) -> common::Run {
    let run = regshift(args);
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(MARK),
            "{args:?} {stream} shows a secret:\n{text}"
        );
    }
    run
}

/// The bundled tree with secrets written beside lines step 2 edits.
fn planted() -> tempfile::TempDir {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let root = tree.path();
    let edit = |file: &str, f: &dyn Fn(String) -> String| {
        let text = std::fs::read_to_string(root.join(file)).expect("read");
        common::write(root, file, &f(text));
    };
    // One-line JSON: the line itself is edited.
    edit("files/osbs/dockercfg-production-secret.j2", &|t| {
        t.replace(
            "\"{{candidate_registry_osbs_prod_password}}\"",
            "\"Hunt3rJson\"",
        )
    });
    // An INI line behind an inline `{% if %}`, right under an edited line.
    edit("roles/bodhi2/base/templates/production.ini.j2", &|t| {
        t.replace(
            "container.source_registry = candidate-registry.stg.fedoraproject.org\n",
            "container.source_registry = candidate-registry.stg.fedoraproject.org\n\
             {% if env == 'staging' %}db_password = Hunt3rIni{% endif %}\n",
        )
    });
    // A vault block whose header is out of the diff's reach, then a flow mapping.
    let hex = "3132333435363738393031323334353637383930313233343536373839303132";
    edit("inventory/group_vars/osbs_masters", &|t| {
        let url = "      url: https://candidate-registry.fedoraproject.org/v2\n";
        t.replace(
            url,
            &format!(
                "      vaulted: !vault |\n            $ANSIBLE_VAULT;1.1;AES256\n            {hex}\n            {hex}\n            {hex}\n            4875\n{url}      creds: {{user: me, password: Hunt3rFlow}}\n"
            ),
        )
    });
    tree
}

#[test]
fn plan_diffs_hide_secrets_in_any_syntax() {
    let tree = planted();
    let dir = arg(tree.path());
    let plan = assert_hidden(&["plan", "-C", dir]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    for shown in [
        "\"password\":\"<redacted>\"",
        "db_password = <redacted>{% endif %}",
        "creds: {user: me, password: <redacted>}",
        "             <redacted>\n-      url:",
    ] {
        assert!(plan.stdout.contains(shown), "{shown}:\n{}", plan.stdout);
    }
    assert!(
        !plan.stdout.contains("4875"),
        "the vault's short last line shows:\n{}",
        plan.stdout
    );
    for format in ["json", "sarif", "github", "stat"] {
        assert_hidden(&["plan", "-C", dir, "--format", format]);
    }
}

#[test]
fn explain_hides_the_secret_on_the_line() {
    let tree = planted();
    let dir = arg(tree.path());
    let run = assert_hidden(&[
        "audit",
        "-C",
        dir,
        "--explain",
        "files/osbs/dockercfg-production-secret.j2:1",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("<redacted>"), "{}", run.stdout);
}

#[test]
fn a_parse_error_excerpt_hides_the_secret() {
    let tree = planted();
    let dir = arg(tree.path());
    common::write(
        tree.path(),
        "files/osbs/dockercfg-staging-secret.j2",
        "{\"auths\":{\"candidate-registry.stg.fedoraproject.org\":{\"password\":\"Hunt3rParse\",,}}}\n",
    );
    for command in ["plan", "apply", "check"] {
        let run = assert_hidden(&[command, "-C", dir]);
        assert_eq!(run.code, 2, "{command}: {}", run.stderr);
        assert!(
            run.stderr.contains("dockercfg-staging-secret.j2:1:")
                && run.stderr.contains("<redacted>"),
            "{command}: the excerpt is shown, redacted:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_proof_failure_never_shows_a_decoded_auth() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let dir = arg(tree.path());
    let applied = regshift(&["apply", "-C", dir, "--env", "staging"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    // The auth string is now a literal the proof decodes from base64 and finds wrong.
    let play = "playbooks/groups/osbs/setup-worker-namespace.yml";
    let text = std::fs::read_to_string(tree.path().join(play)).expect("read");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("auth_info_stg:"))
        .expect("the staging auth string");
    common::write(
        tree.path(),
        play,
        &text.replace(line, "        auth_info_stg: \"bob:Hunt3rAuth\""),
    );
    let verify = assert_hidden(&["verify", "-C", dir, "--env", "staging"]);
    assert_eq!(verify.code, 1, "verify: the proof fails: {}", verify.stderr);
    // What is expected is only the vault variables' names; what is there is a secret.
    let said = "auth: expected <quay_io_stg_username>:<quay_io_stg_password>, got <redacted>";
    assert!(verify.stdout.contains(said), "{}", verify.stdout);
    for format in ["text", "json", "sarif", "github"] {
        let run = assert_hidden(&["check", "-C", dir, "--env", "staging", "--format", format]);
        assert_eq!(run.code, 1, "{format}: the proof fails: {}", run.stderr);
        let out = format!("{}{}", run.stdout, run.stderr);
        assert!(
            out.contains("auth") && out.contains("<redacted>"),
            "{format}: the failure is reported, redacted:\n{out}"
        );
    }
}

/// `apply --interactive` (issue 15.2) shows each edit's hunk as `plan`'s diff does: the secrets
/// planted beside edited lines stay hidden on the terminal. Every edit is declined, so nothing
/// is written either.
#[test]
fn the_interactive_review_hides_secrets() {
    let tree = planted();
    let dir = arg(tree.path());
    let answers = "n\n".repeat(40);
    let Some(run) = common::on_terminal(&["apply", "--interactive", "-C", dir], &answers, "")
    else {
        return;
    };
    assert_eq!(run.code, 0, "{}", run.screen);
    assert!(
        !run.screen.contains(MARK),
        "a secret shows:\n{}",
        run.screen
    );
    assert!(
        run.screen.contains("db_password = <redacted>{% endif %}"),
        "{}",
        run.screen
    );
    assert!(run.screen.contains("accepted 0 of "), "{}", run.screen);
}
