//! Step 3 (SPEC §7.3): the site serving a registry's old name becomes a redirector, behind a
//! switch variable, so that turning it on — and rolling it back — is one variable per
//! environment.
//!
//! The site is found by meaning (`ansible::vhost`): the uses of the rule's role whose site
//! parameter names the registry's `from` host, and the template each installs with the files it
//! includes, read in the order Apache reads them. In it, today's handling of the registry API is
//! the `RewriteRule`s whose pattern addresses it (matches an API path, or is anchored under
//! `/v2/`), with their `RewriteCond`s. Rules in a branch no environment renders are dead.
//!
//! - The run of API rules holding the last one (the catch-all) becomes
//!   `{% if SWITCH | default(false) %}` the redirector `{% else %}` today's block, byte for byte
//!   `{% endif %}`, widened to whole lines and whole Jinja blocks.
//! - Every other live API rule (a legacy alias before it) is wrapped in
//!   `{% if not (SWITCH | default(false)) %}`.
//! - Branches no environment renders (`{% if env == "gone" %}`) are removed from the site's
//!   files, their tag lines with them.
//!
//! Ansible renders templates with `trim_blocks`, so a tag alone on its line leaves nothing: an
//! environment whose switch is off renders every file byte for byte as before (the derived
//! proof checks it). The switch is `false` in every host's group variables (`all`) and `true` in
//! those of each selected environment — its group's file, or `all` for the environment of hosts
//! in no group, the others then set `false` in their own files.
//!
//! The redirector is the shape registry.k8s.io uses (context/steps-3-4.md §2.3): `/v2/` answered
//! here from the rule's `ping` path (200, no challenge: a client must never ask the new registry
//! for a token scoped to an old name), `_catalog` 404, any method but GET/HEAD 405, manifests,
//! blobs, tags and referrers redirected to the environment's `to` with its namespace inserted,
//! anything else under `/v2/` 404.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use super::{Changed, Edit, Note, Plan, Planner};
use crate::ansible::vhost;
use crate::ansible::{EnvVars, group_vars_file};
use crate::error::{Error, Result};
use crate::formats::jinja::{Envs, IfBlock, Structure};
use crate::formats::tree::Node;
use crate::formats::yaml;
use crate::migration::{Env, Migration, Selector};
use crate::rules::{Redirect, Rule};
use crate::walk::{Tree, View};

/// The root of the registry API (OCI distribution).
pub const API: &str = "/v2/";

/// Paths a rule handling the API would match.
const API_PATHS: [&str; 6] = [
    "/v2/",
    "/v2/x/manifests/y",
    "/v2/x/blobs/sha256:0",
    "/v2/x/blobs/uploads/",
    "/v2/x/tags/list",
    "/v2/_catalog",
];

/// The switch as the templates test it.
pub fn switch_test(r: &Redirect) -> String {
    format!("{} | default(false)", r.switch)
}

/// The templates installed for the sites serving `r`'s registry (any environment's `from`).
pub fn site_templates(vars: &EnvVars, migration: &Migration, r: &Redirect) -> BTreeSet<String> {
    let hosts = migration.from_hosts_of(&r.registry);
    let mut out = BTreeSet::new();
    for env in vars.envs() {
        for site in vhost::sites(vars, &r.role, &r.site, &hosts, env) {
            out.insert(site.template);
        }
    }
    out
}

