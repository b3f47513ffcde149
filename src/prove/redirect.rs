//! The proof of a step-3 redirect (issue 14.3): the configuration of the site serving the
//! registry's old name is rendered per environment as Apache reads it — every use of the step-3
//! rules' roles for the site that serves the environment (`when:`), each template rendered with
//! its use's parameters, in the order of the files they are installed as — and the mod_rewrite
//! and mod_alias model (`apache`) answers sample requests. In an environment the redirect serves,
//! the API answers are the redirector's (SPEC §7.3) and the web pages go to the new registry's
//! page; every other sample request, and in any other environment every request, is answered as
//! before the change.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::{Failure, Renderings, Report};
use crate::ansible::vhost;
use crate::apache::{Answer, Request, Rules};
use crate::formats::jinja::Envs;
use crate::migration::{Env, Migration};
use crate::plan::redirect::{API, switched};
use crate::rules::{Action, Pages, Redirect, Rule, RuleSet};
use crate::template::{Scope, Template};

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

/// The step-3 rules of one registry's site.
struct SiteRules<'r> {
    label: &'r str,
    redirect: Option<(&'r Rule, &'r Redirect)>,
    pages: Vec<(&'r Rule, &'r Pages, &'r Template)>,
}

impl SiteRules<'_> {
    fn roles(&self) -> BTreeSet<(&str, &str)> {
        let mut out = BTreeSet::new();
        if let Some((_, r)) = self.redirect {
            out.insert((r.role.as_str(), r.site.as_str()));
        }
        for (_, p, _) in &self.pages {
            out.insert((p.role.as_str(), p.site.as_str()));
        }
        out
    }

    fn switch(&self) -> Option<&str> {
        self.redirect
            .map(|(_, r)| r.switch.as_str())
            .or(self.pages.first().map(|(_, p, _)| p.switch.as_str()))
    }
}

/// The sites the rules redirect, by registry label.
fn sites(rules: &RuleSet) -> Vec<SiteRules<'_>> {
    let mut out: Vec<SiteRules<'_>> = Vec::new();
    for rule in &rules.rules {
        let label = match &rule.action {
            Action::Redirect(r) => &r.registry,
            Action::Pages(p, _) => &p.registry,
            _ => continue,
        };
        let at = match out.iter().position(|s| s.label == label) {
            Some(i) => i,
            None => {
                out.push(SiteRules {
                    label,
                    redirect: None,
                    pages: Vec::new(),
                });
                out.len() - 1
            }
        };
        match &rule.action {
            Action::Redirect(r) => out[at].redirect = Some((rule, r)),
            Action::Pages(p, to) => out[at].pages.push((rule, p, to)),
            _ => {}
        }
    }
    out
}

/// Proves every site the step-3 rules of `rules` redirect, in `now` for `envs`; with `before`,
/// the requests outside the API must be answered as there, and, `isolate`d, every request of
/// the other environments.
pub(super) fn prove(
    now: &Renderings<'_>,
    before: Option<&Renderings<'_>>,
    isolate: bool,
    migration: &Migration,
    rules: &RuleSet,
    envs: Envs,
    report: &mut Report,
) {
    for site in sites(rules) {
        for env in migration.all().iter() {
            let serves = envs.contains(env);
            let compared = isolate && before.is_some();
            if !serves && !compared {
                continue;
            }
            one(now, before, migration, &site, env, serves, report);
        }
    }
}

/// The model's answers to the sample requests for a site's configuration `text` in `env`
/// (`METHOD PATH`, answer), for people to read (`regshift site`).
pub fn answers(
    migration: &Migration,
    label: &str,
    env: Env,
    text: &str,
) -> Result<Vec<(String, String)>, String> {
    let rules = Rules::parse(text)?;
    let host = migration
        .envs
        .get(&env)
        .and_then(|m| m.registries.get(label))
        .map_or("", |r| r.from.as_str());
    Ok(samples()
        .into_iter()
        .map(|(method, path)| {
            let got = rules.answer(&Request {
                method,
                host,
                uri: &path,
                https: true,
                remote: CLIENT,
                headers: &[],
            });
            (format!("{method} {path}"), describe(&got))
        })
        .collect())
}

/// Each redirected site's configuration in `env` (by registry label), as the proof reads it.
pub fn configurations(
    project: &crate::project::Project,
    migration: &Migration,
    rules: &RuleSet,
    env: Env,
) -> crate::error::Result<Vec<(String, String)>> {
    let renderings = Renderings::new(project)?;
    let mut out = Vec::new();
    for site in sites(rules) {
        let (text, _) = configuration(&renderings, migration, &site, env)
            .map_err(crate::error::Error::Usage)?;
        out.push((site.label.to_string(), text));
    }
    Ok(out)
}

