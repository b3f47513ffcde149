//! Proofs derived from the edits (SPEC §6.3). Every rendering an edit's site reaches
//! (`sites`) is rendered per environment before and after the edits and parsed by its format
//! (JSON, YAML, TOML, INI; lines otherwise). The two are compared as sets of leaves (a value
//! with the keys leading to it):
//!
//! - a leaf that changed must turn back into its old self when every reaching edit's rendered
//!   new value is replaced by its rendered old value (in keys and values; in base64-decoded
//!   values too, for `auth` strings built with `b64encode`);
//! - a leaf that appeared must come from an edit's new text (an added `{% else %}` branch), one
//!   that went from an edit's old text (a dropped table);
//! - every edit whose value changes that environment's rendering must show in it.
//!
//! So a rendering differs from the one before only at the planned places, and carries each
//! planned value. An environment not selected must render byte for byte as before (§6.7). Edits
//! no rendering carries are checked in their own file: the edited value, rendered per
//! environment, must be the old one with the edit's values replaced, and nothing else may change.

use std::collections::BTreeMap;
use std::path::Path;

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;

use super::{Failure, Renderings, Report};
use crate::ansible::EnvVars;
use crate::ansible::origins::Origin;
use crate::error::Position;
use crate::formats::jinja::{self, Envs};
use crate::formats::tree::{Leaf, Node, Style};
use crate::formats::{ini, json, toml, yaml};
use crate::migration::{Env, Selector};
use crate::plan::Edit;
use crate::project::Project;
use crate::sites::{self, Via};

/// Checks the edits at every rendering they reach; adds checks and failures to `report`.
pub(super) fn prove(
    before: &Renderings<'_>,
    after: &Renderings<'_>,
    edits: &[Edit],
    selected: Envs,
    report: &mut Report,
) {
    let envs = before.vars.envs();
    let sites = sites::of(edits, before.vars, before.playbooks, &envs);
    let proof = Derived {
        before,
        after,
        edits,
        selector: before.vars.selector(),
    };
    for ((template, env), reached) in &sites.renderings {
        if !after.project.view().exists(template) {
            proof.removed(template, *env, reached, report);
            continue;
        }
        if selected.contains(*env) {
            proof.rendering(template, *env, reached, report);
        } else {
            proof.isolated(template, *env, reached, report);
        }
    }
    let mut data: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in &sites.data {
        data.entry(edits[i].path.as_str()).or_default().push(i);
    }
    for (file, data_edits) in data {
        let of_file: Vec<usize> = (0..edits.len())
            .filter(|&i| edits[i].path == file)
            .collect();
        if crate::formats::data_format(file).is_some() {
            proof.data_file(file, &of_file, &data_edits, selected, report);
        } else {
            // A script, a document: nothing reads it as values; the file is the spliced text.
            for &i in &of_file {
                let how = format!("{file}, read as written (not YAML: text spliced in place)");
                report.checked(proof.key(i), None, how);
            }
        }
    }
}

struct Derived<'a> {
    before: &'a Renderings<'a>,
    after: &'a Renderings<'a>,
    edits: &'a [Edit],
    selector: &'a Selector,
}

/// An edit's old and new values as one environment renders them.
struct Pair {
    edit: usize,
    old: String,
    new: String,
}

