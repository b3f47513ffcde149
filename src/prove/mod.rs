//! Proof (SPEC §6.3): render every file a rule promises values in, for each selected
//! environment, as Ansible would; parse the rendering (JSON, YAML with embedded documents, INI
//! with configparser's rules, duplicate keys an error); check each promised value; and check that
//! the renderings differ from a baseline (`HEAD`, or the tree before `apply`) only on lines that
//! name a registry.
//!
//! `planned` is the proof of a plan (`apply`, rule fixtures): the rules' promises plus the
//! proof derived from the edits themselves (`derived`).

mod derived;
pub mod redirect;
mod remove;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use similar::{Change, ChangeTag, TextDiff};

use crate::ansible::EnvVars;
use crate::ansible::tasks::Playbooks;
use crate::error::Result;
use crate::formats::jinja::Envs;
use crate::formats::tree::TreePath;
use crate::formats::{ini, json, yaml};
use crate::migration::{Env, Migration};
use crate::project::Project;
use crate::rules::{Format, Proof, ProofPlace, Rule, RuleSet};
use crate::select::Places;
use crate::template::Scope;

impl Failure {
    /// `place (env): what: expected X, got Y (from SOURCE)`, as the text outputs print it (on
    /// one line: control characters escaped).
    pub fn describe(&self) -> String {
        let from = self
            .source
            .as_ref()
            .map_or_else(String::new, |s| format!(" (from {s})"));
        let line = format!(
            "{} ({}): {}: expected {}, got {}{from}",
            self.place(),
            self.env,
            self.what,
            self.expected,
            self.got
        );
        crate::report::printable(&line).into_owned()
    }

    /// The failure as it may be shown: at a place under a key naming a secret, a literal value
    /// shows `<redacted>` (a dockercfg `auth` is compared decoded, `user:password`), while a
    /// Jinja expression or the placeholders of undefined variables show; any other value is
    /// redacted as a line would be (`+password: x`, an error's excerpt).
    fn redacted(mut self) -> Self {
        if crate::redact::path_names_secret(&self.what) {
            for v in [&mut self.expected, &mut self.got] {
                let said = matches!(v.as_str(), "nothing there" | "not in the rendering");
                if !said && crate::redact::shows_secret(v) {
                    *v = crate::redact::REDACTED.to_string();
                }
            }
        }
        self.expected = crate::redact::line(&self.expected);
        self.got = crate::redact::line(&self.got);
        self
    }

    /// The file, with the line and column of the value when the check knows them.
    pub fn place(&self) -> String {
        match self.at {
            Some(at) => format!("{}:{}:{}", self.template, at.line, at.column),
            None => self.template.clone(),
        }
    }
}

/// A promise that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure {
    pub template: String,
    pub env: Env,
    pub rule: String,
    /// The key or path checked (or `rendering` for a parse failure, `diff` for a baseline change).
    pub what: String,
    pub expected: String,
    pub got: String,
    /// Where in `template` the value is written, when the check knows it.
    pub at: Option<crate::error::Position>,
    /// The edit the failure is about, `file:line:column`, when there is one (SPEC §6.3: a
    /// failure names the source and the rendered place).
    pub source: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Promised values checked, in all and per environment.
    pub checks: usize,
    pub checks_by_env: BTreeMap<Env, usize>,
    /// Every failure, secrets redacted (added through [`Report::fail`] only).
    pub failures: Vec<Failure>,
    /// Promises about something the tree lacks (nothing to check): said, never failed.
    pub notes: Vec<String>,
    /// Per edit (its file and start offset): the renderings where its value was checked, each
    /// as `template (environment) at place`.
    pub proven: BTreeMap<(String, usize), Vec<String>>,
    /// Per edit: the files rendered (or read as written) where it was checked, and in which
    /// environment: what the pull request's plays to run follow from.
    pub rendered: BTreeMap<(String, usize), BTreeSet<(String, Env)>>,
}

impl Report {
    /// Records where edit `key` was checked: `how` for readers, and the rendering (file and
    /// environment) when there is one.
    pub fn checked(&mut self, key: (String, usize), rendering: Option<(&str, Env)>, how: String) {
        if let Some((file, env)) = rendering {
            let set = self.rendered.entry(key.clone()).or_default();
            set.insert((file.to_string(), env));
        }
        self.proven.entry(key).or_default().push(how);
    }

