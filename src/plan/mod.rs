//! Plans the edits of a step: for every rule, in every file its globs match, locate the rule's
//! place with the format's locator and compute the byte splices that carry the migration out.
//! Pure: reads the tree, writes nothing.
//!
//! Flow per file: read → mask Jinja → parse once per format → each rule's action yields edits
//! → splices applied in memory → the result re-parsed with the same locators (an edit must never
//! break a file) → kept for `apply` to write.

mod beside;
mod exact;
mod infer;
mod ini_rules;
mod monitor;
mod pages;
pub mod redirect;
mod remove;
mod tree_rules;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use crate::ansible::EnvVars;
use crate::ansible::render;
use crate::edit::{self, Splice};
use crate::error::{Error, Result};
use crate::find::Finder;
use crate::formats::jinja::{Envs, Structure};
use crate::formats::tree::{Hit, Node, TreePath};
use crate::formats::{ini, json, toml, yaml};
use crate::migration::{Env, Migration, RegistryRef};
use crate::project::Project;
use crate::rules::{Action, Class, Context, Format, Reader, Rule, RuleSet};
use crate::select::Places;
use crate::template::Scope;
use crate::unread::Readers;
use crate::walk::{FileText, Skip, Tree, View};

/// One planned change to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: String,
    /// Byte range in the file's text (after any BOM).
    pub range: Range<usize>,
    pub old: String,
    pub new: String,
    pub rule: String,
    /// The environments whose rendering this edit changes.
    pub envs: Envs,
    pub context: Option<Context>,
    /// The old or new value is a literal secret: displays show `<redacted>`.
    pub secret: bool,
    /// The scalar (key or value) the edit changes, when it changes one: re-parsed, the file
    /// may differ there and nowhere else (`exact`).
    pub target: Option<Range<usize>>,
}

impl Edit {
    /// The splice that makes the edit.
    pub fn splice(&self) -> Splice {
        Splice {
            range: self.range.clone(),
            text: self.new.clone(),
        }
    }

    /// Whether the edit removes all of `text` (its file's), leaving nothing: a removal of the
    /// file (step 4).
    pub fn removes_all_of(&self, text: &str) -> bool {
        !text.is_empty() && self.new.is_empty() && self.range == (0..text.len())
    }

    /// `value` (the edit's old or new text) as displays show it: a secret is `<redacted>`.
    pub fn shown<'v>(&self, value: &'v str) -> &'v str {
        if self.secret {
            crate::redact::REDACTED
        } else {
            value
        }
    }
}

/// Something a person should know that is not an error.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub path: String,
    pub message: String,
    /// Shown on the terminal only with `-v` (always in JSON).
    pub detail: bool,
}

impl Note {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Note {
        Note {
            path: path.into(),
            message: message.into(),
            detail: false,
        }
    }
}

/// A reference a rule's place holds and leaves as it is, with the class it gets (a registry root
/// the migration cannot move is `keep`): audit lists it under the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub path: String,
    /// The place's bytes (a reference inside is claimed).
    pub range: Range<usize>,
    pub rule: String,
    pub class: Class,
}

/// A file with its planned new text.
#[derive(Debug, Clone)]
pub struct Changed {
    pub path: String,
    pub file: FileText,
    pub new_text: String,
    /// The file is removed (step 4): `new_text` is empty.
    pub gone: bool,
}