impl Derived<'_> {
    /// The edit as [`Report::proven`] names it.
    fn key(&self, edit: usize) -> (String, usize) {
        let e = &self.edits[edit];
        (e.path.clone(), e.range.start)
    }

    /// Where the edit is written: `file:line:column`.
    fn source(&self, edit: usize) -> String {
        let e = &self.edits[edit];
        let text = self.before.vars.renderer().view().read(&e.path);
        let at = text.map_or(Position { line: 1, column: 1 }, |t| {
            Position::of(&t, e.range.start)
        });
        format!("{}:{}:{}", e.path, at.line, at.column)
    }

    /// The edits' values as `env` renders them (variables the tree lacks as placeholders; a
    /// fragment that does not render alone, such as an `{% else %}` branch, as written). Edits
    /// that do not change `env`'s values are left out.
    fn pairs(&self, edits: impl Iterator<Item = usize>, env: Env) -> Vec<Pair> {
        let rendered = |vars: &EnvVars, text: &str| {
            if text.contains("{{") || text.contains("{%") {
                vars.render_loose(text, env).unwrap_or_else(|| text.into())
            } else {
                text.into()
            }
        };
        edits
            .filter(|&i| self.edits[i].envs.contains(env))
            .map(|i| {
                let e = &self.edits[i];
                Pair {
                    edit: i,
                    old: rendered(self.before.vars, &e.old),
                    new: rendered(self.after.vars, value_written(e)),
                }
            })
            .filter(|p| p.old != p.new)
            .collect()
    }

    fn failure(&self, template: &str, env: Env, edit: Option<usize>, what: String) -> Failure {
        Failure {
            template: template.into(),
            env,
            rule: edit.map_or_else(String::new, |i| self.edits[i].rule.clone()),
            what,
            expected: String::new(),
            got: String::new(),
            at: None,
            source: edit.map(|i| self.source(i)),
        }
    }

    /// One selected environment's rendering of `template`, with the edits reaching it.
    fn rendering(&self, template: &str, env: Env, reached: &[(usize, Via)], report: &mut Report) {
        let before = self.before.text(template, env, true);
        let after = self.after.text(template, env, true);
        let first = reached.first().map(|(i, _)| *i);
        let (before, after) = match (before, after) {
            (Ok(b), Ok(a)) => (b, a),
            (Err(_), _) => {
                report.notes.push(format!(
                    "{template} ({env}) does not render before the edits: their proof there is \
                     the promises only"
                ));
                return;
            }
            (Ok(_), Err(e)) => {
                let mut f = self.failure(template, env, first, "rendering".into());
                f.expected = "a rendering".into();
                f.got = e;
                report.fail(f);
                return;
            }
        };
        let shape = Shape::of(template, &before);
        let (old, new) = match (
            shape.leaves(template, &before, self.selector, env),
            shape.leaves(template, &after, self.selector, env),
        ) {
            (Ok(o), Ok(n)) => (o, n),
            (Ok(_), Err(e)) => {
                let mut f = self.failure(template, env, first, "rendering".into());
                f.expected = format!("valid {}", shape.name());
                f.got = e;
                report.fail(f);
                return;
            }
            // Not of its name's format before the edits either: compared line by line.
            (Err(_), _) => (Shape::Lines.lines(&before), Shape::Lines.lines(&after)),
        };
        // A switch (a variable set to true or false, tested by `{% if %}`s of the template)
        // shows through the branches it selects, not as a value: what appears or goes must be
        // the text of such a branch.
        let (switches, gates) = self.switches(template, env, reached);
        let pairs = self.pairs(
            reached
                .iter()
                .map(|(i, _)| *i)
                .filter(|i| !switches.contains(i)),
            env,
        );
        let mut edits = self.edits.to_vec();
        let mut reaching: Vec<usize> = reached.iter().map(|(i, _)| *i).collect();
        for text in gates {
            reaching.push(edits.len());
            edits.push(Edit {
                path: template.to_string(),
                range: 0..0,
                old: text.clone(),
                new: text,
                rule: String::new(),
                envs: Envs::ALL,
                context: None,
                secret: false,
                target: None,
            });
        }
        let outcome = compare(old, new, &pairs, &reaching, &edits);
        for &i in &switches {
            let how = format!("{template} ({env}) through the branches it selects");
            report.checked(self.key(i), Some((template, env)), how);
        }
        report.checks += pairs.len().max(1);
        *report.checks_by_env.entry(env).or_default() += pairs.len().max(1);
        let origins = |project: &Project| {
            let unexplained =
                !outcome.unexplained_new.is_empty() || !outcome.unexplained_old.is_empty();
            unexplained
                .then(|| project.render_with_origins(template, env).ok())
                .flatten()
        };
        let (new_origins, old_origins) =
            (origins(self.after.project), origins(self.before.project));
        let locate = |leaf: &Leaf, new: bool| {
            let (project, found) = match new {
                true => (self.after.project, &new_origins),
                false => (self.before.project, &old_origins),
            };
            let (text, origins) = found.as_ref()?;
            source_of(project, template, text, origins, leaf)
        };
        self.report(template, env, outcome, report, &locate);
    }

    /// `locate(leaf, new)`: where the source of a leaf of the new (old) rendering is written.
    fn report(
        &self,
        template: &str,
        env: Env,
        outcome: Outcome,
        report: &mut Report,
        locate: &dyn Fn(&Leaf, bool) -> Option<String>,
    ) {
        for (edit, at) in outcome.seen {
            // A text's leaves are its lines.
            let at = if at.is_empty() { "a line".into() } else { at };
            let how = format!("{template} ({env}) at {at}");
            report.checked(self.key(edit), Some((template, env)), how);
        }
        let changed = outcome
            .unexplained_new
            .iter()
            .map(|l| (l, true))
            .chain(outcome.unexplained_old.iter().map(|l| (l, false)));
        for (leaf, new) in changed {
            let mut f = self.failure(template, env, None, leaf.dotted());
            f.expected = "only the planned places change".into();
            let sign = if new { '+' } else { '-' };
            f.got = format!("{sign}{}", crate::redact::line(&leaf.value));
            f.source = locate(leaf, new);
            report.fail(f);
        }
        for pair in outcome.unseen {
            let e = &self.edits[pair.edit];
            let mut f = self.failure(template, env, Some(pair.edit), "value".into());
            f.expected = e.shown(&pair.new).to_string();
            f.got = "not in the rendering".into();
            report.fail(f);
        }
    }

    /// The reaching edits that set a switch tested by `{% if %}`s of `template` (or the files
    /// it includes), and the texts of those branches, before and after.
    fn switches(
        &self,
        template: &str,
        env: Env,
        reached: &[(usize, Via)],
    ) -> (Vec<usize>, Vec<String>) {
        let named: Vec<(usize, &str)> = reached
            .iter()
            .filter_map(|(i, via)| match via {
                Via::Variable(name) if is_switch(&self.edits[*i]) => Some((*i, name.as_str())),
                _ => None,
            })
            .filter(|(i, _)| self.edits[*i].envs.contains(env))
            .collect();
        let mut switches = Vec::new();
        let mut gates = Vec::new();
        for (i, name) in named {
            let before = branches_testing(self.before.vars, template, name);
            let after = branches_testing(self.after.vars, template, name);
            if !before.is_empty() || !after.is_empty() {
                switches.push(i);
                gates.extend(before);
                gates.extend(after);
            }
        }
        (switches, gates)
    }

    /// A template the edits remove: nothing left in the tree names it (an include, a task's
    /// `src`), so nothing renders it any more.
    fn removed(&self, template: &str, env: Env, reached: &[(usize, Via)], report: &mut Report) {
        let view = self.after.project.view();
        let name = template.rsplit('/').next().unwrap_or(template);
        let named_by: Vec<&String> = view
            .files
            .iter()
            .filter(|f| view.read(f).is_some_and(|t| t.contains(name)))
            .collect();
        report.checks += 1;
        *report.checks_by_env.entry(env).or_default() += 1;
        let first = reached.first().map(|(i, _)| *i);
        match named_by.first() {
            None => {
                if let Some(i) = first {
                    let how = format!("{template} ({env}) removed, and no file names it");
                    report.checked(self.key(i), None, how);
                }
            }
            Some(file) => {
                let mut f = self.failure(template, env, first, "removal".into());
                f.expected = "no file naming the removed template".into();
                f.got = format!("named by {file}");
                report.fail(f);
            }
        }
    }

    /// An environment not selected renders exactly as before (SPEC §6.7).
    fn isolated(&self, template: &str, env: Env, reached: &[(usize, Via)], report: &mut Report) {
        let (Ok(before), Ok(after)) = (
            self.before.text(template, env, true),
            self.after.text(template, env, true),
        ) else {
            return;
        };
        let first = reached.first().map(|(i, _)| *i);
        let changed = before
            .lines()
            .zip(after.lines())
            .find(|(b, a)| b != a)
            .map(|(_, a)| a)
            .or_else(|| (before.lines().count() != after.lines().count()).then_some(""));
        if let Some(line) = changed {
            let mut f = self.failure(template, env, first, "isolation".into());
            f.expected = format!("the {env} rendering unchanged");
            f.got = format!("+{}", crate::redact::line(line));
            report.fail(f);
        }
    }

    /// Edits in a file Ansible reads as data: only the planned values change (compared as
    /// written, with every edit of the file), and each edit no rendering carries (`data`)
    /// renders, per environment it serves, as the old value with the edits' values replaced.
    fn data_file(
        &self,
        file: &str,
        of_file: &[usize],
        data: &[usize],
        selected: Envs,
        report: &mut Report,
    ) {
        let view = |r: &Renderings<'_>| r.project.view().read(file);
        let (Some(before), Some(after)) = (view(self.before), view(self.after)) else {
            return;
        };
        let parse = |text: &str| yaml::parse(Path::new(file), text, &jinja::mask(text)).ok();
        let (Some(old_docs), Some(new_docs)) = (parse(&before), parse(&after)) else {
            return; // planning re-parses every edited file and reports what does not parse
        };
        let written: Vec<Pair> = of_file
            .iter()
            .map(|&i| Pair {
                edit: i,
                old: unquoted(&self.edits[i].old),
                new: unquoted(value_written(&self.edits[i])),
            })
            .filter(|p| p.old != p.new)
            .collect();
        let all_leaves = |docs: &[Node], text: &str| -> Vec<Leaf> {
            docs.iter().flat_map(|d| d.leaves(text)).collect()
        };
        let outcome = compare(
            all_leaves(&old_docs, &before),
            all_leaves(&new_docs, &after),
            &written,
            of_file,
            self.edits,
        );
        // Written text is the same in every environment: what it proves per environment is
        // the values below; here only what changed beyond them.
        let env = self.edits[of_file[0]].envs.iter().next();
        if let Some(env) = env.or_else(|| self.before.vars.envs().first().copied()) {
            let unexplained = Outcome {
                seen: Vec::new(),
                ..outcome
            };
            // A data file is its own source: a leaf is where it is written.
            let locate = |leaf: &Leaf, new: bool| {
                let text = if new { &after } else { &before };
                let at = Position::of(text, leaf.at);
                Some(format!("{file}:{}:{}", at.line, at.column))
            };
            self.report(file, env, unexplained, report, &locate);
        }
        for group in by_value(&old_docs, data, self.edits) {
            self.data_value(
                file,
                &group,
                (&before, &old_docs),
                &new_docs,
                selected,
                report,
            );
        }
    }

    /// One edited value of a data file, per environment its edits serve.
    fn data_value(
        &self,
        file: &str,
        group: &[usize],
        (before, old_docs): (&str, &[Node]),
        new_docs: &[Node],
        selected: Envs,
        report: &mut Report,
    ) {
        let first = group[0];
        let start = self.edits[first].range.start;
        let Some((path, old_value)) = value_at(old_docs, before, start) else {
            return;
        };
        let after_text = self
            .after
            .vars
            .renderer()
            .view()
            .read(file)
            .unwrap_or_default();
        let Some((_, new_value)) = value_at(new_docs, &after_text, shifted(self.edits, first))
        else {
            return;
        };
        let envs = group
            .iter()
            .fold(Envs::NONE, |acc, &i| acc.union(self.edits[i].envs))
            .intersect(selected);
        for env in self
            .before
            .vars
            .envs()
            .into_iter()
            .filter(|e| envs.contains(*e))
        {
            // Values as the data holds them: a scalar rewritten with quotes is its value.
            let pairs: Vec<Pair> = self
                .pairs(group.iter().copied(), env)
                .into_iter()
                .map(|p| Pair {
                    old: unquoted(&p.old),
                    new: unquoted(&p.new),
                    ..p
                })
                .collect();
            let render = |vars: &EnvVars, v: &str| vars.render_loose(v, env);
            let (Some(old), Some(new)) = (
                render(self.before.vars, &old_value),
                render(self.after.vars, &new_value),
            ) else {
                continue;
            };
            // One edit writing the whole value (an empty, null or missing one included): the
            // new value is its text; else the old value with each edit's text done.
            let expected = match pairs.as_slice() {
                [one] if old == one.old || old_value.trim() == self.edits[one.edit].old.trim() => {
                    one.new.clone()
                }
                _ => replace(&old, &pairs, Direction::Forward),
            };
            report.checks += 1;
            *report.checks_by_env.entry(env).or_default() += 1;
            if new == expected {
                let how = format!("{file} ({env}) at {path}, read as written");
                for &i in group {
                    report.checked(self.key(i), Some((file, env)), how.clone());
                }
            } else {
                let mut f = self.failure(file, env, Some(first), path.clone());
                let secret = group.iter().any(|&i| self.edits[i].secret);
                let shown = |v: &str| {
                    if secret {
                        crate::redact::REDACTED.to_string()
                    } else {
                        v.to_string()
                    }
                };
                f.expected = shown(&expected);
                f.got = shown(&new);
                report.fail(f);
            }
        }
    }
}

