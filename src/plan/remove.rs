//! Step 4 (SPEC §7.4): what goes with a registry's decommissioning is removed, every other byte
//! kept. A `remove` rule names the registry (its `from` hosts are the endpoint) and its servers
//! (a glob over the inventory's hosts); what is removed follows from them:
//!
//! - servers: their lines in the INI inventory (the groups stay), the files named after them
//!   (host_vars, a VPN client's file), the playbooks whose every play runs on them alone, the
//!   role uses whose `when:` names one of them, and the blocks of configuration templates (a
//!   paragraph opened by an unindented line, as haproxy's `backend NAME`) naming one;
//! - endpoint: the role uses (any play or task file, block or flow style) with a parameter set
//!   to a `from` host — the site's vhost, its proxy entry, the logins to it;
//! - what only the removed uses and files used: a role none of the remaining plays applies, the
//!   template a removed use installed and no other use does, an Ansible module (`library/`)
//!   no remaining task calls.
//!
//! A list item goes with its lines (and one blank line when it stood between two); a file goes
//! whole. Every edited YAML file is parsed again: its values must be the old ones less the
//! removed items'.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use super::{Edit, Note, Plan, Planner};
use crate::ansible::inventory::{is_inventory_file, wildcard};
use crate::ansible::{roles, vhost};
use crate::error::{Error, Result};
use crate::formats::jinja::Envs;
use crate::formats::tree::Node;
use crate::formats::{is_yaml_file, yaml};
use crate::rules::{Remove, Rule};
use crate::walk::{Tree, View};

/// What a removal found before the edits are made.
#[derive(Default)]
struct Found {
    /// Per file, the byte ranges of its lines that go, with the environments they serve.
    lines: std::collections::BTreeMap<String, Vec<(Range<usize>, Envs)>>,
    /// Files that go whole.
    files: BTreeSet<String>,
    /// The environments a file that goes serves (every environment when absent).
    file_envs: std::collections::BTreeMap<String, Envs>,
    /// Roles of removed uses, with the uses' parameters (for what only they installed).
    roles: Vec<(String, crate::ansible::render::Vars)>,
}