    /// Records a failure, its values redacted by structure first (SPEC §6.5): every output
    /// (text, JSON, SARIF, GitHub) prints what is recorded here.
    pub fn fail(&mut self, f: Failure) {
        self.failures.push(f.redacted());
    }

    /// [`Report::fail`] for each.
    pub fn fail_all(&mut self, fs: impl IntoIterator<Item = Failure>) {
        for f in fs {
            self.fail(f);
        }
    }
}

/// Files with their texts: (path, text).
type Texts = Vec<(String, String)>;

/// One tree's model as a proof reads it, with the files each rule's promises look at.
struct Renderings<'p> {
    project: &'p Project,
    vars: &'p EnvVars,
    playbooks: &'p Playbooks,
    /// Per rule placed by meaning: the files that could hold its places, with their texts
    /// (read once for all its promises and environments).
    candidates: std::sync::Mutex<BTreeMap<String, Arc<Texts>>>,
}

impl<'p> Renderings<'p> {
    fn new(project: &'p Project) -> Result<Renderings<'p>> {
        Ok(Renderings {
            project,
            vars: project.vars()?,
            playbooks: project.playbooks(),
            candidates: std::sync::Mutex::default(),
        })
    }

    /// The files of `rule`'s globs holding its needle, with their texts.
    fn candidates(&self, rule: &Rule) -> Arc<Texts> {
        if let Some(found) = self
            .candidates
            .lock()
            .ok()
            .and_then(|c| c.get(&rule.id).cloned())
        {
            return found;
        }
        let view = self.project.view();
        let paths: Vec<&String> = view
            .files
            .iter()
            .filter(|p| rule.globs.is_match(p))
            .collect();
        let texts = crate::parallel::map(&paths, |path| {
            let text = view.read(path)?;
            let holds = rule
                .needle
                .as_ref()
                .is_none_or(|n| text.contains(n.as_str()));
            holds.then(|| ((*path).clone(), text))
        });
        let found = Arc::new(texts.into_iter().flatten().collect::<Vec<_>>());
        if let Ok(mut c) = self.candidates.lock() {
            c.insert(rule.id.clone(), Arc::clone(&found));
        }
        found
    }

    /// The file as Ansible would write it for `env` (or as it is, when not a template).
    fn text(&self, rel: &str, env: Env, render: bool) -> std::result::Result<String, String> {
        if !render {
            let view = self.project.view();
            return view.read(rel).ok_or_else(|| "cannot read".to_string());
        }
        self.project.render(rel, env).map_err(|e| e.to_string())
    }
}

/// What a proof compares renderings with.
pub struct Baseline<'b> {
    pub project: &'b Project,
    /// Environments not proven must render exactly as in the baseline (SPEC §6.7: `apply --env`).
    pub isolate: bool,
}

/// Proves `rules` on `now` for `envs`; with a `baseline`, also checks that renderings changed
/// only on registry lines (and, isolating, not at all in the other environments).
pub fn prove(
    now: &Project,
    baseline: Option<Baseline<'_>>,
    migration: &Migration,
    rules: &RuleSet,
    envs: Envs,
) -> Result<Report> {
    let isolate = baseline.as_ref().is_some_and(|b| b.isolate);
    let now = Renderings::new(now)?;
    let before = baseline.map(|b| Renderings::new(b.project)).transpose()?;
    let mut report = promises(&now, before.as_ref(), isolate, migration, rules, envs);
    redirect::prove(
        &now,
        before.as_ref(),
        isolate,
        migration,
        rules,
        envs,
        &mut report,
    );
    remove::prove(&now, migration, rules, envs, &mut report);
    report.failures.sort();
    report.notes.sort();
    report.notes.dedup();
    now.project.check_reads()?;
    Ok(report)
}

/// Proves a plan: `after` is `before` with the plan's texts laid over it. Every edit is checked
/// at every rendering its site reaches (`derived`), and the rules' promises on the result.
pub fn planned(
    before: &Project,
    after: &Project,
    edits: &[crate::plan::Edit],
    migration: &Migration,
    rules: &RuleSet,
    envs: Envs,
) -> Result<Report> {
    let now = Renderings::new(after)?;
    let before = Renderings::new(before)?;
    let mut report = promises(&now, None, false, migration, rules, envs);
    derived::prove(&before, &now, edits, envs, &mut report);
    redirect::prove(
        &now,
        Some(&before),
        true,
        migration,
        rules,
        envs,
        &mut report,
    );
    remove::prove(&now, migration, rules, envs, &mut report);
    report.failures.sort();
    report.failures.dedup();
    report.notes.sort();
    report.notes.dedup();
    before.project.check_reads()?;
    now.project.check_reads()?;
    Ok(report)
}