impl Changed {
    /// The planned text (`None`: removed), as [`crate::walk::View::with_planned`] takes it.
    pub fn planned(&self) -> (String, Option<String>) {
        (
            self.path.clone(),
            (!self.gone).then(|| self.new_text.clone()),
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub edits: Vec<Edit>,
    pub notes: Vec<Note>,
    pub changed: Vec<Changed>,
    /// References at rules' places that stay (see [`Claim`]).
    pub claims: Vec<Claim>,
    /// The rules that found at least one place (those selecting by meaning).
    found: BTreeSet<String>,
}

impl Plan {
    /// Whether any rule matched anything: an edit, a place kept, a place found.
    pub fn matched_anything(&self) -> bool {
        !self.edits.is_empty() || !self.claims.is_empty() || !self.found.is_empty()
    }

    /// The plan with only the edits `keep` accepts (by index into `edits`), each file's planned
    /// text spliced again from those alone (`apply --interactive`). A file none of them touches
    /// leaves the plan; a removal stays a removal only while its whole-file edit is kept.
    pub fn only(&self, keep: &[bool]) -> Result<Plan> {
        let kept = |i: usize| keep.get(i).copied().unwrap_or(false);
        let edits: Vec<Edit> = (self.edits.iter().enumerate())
            .filter(|(i, _)| kept(*i))
            .map(|(_, e)| e.clone())
            .collect();
        let mut changed = Vec::new();
        for c in &self.changed {
            let mine: Vec<&Edit> = edits.iter().filter(|e| e.path == c.path).collect();
            if mine.is_empty() {
                continue;
            }
            let splices: Vec<Splice> = mine.iter().map(|e| e.splice()).collect();
            let new_text = edit::apply(&c.file.text, &splices).map_err(|o| {
                Error::at(
                    Path::new(&c.path),
                    &c.file.text,
                    o.second.start,
                    "two accepted edits touch the same bytes",
                )
            })?;
            let gone = c.gone && mine.iter().any(|e| e.removes_all_of(&c.file.text));
            changed.push(Changed {
                path: c.path.clone(),
                file: c.file.clone(),
                new_text,
                gone,
            });
        }
        Ok(Plan {
            edits,
            changed,
            ..self.clone()
        })
    }
}

/// What to plan.
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    pub step: u8,
    /// The environments whose renderings may change (SPEC §6.7).
    pub envs: Envs,
    /// Side by side or cutover (SPEC §7.5; step 2).
    pub mode: Mode,
}

/// How step 2 moves a target (SPEC §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Everything moves; what an earlier side-by-side run added beside an entry replaces it.
    #[default]
    Cutover,
    /// Targets that can hold two registries get the new one added beside the old; the others
    /// stay on the old one ("needs a mirror until cut-over").
    SideBySide,
}

impl Selection {
    /// The environments whose renderings the plan may change. Step 4's run that selects the
    /// environment of hosts in no group (production, last in the rollout) removes what every
    /// environment shares (the site's vhost, a proxy's block): all of them.
    pub fn proven(self, migration: &Migration) -> Envs {
        match self.step == 4 && self.envs.contains(migration.selector.default) {
            true => migration.all(),
            false => self.envs,
        }
    }
}

/// Plans `rules` (those of the selected step) over `tree`.
pub fn plan(
    tree: &Tree,
    migration: &Migration,
    rules: &RuleSet,
    selection: Selection,
) -> Result<Plan> {
    plan_in(
        &Project::of(tree, &migration.selector),
        tree,
        migration,
        rules,
        selection,
    )
}

/// Plans `rules` over `tree` with its model already built (one model per run).
pub fn plan_in(
    project: &Project,
    tree: &Tree,
    migration: &Migration,
    rules: &RuleSet,
    selection: Selection,
) -> Result<Plan> {
    let paths: Vec<&String> = tree.files.iter().collect();
    Planner::new(project, migration, rules, selection)?.plan(tree, &paths)
}

/// Plans the selected step's rules over a list of files, once it knows where the traced
/// variables are defined (`audit` plans only the files holding references).
pub struct Planner<'m> {
    migration: &'m Migration,
    rules: &'m RuleSet,
    project: &'m Project,
    vars: &'m EnvVars,
    finder: Finder,
    selection: Selection,
    /// For rules that edit a variable where it is defined: (file, rule id) → value offsets.
    traced: BTreeMap<(String, String), Vec<usize>>,
    /// For rules placed in deployed templates: (file, rule id), the templates a task deploys
    /// where the rule says.
    deployed: BTreeSet<(String, String)>,
    /// Who reads the variables of `unread` rules, scanned when first asked.
    readers: std::sync::OnceLock<Readers>,
    /// The variables the tree uses as a registry prefix (`{{ VAR }}/…`), read on first need
    /// (inferred rewrites only).
    prefixes: std::sync::OnceLock<BTreeSet<String>>,
    /// The rules include the inferred rule (`unclaimed: rewrite`).
    infers: bool,
}