/// Whether the switch is on in `env`.
pub fn switched(vars: &EnvVars, switch: &str, env: Env) -> bool {
    vars.render(&format!("{{{{ {switch} | default(false) }}}}"), env)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A live API rule: the file and the byte range of its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ApiRule {
    file: String,
    lines: Range<usize>,
}

/// One file of a site: its text and Jinja structure.
struct SiteFile {
    path: String,
    text: String,
    jinja: Structure,
}

impl Planner<'_> {
    /// Plans a `redirect` rule: the gate, the wraps and the dead branches in the site's files,
    /// the switch in the group variables.
    pub(super) fn redirect(
        &self,
        tree: &Tree,
        rule: &Rule,
        r: &Redirect,
        out: &mut Plan,
    ) -> Result<()> {
        let view = self.vars.renderer().view();
        let selector = self.vars.selector();
        let templates = site_templates(self.vars, self.migration, r);
        if templates.is_empty() {
            out.notes.push(Note::new(
                ".",
                format!(
                    "rule `{}`: no use of role `{}` whose `{}` names a `{}` registry",
                    rule.id, r.role, r.site, r.registry
                ),
            ));
            return Ok(());
        }
        out.found.insert(rule.id.clone());
        let mut files: Vec<SiteFile> = Vec::new();
        let mut order = Vec::new();
        for template in &templates {
            api_rules(view, selector, template, 0, &mut files, &mut order);
        }
        let mut edits: Vec<Edit> = Vec::new();
        let gate_open = format!("{{% if {} %}}", switch_test(r));
        let gated = files.iter().any(|f| f.text.contains(&gate_open));
        let switching = self.to_switch(r);
        if !gated && !switching.is_empty() {
            match order.last() {
                Some(last) => {
                    let block = self.gate_edits(rule, r, &files, &order, last, &switching)?;
                    edits.extend(block);
                }
                None => out.notes.push(Note::new(
                    templates.iter().next().map_or(".", String::as_str),
                    format!(
                        "rule `{}`: the site's configuration has no rewrite rule for `{}`",
                        rule.id, API
                    ),
                )),
            }
        }
        for f in &files {
            edits.extend(dead_branches(f, rule, &edits, &mut out.notes));
        }
        edits.extend(self.switch_edits(tree, rule, r, &switching)?);
        self.write_edits(tree, edits, out)
    }

    /// The selected environments whose switch is off.
    fn to_switch(&self, r: &Redirect) -> Vec<Env> {
        self.selection
            .envs
            .iter()
            .filter(|env| !switched(self.vars, &r.switch, *env))
            .collect()
    }

    /// The gate around the run of API rules holding `last`, and the wraps of every other run.
    fn gate_edits(
        &self,
        rule: &Rule,
        r: &Redirect,
        files: &[SiteFile],
        order: &[ApiRule],
        last: &ApiRule,
        switching: &[Env],
    ) -> Result<Vec<Edit>> {
        let mut out = Vec::new();
        let envs = Envs::of(switching.iter().copied());
        for (file, runs) in runs(files, order) {
            for run in runs {
                let span = widen(file, run.clone());
                let old = file.text[span.clone()].to_string();
                let new = if run.contains(&last.lines.start) && file.path == last.file {
                    let redirector = self.redirector(rule, r)?;
                    format!(
                        "{{% if {} %}}\n{redirector}{{% else %}}\n{old}{}{{% endif %}}\n",
                        switch_test(r),
                        newline_if_missing(&old)
                    )
                } else {
                    format!(
                        "{{% if not ({}) %}}\n{old}{}{{% endif %}}\n",
                        switch_test(r),
                        newline_if_missing(&old)
                    )
                };
                out.push(edit(&file.path, span, old, new, rule, envs));
            }
        }
        Ok(out)
    }

    /// The redirector's rules, per environment when the targets differ.
    fn redirector(&self, rule: &Rule, r: &Redirect) -> Result<String> {
        let envs = self
            .vars
            .selector()
            .rollout(self.migration.envs.keys().copied());
        let api = API;
        let target = |env: Env| {
            let to = &self.migration.envs[&env].registries[&r.registry].to;
            let ns = if to.namespace.is_empty() {
                String::new()
            } else {
                format!("{}/", to.namespace)
            };
            format!(
                "RewriteRule ^{api}(.+)/(manifests|blobs|tags|referrers)/(.*)$ https://{}{api}{ns}$1/$2/$3 [R={},L]\n",
                to.host, r.status
            )
        };
        let lines: Vec<(Env, String)> = envs.iter().map(|e| (*e, target(*e))).collect();
        let hosts: BTreeSet<&str> = self
            .migration
            .envs
            .values()
            .map(|m| m.registries[&r.registry].to.host.as_str())
            .collect();
        let hosts: Vec<&str> = hosts.into_iter().collect();
        let mut text = format!(
            "# Step 3 (regshift rule `{}`): the registry API is served by {}. Reads are\n\
             # redirected ({}: temporary, so that turning `{}` off takes effect at once),\n\
             # writes refused; `{api}` is answered here (200, no challenge) so that clients never\n\
             # ask the new registry for a token scoped to an old repository name.\n\
             RewriteRule ^{api}?$ {} [PT,L]\n\
             RewriteRule ^{api}_catalog$ - [R=404,L]\n\
             RewriteCond %{{REQUEST_METHOD}} !^(GET|HEAD)$\n\
             RewriteRule ^{api} - [R=405,L]\n",
            rule.id,
            hosts.join(", "),
            r.status,
            r.switch,
            r.ping,
        );
        text.push_str(&per_env(&lines, self.vars.selector(), &rule.id)?);
        text.push_str(&format!("RewriteRule ^{api} - [R=404,L]\n"));
        Ok(text)
    }

    /// The switch in the group variables: `true` for each environment switched on, `false` in
    /// every host's (`all`) and, when `all` turns one on, in the others that stay off.
    fn switch_edits(
        &self,
        tree: &Tree,
        rule: &Rule,
        r: &Redirect,
        switching: &[Env],
    ) -> Result<Vec<Edit>> {
        let selector = self.vars.selector();
        let mut wanted: Vec<(String, bool, Envs)> = Vec::new();
        let default_on = switching.contains(&selector.default)
            || switched(self.vars, &r.switch, selector.default);
        wanted.push((
            group_vars_file(None),
            default_on,
            Envs::of(switching.iter().copied()),
        ));
        for env in self.vars.envs() {
            let Some(group) = selector.group_of(env) else {
                continue;
            };
            let file = group_vars_file(Some(group));
            if switching.contains(&env) {
                wanted.push((file, true, Envs::only(env)));
            } else if default_on && !switched(self.vars, &r.switch, env) {
                wanted.push((file, false, Envs::only(env)));
            }
        }
        let mut out = Vec::new();
        for (file, on, envs) in wanted {
            out.extend(set_switch(
                tree, &file, selector, &r.switch, on, rule, envs,
            )?);
        }
        Ok(out)
    }

    /// Splices the edits file by file into the plan (the step-3 rules, which edit several
    /// files at once).
    pub(super) fn write_edits(&self, tree: &Tree, edits: Vec<Edit>, out: &mut Plan) -> Result<()> {
        let paths: BTreeSet<String> = edits.iter().map(|e| e.path.clone()).collect();
        for path in paths {
            let mine: Vec<Edit> = edits.iter().filter(|e| e.path == path).cloned().collect();
            let file = match tree.read(&path)? {
                Ok(file) => file,
                Err(_) => continue,
            };
            let splices: Vec<crate::edit::Splice> = mine.iter().map(|e| e.splice()).collect();
            let new_text = crate::edit::apply(&file.text, &splices).map_err(|o| {
                Error::at(
                    Path::new(&path),
                    &file.text,
                    o.second.start,
                    "two edits of one rule touch the same bytes".to_string(),
                )
            })?;
            if crate::ansible::is_template(&path) {
                self.vars.renderer().syntax(&path, &new_text)?;
            }
            // A rule's edit spanning a whole file with nothing new removes it (step 4).
            let gone = mine.iter().any(|e| e.removes_all_of(&file.text));
            out.edits.extend(mine);
            out.changed.push(Changed {
                path,
                new_text,
                file,
                gone,
            });
        }
        Ok(())
    }
}

