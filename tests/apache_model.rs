//! The mod_rewrite model (issue 14.3) read against the real registry vhost of both corpora, as
//! regshift renders it per environment: today's answers are the ones Fedora's proxies give (the
//! investigation's inventory, context/steps-3-4.md §1.1) — writes proxied to the registry
//! origin, reads to the local cache, blob GETs from outside redirected to the CDN, the flatpak
//! index served here.

mod common;

use std::net::Ipv4Addr;

use regshift::apache::{Answer, Request, Rules};

/// The registry vhost's rewrite fragments, in the order Apache includes them (a site's
/// `*.conf` files by name): the first turns the engine on.
const VHOST: [&str; 2] = [
    "roles/httpd/reverseproxy/templates/reversepassproxy.registry-fedora.conf",
    "roles/httpd/reverseproxy/templates/reversepassproxy.registry-generic.conf",
];

fn rendered(root: &std::path::Path, env: &str) -> String {
    let mut text = String::new();
    for template in VHOST {
        let dir = root.to_str().expect("utf-8");
        let run = common::regshift(&["render", template, "--env", env, "-C", dir]);
        assert_eq!(run.code, 0, "{template}: {}", run.stderr);
        text.push_str(&run.stdout);
    }
    text
}

fn answer(rules: &Rules, method: &str, uri: &str, remote: Ipv4Addr) -> Answer {
    rules.answer(&Request {
        method,
        host: "registry.fedoraproject.org",
        uri,
        https: true,
        remote,
        headers: &[],
    })
}

/// An address inside the first subnet the configuration exempts from the CDN (`-R 'a.b.c.d/n'`;
/// the subnets moved between the corpora).
fn builder_address(text: &str) -> Option<Ipv4Addr> {
    let at = text.find("-R '")? + 4;
    let net = &text[at..at + text[at..].find('/')?];
    let mut octets: Vec<u8> = net.split('.').filter_map(|o| o.parse().ok()).collect();
    *octets.last_mut()? = 5;
    (octets.len() == 4).then(|| Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]))
}

fn today(root: &std::path::Path) {
    let outside = Ipv4Addr::new(198, 51, 100, 9);
    for env in ["production", "staging"] {
        let text = rendered(root, env);
        let rules = Rules::parse(&text).expect("the model reads every rule");
        match answer(&rules, "PUT", "/v2/fedora/blobs/uploads/1", outside) {
            Answer::Proxy(to) => assert!(
                to.ends_with(":5000/v2/fedora/blobs/uploads/1"),
                "{env}: writes go to the origin: {to}"
            ),
            other => panic!("{env}: PUT {other:?}"),
        }
        assert_eq!(
            answer(&rules, "GET", "/v2/fedora/manifests/40", outside),
            Answer::Proxy("http://localhost:10048/v2/fedora/manifests/40".into()),
            "{env}: reads go to the local cache"
        );
        let blob = answer(&rules, "GET", "/v2/fedora/blobs/sha256:ab", outside);
        let cdn = Answer::Redirect(
            302,
            "https://cdn.registry.fedoraproject.org/v2/fedora/blobs/sha256:ab".into(),
        );
        if env == "production" {
            assert_eq!(blob, cdn, "production sends blob reads to the CDN");
            let inside = builder_address(&text).expect("a builder subnet in production");
            let builder = answer(&rules, "GET", "/v2/fedora/blobs/sha256:ab", inside);
            assert_ne!(
                builder, cdn,
                "builders' subnets read from the origin, not the CDN"
            );
        } else {
            assert_ne!(blob, cdn, "staging has no CDN");
        }
    }
}

#[test]
fn the_model_reads_the_2023_registry_vhost_as_apache_does() {
    let Some((_dir, root)) = common::corpus() else {
        return;
    };
    today(&root);
}

#[test]
fn the_model_reads_the_2025_registry_vhost_as_apache_does() {
    let Some((_dir, root)) = common::corpus_2025() else {
        return;
    };
    today(&root);
}