/// Where the source of a leaf of the rendering is written: the `{{ … }}` whose output lies in
/// the value (quotes included), or else where its literal text is in the template.
fn source_of(
    project: &Project,
    template: &str,
    rendered: &str,
    origins: &[Origin],
    leaf: &Leaf,
) -> Option<String> {
    let source = project.view().read(template)?;
    let value = leaf.at..leaf.at + leaf.value.len() + 2;
    let expression = origins
        .iter()
        .filter(|o| o.rendered.start < value.end && value.start < o.rendered.end)
        .min_by_key(|o| o.rendered.len());
    let offset = match expression {
        Some(o) => o.source.start,
        None => literal_source(&source, rendered, origins, leaf.at)?,
    };
    let pos = Position::of(&source, offset);
    Some(format!("{template}:{}:{}", pos.line, pos.column))
}

/// Where literal text of a rendering is written in the template: counted from the nearest
/// expression output before it (exact when no tag lies between), checked against the source;
/// else the first source line that reads as the rendered line.
fn literal_source(source: &str, rendered: &str, origins: &[Origin], at: usize) -> Option<usize> {
    let counted = match origins
        .iter()
        .filter(|o| o.rendered.end <= at)
        .max_by_key(|o| o.rendered.end)
    {
        Some(o) => o.source.end + (at - o.rendered.end),
        None => at,
    };
    let head: String = rendered.get(at..)?.chars().take(16).collect();
    if !head.is_empty() && source.get(counted..).is_some_and(|s| s.starts_with(&head)) {
        return Some(counted);
    }
    let start = rendered[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = rendered[at..].find('\n').map_or(rendered.len(), |i| at + i);
    let line = rendered[start..end].trim();
    (!line.is_empty()).then(|| source.find(line)).flatten()
}

/// The edits of a data file grouped by the value (innermost node) that holds them.
fn by_value(docs: &[Node], of_file: &[usize], edits: &[Edit]) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for &i in of_file {
        let at = edits[i].range.start;
        let Some(doc) = docs.iter().find(|d| d.span().contains(&at)) else {
            continue;
        };
        let (_, span) = doc.keys_to(at);
        groups.entry((span.start, span.end)).or_default().push(i);
    }
    groups.into_values().collect()
}