/// One edit of the rule.
fn edit(
    path: &str,
    range: Range<usize>,
    old: String,
    new: String,
    rule: &Rule,
    envs: Envs,
) -> Edit {
    Edit {
        path: path.to_string(),
        range,
        old,
        new,
        rule: rule.id.clone(),
        envs,
        context: None,
        secret: false,
        target: None,
    }
}

fn newline_if_missing(text: &str) -> &'static str {
    if text.ends_with('\n') { "" } else { "\n" }
}

/// The redirect lines per environment: one line when they agree, else an `{% if %}` on the
/// selector's variable, the environment of hosts in no group last (`else`).
fn per_env(lines: &[(Env, String)], selector: &Selector, rule: &str) -> Result<String> {
    let distinct: BTreeSet<&String> = lines.iter().map(|(_, l)| l).collect();
    if distinct.len() <= 1 {
        return Ok(lines.first().map(|(_, l)| l.clone()).unwrap_or_default());
    }
    let Some(var) = &selector.variable else {
        return Err(Error::Usage(format!(
            "rule `{rule}`: the environments redirect to different registries, and the migration's \
             `selector` names no variable that tells them apart"
        )));
    };
    let mut out = String::new();
    let (tested, default): (Vec<_>, Vec<_>) =
        lines.iter().partition(|(e, _)| *e != selector.default);
    for (i, (env, line)) in tested.iter().enumerate() {
        let word = if i == 0 { "if" } else { "elif" };
        out.push_str(&format!(
            "{{% {word} {var} == \"{}\" %}}\n{line}",
            selector.value_of(*env)
        ));
    }
    if let Some((_, line)) = default.first() {
        out.push_str(&format!("{{% else %}}\n{line}"));
    }
    out.push_str("{% endif %}\n");
    Ok(out)
}