/// The site's configuration in `env`, as Apache reads it, and the files it comes from.
fn configuration(
    renderings: &Renderings<'_>,
    migration: &Migration,
    site: &SiteRules<'_>,
    env: Env,
) -> Result<(String, Vec<vhost::Site>), String> {
    let hosts = migration.from_hosts_of(site.label);
    let vars = renderings.vars;
    let mut uses: Vec<vhost::Site> = site
        .roles()
        .into_iter()
        .flat_map(|(role, param)| vhost::sites(vars, role, param, &hosts, env))
        .filter(|s| s.serves(vars, env))
        .collect();
    uses.sort_by(|a, b| (&a.dest, &a.template).cmp(&(&b.dest, &b.template)));
    let mut text = String::new();
    for u in &uses {
        let rendered = vars
            .renderer()
            .render_file(&u.template, &u.vars(vars, env))
            .map_err(|e| e.to_string())?;
        text.push_str(&rendered);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    Ok((text, uses))
}

/// One site in one environment.
fn one(
    now: &Renderings<'_>,
    before: Option<&Renderings<'_>>,
    migration: &Migration,
    site: &SiteRules<'_>,
    env: Env,
    serves: bool,
    report: &mut Report,
) {
    let rule_id = site
        .redirect
        .map(|(r, _)| r.id.clone())
        .or(site.pages.first().map(|(r, _, _)| r.id.clone()))
        .unwrap_or_default();
    let (text, uses) = match configuration(now, migration, site, env) {
        Ok(found) => found,
        Err(e) => {
            report.fail(failure(
                &rule_id,
                "site",
                env,
                "rendering",
                "a rendering",
                e,
            ));
            return;
        }
    };
    let files: Vec<&str> = uses.iter().map(|u| u.template.as_str()).collect();
    let place = files.join(" + ");
    if files.is_empty() {
        if serves {
            report
                .notes
                .push(format!("{}: no site to prove in {env}", site.label));
        }
        return;
    }
    let model = |t: &str| Rules::parse(t);
    let now_rules = match model(&text) {
        Ok(m) => m,
        Err(e) => {
            let f = failure(
                &rule_id,
                &place,
                env,
                "rendering",
                "rules the model reads",
                e,
            );
            report.fail(f);
            return;
        }
    };
    let before_rules = before
        .and_then(|b| configuration(b, migration, site, env).ok())
        .and_then(|(t, _)| model(&t).ok());
    if serves
        && let Some(switch) = site.switch()
        && !switched(now.vars, switch, env)
    {
        let f = failure(
            &rule_id,
            &place,
            env,
            switch,
            "true",
            "false (the redirect is off)".into(),
        );
        report.fail(f);
    }
    let host = migration
        .envs
        .get(&env)
        .and_then(|m| m.registries.get(site.label))
        .map_or("", |reg| reg.from.as_str());
    let ask = |rules: &Rules, method: &str, uri: &str| {
        rules.answer(&Request {
            method,
            host,
            uri,
            https: true,
            remote: CLIENT,
            headers: &[],
        })
    };
    // The pages rules whose role configures this site (a tree without that role has nothing of
    // theirs to prove; their plan said so in a note).
    let pages: Vec<(&Pages, String)> = page_targets(migration, site, env)
        .into_iter()
        .filter(|(p, _)| uses.iter().any(|u| u.role == p.role))
        .collect();
    let mut requests = samples();
    for (p, _) in &pages {
        for page in &p.sample {
            if !requests.iter().any(|(_, r)| r == page) {
                requests.push(("GET", page.clone()));
            }
        }
    }
    let mut page_redirected = false;
    for (method, path) in requests {
        let got = ask(&now_rules, method, &path);
        let was = before_rules.as_ref().map(|b| ask(b, method, &path));
        // The API is the redirect rule's once its role configures the site.
        let api = site
            .redirect
            .filter(|(_, r)| serves && uses.iter().any(|u| u.role == r.role))
            .and_then(|(_, r)| expected(migration, r, env, method, &path));
        let page_to = pages
            .iter()
            .filter(|_| serves)
            .find(|(p, _)| is_page(p, &path))
            .map(|(_, to)| to.as_str());
        let as_before = was.as_ref().is_none_or(|w| *w == got);
        let (holds, want) = match (&api, page_to) {
            (Some(answer), _) => (*answer == got, describe(answer)),
            // A page goes to the new registry's page (3xx), or, where the site's page redirect
            // does not cover it, is answered as before.
            (None, Some(to)) => {
                let sent = matches!(&got, Answer::Redirect(code, at) if at == to && (300..400).contains(code));
                page_redirected |= sent;
                (sent || as_before, format!("a redirect to {to}"))
            }
            (None, None) => (as_before, was.as_ref().map(describe).unwrap_or_default()),
        };
        report.checks += 1;
        *report.checks_by_env.entry(env).or_default() += 1;
        if !holds {
            let what = format!("{method} {path}");
            report.fail(failure(&rule_id, &place, env, &what, &want, describe(&got)));
        }
    }
    if let Some((p, to)) = pages.first().filter(|_| serves)
        && !page_redirected
    {
        let what = format!("GET {}", p.sample.join(", GET "));
        let want = format!("a redirect to {to}");
        let got = "none of them redirected".to_string();
        report.fail(failure(&rule_id, &place, env, &what, &want, got));
    }
}

/// Whether `path` is one of the pages a `pages` rule sends away.
fn is_page(p: &Pages, path: &str) -> bool {
    p.sample.iter().any(|s| s == path)
        || regex::Regex::new(&p.pages).is_ok_and(|re| re.is_match(path))
}

/// Where each pages rule sends the site's pages in `env`.
fn page_targets<'r>(
    migration: &Migration,
    site: &SiteRules<'r>,
    env: Env,
) -> Vec<(&'r Pages, String)> {
    site.pages
        .iter()
        .filter_map(|(_, p, to)| {
            let scope = Scope {
                migration,
                env,
                registry: None,
            };
            to.render(&scope).map(|t| (*p, t))
        })
        .collect()
}

fn failure(
    rule: &str,
    template: &str,
    env: Env,
    what: &str,
    expected: &str,
    got: String,
) -> Failure {
    Failure {
        template: template.to_string(),
        env,
        rule: rule.to_string(),
        what: what.to_string(),
        expected: expected.to_string(),
        got,
        at: None,
        source: None,
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