impl<'m> Planner<'m> {
    /// A planner for `selection`, the traced rules' variables found.
    pub fn new(
        project: &'m Project,
        migration: &'m Migration,
        rules: &'m RuleSet,
        selection: Selection,
    ) -> Result<Planner<'m>> {
        let vars = project.vars()?;
        // Only the migration's own environments are planned, whatever a caller passed.
        let selection = Selection {
            envs: selection.envs.intersect(migration.all()),
            ..selection
        };
        let planner = Planner {
            migration,
            rules,
            project,
            vars,
            finder: Finder::new(&migration.from_hosts()),
            selection,
            traced: BTreeMap::new(),
            deployed: BTreeSet::new(),
            readers: std::sync::OnceLock::new(),
            prefixes: std::sync::OnceLock::new(),
            infers: rules
                .rules
                .iter()
                .any(|r| matches!(r.action, Action::Infer)),
        };
        let mut traced = trace_rules(&planner);
        traced.extend(follow_includes(&planner));
        let deployed = deployed_templates(&planner);
        Ok(Planner {
            traced,
            deployed,
            ..planner
        })
    }

    /// Who reads the `unread` rules' variables, when a scan of the whole tree already looked
    /// (`audit`): no second pass over the files.
    pub fn knowing_readers(self, readers: Readers) -> Planner<'m> {
        let _ = self.readers.set(readers);
        self
    }

    /// The plan of `paths` (files of `tree`), with the tree's notes.
    pub fn plan(&self, tree: &Tree, paths: &[&String]) -> Result<Plan> {
        self.plan_of(tree, paths, false)
    }

    /// The plan of `paths` with the claims of the classification rules placed by meaning too
    /// (`audit`; give it only the files holding references: classifying costs parses).
    pub fn claims(&self, tree: &Tree, paths: &[&String]) -> Result<Plan> {
        self.plan_of(tree, paths, true)
    }

    fn plan_of(&self, tree: &Tree, paths: &[&String], claiming: bool) -> Result<Plan> {
        let mut out = symlink_notes(tree);
        // Files are planned independently, in parallel; the first error in path order wins.
        let planned = crate::parallel::map(paths, |path| {
            let mut one = Plan::default();
            self.plan_path(tree, path, claiming, &mut one)?;
            Ok::<_, Error>(one)
        });
        let mut found = BTreeSet::new();
        for one in planned {
            let one = one?;
            out.edits.extend(one.edits);
            out.notes.extend(one.notes);
            out.changed.extend(one.changed);
            out.claims.extend(one.claims);
            found.extend(one.found);
        }
        out.found = found;
        if !claiming {
            self.site_rules(tree, &mut out)?;
        }
        out.notes.extend(self.not_found(&out.found, claiming));
        let skipped = self.rules.skipped_notes();
        out.notes
            .extend(skipped.into_iter().map(|m| Note::new(".", m)));
        for (path, why) in self.project.playbooks().unknown() {
            out.notes.push(Note::new(
                path,
                format!("{why}; its definitions are unknown to regshift (Ansible refuses it too)"),
            ));
        }
        out.notes.sort();
        self.project.check_reads()?;
        Ok(out)
    }
}