/// Reads `file` (and, where it includes them, the files it includes) into `files`, and appends
/// its live API rules to `order` in the order Apache reads them.
fn api_rules(
    view: &View,
    selector: &Selector,
    file: &str,
    depth: usize,
    files: &mut Vec<SiteFile>,
    order: &mut Vec<ApiRule>,
) {
    const MAX_DEPTH: usize = 16;
    if depth > MAX_DEPTH || files.iter().any(|f| f.path == file) {
        return;
    }
    let Some(text) = view.read(file) else { return };
    let jinja = Structure::of(&text, selector);
    let live = |at: usize| jinja.envs_at(at) != Envs::NONE;
    let mut events: Vec<(usize, Option<String>, Range<usize>)> =
        crate::apache::rules_matching(&jinja.masked, &API_PATHS)
            .into_iter()
            .chain(anchored_rules(&jinja.masked))
            .filter(|r| live(r.start))
            .map(|r| (r.start, None, r))
            .collect();
    events.sort_by_key(|(at, _, r)| (*at, r.end));
    events.dedup_by_key(|(at, _, _)| *at);
    for (at, _) in text.match_indices("{%") {
        let tag_end = text[at..].find("%}").map_or(text.len(), |e| at + e + 2);
        for name in crate::ansible::render::includes_in(&text[at..tag_end], &[]) {
            if live(at) {
                events.push((at, Some(name), at..at));
            }
        }
    }
    events.sort_by_key(|(at, _, _)| *at);
    files.push(SiteFile {
        path: file.to_string(),
        text: text.clone(),
        jinja: Structure::of(&text, selector),
    });
    for (_, include, lines) in events {
        match include {
            Some(name) => {
                let path = crate::ansible::render::join(view, &name, file).into_owned();
                api_rules(view, selector, &path, depth + 1, files, order);
            }
            None => order.push(ApiRule {
                file: file.to_string(),
                lines,
            }),
        }
    }
}

/// `RewriteRule`s whose pattern is anchored under the API root (`^/v2/latest/…`): they handle
/// part of the API even when no sample path matches them.
fn anchored_rules(masked: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in masked.split_inclusive('\n') {
        let mut words = line.split_whitespace();
        if words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("RewriteRule"))
            && words
                .next()
                .is_some_and(|p| p.trim_matches('"').starts_with(&format!("^{}", API)))
        {
            out.push(at..at + line.len());
        }
        at += line.len();
    }
    out
}

