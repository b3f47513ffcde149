//! `apply --commit` and its companions (issue 5) on temporary repositories made from
//! fixtures/fedora-mini: dirty-tree refusal, identity error, one commit per rule, idempotence,
//! `git am` round trip, push to a bare repository, staging first, the pull-request body.

mod common;

use std::path::Path;

use common::{
    commit_all, copy_tree, git, regshift, regshift_with, repo_path, snapshot_bytes, succeeds,
};

/// fedora-mini as a fresh repository with a committer identity of its own.
fn mini_repo() -> tempfile::TempDir {
    let dir = copy_tree(&repo_path("fixtures/fedora-mini"));
    commit_all(dir.path(), "base");
    git(dir.path(), &["config", "user.name", "Ada Admin"]);
    git(dir.path(), &["config", "user.email", "ada@example.org"]);
    dir
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

/// The edits `plan --env ENV --format json` lists.
fn planned_edits(dir: &Path, env: &str) -> Vec<serde_json::Value> {
    let run = regshift(&["plan", "-C", path(dir), "--env", env, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    json["edits"].as_array().cloned().unwrap_or_default()
}

fn log(dir: &Path) -> Vec<String> {
    git(dir, &["log", "--format=%s"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn one_commit_per_rule_on_a_new_branch_then_nothing() {
    let repo = mini_repo();
    let dir = path(repo.path());
    let planned = planned_edits(repo.path(), "staging");
    let rules: std::collections::BTreeSet<String> = planned
        .iter()
        .filter_map(|e| e["rule"].as_str().map(str::to_string))
        .collect();
    succeeds(&[
        "apply",
        "-C",
        dir,
        "--env",
        "staging",
        "--commit",
        "--signoff",
    ]);
    assert_eq!(
        git(repo.path(), &["branch", "--show-current"]).trim(),
        "regshift/step-2-staging"
    );
    assert!(git(repo.path(), &["status", "--porcelain"]).is_empty());
    let subjects = log(repo.path());
    assert_eq!(subjects.last().map(String::as_str), Some("base"));
    let ours = &subjects[..subjects.len() - 1];
    // With one environment, every rule's edits go in one commit.
    assert_eq!(ours.len(), rules.len(), "{ours:?}");
    for s in ours {
        assert!(s.chars().count() < 72, "{s}");
        assert!(s.ends_with("(staging)"), "{s}");
    }
    // Each commit names its rule in a trailer, lists its values and is signed off.
    let bodies = git(
        repo.path(),
        &["log", "--format=%B%x00", "-n", &ours.len().to_string()],
    );
    let mut trailers = std::collections::BTreeSet::new();
    for body in bodies.split('\0').filter(|b| !b.trim().is_empty()) {
        let rule = body
            .lines()
            .find_map(|l| l.strip_prefix("Regshift-Rule: "))
            .expect("trailer");
        trailers.insert(rule.to_string());
        assert!(body.trim_start().starts_with(rule), "{body}");
        assert!(body.contains(" → "), "{body}");
        assert!(
            body.contains("Signed-off-by: Ada Admin <ada@example.org>"),
            "{body}"
        );
    }
    assert_eq!(trailers, rules);
    // The commits hold exactly what `apply` wrote: a second run has nothing to do.
    succeeds(&["apply", "-C", dir, "--env", "staging", "--commit"]);
    assert_eq!(log(repo.path()).len(), subjects.len());
    let plan = regshift(&["plan", "-C", dir, "--env", "staging"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
}

#[test]
fn a_dirty_tree_is_refused_unless_allowed_and_then_left_alone() {
    let repo = mini_repo();
    let dir = path(repo.path());
    std::fs::write(repo.path().join("NOTES.txt"), "mine\n").expect("write");
    let before = snapshot_bytes(repo.path());
    let run = regshift(&["apply", "-C", dir, "--commit"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("uncommitted changes (NOTES.txt)"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot_bytes(repo.path()), before, "nothing touched");
    assert_eq!(log(repo.path()), ["base"]);

    succeeds(&["apply", "-C", dir, "--commit", "--allow-dirty"]);
    assert_eq!(
        git(repo.path(), &["status", "--porcelain"]),
        "?? NOTES.txt\n",
        "the user's file is neither committed nor staged"
    );
    let committed = git(repo.path(), &["log", "--name-only", "--format="]);
    assert!(!committed.contains("NOTES.txt"));
    assert_eq!(
        git(repo.path(), &["branch", "--show-current"]).trim(),
        "regshift/step-2"
    );
}

#[test]
fn a_missing_identity_is_a_clear_error_and_nothing_is_written() {
    let dir = copy_tree(&repo_path("fixtures/fedora-mini"));
    commit_all(dir.path(), "base");
    let home = tempfile::tempdir().expect("home");
    let before = snapshot_bytes(dir.path());
    let run = regshift_with(
        &["apply", "-C", path(dir.path()), "--commit"],
        &[
            ("HOME", path(home.path())),
            ("XDG_CONFIG_HOME", path(home.path())),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_AUTHOR_NAME", ""),
            ("GIT_AUTHOR_EMAIL", ""),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no git identity"), "{}", run.stderr);
    assert!(
        run.stderr.contains("git config user.name"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot_bytes(dir.path()), before);
}

#[test]
fn patches_apply_with_git_am_and_reproduce_the_tree() {
    let repo = mini_repo();
    let patches = tempfile::tempdir().expect("patches");
    succeeds(&[
        "apply",
        "-C",
        path(repo.path()),
        "--commit",
        "--format-patch",
        path(patches.path()),
    ]);
    let mut files: Vec<String> = std::fs::read_dir(patches.path())
        .expect("dir")
        .map(|e| e.expect("entry").path().display().to_string())
        .collect();
    files.sort();
    assert_eq!(files.len(), log(repo.path()).len() - 1);
    assert!(files[0].contains("/0001-"), "{files:?}");

    // A clean clone at the commit the series started from.
    let base = git(
        repo.path(),
        &["rev-parse", &format!("HEAD~{}", files.len())],
    );
    let clone = tempfile::tempdir().expect("clone");
    git(clone.path(), &["clone", "-q", path(repo.path()), "work"]);
    let work = clone.path().join("work");
    git(&work, &["reset", "-q", "--hard", base.trim()]);
    assert_ne!(
        git(&work, &["rev-parse", "HEAD^{tree}"]),
        git(repo.path(), &["rev-parse", "HEAD^{tree}"])
    );
    let mut am = vec![
        "-c",
        "user.name=r",
        "-c",
        "user.email=r@example.org",
        "am",
        "-q",
        // fedora-mini holds a CRLF file; without this git strips its CRs (`am.keepcr`).
        "--keep-cr",
    ];
    am.extend(files.iter().map(String::as_str));
    git(&work, &am);
    assert_eq!(
        git(&work, &["rev-parse", "HEAD^{tree}"]),
        git(repo.path(), &["rev-parse", "HEAD^{tree}"])
    );
}

#[test]
fn push_goes_to_the_remote_with_the_users_git() {
    let repo = mini_repo();
    let bare = tempfile::tempdir().expect("bare");
    git(bare.path(), &["init", "-q", "--bare"]);
    git(repo.path(), &["remote", "add", "origin", path(bare.path())]);
    succeeds(&[
        "apply",
        "-C",
        path(repo.path()),
        "--commit",
        "--branch",
        "registry-move",
        "--push",
        "origin",
    ]);
    assert_eq!(
        git(bare.path(), &["rev-parse", "refs/heads/registry-move"]),
        git(repo.path(), &["rev-parse", "HEAD"])
    );
    assert_eq!(
        git(repo.path(), &["rev-parse", "--abbrev-ref", "@{upstream}"]).trim(),
        "origin/registry-move"
    );
}

#[test]
fn production_waits_for_staging_unless_forced() {
    let repo = mini_repo();
    let dir = path(repo.path());
    let before = snapshot_bytes(repo.path());
    let run = regshift(&["apply", "-C", dir, "--env", "production", "--commit"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("staging first"), "{}", run.stderr);
    assert_eq!(snapshot_bytes(repo.path()), before);

    // After staging, production goes ahead on its own branch.
    succeeds(&["apply", "-C", dir, "--env", "staging", "--commit"]);
    succeeds(&["apply", "-C", dir, "--env", "production", "--commit"]);
    assert_eq!(
        git(repo.path(), &["branch", "--show-current"]).trim(),
        "regshift/step-2-production"
    );
    assert_eq!(regshift(&["plan", "-C", dir]).code, 0);

    // --force overrides the refusal (without --commit too).
    let other = mini_repo();
    succeeds(&[
        "apply",
        "-C",
        path(other.path()),
        "--env",
        "production",
        "--force",
    ]);
}

#[test]
fn the_pull_request_body_explains_the_change() {
    let repo = mini_repo();
    let out = tempfile::tempdir().expect("out");
    let body = out.path().join("pr.md");
    let edits = planned_edits(repo.path(), "staging").len();
    assert!(edits > 0);
    succeeds(&[
        "apply",
        "-C",
        path(repo.path()),
        "--env",
        "staging",
        "--commit",
        "--pr-body",
        path(&body),
    ]);
    let text = std::fs::read_to_string(&body).expect("pr body");
    for heading in [
        "# Registry migration, step 2: staging",
        "## Changes",
        "## Verification",
        "## Needs a human",
        "## Rollout",
    ] {
        assert!(text.contains(heading), "{heading}\n{text}");
    }
    assert!(text.contains("| staging | "), "{text}");
    assert!(text.contains(" 0 failed |"), "{text}");
    assert!(
        text.contains("| production | not changed"),
        "production is untouched by a staging change\n{text}"
    );
    assert!(text.contains("`quay_io_stg_password` (staging)"), "{text}");
    assert!(text.contains("--env production"), "{text}");
    assert!(
        text.contains("Deployment order: once step 2 is deployed nothing pushes to")
            && text.contains(
                "step 2 and step 3 together per environment (staging first, then production)"
            ),
        "SPEC §7's deployment order: {text}"
    );
    // One row per edit in the Changes table.
    let changes = common::between(&text, "## Changes", "## Verification");
    let rows = changes.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(rows, edits + 1, "header + one row per edit\n{changes}");
    // Issue 15.5: the plays to run, from the fixture's inventory: in staging only the OSBS
    // masters have a host, so the one play is setup-worker-namespace's, which deploys the
    // staging dockercfg template; the builders' playbooks have no host in staging.
    assert!(
        text.contains(
            "| `playbooks/groups/osbs/setup-worker-namespace.yml` | `osbs_masters_stg[0]:osbs_masters[0]` | `files/osbs/dockercfg-staging-secret.j2`, `playbooks/groups/osbs/setup-worker-namespace.yml` |"
        ),
        "{text}"
    );
    let unplayed = common::between(
        &text,
        "No play with a host in staging was found deploying ",
        ":",
    );
    for file in [
        "playbooks/groups/buildvm.yml",
        "roles/bodhi2/base/templates/production.ini.j2",
    ] {
        assert!(unplayed.contains(file), "{file}: {unplayed}");
    }
    // The later steps' references are folded.
    let step3 = common::between(&text, "- **Step 3** (not in this change)", "- **Step 4**");
    assert!(
        step3
            .trim_start_matches(|c| c != '\n')
            .trim_start()
            .starts_with("<details><summary>the step-3 references</summary>"),
        "{step3}"
    );
}

/// The repository's refs and where HEAD points, to compare before and after a refusal.
fn refs(dir: &Path) -> (String, String) {
    (
        git(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]),
        git(dir, &["symbolic-ref", "HEAD"]),
    )
}

/// Every precondition of `apply --commit` is checked before the first write (issue 12.2): a
/// lock another git process holds, a PR body in a missing directory, patches aimed at a file.
#[test]
fn a_failed_precondition_writes_nothing_and_moves_no_ref() {
    let cases: [(&str, &[&str], &str); 5] = [
        ("index.lock", &[], "index.lock"),
        ("HEAD.lock", &[], "HEAD.lock"),
        ("refs/heads/regshift/step-2.lock", &[], "step-2.lock"),
        (
            "",
            &["--pr-body", "missing/dir/pr.md"],
            "its directory does not exist",
        ),
        ("", &["--format-patch", "a-file"], "a file is in the way"),
    ];
    for (lock, extra, expect) in cases {
        let dir = mini_repo();
        let root = dir.path();
        std::fs::write(root.join("a-file"), "in the way\n").expect("write");
        commit_all(root, "a file in the way");
        if !lock.is_empty() {
            let lock = root.join(".git").join(lock);
            std::fs::create_dir_all(lock.parent().expect("parent")).expect("mkdir");
            std::fs::write(&lock, "").expect("lock");
        }
        let (before, refs_before) = (snapshot_bytes(root), refs(root));
        // Output paths are given inside the repository.
        let extra: Vec<String> = extra
            .iter()
            .map(|a| match a.starts_with("--") {
                true => a.to_string(),
                false => path(&root.join(a)).to_string(),
            })
            .collect();
        let mut args = vec!["apply", "-C", path(root), "--commit"];
        args.extend(extra.iter().map(String::as_str));
        let run = regshift(&args);
        assert_eq!(run.code, 2, "{expect}: {}", run.stderr);
        assert!(run.stderr.contains(expect), "{expect}: {}", run.stderr);
        assert_eq!(snapshot_bytes(root), before, "{expect}: nothing written");
        assert_eq!(refs(root), refs_before, "{expect}: no ref moved");
    }
}

/// A step after the writes that still fails (here the branch cannot be made: a branch
/// `regshift` is in the way of `regshift/step-2`) puts the files, the index and the refs back,
/// and says so (issue 12.2).
#[test]
fn a_failure_after_the_writes_puts_everything_back() {
    let dir = mini_repo();
    let root = dir.path();
    git(root, &["branch", "regshift"]);
    let (before, refs_before) = (snapshot_bytes(root), refs(root));
    let run = regshift(&["apply", "-C", path(root), "--commit"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the work tree, the index and the refs are back as they were"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot_bytes(root), before, "the files are back");
    assert_eq!(refs(root), refs_before, "the refs are back");
    assert_eq!(
        git(root, &["status", "--porcelain"]),
        "",
        "the index is back"
    );
}