impl Planner<'_> {
    /// The step's rules that work on a whole site rather than file by file (`redirect`).
    fn site_rules(&self, tree: &Tree, out: &mut Plan) -> Result<()> {
        for rule in self.step_rules() {
            let mut one = Plan::default();
            match &rule.action {
                Action::Redirect(r) => self.redirect(tree, rule, r, &mut one)?,
                Action::Monitor(m) => self.monitor(tree, rule, m, &mut one)?,
                Action::Pages(p, to) => self.pages(tree, rule, p, to, &mut one)?,
                Action::Remove(r) => self.remove(tree, rule, r, &mut one)?,
                _ => continue,
            }
            {
                if let Some(c) = one
                    .changed
                    .iter()
                    .find(|c| out.changed.iter().any(|o| o.path == c.path))
                {
                    return Err(Error::file(
                        Path::new(&c.path),
                        format!("rule `{}` and another rule both edit this file", rule.id),
                    ));
                }
                out.edits.extend(one.edits);
                out.changed.extend(one.changed);
                out.notes.extend(one.notes);
                out.found.extend(one.found);
            }
        }
        Ok(())
    }

    /// A note for each rule of the step that selects places by meaning and found none in the
    /// tree (an older or newer tree: nothing to do there, and the run goes on).
    fn not_found(&self, found: &BTreeSet<String>, claiming: bool) -> Vec<Note> {
        self.rules
            .rules
            .iter()
            .filter(|r| {
                (r.step == self.selection.step || matches!(r.action, Action::Classify { .. }))
                    && !found.contains(&r.id)
            })
            .filter(|r| claiming || !matches!(r.action, Action::Classify { .. }))
            .filter_map(|r| {
                let w = r.where_.as_ref()?;
                if let Some(d) = &w.deployed {
                    return Some(Note::new(
                        ".",
                        format!(
                            "rule `{}`: no template is deployed to `{}` in the tree",
                            r.id, d.written
                        ),
                    ));
                }
                let what = match (&w.role_param, &w.rendered, &w.key) {
                    (Some(rp), _, _) => {
                        format!("no use of role `{}` with `{}`", rp.role, rp.param)
                    }
                    (_, Some(rd), _) => {
                        format!("no `{}` in a rendering of `{}`", rd.at, rd.template)
                    }
                    _ if w.image.is_some() => return None, // images are found wherever they are
                    (_, _, Some(k)) => format!(
                        "no {}`{}` key in `{}`",
                        if w.unread { "unread " } else { "" },
                        k.names.join("`, `"),
                        k.files
                    ),
                    _ => return None,
                };
                Some(Note::new(
                    ".",
                    format!("rule `{}`: {what} in the tree", r.id),
                ))
            })
            .collect()
    }

    /// The files that read the variable `name` defined in `file` and can see that definition
    /// (the evidence that it is not `unread`).
    pub fn readers_of(&self, file: &str, name: &str) -> Vec<&str> {
        let readers = self.readers.get_or_init(|| {
            let names = crate::unread::names(self.rules);
            Readers::scan(self.vars.renderer().view(), &names)
        });
        readers.seen_by(file, name, self.places().inventory)
    }

    /// The rules of the selected step.
    fn step_rules(&self) -> impl Iterator<Item = &Rule> {
        let step = self.selection.step;
        self.rules.rules.iter().filter(move |r| r.step == step)
    }

    /// What deciding a place by meaning needs (the project reads the inventory on first need).
    pub(crate) fn places(&self) -> Places<'_> {
        Places {
            inventory: &self.project.playbooks().inventory,
            related: &self.migration.related,
        }
    }
}

fn symlink_notes(tree: &Tree) -> Plan {
    let mut out = Plan::default();
    if !tree.symlinks.is_empty() {
        let message = format!(
            "{} symlinks not followed (-v lists them)",
            tree.symlinks.len()
        );
        out.notes.push(Note::new(".", message));
        for link in &tree.symlinks {
            out.notes.push(Note {
                path: link.clone(),
                message: "symlink not followed".into(),
                detail: true,
            });
        }
    }
    out
}

/// Where the variables of traced rules are defined, for the selected environments.
fn trace_rules(planner: &Planner<'_>) -> BTreeMap<(String, String), Vec<usize>> {
    let (rules, selection) = (planner.rules, planner.selection);
    let mut out: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let traced: Vec<&Rule> = rules
        .rules
        .iter()
        .filter(|r| r.step == selection.step && r.traced.is_some())
        .collect();
    if traced.is_empty() {
        return out;
    }
    let playbooks = planner.project.playbooks();
    let jobs: Vec<(&Rule, Env)> = traced
        .into_iter()
        .flat_map(|rule| {
            let envs = match &rule.action {
                Action::Fixed { env: Some(env), .. } => Envs::only(*env),
                _ => Envs::ALL,
            };
            envs.intersect(selection.envs)
                .iter()
                .map(move |env| (rule, env))
        })
        .collect();
    // Each trace renders the plays' variables: independent, so in parallel.
    let found = crate::parallel::map(&jobs, |&(rule, env)| {
        let t = rule.traced.as_ref()?;
        let templates = match &t.reader {
            Reader::Template(template) => template
                .render(&planner.scope(env, None))
                .into_iter()
                .collect(),
            Reader::Deployed(d) => playbooks.deployed_to(planner.vars, &d.glob, &d.hint, &[env]),
        };
        let defs: Vec<_> = templates
            .iter()
            .flat_map(|template| playbooks.trace(planner.vars, template, &t.name, env))
            .collect();
        Some(defs)
    });
    for ((rule, _), defs) in jobs.into_iter().zip(found) {
        for d in defs.into_iter().flatten() {
            let offsets = out.entry((d.file, rule.id.clone())).or_default();
            if !offsets.contains(&d.span.start) {
                offsets.push(d.span.start);
            }
        }
    }
    out
}