/// Per file, its API rules grouped into runs: rules with nothing between them but blank
/// lines, comments, Jinja tags and `RewriteCond`s.
fn runs<'f>(files: &'f [SiteFile], order: &[ApiRule]) -> Vec<(&'f SiteFile, Vec<Range<usize>>)> {
    let mut out = Vec::new();
    for f in files {
        let mut mine: Vec<Range<usize>> = order
            .iter()
            .filter(|r| r.file == f.path)
            .map(|r| r.lines.clone())
            .collect();
        mine.sort_by_key(|r| r.start);
        let mut grouped: Vec<Range<usize>> = Vec::new();
        for r in mine {
            match grouped.last_mut() {
                Some(last)
                    if last.end <= r.start && only_glue(&f.jinja.masked[last.end..r.start]) =>
                {
                    last.end = r.end;
                }
                Some(last) if r.start < last.end => last.end = last.end.max(r.end),
                _ => grouped.push(r),
            }
        }
        if !grouped.is_empty() {
            out.push((f, grouped));
        }
    }
    out
}

/// Nothing between two rules that would keep them apart.
fn only_glue(masked: &str) -> bool {
    masked.lines().all(|l| {
        let l = l.trim();
        l.is_empty()
            || l.starts_with('#')
            || l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("RewriteCond"))
    })
}

/// `span` widened to whole lines and to every Jinja block it cuts.
fn widen(f: &SiteFile, span: Range<usize>) -> Range<usize> {
    let mut span = lines_of(&f.text, span);
    loop {
        let before = span.clone();
        for b in &f.jinja.blocks {
            let whole = block_span(b);
            let cuts = (whole.start < span.start && whole.end > span.start)
                || (whole.start < span.end && whole.end > span.end);
            if cuts {
                span = span.start.min(whole.start)..span.end.max(whole.end);
            }
        }
        span = lines_of(&f.text, span);
        if span == before {
            return span;
        }
    }
}

fn block_span(b: &IfBlock) -> Range<usize> {
    let start = b.branches.first().map_or(b.endif.start, |br| br.tag.start);
    start..b.endif.end
}

/// `span` extended to the start of its first line and past the newline of its last.
fn lines_of(text: &str, span: Range<usize>) -> Range<usize> {
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = if span.end > span.start && text[..span.end].ends_with('\n') {
        span.end
    } else {
        text[span.end..]
            .find('\n')
            .map_or(text.len(), |i| span.end + i + 1)
    };
    start..end
}

/// A tag alone on its line: the line's range.
fn own_line(text: &str, tag: &Range<usize>) -> Option<Range<usize>> {
    let line = lines_of(text, tag.clone());
    let rest = &text[tag.end..line.end];
    (line.start == tag.start && rest.trim_end_matches(['\n', '\r']).is_empty()).then_some(line)
}

/// Removals of the branches no environment renders (their tag lines with them), outside the
/// ranges other edits already rewrite.
fn dead_branches(f: &SiteFile, rule: &Rule, taken: &[Edit], notes: &mut Vec<Note>) -> Vec<Edit> {
    let mut out = Vec::new();
    for b in &f.jinja.blocks {
        let whole = block_span(b);
        let inside_edit = taken
            .iter()
            .any(|e| e.path == f.path && e.range.start < whole.end && whole.start < e.range.end);
        let dead: Vec<usize> = (0..b.branches.len())
            .filter(|i| b.branches[*i].env_test && b.branches[*i].envs == Envs::NONE)
            .collect();
        if dead.is_empty() || inside_edit {
            continue;
        }
        match removal(f, b, &dead) {
            Some(ranges) => {
                for range in ranges {
                    let old = f.text[range.clone()].to_string();
                    out.push(edit(
                        &f.path,
                        range,
                        old,
                        String::new(),
                        rule,
                        Envs::default(),
                    ));
                }
            }
            None => notes.push(Note::new(
                &f.path,
                format!(
                    "rule `{}`: a branch no environment renders is left (its tags share lines)",
                    rule.id
                ),
            )),
        }
    }
    out
}

