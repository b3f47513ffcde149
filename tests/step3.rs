//! Step 3 on both corpora (issue 14.2–14.3): `plan|apply|verify --step 3`, staging first; the
//! other environment's renderings byte-identical; idempotent; the switched environment's
//! registry vhost answers the sample requests as SPEC §7.3 says, its web pages going to the
//! organisation page (the answers are written here from the spec, not taken from regshift's
//! own proof); turning the switch off gives back today's renderings; a wrong redirect fails
//! `verify`.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;

use regshift::apache::{Answer, Request, Rules};

/// The registry vhost's template (it includes the generic fragment).
const VHOST: &str = "roles/httpd/reverseproxy/templates/reversepassproxy.registry-fedora.conf";
const GENERIC: &str = "roles/httpd/reverseproxy/templates/reversepassproxy.registry-generic.conf";

fn render(root: &Path, template: &str, env: &str) -> String {
    let dir = root.to_str().expect("utf-8");
    let run = common::regshift(&["render", template, "--env", env, "-C", dir]);
    assert_eq!(run.code, 0, "{template} ({env}): {}", run.stderr);
    run.stdout
}

fn renderings(root: &Path, env: &str) -> Vec<String> {
    [VHOST, GENERIC]
        .iter()
        .map(|t| render(root, t, env))
        .collect()
}

/// The registry site's whole configuration (every file installed for it, rendered with its
/// role use's parameters) as the step-3 proof reads it.
fn site(root: &Path, env: &str) -> String {
    let run = common::regshift(&["site", "--env", env, "-C", root.to_str().expect("utf-8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

use common::regshift_in as run;

fn answer(rules: &Rules, method: &str, uri: &str) -> Answer {
    rules.answer(&Request {
        method,
        host: "registry.fedoraproject.org",
        uri,
        https: true,
        remote: Ipv4Addr::new(198, 51, 100, 9),
        headers: &[],
    })
}

/// What SPEC §7.3 asks of an environment whose redirect is on, `ns` its namespace on quay.io.
fn assert_redirects(rules: &Rules, ns: &str, env: &str) {
    let to = |p: &str| Answer::Redirect(307, format!("https://quay.io/v2/{ns}/{p}"));
    let api = [
        ("GET", "/v2/fedora/manifests/40", to("fedora/manifests/40")),
        ("HEAD", "/v2/fedora/manifests/40", to("fedora/manifests/40")),
        (
            "GET",
            "/v2/fedora/blobs/sha256:ab",
            to("fedora/blobs/sha256:ab"),
        ),
        (
            "GET",
            "/v2/f39/fedora-toolbox/tags/list",
            to("f39/fedora-toolbox/tags/list"),
        ),
        ("PUT", "/v2/fedora/blobs/uploads/1", Answer::Status(405)),
        ("PATCH", "/v2/fedora/blobs/uploads/1", Answer::Status(405)),
        ("POST", "/v2/fedora/blobs/uploads/", Answer::Status(405)),
        ("GET", "/v2/", Answer::Local("/static/v2.json".into())),
        ("GET", "/v2/_catalog", Answer::Status(404)),
    ];
    for (method, uri, expected) in api {
        assert_eq!(
            answer(rules, method, uri),
            expected,
            "{env}: {method} {uri}"
        );
    }
}

fn step_three(root: &Path) {
    let before_prod = renderings(root, "production");
    let before_prod_site = site(root, "production");
    let before_stg = renderings(root, "staging");
    let before_rules = Rules::parse(&before_stg[0]).expect("today's vhost reads");

    // Staging first.
    assert_eq!(
        run(root, &["plan", "--step", "3", "--env", "staging"]).code,
        1
    );
    let applied = run(root, &["apply", "--step", "3", "--env", "staging"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(
        run(root, &["plan", "--step", "3", "--env", "staging"]).code,
        0,
        "idempotent"
    );
    let verified = run(root, &["verify", "--step", "3", "--env", "staging"]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified.stdout.contains(", 0 failed"),
        "{}",
        verified.stdout
    );
    assert_eq!(
        renderings(root, "production"),
        before_prod,
        "production renders byte for byte as before"
    );
    assert_eq!(
        site(root, "production"),
        before_prod_site,
        "the whole production site too"
    );
    let stg = Rules::parse(&renderings(root, "staging")[0]).expect("the new vhost reads");
    assert_redirects(&stg, "fedora-testing", "staging");
    // The flatpak index and the signatures are answered as before.
    for uri in [
        "/index/static?architecture=amd64&label%3Aorg.flatpak.ref%3Aexists=1",
        "/signatures/fedora@sha256=ab/signature-1",
    ] {
        assert_eq!(
            answer(&stg, "GET", uri),
            answer(&before_rules, "GET", uri),
            "staging: GET {uri} is not the API's"
        );
    }
    // The web UI pages go to the organisation page of staging's namespace (the whole site:
    // the page redirect is a file of its own, installed by another role).
    let whole = Rules::parse(&site(root, "staging")).expect("the site reads");
    assert_redirects(&whole, "fedora-testing", "staging");
    let page = Answer::Redirect(302, "https://quay.io/organization/fedora-testing/".into());
    for uri in ["/index.html", "/repo/fedora/tags/"] {
        assert_eq!(answer(&whole, "GET", uri), page, "staging: GET {uri}");
    }
    assert_eq!(
        run(root, &["check", "--step", "3", "--env", "staging"]).code,
        0,
        "staging first passes CI"
    );

    // Then production.
    let applied = run(root, &["apply", "--step", "3", "--env", "production"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(run(root, &["plan", "--step", "3"]).code, 0, "idempotent");
    assert_eq!(run(root, &["verify", "--step", "3"]).code, 0);
    let prod = Rules::parse(&site(root, "production")).expect("reads");
    assert_redirects(&prod, "fedora", "production");
    assert_eq!(
        answer(&prod, "GET", "/repo/fedora/tags/"),
        Answer::Redirect(302, "https://quay.io/organization/fedora/".into())
    );

    // A redirect to the wrong namespace fails the proof.
    let generic = root.join(GENERIC);
    let text = std::fs::read_to_string(&generic).expect("read");
    let wrong = text.replacen("quay.io/v2/fedora-testing/", "quay.io/v2/fedora/", 1);
    assert_ne!(
        wrong, text,
        "the staging redirect is written per environment"
    );
    std::fs::write(&generic, &wrong).expect("write");
    let failed = run(root, &["verify", "--step", "3", "--env", "staging"]);
    assert_eq!(failed.code, 1, "{}", failed.stdout);
    assert!(
        failed
            .stdout
            .contains("GET /v2/library/app/manifests/latest"),
        "{}",
        failed.stdout
    );
    std::fs::write(&generic, &text).expect("write");

    // The switch off everywhere gives today's renderings back (rollback is one variable).
    for file in ["inventory/group_vars/all", "inventory/group_vars/staging"] {
        let path = root.join(file);
        let vars = std::fs::read_to_string(&path).expect("read");
        let off = vars.replace("registry_api_on_quay: true", "registry_api_on_quay: false");
        std::fs::write(&path, off).expect("write");
    }
    assert_eq!(renderings(root, "production"), before_prod);
    assert_eq!(renderings(root, "staging"), before_stg);
    assert_eq!(site(root, "production"), before_prod_site);
}

#[test]
fn step_three_on_the_2023_tree() {
    let Some((_dir, root)) = common::corpus() else {
        return;
    };
    step_three(&root);
}

#[test]
fn step_three_on_the_2025_tree() {
    let Some((_dir, root)) = common::corpus_2025() else {
        return;
    };
    step_three(&root);
}