/// The templates each rule of the step with `deployed` works on: those a task deploys there.
fn deployed_templates(planner: &Planner<'_>) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for rule in planner.step_rules() {
        let Some(d) = rule.where_.as_ref().and_then(|w| w.deployed.as_ref()) else {
            continue;
        };
        let playbooks = planner.project.playbooks();
        let envs = planner.vars.envs();
        for template in playbooks.deployed_to(planner.vars, &d.glob, &d.hint, &envs) {
            out.insert((template, rule.id.clone()));
        }
    }
    out
}

/// For rules placed by a rendering (`rendered`) whose path steps into a block scalar that the
/// template fills with an included file (`{% include %}`, or a macro including its argument):
/// where in the included file the value is written. The value is edited where its bytes are.
fn follow_includes(planner: &Planner<'_>) -> BTreeMap<(String, String), Vec<usize>> {
    let mut out: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    let view = planner.vars.renderer().view();
    for rule in planner.step_rules() {
        let Some(rendered) = rule.where_.as_ref().and_then(|w| w.rendered.as_ref()) else {
            continue;
        };
        let Some((outer, inner)) = rendered.at.split_embedded() else {
            continue;
        };
        for template in view.files.iter().filter(|f| rule.globs.is_match(f)) {
            for (file, offset) in included_values(view, template, &outer, &inner) {
                out.entry((file, rule.id.clone())).or_default().push(offset);
            }
        }
    }
    out
}

/// The values at `inner` in the files `template` includes into the block scalars at `outer`.
/// A file that does not parse is left to planning, which reports it.
fn included_values(
    view: &View,
    template: &str,
    outer: &TreePath,
    inner: &TreePath,
) -> Vec<(String, usize)> {
    let parsed = |rel: &str| {
        let text = view.read(rel)?;
        let masked = crate::formats::jinja::mask(&text);
        let docs = yaml::parse(Path::new(rel), &text, &masked).ok()?;
        Some((text, masked, docs))
    };
    let Some((text, masked, docs)) = parsed(template) else {
        return Vec::new();
    };
    let macros = render::including_macros(&text);
    let Ok(scalars) = outer.find(Path::new(template), &text, &masked, &docs) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for scalar in scalars {
        let Some(region) = text.get(scalar.value.span()) else {
            continue;
        };
        for name in render::includes_in(region, &macros) {
            let file = render::join(view, &name, template).into_owned();
            let Some((itext, imasked, idocs)) = parsed(&file) else {
                continue;
            };
            let Ok(hits) = inner.find(Path::new(&file), &itext, &imasked, &idocs) else {
                continue;
            };
            out.extend(hits.iter().map(|h| (file.clone(), h.value.span().start)));
        }
    }
    out
}

/// A file being planned: its text, its Jinja structure and the masked text scanners read.
struct Source<'f> {
    path: &'f str,
    text: &'f str,
    jinja: Structure,
}

impl Source<'_> {
    /// Whether Ansible renders the whole file as a Jinja template (a `templates/` file or a
    /// `.j2`), as opposed to YAML data whose strings it templates after parsing. A Jinja
    /// expression written into a template goes in bare, so the other environment's rendering
    /// stays byte-identical; in YAML data it must be a quoted string.
    fn is_template(&self) -> bool {
        crate::ansible::is_template(self.path)
    }
}

/// A place being edited: the file, the rule, and the environments that render the place.
#[derive(Clone, Copy)]
struct Site<'s> {
    src: &'s Source<'s>,
    rule: &'s Rule,
    envs: Envs,
}