/// The rules' promises on `now`, and with `before` the line comparison of their renderings.
fn promises(
    now: &Renderings<'_>,
    before: Option<&Renderings<'_>>,
    isolate: bool,
    migration: &Migration,
    rules: &RuleSet,
    envs: Envs,
) -> Report {
    let mut report = Report::default();
    let mut compared = BTreeMap::new();
    for rule in &rules.rules {
        for proof in &rule.proofs {
            for env in proof.envs.intersect(migration.all()).iter() {
                let scope = Scope {
                    migration,
                    env,
                    registry: None,
                };
                if let ProofPlace::RoleParam(param) = &proof.place {
                    if envs.contains(env) {
                        role_params(now, migration, rule, proof, param, &scope, &mut report);
                    }
                    continue;
                }
                let keyed = rule.where_.as_ref().is_some_and(|w| w.key.is_some());
                if proof.template.is_none() && keyed {
                    if envs.contains(env) {
                        key_places(now, migration, rule, proof, &scope, &mut report);
                    }
                    continue;
                }
                for template in templates(now, rule, proof, &scope) {
                    if now.vars.renderer().view().read(&template).is_none() {
                        continue; // absent (an older tree), binary or not UTF-8 (skipped with a note)
                    }
                    let text = now.text(&template, env, proof.render);
                    if !envs.contains(env) {
                        // Only a rendered template has a per-environment text to keep.
                        if let (true, true, Some(before), Ok(text)) =
                            (isolate, proof.render, before, &text)
                        {
                            compared.entry((template.clone(), env)).or_insert_with(|| {
                                unchanged(before, &template, env, proof.render, text, &rule.id)
                            });
                        }
                        continue;
                    }
                    check(rule, proof, &template, env, &text, &scope, &mut report);
                    if let (Some(before), Ok(text)) = (before, &text) {
                        compared.entry((template.clone(), env)).or_insert_with(|| {
                            baseline_changes(
                                before,
                                &template,
                                env,
                                proof.render,
                                text,
                                migration,
                                &rule.id,
                            )
                        });
                    }
                }
            }
        }
    }
    report.fail_all(compared.into_values().flatten());
    report
}

/// The files a promise looks at in one environment: its `template`, or the templates a task
/// deploys where the rule's `deployed` says.
fn templates(now: &Renderings<'_>, rule: &Rule, proof: &Proof, scope: &Scope<'_>) -> Vec<String> {
    if let Some(t) = &proof.template {
        return t.render(scope).into_iter().collect();
    }
    match rule.deployed() {
        Some(d) => now
            .playbooks
            .deployed_to(now.vars, &d.glob, &d.hint, &[scope.env]),
        None => Vec::new(),
    }
}

fn check(
    rule: &Rule,
    proof: &Proof,
    template: &str,
    env: Env,
    text: &std::result::Result<String, String>,
    scope: &Scope<'_>,
    report: &mut Report,
) {
    let fail = |what: String, expected: String, got: String| Failure {
        template: template.into(),
        env,
        rule: rule.id.clone(),
        what,
        expected,
        got,
        at: None,
        source: None,
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            return report.fail(fail("rendering".into(), "a rendering".into(), e.clone()));
        }
    };
    let Some(expected) = proof.equals.render(scope) else {
        return;
    };
    let (what, found) = match lookup(proof, text, template, scope) {
        Ok(found) => found,
        Err(e) => {
            return report.fail(fail(
                "rendering".into(),
                format!("valid {:?}", proof.format).to_lowercase(),
                e,
            ));
        }
    };
    report.checks += 1;
    *report.checks_by_env.entry(env).or_default() += 1;
    if found.is_empty() {
        return report.fail(fail(what, expected, "nothing there".into()));
    }
    for value in found {
        let got = if proof.base64 {
            decode_base64(&value)
        } else {
            value
        };
        if got != expected {
            report.fail(fail(what.clone(), expected.clone(), got));
        }
    }
}

