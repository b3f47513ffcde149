//! The proof of a step-3 redirect (issue 14.3): the site's configuration is rendered per
//! environment, as Apache reads it, and the mod_rewrite model (`apache`) answers sample
//! requests. In an environment the redirect serves, the API answers are the redirector's
//! (SPEC §7.3); every other sample request, and in any other environment every request, is
//! answered as before the change.

use std::net::Ipv4Addr;

use super::{Failure, Renderings, Report};
use crate::apache::{Answer, Request, Rules};
use crate::migration::{Env, Migration};
use crate::plan::redirect::{API, site_templates, switched};
use crate::rules::{Action, Redirect, Rule, RuleSet};

/// A repository name with a namespace, as clients send it.
const REPO: &str = "library/app";

/// A request from outside (documentation range, RFC 5737).
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

/// The sample requests: method and path.
pub fn samples() -> Vec<(&'static str, String)> {
    vec![
        ("GET", format!("{API}{REPO}/manifests/latest")),
        ("HEAD", format!("{API}{REPO}/manifests/latest")),
        ("GET", format!("{API}{REPO}/blobs/sha256:0a1b")),
        ("PUT", format!("{API}{REPO}/blobs/uploads/1")),
        ("PATCH", format!("{API}{REPO}/blobs/uploads/1")),
        ("GET", API.to_string()),
        ("GET", format!("{API}_catalog")),
        ("GET", "/index/static".to_string()),
        ("GET", "/".to_string()),
        ("GET", "/repo/app/tags/".to_string()),
    ]
}

/// What the redirector answers `method path` in `env`; `None` for a request outside the API
/// (answered as before).
pub fn expected(
    migration: &Migration,
    r: &Redirect,
    env: Env,
    method: &str,
    path: &str,
) -> Option<Answer> {
    let rest = path.strip_prefix(API)?;
    if !matches!(method, "GET" | "HEAD") {
        return Some(Answer::Status(405));
    }
    if rest.is_empty() {
        return Some(Answer::Local(r.ping.clone()));
    }
    let to = &migration.envs.get(&env)?.registries.get(&r.registry)?.to;
    let api_kind = ["/manifests/", "/blobs/", "/tags/", "/referrers/"];
    if !api_kind.iter().any(|k| rest.contains(k)) {
        return Some(Answer::Status(404));
    }
    let ns = if to.namespace.is_empty() {
        String::new()
    } else {
        format!("{}/", to.namespace)
    };
    Some(Answer::Redirect(
        r.status,
        format!("https://{}{API}{ns}{rest}", to.host),
    ))
}

/// Proves every `redirect` rule of `rules` in `now` for `envs`; with `before`, the requests
/// outside the API must be answered as there, and, `isolate`d, every request of the other
/// environments.
pub(super) fn prove(
    now: &Renderings<'_>,
    before: Option<&Renderings<'_>>,
    isolate: bool,
    migration: &Migration,
    rules: &RuleSet,
    envs: crate::formats::jinja::Envs,
    report: &mut Report,
) {
    for rule in &rules.rules {
        let Action::Redirect(r) = &rule.action else {
            continue;
        };
        for template in site_templates(now.vars, migration, r) {
            for env in migration.all().iter() {
                let serves = envs.contains(env);
                let compared = isolate && before.is_some();
                if !serves && !compared {
                    continue;
                }
                site(
                    now, before, migration, rule, r, &template, env, serves, report,
                );
            }
        }
    }
}

/// One site's configuration in one environment.
#[allow(clippy::too_many_arguments)]
fn site(
    now: &Renderings<'_>,
    before: Option<&Renderings<'_>>,
    migration: &Migration,
    rule: &Rule,
    r: &Redirect,
    template: &str,
    env: Env,
    serves: bool,
    report: &mut Report,
) {
    let fail = |what: String, expected: String, got: String| Failure {
        template: template.to_string(),
        env,
        rule: rule.id.clone(),
        what,
        expected,
        got,
        at: None,
        source: None,
    };
    let model = |renderings: &Renderings<'_>| -> Result<Rules, String> {
        let text = renderings.text(template, env, true)?;
        Rules::parse(&text)
    };
    let now_rules = match model(now) {
        Ok(m) => m,
        Err(e) => {
            report.fail(fail(
                "rendering".into(),
                "rewrite rules the model reads".into(),
                e,
            ));
            return;
        }
    };
    let before_rules = before.map(model).transpose().unwrap_or_default();
    if serves && !switched(now.vars, r, env) {
        report.fail(fail(
            r.switch.clone(),
            "true".into(),
            "false (the redirect is off)".into(),
        ));
    }
    let host = migration
        .envs
        .get(&env)
        .and_then(|m| m.registries.get(&r.registry))
        .map_or("", |reg| reg.from.as_str());
    for (method, path) in samples() {
        let req = Request {
            method,
            host,
            uri: &path,
            https: true,
            remote: CLIENT,
            headers: &[],
        };
        let got = now_rules.answer(&req);
        let want = match (serves, expected(migration, r, env, method, &path)) {
            (true, Some(answer)) => Some(answer),
            _ => before_rules.as_ref().map(|b| b.answer(&req)),
        };
        report.checks += 1;
        *report.checks_by_env.entry(env).or_default() += 1;
        if let Some(want) = want
            && want != got
        {
            report.fail(fail(
                format!("{method} {path}"),
                describe(&want),
                describe(&got),
            ));
        }
    }
}

/// An answer as a failure shows it.
pub fn describe(answer: &Answer) -> String {
    match answer {
        Answer::Redirect(code, to) => format!("{code} Location: {to}"),
        Answer::Status(code) => code.to_string(),
        Answer::Proxy(to) => format!("proxied to {to}"),
        Answer::Local(path) => format!("200 from {path}"),
    }
}