impl Planner<'_> {
    /// Plans a `remove` rule.
    pub(super) fn remove(
        &self,
        tree: &Tree,
        rule: &Rule,
        r: &Remove,
        out: &mut Plan,
    ) -> Result<()> {
        let view = self.vars.renderer().view();
        let inventory = &self.project.playbooks().inventory;
        let servers: Vec<String> = match &r.servers {
            Some(glob) => inventory
                .hosts()
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .filter(|h| wildcard(&glob.to_ascii_lowercase(), h))
                .collect(),
            None => Vec::new(),
        };
        let endpoint = r
            .registry
            .as_deref()
            .map(|label| self.migration.from_hosts_of(label))
            .unwrap_or_default();
        let mut found = Found::default();
        if !servers.is_empty() {
            self.server_lines(view, &servers, &mut found);
        }
        self.yaml_items(view, &servers, &endpoint, &mut found)?;
        self.dependents(view, &mut found);
        if found.lines.is_empty() && found.files.is_empty() {
            out.notes.push(Note::new(
                ".",
                format!("rule `{}`: nothing left to remove", rule.id),
            ));
            out.found.insert(rule.id.clone());
            return Ok(());
        }
        out.found.insert(rule.id.clone());
        // Staging first: a run removes what serves only the environments it selects; the run
        // that selects the environment of hosts in no group (production, last) removes the rest.
        let selected = self.selection.envs;
        let last = selected.contains(self.vars.selector().default);
        let all = self.migration.all();
        let due = |envs: Envs| last || envs.intersect(all).minus(selected) == Envs::NONE;
        let edits = edits(view, rule, &found, &due, all)?;
        self.write_edits(tree, edits, out)
    }

    /// The environments of `hosts` (the inventory's groups say; every environment when none
    /// is known).
    fn envs_of(&self, hosts: &[String]) -> Envs {
        let inventory = &self.project.playbooks().inventory;
        let envs = hosts
            .iter()
            .filter_map(|h| {
                inventory
                    .hosts()
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(h))
                    .and_then(|k| inventory.env_of(k))
            })
            .fold(Envs::NONE, |a, e| a.union(Envs::only(e)));
        if envs == Envs::NONE { Envs::ALL } else { envs }
    }

    /// Inventory lines, files named after a server, and configuration blocks naming one.
    fn server_lines(&self, view: &View, servers: &[String], found: &mut Found) {
        let shorts: Vec<&str> = servers
            .iter()
            .map(|s| s.split('.').next().unwrap_or(s))
            .collect();
        for file in &view.files {
            let name = file.rsplit('/').next().unwrap_or(file);
            let stem = name
                .strip_suffix(".yml")
                .or_else(|| name.strip_suffix(".yaml"))
                .unwrap_or(name);
            if servers.iter().any(|s| s == &stem.to_ascii_lowercase()) {
                found.files.insert(file.clone());
                found
                    .file_envs
                    .insert(file.clone(), self.envs_of(&[stem.to_ascii_lowercase()]));
                continue;
            }
            let Some(text) = view.read(file) else {
                continue;
            };
            if !shorts.iter().any(|s| text.contains(s)) {
                continue;
            }
            if is_inventory_file(file) {
                let lines = inventory_lines(&text, servers);
                let with_envs = lines
                    .into_iter()
                    .map(|(r, host)| (r, self.envs_of(&[host])));
                found
                    .lines
                    .entry(file.clone())
                    .or_default()
                    .extend(with_envs);
            } else if crate::ansible::is_template(file) && !is_yaml_file(file) {
                let blocks = blocks_and_referrers(&text, &shorts);
                let all = Envs::ALL;
                found
                    .lines
                    .entry(file.clone())
                    .or_default()
                    .extend(blocks.into_iter().map(|b| (b, all)));
            }
        }
    }

    /// Plays that run on the servers alone (their playbook whole when every play does), and role
    /// uses naming an endpoint host or, in their `when:`, a server.
    fn yaml_items(
        &self,
        view: &View,
        servers: &[String],
        endpoint: &[String],
        found: &mut Found,
    ) -> Result<()> {
        let inventory = &self.project.playbooks().inventory;
        let names: Vec<&str> = servers
            .iter()
            .chain(endpoint)
            .map(|s| s.split('.').next().unwrap_or(s))
            .collect();
        let files: Vec<&String> = view
            .files
            .iter()
            .filter(|f| is_yaml_file(f) && !found.files.contains(*f))
            .filter(|f| {
                f.starts_with("playbooks/") || f.starts_with("roles/") || f.starts_with("tasks/")
            })
            .collect();
        for file in files {
            let Some(text) = view.read(file) else {
                continue;
            };
            if !names.iter().any(|n| text.contains(n)) {
                continue;
            }
            let Ok(docs) = yaml::parse_masked(file, &text) else {
                continue;
            };
            let plays: Vec<&Node> = docs
                .iter()
                .filter_map(|d| match d {
                    Node::Sequence { items, .. } => {
                        Some(items.iter().filter(|i| i.get("hosts").is_some()))
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            let only_servers = |play: &Node| {
                let Some(hosts) = play.get("hosts").and_then(Node::as_scalar) else {
                    return false;
                };
                let selected = inventory.select(&hosts.value);
                !selected.is_empty()
                    && selected
                        .iter()
                        .all(|h| servers.contains(&h.to_ascii_lowercase()))
            };
            let theirs: Vec<&Node> = plays.iter().copied().filter(|p| only_servers(p)).collect();
            let play_envs = |play: &Node| {
                let hosts = play
                    .get("hosts")
                    .and_then(Node::as_scalar)
                    .map_or(String::new(), |h| h.value.clone());
                let selected: Vec<String> = inventory
                    .select(&hosts)
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect();
                self.envs_of(&selected)
            };
            if !plays.is_empty() && theirs.len() == plays.len() {
                let envs = theirs.iter().fold(Envs::NONE, |a, p| a.union(play_envs(p)));
                found.files.insert(file.clone());
                found.file_envs.insert(file.clone(), envs);
                continue;
            }
            let mut ranges: Vec<(Range<usize>, Envs)> =
                theirs.iter().map(|p| (p.span(), play_envs(p))).collect();
            for role in roles_named(&docs) {
                for u in roles::uses(&docs, &role) {
                    let named = when_names_servers(&u, servers);
                    if !names_a_host(&u, endpoint) && named.is_empty() {
                        continue;
                    }
                    if ranges
                        .iter()
                        .any(|(r, _)| r.contains(&u.entry.span().start))
                    {
                        continue;
                    }
                    let envs = match (named.is_empty(), u.entry.get("when")) {
                        (false, _) => self.envs_of(&named),
                        (true, Some(when)) => self.vars.when_envs(when),
                        (true, None) => Envs::ALL,
                    };
                    ranges.push((u.entry.span(), envs));
                    found
                        .roles
                        .push((role.clone(), vhost::scalar_params(&u.params)));
                }
            }
            let lines = ranges
                .into_iter()
                .map(|(r, envs)| (item_lines(&text, r), envs));
            found.lines.entry(file.clone()).or_default().extend(lines);
        }
        Ok(())
    }

    /// The roles, templates and modules only removed things used.
    fn dependents(&self, view: &View, found: &mut Found) {
        let removed = |path: &str, found: &Found| found.files.contains(path);
        // Roles none of the remaining files applies.
        let roles: BTreeSet<String> = found.roles.iter().map(|(r, _)| r.clone()).collect();
        for role in roles {
            let dir = format!("roles/{role}/");
            let used_elsewhere = view
                .files
                .iter()
                .filter(|f| is_yaml_file(f) && !f.starts_with(&dir))
                .any(|f| {
                    if removed(f, found) {
                        return false;
                    }
                    let Some(text) = view.read(f) else {
                        return false;
                    };
                    if !text.contains(role.as_str()) {
                        return false;
                    }
                    let Ok(docs) = yaml::parse_masked(f, &text) else {
                        return true; // cannot tell: keep the role
                    };
                    let removed_here = found.lines.get(f.as_str()).cloned().unwrap_or_default();
                    roles::uses(&docs, &role).iter().any(|u| {
                        let at = u.entry.span().start;
                        !removed_here.iter().any(|(r, _)| r.contains(&at))
                    })
                });
            let files: Vec<String> = view
                .files
                .iter()
                .filter(|f| f.starts_with(&dir))
                .cloned()
                .collect();
            if !used_elsewhere && !files.is_empty() {
                found.files.extend(files);
            }
        }
        // Templates a removed use installed that no remaining use of its role installs.
        let env = self.vars.selector().default;
        let installed: Vec<(String, String)> = found
            .roles
            .iter()
            .filter_map(|(role, params)| {
                vhost::installed(self.vars, role, params, env).map(|(t, _)| (role.clone(), t))
            })
            .collect();
        for (role, template) in installed {
            if found.files.contains(&template) {
                continue;
            }
            let name = template.rsplit('/').next().unwrap_or(&template).to_string();
            // A template another use installs by name, or another file names, stays.
            let named_elsewhere = view.files.iter().any(|f| {
                *f != template
                    && !removed(f, found)
                    && !f.starts_with(&format!("roles/{role}/templates/"))
                    && view.read(f).is_some_and(|t| t.contains(&name))
            });
            let generic = self.installed_by_others(view, &role, &template, found);
            if !named_elsewhere && !generic {
                found.files.insert(template);
            }
        }
        // Modules (`library/NAME.py`) only removed files call.
        let modules: Vec<String> = view
            .files
            .iter()
            .filter(|f| f.starts_with("library/") && f.ends_with(".py"))
            .cloned()
            .collect();
        for module in modules {
            let stem = module
                .trim_start_matches("library/")
                .trim_end_matches(".py")
                .to_string();
            let key = format!("{stem}:");
            let callers: Vec<&String> = view
                .files
                .iter()
                .filter(|f| is_yaml_file(f))
                .filter(|f| view.read(f).is_some_and(|t| t.contains(&key)))
                .collect();
            if !callers.is_empty() && callers.iter().all(|f| removed(f, found)) {
                found.files.insert(module);
            }
        }
    }

    /// Whether a use of `role` that stays installs `template`.
    fn installed_by_others(&self, view: &View, role: &str, template: &str, found: &Found) -> bool {
        let env = self.vars.selector().default;
        view.files
            .iter()
            .filter(|f| is_yaml_file(f) && !found.files.contains(*f))
            .any(|f| {
                let Some(text) = view.read(f) else {
                    return false;
                };
                if !text.contains(role) {
                    return false;
                }
                let Ok(docs) = yaml::parse_masked(f, &text) else {
                    return false;
                };
                let removed_here = found.lines.get(f.as_str()).cloned().unwrap_or_default();
                roles::uses(&docs, role).iter().any(|u| {
                    let at = u.entry.span().start;
                    !removed_here.iter().any(|(r, _)| r.contains(&at))
                        && vhost::installed(self.vars, role, &vhost::scalar_params(&u.params), env)
                            .is_some_and(|(t, _)| t == template)
                })
            })
    }
}

/// The roles the documents apply (any role name a `roles:` entry or an include names).
fn roles_named(docs: &[Node]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut visit = |node: &Node| {
        for key in ["role", "name"] {
            if let Some(s) = node.get(key).and_then(Node::as_scalar)
                && !s.value.contains(' ')
                && !s.value.is_empty()
            {
                out.insert(s.value.clone());
            }
        }
    };
    fn walk(node: &Node, f: &mut dyn FnMut(&Node), depth: usize) {
        if depth > 64 {
            return;
        }
        match node {
            Node::Mapping { entries, .. } => {
                f(node);
                for (_, v) in entries {
                    walk(v, f, depth + 1);
                }
            }
            Node::Sequence { items, .. } => items.iter().for_each(|i| walk(i, f, depth + 1)),
            _ => {}
        }
    }
    for d in docs {
        walk(d, &mut visit, 0);
    }
    out
}

/// A use with a parameter set to one of `hosts`.
fn names_a_host(u: &roles::RoleUse<'_>, hosts: &[String]) -> bool {
    u.params.iter().any(|holder| match holder {
        Node::Mapping { entries, .. } => entries.iter().any(|(k, v)| {
            k.as_scalar().is_some_and(|k| k.value != "when")
                && v.as_scalar()
                    .is_some_and(|s| hosts.contains(&s.value.trim().to_ascii_lowercase()))
        }),
        _ => false,
    })
}

/// The servers a use's `when:` names (a quoted literal that is a server's name, or its start).
fn when_names_servers(u: &roles::RoleUse<'_>, servers: &[String]) -> Vec<String> {
    let Some(when) = u.entry.get("when").and_then(Node::as_scalar) else {
        return Vec::new();
    };
    let literals: Vec<String> = quoted(&when.value)
        .into_iter()
        .map(|l| l.to_ascii_lowercase())
        .filter(|l| !l.is_empty() && l.contains('-'))
        .collect();
    servers
        .iter()
        .filter(|s| literals.iter().any(|l| s.starts_with(l.as_str())))
        .cloned()
        .collect()
}

/// The quoted literals of an expression.
fn quoted(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            let lit: String = chars.by_ref().take_while(|d| *d != c).collect();
            out.push(lit);
        }
    }
    out
}