/// A `role_param` promise in one environment: at every use of the rule's role that its `where`
/// admits and that serves `scope.env` (its `when:` evaluated), the parameter holds the value.
/// No such use anywhere is a note, not a failure: the tree may predate the role (SPEC §6.3).
fn role_params(
    now: &Renderings<'_>,
    migration: &Migration,
    rule: &Rule,
    proof: &Proof,
    param: &str,
    scope: &Scope<'_>,
    report: &mut Report,
) {
    let (Some(w), Some(expected)) = (&rule.where_, proof.equals.render(scope)) else {
        return;
    };
    let places = Places {
        inventory: &now.playbooks.inventory,
        related: &migration.related,
    };
    let mut seen = 0;
    for (path, text) in now.candidates(rule).iter() {
        let Ok(docs) = yaml::parse(Path::new(path), text, &crate::formats::jinja::mask(text))
        else {
            continue; // planning reports a file that does not parse
        };
        for u in places.role_uses(&docs, w) {
            // A use whose anchor names another registry altogether is not the migration's.
            let anchor = w.role_param.as_ref().and_then(|rp| u.param(&rp.param));
            let anchor = anchor.as_ref().and_then(|h| h.value.as_scalar());
            if !anchor.is_some_and(|a| migration.names_a_registry(&a.value)) {
                continue;
            }
            let serves = u
                .entry
                .get("when")
                .map_or(Envs::ALL, |w| now.vars.when_envs(w));
            if !serves.contains(scope.env) {
                continue;
            }
            seen += 1;
            report.checks += 1;
            *report.checks_by_env.entry(scope.env).or_default() += 1;
            let hit = u.param(param);
            let got = hit
                .as_ref()
                .and_then(|h| h.value.as_scalar())
                .map(|s| s.value.clone());
            // Compared as rendered: `{{x}}` and `{{ x }}` promise the same value.
            let rendered = |v: &str| now.vars.render_loose(v, scope.env);
            let same = got.as_deref().is_some_and(|g| {
                g == expected || (rendered(g).is_some() && rendered(g) == rendered(&expected))
            });
            if !same {
                let at = hit.map_or(u.entry.span().start, |h| h.value.span().start);
                report.fail(Failure {
                    template: path.clone(),
                    env: scope.env,
                    rule: rule.id.clone(),
                    what: format!("{param} (role {})", role_name(w)),
                    expected: expected.clone(),
                    got: got.unwrap_or_else(|| "nothing there".into()),
                    at: Some(crate::error::Position::of(text, at)),
                    source: None,
                });
            }
        }
    }
    if seen == 0 {
        report.notes.push(format!(
            "rule `{}`: no use of role `{}` serves {} (nothing to check)",
            rule.id,
            role_name(w),
            scope.env
        ));
    }
}

/// A promise at a `key` rule's own places, in one environment: every value at the promise's
/// path that names a registry of the migration, in each data file of the rule that serves the
/// environment (a group's variables serve its hosts' environments; `all` serves every one).
/// Nothing to check anywhere is a note.
fn key_places(
    now: &Renderings<'_>,
    migration: &Migration,
    rule: &Rule,
    proof: &Proof,
    scope: &Scope<'_>,
    report: &mut Report,
) {
    let (ProofPlace::Path(at), Some(expected)) = (&proof.place, proof.equals.render(scope)) else {
        return;
    };
    let Some(Ok(tree)) = at.render(scope).map(|at| TreePath::parse(&at)) else {
        return;
    };
    let mut seen = 0;
    for (path, text) in now.candidates(rule).iter() {
        if !serves(now, path, scope.env) {
            continue;
        }
        let masked = crate::formats::jinja::mask(text);
        let Ok(docs) = yaml::parse(Path::new(path), text, &masked) else {
            continue; // planning reports a file that does not parse
        };
        let Ok(hits) = tree.find(Path::new(path), text, &masked, &docs) else {
            continue;
        };
        for hit in hits {
            let Some(value) = hit.value.as_scalar() else {
                continue;
            };
            if !migration.names_a_registry(&value.value) {
                continue; // another registry altogether: not the migration's
            }
            seen += 1;
            report.checks += 1;
            *report.checks_by_env.entry(scope.env).or_default() += 1;
            if value.value != expected {
                report.fail(Failure {
                    template: path.clone(),
                    env: scope.env,
                    rule: rule.id.clone(),
                    what: proof_path(at, scope),
                    expected: expected.clone(),
                    got: value.value.clone(),
                    at: Some(crate::error::Position::of(text, value.span.start)),
                    source: None,
                });
            }
        }
    }
    if seen == 0 {
        report.notes.push(format!(
            "rule `{}`: no value naming a registry at its places serves {} (nothing to check)",
            rule.id, scope.env
        ));
    }
}

