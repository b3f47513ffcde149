//! The proof of a step-4 decommissioning on the tree as it is (`verify --step 4`): in each
//! proven environment, no inventory host is one of the rule's servers and no file is named
//! after one. (What `apply` removes is proven edit by edit by the derived proof; this is what
//! must hold afterwards.)

use super::{Failure, Renderings, Report};
use crate::ansible::inventory::wildcard;
use crate::formats::jinja::Envs;
use crate::migration::Migration;
use crate::rules::{Action, RuleSet};

/// Checks every `remove` rule of `rules` with servers in `now` for `envs`.
pub(super) fn prove(
    now: &Renderings<'_>,
    migration: &Migration,
    rules: &RuleSet,
    envs: Envs,
    report: &mut Report,
) {
    let inventory = &now.playbooks.inventory;
    let view = now.project.view();
    for rule in &rules.rules {
        let Action::Remove(r) = &rule.action else {
            continue;
        };
        let Some(glob) = r.servers.as_deref().map(str::to_ascii_lowercase) else {
            continue;
        };
        for env in migration.all().intersect(envs).iter() {
            report.checks += 1;
            *report.checks_by_env.entry(env).or_default() += 1;
            let host = inventory.hosts().iter().find(|h| {
                wildcard(&glob, &h.to_ascii_lowercase()) && inventory.env_of(h) == Some(env)
            });
            let named = host.and_then(|h| {
                view.files.iter().find(|f| {
                    f.rsplit('/')
                        .next()
                        .is_some_and(|n| n.trim_end_matches(".yml") == h)
                })
            });
            if let Some(host) = host {
                report.fail(Failure {
                    template: "inventory".into(),
                    env,
                    rule: rule.id.clone(),
                    what: format!("servers `{glob}`"),
                    expected: "none left in the inventory".into(),
                    got: match named {
                        Some(file) => format!("{host} (and {file})"),
                        None => host.clone(),
                    },
                    at: None,
                    source: None,
                });
            }
        }
    }
}