/// The lines of an inventory naming a server first, with the server.
fn inventory_lines(text: &str, servers: &[String]) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let first = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if servers.contains(&first) {
            out.push((at..at + line.len(), first));
        }
        at += line.len();
    }
    out
}

/// Paragraphs opened by an unindented line whose lines name one of `names` (a whole word), with
/// the blank line after them.
fn blocks_naming(text: &str, names: &[&str]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut named = false;
    let mut at = 0;
    let word = |line: &str| {
        names.iter().any(|n| {
            line.match_indices(n).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + n.len()..].chars().next();
                let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
                !before.is_some_and(part) && !after.is_some_and(part)
            })
        })
    };
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        let opens = !blank && !line.starts_with([' ', '\t', '#', '{']);
        match (start, blank) {
            (None, false) if opens => {
                start = Some(at);
                named = word(line);
            }
            (Some(_), false) if !opens || !line.starts_with([' ', '\t']) => {
                named |= word(line);
            }
            (Some(s), true) => {
                if named {
                    out.push(s..at + line.len());
                }
                start = None;
                named = false;
            }
            _ => {}
        }
        at += line.len();
    }
    if let (Some(s), true) = (start, named) {
        out.push(s..text.len());
    }
    out
}

/// The blocks naming one of `names`, then the blocks naming a removed block by its header's
/// name (haproxy's `frontend` whose `default_backend` was removed), until none is left.
fn blocks_and_referrers(text: &str, names: &[&str]) -> Vec<Range<usize>> {
    let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    loop {
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let blocks = blocks_naming(text, &refs);
        let headers: Vec<String> = blocks
            .iter()
            .filter_map(|b| text[b.clone()].lines().next())
            .filter_map(|h| h.split_whitespace().nth(1).map(str::to_string))
            .filter(|n| !names.contains(n))
            .collect();
        if headers.is_empty() {
            return blocks;
        }
        names.extend(headers);
    }
}