fn proof_path(at: &crate::template::Template, scope: &Scope<'_>) -> String {
    at.render(scope).unwrap_or_default()
}

/// Whether a data file serves `env`: a group's variables (`group_vars/G`, `G.yml`, `G/…`)
/// serve the environments of the group's hosts, `all`'s every environment; other files all.
fn serves(now: &Renderings<'_>, file: &str, env: Env) -> bool {
    let Some((_, rest)) = file.split_once("group_vars/") else {
        return true;
    };
    let group = rest.split('/').next().unwrap_or(rest);
    let group = group
        .strip_suffix(".yml")
        .or_else(|| group.strip_suffix(".yaml"))
        .unwrap_or(group);
    if group == "all" {
        return true;
    }
    let inventory = &now.playbooks.inventory;
    inventory
        .select(group)
        .iter()
        .any(|host| inventory.env_of(host) == Some(env))
}

fn role_name(w: &crate::rules::Where) -> &str {
    w.role_param.as_ref().map_or("", |r| r.role.as_str())
}

fn decode_base64(value: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|_| format!("{value} (not base64)"))
}

/// The values at the proof's place in a rendering, and a name for the place.
fn lookup(
    proof: &Proof,
    text: &str,
    template: &str,
    scope: &Scope<'_>,
) -> std::result::Result<(String, Vec<String>), String> {
    let path = Path::new(template);
    match &proof.place {
        ProofPlace::Ini { section, key } => {
            let doc = ini::parse(path, text, text).map_err(|e| e.to_string())?;
            duplicates(&doc, text)?;
            let values = doc
                .entries_in(section)
                .filter(|e| &e.key == key)
                .map(|e| text[e.value.clone()].to_string())
                .collect();
            Ok((format!("[{section}] {key}"), values))
        }
        ProofPlace::Path(at) => {
            let at = at.render(scope).unwrap_or_default();
            let tree = TreePath::parse(&at)?;
            let docs = match proof.format {
                Format::Json => vec![json::parse(path, text, text).map_err(|e| e.to_string())?],
                Format::Toml => {
                    let jinja =
                        crate::formats::jinja::Structure::of(text, &scope.migration.selector);
                    crate::formats::toml::parse(path, text, &jinja, &[scope.env])
                        .map_err(|e| e.to_string())?
                }
                _ => yaml::parse(path, text, text).map_err(|e| e.to_string())?,
            };
            let hits = tree
                .find(path, text, text, &docs)
                .map_err(|e| e.to_string())?;
            Ok((
                at,
                hits.iter()
                    .filter_map(|h| h.value.as_scalar())
                    .map(|s| s.value.clone())
                    .collect(),
            ))
        }
        ProofPlace::RoleParam(_) => Err("a role parameter is not in a rendering".into()),
    }
}

/// configparser (strict) refuses a section or an option given twice; the error says on which
/// line of the rendering the second one is.
fn duplicates(doc: &ini::Ini, text: &str) -> std::result::Result<(), String> {
    let line = |offset: usize| crate::error::Position::of(text, offset).line;
    let mut seen = std::collections::BTreeSet::new();
    for s in &doc.sections {
        if !seen.insert(("", s.name.as_str())) {
            return Err(format!(
                "line {}: section `{}` appears twice",
                line(s.span.start),
                s.name
            ));
        }
    }
    for e in &doc.entries {
        if !seen.insert((e.section.as_str(), e.key.as_str())) {
            return Err(format!(
                "line {}: option `{}` appears twice in [{}]",
                line(e.line.start),
                e.key,
                e.section
            ));
        }
    }
    Ok(())
}

