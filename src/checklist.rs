//! What people do outside the repository (SPEC §7.1) and the safe order to deploy the steps in
//! (SPEC §7, "Deployment order"): printed by `plan --step 1`, said in step 2's plan and in the
//! pull request. Everything named comes from the migration file.

use std::fmt::Write;

use crate::migration::Migration;

/// `plan --step 1`: per environment in rollout order (the environments chosen by an inventory
/// group first), the new repositories, their content, their visibility and the robot account;
/// then what the builders need; then the deployment order. Only what applies is listed (no
/// robot account without credentials).
pub fn step_one(m: &Migration) -> String {
    let mut out =
        String::from("step 1 happens outside the repository, environment by environment:\n");
    for env in m.selector.rollout(m.envs.keys().copied()) {
        let Some(e) = m.env(env) else { continue };
        let _ = writeln!(out, "\n[{env}]");
        for r in e.registries.values() {
            let _ = writeln!(out, "- create `{}` (replaces {})", r.to, r.from);
            let _ = writeln!(
                out,
                "- copy every repository and tag of {} into `{}` with their digests (`skopeo sync --all --preserve-digests`), before step 3 sends its users there",
                r.from, r.to
            );
            let _ = writeln!(
                out,
                "- make the repositories of `{}` public: today's users pull {} without logging in",
                r.to, r.from
            );
        }
        // Only what applies: a migration naming no credentials asks for no robot account.
        if let Some(c) = &e.credentials {
            let _ = writeln!(
                out,
                "- create a robot account that may push there; store it as `{}` / `{}` in the private vars",
                c.username_var, c.password_var
            );
        }
    }
    let mut hosts: Vec<&str> = m
        .envs
        .values()
        .flat_map(|e| e.registries.values().map(|r| r.to.host.as_str()))
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let _ = writeln!(out, "\n[every environment]");
    let _ = writeln!(
        out,
        "- let the builders and the hosts that pull reach {} and the CDN it serves blobs from (firewall, proxy)",
        hosts.join(", ")
    );
    let _ = writeln!(
        out,
        "- check the new registry's per-address rate limits: many builders behind one address pull at once"
    );
    out.push('\n');
    out.push_str(&deployment_order(m));
    out
}

/// What a person does around step 4 (SPEC §7.4): the removals in the repository are mechanical,
/// these are not. Names come from the migration and the `remove` rules (the registry, the
/// servers' glob).
pub fn step_four(m: &Migration, rules: &crate::rules::RuleSet) -> String {
    let mut out = String::from("step 4 needs people too, before and after the removals:\n");
    for rule in &rules.rules {
        let crate::rules::Action::Remove(r) = &rule.action else {
            continue;
        };
        let mut froms: Vec<&str> = r
            .registry
            .iter()
            .flat_map(|label| m.envs.values().filter_map(move |e| e.registries.get(label)))
            .map(|reg| reg.from.as_str())
            .collect();
        froms.sort_unstable();
        froms.dedup();
        let endpoint = froms.join(", ");
        let servers = r.servers.as_deref().unwrap_or("its servers");
        let mut item = |text: String| {
            let _ = writeln!(out, "- [ ] {text}");
        };
        if !endpoint.is_empty() {
            item(format!(
                "no pusher is left on {endpoint}: step 2 is deployed in every environment, and \
                 the registry's access logs show no push since"
            ));
        }
        item(format!(
            "the data of {servers}: copied where it is still wanted (step 1's sync), then its \
                 storage (an NFS export, a volume) retired"
        ));
        if !endpoint.is_empty() {
            item(format!(
                "DNS: the records of {endpoint} removed (or answered with 410)"
            ));
        }
        item(format!(
            "the machines {servers} shut down and destroyed on their hypervisors"
        ));
        item(format!("IPA: the hosts {servers} removed (`ipa host-del`)"));
        item(format!("VPN: the client certificates of {servers} revoked"));
        item(
            "secrets: the old registry's credentials deleted from the private variables once \
                 nothing reads them (`regshift audit` shows no reference)"
                .to_string(),
        );
        item(
            "deployed files: Ansible never removes what it installed — delete the removed \
                 sites' configuration and password files on the proxies (a one-off `file: state=absent`)"
                .to_string(),
        );
    }
    out
}

/// Why step 2 and step 3 go out together (SPEC §7): after step 2 nothing pushes to the old
/// registries, so their users get stale images until the redirect is live.
pub fn deployment_order(m: &Migration) -> String {
    let order: Vec<String> = m
        .selector
        .rollout(m.envs.keys().copied())
        .iter()
        .map(|e| e.to_string())
        .collect();
    let mut froms: Vec<&str> = m
        .envs
        .values()
        .flat_map(|e| e.registries.values().map(|r| r.from.as_str()))
        .collect();
    froms.sort_unstable();
    froms.dedup();
    format!(
        "deployment order: once step 2 is deployed nothing pushes to {} any more, so whoever pulls \
         from them gets stale images until step 3's redirect is live in the same environment. Safe \
         orders: step 2 and step 3 together per environment ({}), or step 2 with `--mode \
         side-by-side`, then step 3, then `--mode cutover`.\n",
        froms.join(", "),
        order.join(" first, then ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_one_lists_per_environment_in_rollout_order_and_only_what_applies() {
        let m = Migration::parse(
            std::path::Path::new("m.yaml"),
            "version: 1\nenvironments:\n  live:\n    registries:\n      main: {from: old.example.org, to: new.example.net/ns}\n",
        )
        .expect("migration");
        let text = step_one(&m);
        for said in [
            "[live]\n- create `new.example.net/ns` (replaces old.example.org)",
            "copy every repository and tag of old.example.org into `new.example.net/ns` with their digests",
            "make the repositories of `new.example.net/ns` public",
            "reach new.example.net and the CDN",
            "per-address rate limits",
            "deployment order: once step 2 is deployed nothing pushes to old.example.org",
        ] {
            assert!(text.contains(said), "{said}:\n{text}");
        }
        assert!(
            !text.contains("robot account"),
            "no credentials, no robot account"
        );
        let fedora = step_one(&Migration::embedded().expect("default"));
        let staging = fedora.find("[staging]").expect("staging");
        let production = fedora.find("[production]").expect("production");
        assert!(staging < production, "staging first:\n{fedora}");
        assert!(fedora.contains("robot account"), "{fedora}");
    }
}