impl Site<'_> {
    /// An edit replacing `range` with `new`.
    fn edit(&self, range: Range<usize>, new: String, context: Option<Context>) -> Edit {
        Edit {
            path: self.src.path.into(),
            old: self.src.text[range.clone()].to_string(),
            range,
            new,
            rule: self.rule.id.clone(),
            envs: self.envs,
            context,
            secret: false,
            target: None,
        }
    }

    fn note(&self, message: String) -> Note {
        Note::new(self.src.path, format!("rule `{}`: {message}", self.rule.id))
    }
}

/// The single value all environments agree on.
fn one_value(values: &BTreeMap<Env, String>) -> Option<String> {
    let mut it = values.values();
    let first = it.next()?;
    it.all(|v| v == first).then(|| first.clone())
}

enum Doc {
    Tree(Vec<Node>),
    Ini(ini::Ini),
}

fn parse_doc(format: Format, src: &Source<'_>) -> Result<Doc> {
    let path = Path::new(src.path);
    let masked = &src.jinja.masked;
    Ok(match format {
        Format::Json => Doc::Tree(vec![json::parse(path, src.text, masked)?]),
        Format::Yaml => Doc::Tree(yaml::parse(path, src.text, masked)?),
        Format::Ini => Doc::Ini(ini::parse(path, src.text, masked)?),
        Format::Toml => {
            let envs: Vec<_> = src.jinja.all.iter().collect();
            Doc::Tree(toml::parse(path, src.text, &src.jinja, &envs)?)
        }
        Format::Text => Doc::Tree(Vec::new()),
    })
}