/// Lines of a rendering that changed since the baseline without naming a registry. A run of
/// changed lines passes when every line it adds names a registry host or one of the migration's
/// credential variables (credentials move with their registry); the lines it removes are what
/// those replace. A run that only removes lines passes when each names an old host.
fn baseline_changes(
    before: &Renderings<'_>,
    template: &str,
    env: Env,
    render: bool,
    now: &str,
    migration: &Migration,
    rule: &str,
) -> Vec<Failure> {
    let Ok(old) = before.text(template, env, render) else {
        return Vec::new();
    };
    let words = registry_words(migration);
    let names = |line: &str| words.iter().any(|w| line.contains(w.as_str()));
    let diff = TextDiff::from_lines(&old, now);
    let mut out = Vec::new();
    for group in diff.grouped_ops(0) {
        let changes: Vec<_> = group
            .iter()
            .flat_map(|op| diff.iter_changes(op))
            .filter(|c| c.tag() != ChangeTag::Equal)
            .collect();
        let added: Vec<_> = changes
            .iter()
            .filter(|c| c.tag() == ChangeTag::Insert)
            .collect();
        let bad: Vec<_> = if added.is_empty() {
            changes.iter().filter(|c| !names(c.value())).collect()
        } else if added.iter().all(|c| names(c.value())) {
            Vec::new()
        } else {
            changes.iter().collect()
        };
        let fail = |c: &&Change<&str>| {
            line_failure(
                template,
                env,
                rule,
                "diff",
                "only registry lines change".into(),
                c,
            )
        };
        out.extend(bad.iter().map(fail));
    }
    out
}

/// A rendering of an environment that was not selected must not change at all.
fn unchanged(
    before: &Renderings<'_>,
    template: &str,
    env: Env,
    render: bool,
    now: &str,
    rule: &str,
) -> Vec<Failure> {
    let Ok(old) = before.text(template, env, render) else {
        return Vec::new();
    };
    TextDiff::from_lines(&old, now)
        .iter_all_changes()
        .filter(|c| c.tag() != ChangeTag::Equal)
        .map(|c| {
            line_failure(
                template,
                env,
                rule,
                "isolation",
                format!("the {env} rendering unchanged"),
                &c,
            )
        })
        .collect()
}

/// A failure about one changed line of a rendering (shown `+`/`-`, secrets redacted).
fn line_failure(
    template: &str,
    env: Env,
    rule: &str,
    what: &str,
    expected: String,
    change: &Change<&str>,
) -> Failure {
    let sign = if change.tag() == ChangeTag::Delete {
        "-"
    } else {
        "+"
    };
    Failure {
        template: template.into(),
        env,
        rule: rule.into(),
        what: what.into(),
        expected,
        got: format!("{sign}{}", crate::redact::line(change.value().trim_end())),
        at: None,
        source: None,
    }
}

/// Every old host and new registry host of the migration, and its credential variable names.
fn registry_words(migration: &Migration) -> Vec<String> {
    let mut words = registry_hosts(migration);
    for m in migration.envs.values() {
        words.extend(m.credential_vars().into_iter().cloned());
    }
    words
}

/// Every old host and every new registry host of the migration.
fn registry_hosts(migration: &Migration) -> Vec<String> {
    let mut hosts: Vec<String> = migration
        .envs
        .values()
        .flat_map(|m| {
            m.registries
                .values()
                .flat_map(|r| [r.from.clone(), r.to.host.clone()])
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// A text report: one line per failure, then a summary.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.failures {
        out.push_str(&format!("FAIL {} [rule {}]\n", f.describe(), f.rule));
    }
    for note in &report.notes {
        out.push_str(&format!("note: {}\n", crate::report::printable(note)));
    }
    out.push_str(&format!(
        "verify: {} passed, {} failed\n",
        report.checks.saturating_sub(report.failures.len()),
        report.failures.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_options_are_errors() {
        let text = "[s]\na = 1\na = 2\n";
        let doc = ini::parse(Path::new("x"), text, text).expect("scans");
        assert_eq!(
            duplicates(&doc, text),
            Err("line 3: option `a` appears twice in [s]".to_string())
        );
        let text = "[s]\na = 1\n[t]\n[s]\n";
        let doc = ini::parse(Path::new("x"), text, text).expect("scans");
        assert_eq!(
            duplicates(&doc, text),
            Err("line 4: section `s` appears twice".to_string())
        );
    }

    #[test]
    fn base64_values_decode() {
        assert_eq!(decode_base64("dTpw"), "u:p");
        assert!(decode_base64("!!").ends_with("(not base64)"));
    }
}