/// The dotted keys and the text of the scalar holding `offset`.
fn value_at(docs: &[Node], text: &str, offset: usize) -> Option<(String, String)> {
    let doc = docs.iter().find(|d| d.span().contains(&offset))?;
    let (keys, span) = doc.keys_to(offset);
    let dotted = Leaf {
        path: keys,
        ..Leaf::default()
    }
    .dotted();
    Some((dotted, scalar_with_span(doc, &span, text)?))
}

/// The decoded value of the scalar written at `span`.
fn scalar_with_span(node: &Node, span: &std::ops::Range<usize>, text: &str) -> Option<String> {
    let mut stack = vec![node];
    let mut budget = 1_000_000usize;
    while let Some(n) = stack.pop() {
        budget = budget.checked_sub(1)?;
        match n {
            Node::Scalar(s) if &s.span == span => {
                // An empty quoted value is empty (`''`), not its quotes.
                return Some(if s.value.is_empty() && s.style == Style::Block {
                    text.get(span.clone()).unwrap_or_default().to_string()
                } else {
                    s.value.clone()
                });
            }
            Node::Mapping { entries, .. } => {
                stack.extend(entries.iter().flat_map(|(k, v)| [k, v]));
            }
            Node::Sequence { items, .. } => stack.extend(items.iter()),
            _ => {}
        }
    }
    None
}