/// The ranges that remove `dead` branches of `b`: a dead branch from its tag line to the next
/// tag's line; when the first branch goes, the next branch's tag line too if it is the `else`
/// (its body stays, unconditional) and the `endif` line, or the whole block when every branch
/// is dead. `None` when a tag shares its line, or the first branch goes before an `elif`.
fn removal(f: &SiteFile, b: &IfBlock, dead: &[usize]) -> Option<Vec<Range<usize>>> {
    let tag_line = |r: &Range<usize>| own_line(&f.text, r);
    let endif = tag_line(&b.endif)?;
    if dead.len() == b.branches.len() {
        let whole = tag_line(&b.branches[0].tag)?.start..endif.end;
        return Some(std::iter::once(whole).collect());
    }
    let mut out = Vec::new();
    for &i in dead {
        let start = tag_line(&b.branches[i].tag)?.start;
        let next = b.branches.get(i + 1).map_or(&b.endif, |n| &n.tag);
        let next_line = tag_line(next)?;
        if i == 0 {
            let next_tag = &f.text[next.clone()];
            if !next_tag.contains("else") || next_tag.contains("elif") || dead.contains(&1) {
                return None;
            }
            out.push(start..next_line.end);
            out.push(endif.clone());
        } else {
            out.push(start..next_line.start);
        }
    }
    Some(out)
}

