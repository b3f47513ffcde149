//! Step 4 on both corpora (issue 14.4): refused while step 2 is pending; staging first, then
//! production; what goes is what SPEC §7.4 lists (the files below are derived from
//! context/steps-3-4.md §3, not from regshift's output), the stable registry's servers stay;
//! production's renderings do not change in the staging run; idempotent; the human checklist
//! is said; rolling back the commits brings every removed file back.

mod common;

use std::path::Path;

use common::regshift_in as run;

use common::succeeds_in as ok;

fn render(root: &Path, template: &str, env: &str) -> String {
    ok(root, &["render", template, "--env", env]).stdout
}

const HAPROXY: &str = "roles/haproxy/templates/haproxy.cfg";

/// `datacenter`: `iad2` (2023) or `rdu3` (2025); `ccd`: the VPN clients' directory.
fn step_four(root: &Path, datacenter: &str, ccd: &str, module: bool) {
    common::identity(root);
    let refused = run(root, &["apply", "--step", "4", "--env", "staging"]);
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("step 2 first"),
        "{}",
        refused.stderr
    );

    ok(root, &["apply", "--commit", "--env", "staging"]);
    ok(root, &["apply", "--commit", "--env", "production"]);
    let after_step_two = common::git(root, &["rev-parse", "HEAD"]);

    assert_eq!(
        run(root, &["verify", "--step", "4"]).code,
        1,
        "the servers are still there"
    );
    let prod_haproxy = render(root, HAPROXY, "production");
    let planned = run(root, &["plan", "--step", "4", "--env", "staging"]);
    assert_eq!(planned.code, 1);
    for said in [
        "no pusher is left on candidate-registry",
        "ipa host-del",
        "state=absent",
    ] {
        assert!(planned.stderr.contains(said), "{said}: {}", planned.stderr);
    }
    ok(
        root,
        &["apply", "--commit", "--step", "4", "--env", "staging"],
    );
    assert_eq!(
        render(root, HAPROXY, "production"),
        prod_haproxy,
        "production unchanged"
    );
    ok(root, &["check", "--step", "4", "--env", "staging"]);
    ok(root, &["verify", "--step", "4", "--env", "staging"]);
    let stg =
        format!("inventory/host_vars/oci-candidate-registry01.stg.{datacenter}.fedoraproject.org");
    assert!(
        !root.join(&stg).exists(),
        "the staging server's host_vars go with staging"
    );

    ok(
        root,
        &["apply", "--commit", "--step", "4", "--env", "production"],
    );
    assert_eq!(run(root, &["plan", "--step", "4"]).code, 0, "idempotent");
    ok(root, &["check", "--step", "4"]);
    assert!(
        ok(root, &["verify", "--step", "4"])
            .stdout
            .contains("2 passed, 0 failed")
    );
    let mut gone = vec![
        format!("inventory/host_vars/oci-candidate-registry01.{datacenter}.fedoraproject.org"),
        stg,
        format!("{ccd}/oci-candidate-registry01.{datacenter}.fedoraproject.org"),
        "playbooks/manual/oci-registry-prune.yml".to_string(),
        "roles/fedora-web/candidate-registry/tasks/main.yml".to_string(),
        "roles/httpd/reverseproxy/templates/reversepassproxy.candidate-registry.conf".to_string(),
    ];
    if module {
        gone.push("library/delete_old_oci_images.py".to_string());
    }
    for file in &gone {
        assert!(!root.join(file).exists(), "{file} is removed");
    }
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).expect("read");
    let inventory = read("inventory/inventory");
    assert!(
        !inventory.contains("oci-candidate-registry01"),
        "the servers leave the inventory"
    );
    assert!(
        inventory.contains("[oci_registry]") && inventory.contains("oci-registry01."),
        "the groups and the stable servers stay"
    );
    let haproxy = read(HAPROXY);
    assert!(
        !haproxy.contains("oci-candidate-registry"),
        "haproxy's block goes"
    );
    assert!(
        haproxy.contains("frontend oci-registry-frontend"),
        "the stable registry's stays"
    );
    let play = read("playbooks/groups/oci-registry.yml");
    assert!(
        !play.contains("oci_candidate_registry") && !play.contains("candidate-registry."),
        "{play}"
    );
    assert!(
        play.contains("nfs_src_dir: \"oci_registry\""),
        "the stable servers' mount stays"
    );
    for (file, name) in [
        (
            "playbooks/include/proxies-websites.yml",
            "site_name: candidate-registry.",
        ),
        (
            "playbooks/include/proxies-reverseproxy.yml",
            "website: candidate-registry.",
        ),
        (
            "playbooks/include/proxies-fedora-web.yml",
            "fedora-web/candidate-registry",
        ),
    ] {
        assert!(!read(file).contains(name), "{file}");
    }
    assert!(
        read("playbooks/include/proxies-reverseproxy.yml")
            .contains("website: registry.fedoraproject.org")
    );

    // Rollback brings every removed file back, byte for byte. Production's run removed what
    // both environments shared: it goes back with every environment.
    let alone = run(root, &["rollback", "--step", "4", "--env", "production"]);
    assert_eq!(alone.code, 2);
    assert!(
        alone.stderr.contains("changes staging too"),
        "{}",
        alone.stderr
    );
    ok(root, &["rollback", "--step", "4"]);
    assert_eq!(common::git(root, &["diff", after_step_two.trim()]), "");
    assert_eq!(common::git(root, &["status", "--porcelain"]), "");
    for file in &gone {
        assert!(root.join(file).exists(), "{file} is back");
    }
}

#[test]
fn step_four_on_the_2023_tree() {
    let Some((_dir, root)) = common::corpus() else {
        return;
    };
    step_four(&root, "iad2", "roles/openvpn/server/files/ccd", false);
}

#[test]
fn step_four_on_the_2025_tree() {
    let Some((_dir, root)) = common::corpus_2025() else {
        return;
    };
    step_four(&root, "rdu3", "roles/openvpn/server/files/ccd-rdu3", true);
}