/// Where edit `i`'s start lies in the file once every earlier edit of its file is applied.
fn shifted(edits: &[Edit], i: usize) -> usize {
    let e = &edits[i];
    let delta: isize = edits
        .iter()
        .filter(|o| o.path == e.path && o.range.end <= e.range.start && o.range != e.range)
        .map(|o| o.new.len() as isize - o.old.len() as isize)
        .sum();
    e.range.start.saturating_add_signed(delta)
}

/// What comparing two renderings left unexplained.
#[derive(Default)]
struct Outcome {
    unexplained_new: Vec<Leaf>,
    unexplained_old: Vec<Leaf>,
    /// Edits that change the rendering's values but do not show in it.
    unseen: Vec<Pair>,
    /// Edits that show, and the place of the rendering where.
    seen: Vec<(usize, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Old values to new ones (what the edits do).
    Forward,
    /// New values back to old ones (undoing them).
    Back,
}

/// `text` with every pair's value replaced, leftmost-longest, in one pass (so a replacement is
/// never replaced again).
/// The value an edit writes: its text, less the space a value written into an empty one
/// (`key:` → `key: NEW`) brings after the colon (syntax, not value).
/// A whole quoted scalar's value (an edit that replaced a plain scalar with a quoted one is
/// compared as values); any other text as it is.
fn unquoted(text: &str) -> String {
    let quoted = |q: char| text.len() >= 2 && text.starts_with(q) && text.ends_with(q);
    if quoted('"') && !text.contains('\n') {
        yaml::decode(text, Style::Double)
    } else if quoted('\'') && !text.contains('\n') {
        yaml::decode(text, Style::Single)
    } else {
        text.to_string()
    }
}

fn value_written(e: &Edit) -> &str {
    match e.old.trim().is_empty() {
        true => e.new.trim_start(),
        false => &e.new,
    }
}

fn replace(text: &str, pairs: &[Pair], direction: Direction) -> String {
    let (from, to): (Vec<&str>, Vec<&str>) = pairs
        .iter()
        .map(|p| match direction {
            Direction::Forward => (p.old.as_str(), p.new.as_str()),
            Direction::Back => (p.new.as_str(), p.old.as_str()),
        })
        .filter(|(f, _)| !f.is_empty())
        .unzip();
    if from.is_empty() {
        return text.to_string();
    }
    match AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&from)
    {
        Ok(ac) => ac.replace_all(text, &to),
        Err(_) => text.to_string(),
    }
}