/// Sets `name` to `on` at the top level of the YAML file `file` (added beside the selector's
/// variable when absent, else before the first entry: never inside another value); nothing
/// when it already has that value. The result is parsed again: it must differ by that entry
/// alone.
fn set_switch(
    tree: &Tree,
    file: &str,
    selector: &Selector,
    name: &str,
    on: bool,
    rule: &Rule,
    envs: Envs,
) -> Result<Option<Edit>> {
    let value = if on { "true" } else { "false" };
    let Some(Ok(text)) = tree.read(file).ok().map(|r| r.map(|f| f.text)) else {
        return Err(Error::file(
            Path::new(file),
            format!(
                "rule `{}` sets `{name}` here and the file is missing or unreadable",
                rule.id
            ),
        ));
    };
    let docs = yaml::parse_masked(file, &text)?;
    let Some(Node::Mapping {
        entries,
        flow: false,
        ..
    }) = docs.first()
    else {
        return Err(Error::at(
            Path::new(file),
            &text,
            0,
            format!(
                "expected a block mapping of variables: rule `{}` sets `{name}` in it",
                rule.id
            ),
        ));
    };
    let entry = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k.as_scalar().is_some_and(|s| s.value == key))
    };
    let edit = match entry(name) {
        Some((_, Node::Scalar(s))) if s.value == value => return Ok(None),
        Some((_, Node::Scalar(s))) => edit(
            file,
            s.span.clone(),
            text[s.span.clone()].to_string(),
            value.to_string(),
            rule,
            envs,
        ),
        Some((_, other)) => {
            return Err(Error::at(
                Path::new(file),
                &text,
                other.span().start,
                format!(
                    "`{name}` is not a plain value: rule `{}` cannot set it",
                    rule.id
                ),
            ));
        }
        None => {
            let beside = selector
                .variable
                .as_deref()
                .and_then(entry)
                .and_then(|(_, v)| {
                    let s = v.as_scalar()?;
                    let line = lines_of(&text, s.span.clone());
                    (!text[s.span.clone()].contains('\n')).then_some(line.end)
                });
            let first = entries
                .first()
                .map(|(k, _)| lines_of(&text, k.span()).start);
            let at = beside.or(first).unwrap_or(text.len());
            let lead = if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            let new = format!(
                "{lead}# Step 3 (regshift rule `{}`): `true` serves the registry API from the new registry.\n{name}: {value}\n",
                rule.id
            );
            edit(file, at..at, String::new(), new, rule, envs)
        }
    };
    let mut after = text.clone();
    after.replace_range(edit.range.clone(), &edit.new);
    let leaves = |docs: &[Node], t: &str| -> Vec<(Vec<String>, String)> {
        docs.iter()
            .flat_map(|d| d.leaves(t))
            .filter(|l| l.path.first().is_none_or(|k| k != name))
            .map(|l| (l.path, l.value))
            .collect()
    };
    let again = yaml::parse_masked(file, &after)?;
    let set = match again.first() {
        Some(d @ Node::Mapping { .. }) => d
            .get(name)
            .and_then(Node::as_scalar)
            .map(|s| s.value.clone()),
        _ => None,
    };
    if set.as_deref() != Some(value) || leaves(&docs, &text) != leaves(&again, &after) {
        return Err(Error::at(
            Path::new(file),
            &text,
            edit.range.start,
            format!(
                "rule `{}`: setting `{name}` here would change more than that entry",
                rule.id
            ),
        ));
    }
    Ok(Some(edit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::testing::{prod, selector, stg};

    fn any_rule() -> Rule {
        let text = "id: r\nwhy: w\nstep: 3\nclass: redirect\nformat: text\nredirect: {role: web, site: site, registry: stable, switch: on_new, ping: /v2.json}\n";
        Rule::parse(
            Path::new("r.yaml"),
            text,
            &Migration::embedded().expect("embedded"),
        )
        .expect("a redirect rule compiles")
    }

    fn site(text: &str) -> SiteFile {
        SiteFile {
            path: "t.conf".into(),
            text: text.into(),
            jinja: Structure::of(text, &selector()),
        }
    }

    #[test]
    fn a_run_is_widened_to_whole_lines_and_blocks() {
        let text = "A\n{% if env == \"production\" %}\n# c\nRewriteCond x y\nRewriteRule ^/v2/(.*)/blobs/(.*) b [R]\n{% endif %}\nRewriteRule ^/v2/(.*)$ c [P,L]\nB\n";
        let f = site(text);
        let order = vec![
            ApiRule {
                file: "t.conf".into(),
                lines: crate::apache::rules_matching(&f.jinja.masked, &API_PATHS)[0].clone(),
            },
            ApiRule {
                file: "t.conf".into(),
                lines: crate::apache::rules_matching(&f.jinja.masked, &API_PATHS)[1].clone(),
            },
        ];
        let grouped = runs(std::slice::from_ref(&f), &order);
        assert_eq!(grouped.len(), 1);
        let span = widen(&f, grouped[0].1[0].clone());
        assert_eq!(
            &text[span],
            "{% if env == \"production\" %}\n# c\nRewriteCond x y\nRewriteRule ^/v2/(.*)/blobs/(.*) b [R]\n{% endif %}\nRewriteRule ^/v2/(.*)$ c [P,L]\n"
        );
    }

    #[test]
    fn dead_branches_go_with_their_tags() {
        let rule = any_rule();
        let text = "a\n{% if env == \"gone\" %}\nX\n{% endif %}\nb\n{% if env == \"gone\" %}\nY\n{% else %}\nZ\n{% endif %}\nc\n";
        let f = site(text);
        let mut notes = Vec::new();
        let edits = dead_branches(&f, &rule, &[], &mut notes);
        let splices: Vec<crate::edit::Splice> = edits.iter().map(|e| e.splice()).collect();
        assert_eq!(
            crate::edit::apply(text, &splices).expect("no overlap"),
            "a\nb\nZ\nc\n"
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn per_environment_targets_split_on_the_selector() {
        let lines = vec![(stg(), "S\n".to_string()), (prod(), "P\n".to_string())];
        assert_eq!(
            per_env(&lines, &selector(), "r").expect("split"),
            "{% if env == \"staging\" %}\nS\n{% else %}\nP\n{% endif %}\n"
        );
        let same = vec![(stg(), "X\n".to_string()), (prod(), "X\n".to_string())];
        assert_eq!(per_env(&same, &selector(), "r").expect("one"), "X\n");
    }
}