/// A list item's lines: from its line's start (the `- `) to the end of its last line, with the
/// comment lines right above it (not less indented), and the blank line after it when one
/// stood before it too.
fn item_lines(text: &str, span: Range<usize>) -> Range<usize> {
    let mut start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let indent = text[start..span.start].len() - text[start..span.start].trim_start().len();
    while start > 0 {
        let above = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[above..start - 1];
        let own = line.len() - line.trim_start().len();
        if !line.trim_start().starts_with('#') || own < indent {
            break;
        }
        start = above;
    }
    // A node's span may run past its last line (trailing blank lines): end at its last text.
    let last = text[..span.end].trim_end().len().max(span.start);
    let end = text[last..].find('\n').map_or(text.len(), |i| last + i + 1);
    let before_blank = text[..start]
        .strip_suffix('\n')
        .map(|t| t.rsplit('\n').next().unwrap_or(t))
        .is_some_and(|l| l.trim().is_empty());
    let next = &text[end..];
    let next_line = next.split_inclusive('\n').next().unwrap_or_default();
    if before_blank && !next_line.is_empty() && next_line.trim().is_empty() {
        return start..end + next_line.len();
    }
    start..end
}

/// The edits: each file's ranges merged and removed, each whole file removed.
fn edits(
    view: &View,
    rule: &Rule,
    found: &Found,
    due: &dyn Fn(Envs) -> bool,
    all: Envs,
) -> Result<Vec<Edit>> {
    let edit = |path: &str, range: Range<usize>, old: String, envs: Envs| Edit {
        path: path.to_string(),
        range,
        old,
        new: String::new(),
        rule: rule.id.clone(),
        envs: envs.intersect(all),
        context: None,
        secret: false,
        target: None,
    };
    let mut out = Vec::new();
    for file in &found.files {
        let envs = found.file_envs.get(file).copied().unwrap_or(Envs::ALL);
        if let (true, Some(text)) = (due(envs), view.read(file)) {
            out.push(edit(file, 0..text.len(), text, envs));
        }
    }
    for (file, ranges) in &found.lines {
        if found.files.contains(file) {
            continue;
        }
        let Some(text) = view.read(file) else {
            continue;
        };
        let mut ranges: Vec<(Range<usize>, Envs)> =
            ranges.iter().filter(|(_, e)| due(*e)).cloned().collect();
        ranges.sort_by_key(|(r, _)| r.start);
        let mut merged: Vec<(Range<usize>, Envs)> = Vec::new();
        for (r, envs) in ranges {
            match merged.last_mut() {
                Some((last, e)) if r.start <= last.end => {
                    last.end = last.end.max(r.end);
                    *e = e.union(envs);
                }
                _ => merged.push((r, envs)),
            }
        }
        let mut emptied = Vec::new();
        if is_yaml_file(file) {
            let spans: Vec<Range<usize>> = merged.iter().map(|(r, _)| r.clone()).collect();
            emptied = emptied_lists(file, &text, &spans)?;
            exact(file, &text, &spans, &emptied, rule)?;
        }
        for (r, envs) in merged {
            out.push(edit(file, r.clone(), text[r].to_string(), envs));
        }
        // A list whose every item goes stays a list: `key: []`.
        for at in emptied {
            let mut e = edit(file, at..at, String::new(), Envs::ALL);
            e.new = " []".to_string();
            out.push(e);
        }
    }
    Ok(out)
}