/// An edit setting a YAML boolean: a value changed between booleans, or an added entry whose
/// value is one.
fn is_switch(e: &Edit) -> bool {
    let boolean = |v: &str| matches!(v.trim(), "true" | "false" | "True" | "False");
    if e.old.is_empty() {
        e.new
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.split_once(':'))
            .is_some_and(|(_, v)| boolean(v))
    } else {
        boolean(&e.old) && boolean(&e.new)
    }
}

/// Whether `text` reads the variable `name` (a whole identifier).
fn mentions(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(ident)
            && !text[at + name.len()..].chars().next().is_some_and(ident)
    })
}

/// The bodies of the `{% if %}` branches, in `template` and the files it includes, whose
/// condition reads `name`.
fn branches_testing(vars: &EnvVars, template: &str, name: &str) -> Vec<String> {
    let view = vars.renderer().view();
    let mut out = Vec::new();
    for file in crate::ansible::vhost::with_includes(view, template) {
        let Some(text) = view.read(&file) else {
            continue;
        };
        if !text.contains(name) {
            continue;
        }
        for block in jinja::Structure::of(&text, vars.selector()).blocks {
            let tests = block
                .branches
                .first()
                .is_some_and(|b| mentions(&text[b.tag.clone()], name));
            if tests {
                out.extend(
                    block
                        .branches
                        .iter()
                        .map(|b| text[b.body.clone()].to_string()),
                );
            }
        }
    }
    out
}

/// Compares the leaves before and after: see the module's description.
fn compare(
    old: Vec<Leaf>,
    new: Vec<Leaf>,
    pairs: &[Pair],
    reaching: &[usize],
    edits: &[Edit],
) -> Outcome {
    let (mut old, new) = cancel(old, new);
    // Per pair: the place of the rendering where its new value shows.
    let mut used: Vec<Option<String>> = vec![None; pairs.len()];
    let mut outcome = Outcome::default();
    let mut unmatched = Vec::new();
    let mut matched = Vec::new();
    for leaf in new {
        let back = Leaf {
            path: leaf
                .path
                .iter()
                .map(|s| replace(s, pairs, Direction::Back))
                .collect(),
            value: replace(&leaf.value, pairs, Direction::Back),
            at: leaf.at,
        };
        let decoded = decode(&leaf.value).map(|d| replace(&d, pairs, Direction::Back));
        // Undoing the edits gives the old leaf, or doing them gives the new one (two edits may
        // give the same new value from different old ones).
        let forward = |o: &Leaf| {
            o.path.len() == leaf.path.len()
                && o.path
                    .iter()
                    .zip(&leaf.path)
                    .all(|(a, b)| replace(a, pairs, Direction::Forward) == *b)
                && replace(&o.value, pairs, Direction::Forward) == leaf.value
        };
        let found = old.iter().position(|o| {
            (o.path == back.path
                && (o.value == back.value || decoded.is_some() && decode(&o.value) == decoded))
                || forward(o)
        });
        match found {
            Some(k) => {
                old.swap_remove(k);
                matched.push(leaf);
            }
            None => unmatched.push(leaf),
        }
    }
    for (k, p) in pairs.iter().enumerate().filter(|(_, p)| !p.new.is_empty()) {
        used[k] = showing(&matched, &p.new);
    }
    // Leaves that appeared or went: an edit's new (old) text must hold them.
    let holds = |leaf: &Leaf, text: &dyn Fn(&Edit) -> String| {
        let value = leaf.value.trim();
        // A line of a text has no key of its own.
        let key = match leaf.path.last().map(String::as_str) {
            Some("|") | None => None,
            _ => leaf.path.iter().rev().find(|s| *s != "[]"),
        };
        reaching.iter().find(|&&i| {
            let t = text(&edits[i]);
            (value.is_empty() || t.contains(value)) && key.is_none_or(|k| t.contains(k.as_str()))
        })
    };
    let mark_edit = |i: usize, at: &Leaf, used: &mut Vec<Option<String>>| {
        for (k, p) in pairs.iter().enumerate() {
            if p.edit == i && used[k].is_none() {
                used[k] = Some(at.dotted());
            }
        }
    };
    for leaf in unmatched {
        match holds(&leaf, &|e: &Edit| e.new.clone()) {
            Some(&i) => mark_edit(i, &leaf, &mut used),
            None => outcome.unexplained_new.push(leaf),
        }
    }
    for leaf in old {
        match holds(&leaf, &|e: &Edit| e.old.clone()) {
            Some(&i) => mark_edit(i, &leaf, &mut used),
            None => outcome.unexplained_old.push(leaf),
        }
    }
    for (p, at) in pairs.iter().zip(used) {
        match at {
            Some(at) => outcome.seen.push((p.edit, at)),
            None => outcome.unseen.push(Pair {
                edit: p.edit,
                old: p.old.clone(),
                new: p.new.clone(),
            }),
        }
    }
    outcome
}