impl Planner<'_> {
    /// Plans the rules of `step` that apply to `path` (by glob, or because a traced variable
    /// is defined there).
    fn plan_path(&self, tree: &Tree, path: &String, claiming: bool, out: &mut Plan) -> Result<()> {
        let step = self.selection.step;
        let matching: Vec<&Rule> = self
            .rules
            .rules
            .iter()
            // Text classification is audit's; a classification by meaning has places to find
            // (when claiming, and when inference must leave what it claims).
            .filter(|r| {
                !matches!(r.action, Action::Classify { .. })
                    || ((claiming || self.infers) && r.where_.is_some())
            })
            // Classifications claim in every step's audit; edits are the selected step's.
            .filter(|r| {
                (r.step == step || matches!(r.action, Action::Classify { .. }))
                    && (r.globs.is_match(path)
                        || self.traced.contains_key(&(path.clone(), r.id.clone()))
                        || self.deployed.contains(&(path.clone(), r.id.clone())))
            })
            .collect();
        if matching.is_empty() {
            return Ok(());
        }
        match tree.read(path)? {
            Ok(file) => self.plan_file(path, file, &matching, out),
            Err(skip) => {
                let why = match skip {
                    Skip::Binary => "binary file skipped",
                    Skip::NotUtf8 => "not UTF-8, skipped",
                };
                out.notes.push(Note::new(path.clone(), why));
                Ok(())
            }
        }
    }

    fn plan_file(&self, path: &str, file: FileText, rules: &[&Rule], out: &mut Plan) -> Result<()> {
        let src = Source {
            path,
            text: &file.text,
            jinja: Structure::of(&file.text, self.vars.selector()),
        };
        let mut docs: BTreeMap<u8, Doc> = BTreeMap::new();
        let mut edits = Vec::new();
        // A file that cannot hold a rule's place is not parsed for it.
        let rules: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| {
                r.needle
                    .as_ref()
                    .is_none_or(|n| src.text.contains(n.as_str()))
            })
            .collect();
        let rules = &rules[..];
        for rule in rules {
            if matches!(rule.action, Action::Infer) {
                continue; // after the other rules, on what they leave
            }
            let key = rule.format as u8;
            if let std::collections::btree_map::Entry::Vacant(slot) = docs.entry(key) {
                match parse_doc(rule.format, &src) {
                    Ok(doc) => {
                        slot.insert(doc);
                    }
                    // A classification looks at every file its glob matches: one that is not
                    // its format holds none of its places (said with -v), and the run goes on.
                    Err(e) if matches!(rule.action, Action::Classify { .. }) => {
                        out.notes.push(Note {
                            path: path.to_string(),
                            message: format!("rule `{}`: not read: {e}", rule.id),
                            detail: true,
                        });
                        continue;
                    }
                    // A file that does not parse and names no registry of the migration holds
                    // nothing to edit: a note, and the run goes on (SPEC §5). One that names
                    // one may need an edit: the run stops, saying why.
                    Err(e) if !self.holds_a_reference(src.text) => {
                        out.notes.push(Note::new(
                            path,
                            format!("not read ({e}); it names no registry of the migration"),
                        ));
                        docs.insert(key, Doc::Tree(Vec::new()));
                        continue;
                    }
                    Err(Error::At { path, at, message }) => {
                        return Err(Error::At {
                            path,
                            at,
                            message: format!(
                                "{message} (it names a registry of the migration: rule `{}` must read it)",
                                rule.id
                            ),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
            let before = edits.len();
            match (&docs[&key], &rule.action) {
                (Doc::Tree(nodes), _) => self.tree_rule(
                    &src,
                    nodes,
                    rule,
                    &mut edits,
                    &mut out.notes,
                    &mut out.claims,
                )?,
                (Doc::Ini(doc), Action::PerEnv { values }) => {
                    self.ini_rule(&src, doc, rule, values, &mut edits, &mut out.notes)
                }
                (Doc::Ini(_), _) => {}
            }
            // Side by side, a target holding one registry stays on the old one.
            if self.selection.mode == Mode::SideBySide
                && rule.beside == crate::rules::Beside::Mirror
                && edits.len() > before
            {
                edits.truncate(before);
                out.notes.push(Note::new(
                    path,
                    format!(
                        "rule `{}`: this target holds one registry; it stays on the old one and \
                         needs a mirror until cut-over",
                        rule.id
                    ),
                ));
            }
            let deployed = rule.where_.as_ref().is_some_and(|w| w.deployed.is_some());
            if deployed {
                out.found.insert(rule.id.clone());
            }
            if rule.where_.is_some() && !deployed {
                let found = match &docs[&key] {
                    Doc::Tree(nodes) => !self.hits(&src, nodes, rule)?.is_empty(),
                    Doc::Ini(_) => false,
                };
                if found {
                    out.found.insert(rule.id.clone());
                }
            } else if edits.len() > before || self.anchor_present(&src, &docs[&key], rule)? {
                out.found.insert(rule.id.clone());
            } else {
                out.notes.push(Note::new(
                    path,
                    format!("rule `{}`: `{}` not found", rule.id, rule.select),
                ));
            }
        }
        if let Some(rule) = rules.iter().find(|r| matches!(r.action, Action::Infer)) {
            let found = self.infer(&src, rule, &edits, &mut out.claims, self.prefixes());
            edits.extend(found);
        }
        if edits.is_empty() {
            return Ok(());
        }
        let new_text = splice_all(&src, &edits)?;
        // Every locator that edited must still read the file (classifications edit nothing).
        let editing: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| !matches!(r.action, Action::Classify { .. }))
            .collect();
        recheck(
            &src,
            &new_text,
            &editing,
            self.vars.selector(),
            &docs,
            &edits,
        )?;
        // A template regshift edits must parse as one (an unclosed `{% if %}` would otherwise
        // only show when the proof renders it).
        if src.is_template() {
            self.vars.renderer().syntax(path, src.text)?;
        }
        out.edits.extend(edits);
        out.changed.push(Changed {
            path: path.into(),
            new_text,
            file,
            gone: false,
        });
        Ok(())
    }

    /// Whether `text` holds a reference of the migration: a literal host, or Jinja beside one
    /// of the hosts' domains (a host it may build).
    fn holds_a_reference(&self, text: &str) -> bool {
        !self.finder.find(text).is_empty()
            || (text.contains("{{")
                && crate::find::suffixes(&self.migration.from_hosts())
                    .iter()
                    .any(|s| text.contains(s.as_str())))
    }

    /// The variables the tree uses as a registry prefix (see `infer`).
    fn prefixes(&self) -> &BTreeSet<String> {
        self.prefixes.get_or_init(|| {
            let view = self.project.view();
            let texts =
                crate::parallel::map(&view.files, |f| view.read(f).filter(|t| t.contains("}}/")));
            infer::prefix_variables(texts.iter().flatten().map(String::as_str))
        })
    }

    fn scope<'s>(&'s self, env: Env, registry: Option<&'s RegistryRef>) -> Scope<'s> {
        Scope {
            migration: self.migration,
            env,
            registry,
        }
    }

    /// The nodes a rule works on in this file: those its path finds, or the definitions its
    /// variable was traced to.
    fn hits(&self, src: &Source<'_>, nodes: &[Node], rule: &Rule) -> Result<Vec<Hit>> {
        if let Some(offsets) = self.traced.get(&(src.path.to_string(), rule.id.clone())) {
            return Ok(offsets
                .iter()
                .filter_map(|o| nodes.iter().find_map(|n| n.entry_at(*o)))
                .collect());
        }
        if let Some(w) = rule.where_.as_ref().filter(|w| w.role_param.is_some()) {
            return Ok(self.places().hits(nodes, w));
        }
        if rule.where_.as_ref().is_some_and(|w| w.image.is_some()) {
            return Ok(crate::select::image_fields(nodes));
        }
        let hits = match &rule.path {
            Some(path) => path.find(Path::new(src.path), src.text, &src.jinja.masked, nodes)?,
            None => Vec::new(),
        };
        Ok(match &rule.where_ {
            Some(w) if w.unread => hits
                .into_iter()
                .filter(|h| {
                    h.key
                        .as_ref()
                        .is_some_and(|k| self.readers_of(src.path, &k.value).is_empty())
                })
                .collect(),
            _ => hits,
        })
    }

    fn anchor_present(&self, src: &Source<'_>, doc: &Doc, rule: &Rule) -> Result<bool> {
        if rule.traced.is_some() {
            return Ok(true); // traced to a definition in this very file
        }
        Ok(match (doc, &rule.path) {
            (Doc::Tree(nodes), Some(p)) => !p
                .find(Path::new(src.path), src.text, &src.jinja.masked, nodes)?
                .is_empty(),
            (Doc::Ini(ini), _) => match &rule.action {
                Action::PerEnv { values } => values
                    .iter()
                    .any(|(k, _)| ini.entries_in(&rule.select).any(|e| &e.key == k)),
                _ => false,
            },
            _ => false,
        })
    }
}

fn splice_all(src: &Source<'_>, edits: &[Edit]) -> Result<String> {
    let splices: Vec<Splice> = edits.iter().map(Edit::splice).collect();
    edit::apply(src.text, &splices).map_err(|o| {
        let rule_at = |r: &Range<usize>| {
            edits
                .iter()
                .find(|e| &e.range == r)
                .map_or("?", |e| e.rule.as_str())
                .to_string()
        };
        Error::at(
            Path::new(src.path),
            src.text,
            o.second.start,
            format!(
                "rules `{}` and `{}` edit the same bytes",
                rule_at(&o.first),
                rule_at(&o.second)
            ),
        )
    })
}

/// An edited file must still parse with every locator that read it, and a parsed document
/// must differ from the original exactly at the edits (`exact`); a file no rule of a tree
/// format read (inferred edits only) is compared as the data its name says.
fn recheck(
    before: &Source<'_>,
    new_text: &str,
    rules: &[&Rule],
    selector: &crate::migration::Selector,
    old: &BTreeMap<u8, Doc>,
    edits: &[Edit],
) -> Result<()> {
    let path = before.path;
    let src = Source {
        path,
        text: new_text,
        jinja: Structure::of(new_text, selector),
    };
    let mut checked = std::collections::BTreeSet::new();
    for rule in rules {
        let located = |e: Error| match e {
            Error::At { path, at, message } => Error::At {
                path,
                at,
                message: format!("after rule `{}`: {message}", rule.id),
            },
            other => other,
        };
        let new = parse_doc(rule.format, &src).map_err(located)?;
        let key = rule.format as u8;
        if let (Doc::Tree(new), Some(Doc::Tree(old))) = (&new, old.get(&key))
            && checked.insert(key)
        {
            let all: Vec<&Edit> = edits.iter().collect();
            exact::check(path, new_text, old, new, &all).map_err(located)?;
        }
    }
    if checked.is_empty() {
        exact::check_by_name(path, before.text, new_text, edits)?;
    }
    Ok(())
}