/// Where ` []` goes after a key whose block list loses every item to `ranges`.
fn emptied_lists(file: &str, text: &str, ranges: &[Range<usize>]) -> Result<Vec<usize>> {
    let docs = yaml::parse_masked(file, text)?;
    let mut out = Vec::new();
    fn walk(node: &Node, text: &str, ranges: &[Range<usize>], out: &mut Vec<usize>, depth: usize) {
        if depth > 64 {
            return;
        }
        match node {
            Node::Mapping { entries, .. } => {
                for (k, v) in entries {
                    if let Node::Sequence { items, .. } = v
                        && !items.is_empty()
                        && items
                            .iter()
                            .all(|i| ranges.iter().any(|r| r.contains(&i.span().start)))
                        && let Some(colon) = text[k.span().end..].find(':')
                    {
                        out.push(k.span().end + colon + 1);
                        continue;
                    }
                    walk(v, text, ranges, out, depth + 1);
                }
            }
            Node::Sequence { items, .. } => {
                for i in items {
                    walk(i, text, ranges, out, depth + 1);
                }
            }
            _ => {}
        }
    }
    for d in &docs {
        walk(d, text, ranges, &mut out, 0);
    }
    // A list inside something removed whole goes with it.
    out.retain(|at| !ranges.iter().any(|r| r.start <= *at && *at < r.end));
    Ok(out)
}