/// Where `new` shows among the changed leaves: a value holding it, else a key, else a
/// base64-decoded value.
fn showing(matched: &[Leaf], new: &str) -> Option<String> {
    let found = |holds: &dyn Fn(&Leaf) -> bool| matched.iter().find(|l| holds(l));
    found(&|l| l.value.contains(new))
        .or_else(|| found(&|l| l.path.iter().any(|k| k.contains(new))))
        .or_else(|| found(&|l| decode(&l.value).is_some_and(|d| d.contains(new))))
        .map(Leaf::dotted)
}

/// The leaves only one side has (a multiset difference).
fn cancel(mut old: Vec<Leaf>, mut new: Vec<Leaf>) -> (Vec<Leaf>, Vec<Leaf>) {
    old.sort();
    new.sort();
    let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
    let (mut only_old, mut only_new) = (Vec::new(), Vec::new());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x == y => {
                a.next();
                b.next();
            }
            (Some(x), Some(y)) if x < y => only_old.extend(a.next()),
            (Some(_), Some(_)) | (None, Some(_)) => only_new.extend(b.next()),
            (Some(_), None) => only_old.extend(a.next()),
            (None, None) => break,
        }
    }
    (only_old, only_new)
}

/// A base64 value's text, when it is one (an `auth` built with `b64encode`).
fn decode(value: &str) -> Option<String> {
    let v = value.trim();
    if v.len() < 4 || v.contains(char::is_whitespace) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(v).ok()?;
    String::from_utf8(bytes).ok()
}

/// A rendering's format, from its name (`.j2` aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Json,
    Yaml,
    Toml,
    Ini,
    Lines,
}

impl Shape {
    /// The format a rendering's name says; a name saying none (`dockercfg-secret.j2`) with a
    /// rendering that opens a JSON object or array is JSON.
    fn of(name: &str, rendering: &str) -> Shape {
        let name = name.strip_suffix(".j2").unwrap_or(name);
        let file = name.rsplit('/').next().unwrap_or(name);
        match file.rsplit_once('.').map(|(_, ext)| ext) {
            Some("json") => Shape::Json,
            Some("yml" | "yaml") => Shape::Yaml,
            Some("toml") => Shape::Toml,
            Some("ini") => Shape::Ini,
            _ if rendering.trim_start().starts_with(['{', '[']) => Shape::Json,
            _ => Shape::Lines,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Shape::Json => "JSON",
            Shape::Yaml => "YAML",
            Shape::Toml => "TOML",
            Shape::Ini => "INI",
            Shape::Lines => "text",
        }
    }

    /// The rendering's leaves; an error when it does not parse as its format.
    fn leaves(
        self,
        name: &str,
        text: &str,
        selector: &Selector,
        env: Env,
    ) -> std::result::Result<Vec<Leaf>, String> {
        let path = Path::new(name);
        let docs = match self {
            Shape::Json => vec![json::parse(path, text, text).map_err(|e| e.to_string())?],
            Shape::Yaml => yaml::parse(path, text, text).map_err(|e| e.to_string())?,
            Shape::Toml => {
                let structure = jinja::Structure::of(text, selector);
                toml::parse(path, text, &structure, &[env]).map_err(|e| e.to_string())?
            }
            Shape::Ini => {
                let doc = ini::parse(path, text, text).map_err(|e| e.to_string())?;
                super::duplicates(&doc, text)?;
                return Ok(doc
                    .entries
                    .iter()
                    .map(|e| Leaf {
                        path: vec![e.section.clone(), e.key.clone()],
                        value: text[e.value.clone()].to_string(),
                        at: e.value.start,
                    })
                    .collect());
            }
            Shape::Lines => return Ok(self.lines(text)),
        };
        Ok(docs.iter().flat_map(|d| d.leaves(text)).collect())
    }

    fn lines(self, text: &str) -> Vec<Leaf> {
        let mut at = 0;
        text.split_inclusive('\n')
            .map(|l| {
                let leaf = Leaf {
                    path: Vec::new(),
                    value: l.trim_end_matches(['\n', '\r']).to_string(),
                    at,
                };
                at += l.len();
                leaf
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(path: &[&str], value: &str) -> Leaf {
        Leaf {
            path: path.iter().map(|s| s.to_string()).collect(),
            value: value.into(),
            at: 0,
        }
    }

    fn edit(old: &str, new: &str) -> Edit {
        Edit {
            path: "t.j2".into(),
            range: 0..old.len(),
            old: old.into(),
            new: new.into(),
            rule: "r".into(),
            envs: Envs::ALL,
            context: None,
            secret: false,
            target: None,
        }
    }

    fn pair(edit: usize, old: &str, new: &str) -> Pair {
        Pair {
            edit,
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn switches_are_boolean_settings() {
        let set = |old: &str, new: &str| Edit {
            old: old.into(),
            ..edit(old, new)
        };
        assert!(is_switch(&set("false", "true")));
        assert!(is_switch(&set("", "# why\non_new: false\n")));
        assert!(!is_switch(&set("old.org", "new.org")));
        assert!(!is_switch(&set("", "name: value\n")));
        assert!(mentions("{% if on_new | default(false) %}", "on_new"));
        assert!(!mentions("{% if on_new_too %}", "on_new"));
    }

    #[test]
    fn replacing_is_one_pass() {
        let pairs = [pair(0, "a.org", "b"), pair(1, "b", "c")];
        assert_eq!(replace("a.org b", &pairs, Direction::Forward), "b c");
        assert_eq!(replace("b c", &pairs, Direction::Back), "a.org b");
    }

    #[test]
    fn a_planned_change_is_explained_and_an_other_is_not() {
        let old = vec![leaf(&["auths", "old.org", "u"], "x"), leaf(&["k"], "1")];
        let new = vec![leaf(&["auths", "new.org", "u"], "x"), leaf(&["k"], "2")];
        let edits = [edit("old.org", "new.org")];
        let out = compare(old, new, &[pair(0, "old.org", "new.org")], &[0], &edits);
        assert_eq!(out.unexplained_new, vec![leaf(&["k"], "2")]);
        assert_eq!(out.unexplained_old, vec![leaf(&["k"], "1")]);
        assert!(out.unseen.is_empty());
    }

    #[test]
    fn an_edit_that_does_not_show_is_unseen() {
        let same = vec![leaf(&["k"], "1")];
        let edits = [edit("old.org", "new.org")];
        let out = compare(
            same.clone(),
            same,
            &[pair(0, "old.org", "new.org")],
            &[0],
            &edits,
        );
        assert_eq!(out.unseen.len(), 1);
    }

    #[test]
    fn base64_values_are_compared_decoded() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let old = vec![leaf(&["auth"], &b64("<a>:<b>"))];
        let new = vec![leaf(&["auth"], &b64("<c>:<d>"))];
        let pairs = [pair(0, "<a>:<b>", "<c>:<d>")];
        let out = compare(old, new, &pairs, &[0], &[edit("a", "c")]);
        assert!(out.unexplained_new.is_empty() && out.unseen.is_empty());
        assert_eq!(out.seen, vec![(0, "auth".to_string())]);
    }

    #[test]
    fn leaves_that_appear_or_go_need_an_edit_holding_them() {
        let old = vec![leaf(&["t", "[]", "url"], "old.org"), leaf(&["x"], "1")];
        let new = vec![leaf(&["s", "key"], "new.org"), leaf(&["x"], "1")];
        let edits = [
            edit("[[t]]\nurl = \"old.org\"\n", ""),
            edit("", "key = new.org"),
        ];
        let out = compare(old.clone(), new.clone(), &[], &[0, 1], &edits);
        assert!(out.unexplained_new.is_empty() && out.unexplained_old.is_empty());
        // Without the edits reaching this rendering, both are unplanned changes.
        let out = compare(old, new, &[], &[], &edits);
        assert_eq!(out.unexplained_new.len(), 1);
        assert_eq!(out.unexplained_old.len(), 1);
    }

    #[test]
    fn shapes_come_from_names() {
        assert_eq!(Shape::of("a/config.toml.j2", ""), Shape::Toml);
        assert_eq!(Shape::of("a/x.json.j2", ""), Shape::Json);
        assert_eq!(Shape::of("a/production.ini.j2", ""), Shape::Ini);
        assert_eq!(Shape::of("a/httpd.conf", "Listen 80"), Shape::Lines);
        assert_eq!(
            Shape::of("a/dockercfg-secret.j2", " {\"a\": 1}"),
            Shape::Json
        );
        assert_eq!(Shape::of("a.b/file", "x"), Shape::Lines);
    }
}