/// The YAML file without `ranges` (and with ` []` at `emptied`) parses, and holds the old
/// values less those in the ranges.
fn exact(
    file: &str,
    text: &str,
    ranges: &[Range<usize>],
    emptied: &[usize],
    rule: &Rule,
) -> Result<()> {
    let mut cuts: Vec<(Range<usize>, &str)> = ranges.iter().map(|r| (r.clone(), "")).collect();
    cuts.extend(emptied.iter().map(|&at| (at..at, " []")));
    cuts.sort_by_key(|(r, _)| (r.start, r.end));
    let mut after = String::with_capacity(text.len());
    let mut at = 0;
    for (r, with) in &cuts {
        // Ranges were merged and insertions kept outside them: they never overlap.
        after.push_str(text.get(at..r.start).unwrap_or_default());
        after.push_str(with);
        at = at.max(r.end);
    }
    after.push_str(&text[at..]);
    let parse = |t: &str| yaml::parse_masked(file, t);
    let (old, new) = (parse(text)?, parse(&after)?);
    let leaves = |docs: &[Node], t: &str, skip: &[Range<usize>]| -> Vec<(Vec<String>, String)> {
        docs.iter()
            .flat_map(|d| d.leaves(t))
            .filter(|l| !skip.iter().any(|r| r.contains(&l.at)))
            .map(|l| (l.path, l.value))
            .collect()
    };
    if leaves(&old, text, ranges) != leaves(&new, &after, &[]) {
        return Err(Error::at(
            Path::new(file),
            text,
            ranges.first().map_or(0, |r| r.start),
            format!(
                "rule `{}`: removing these lines would change other values of the file",
                rule.id
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_naming_a_server_goes_with_its_blank_line() {
        let text = "frontend a\n    bind :1\n\nbackend old-backend\n    server old01 old01:5000 check\n\nbackend b\n    server keep01 keep01:5000\n";
        let ranges = blocks_naming(text, &["old01"]);
        assert_eq!(ranges.len(), 1);
        assert_eq!(
            &text[ranges[0].clone()],
            "backend old-backend\n    server old01 old01:5000 check\n\n"
        );
    }

    #[test]
    fn a_block_naming_a_removed_block_goes_too() {
        let text = "frontend old-frontend\n    default_backend old-backend\n\nbackend old-backend\n    server old01 old01:5000\n\nfrontend other\n    default_backend other-backend\n";
        let ranges = blocks_and_referrers(text, &["old01"]);
        assert_eq!(ranges.len(), 2, "{ranges:?}");
        assert!(text[ranges[0].clone()].starts_with("frontend old-frontend"));
    }

    #[test]
    fn an_item_takes_the_comment_right_above_it() {
        let text = "roles:\n  - a: 1\n    # for b\n  - b: 2\n  - c: 3\n";
        let at = text.find("b: 2").expect("item");
        assert_eq!(
            &text[item_lines(text, at..at + 4)],
            "    # for b\n  - b: 2\n"
        );
    }

    #[test]
    fn an_item_goes_with_one_of_the_blank_lines_around_it() {
        let text = "roles:\n- a: 1\n\n- b: 2\n  c: 3\n\n- d: 4\n";
        let at = text.find("b: 2").expect("item");
        let span = at..text.find("c: 3").expect("c") + 4;
        assert_eq!(&text[item_lines(text, span)], "- b: 2\n  c: 3\n\n");
    }

    #[test]
    fn a_list_losing_every_item_stays_a_list() {
        let text = "- hosts: x\n  roles:\n    - { role: a, h: old }\n  tasks: []\n";
        let item = text.find("{ role").expect("item");
        let ranges = vec![item_lines(text, item..item + 20)];
        let at = emptied_lists("p.yml", text, &ranges).expect("parses");
        assert_eq!(at, vec![text.find("roles:").expect("key") + 6]);
        let rule_text = "id: r\nwhy: w\nstep: 4\nclass: decommission\nformat: text\nremove: {servers: 'old*'}\n";
        let rule = Rule::parse(
            Path::new("r.yaml"),
            rule_text,
            &crate::migration::Migration::embedded().expect("embedded"),
        )
        .expect("rule");
        exact("p.yml", text, &ranges, &at, &rule).expect("only the item goes");
    }

    #[test]
    fn inventory_lines_name_the_server_first() {
        let text = "[g]\nold01.example.org\nkeep01.example.org\nold01.example.org ansible_host=x\n";
        let servers = vec!["old01.example.org".to_string()];
        assert_eq!(inventory_lines(text, &servers).len(), 2);
    }
}
