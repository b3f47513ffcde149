//! Sites (SPEC §2): the renderings each planned edit reaches, per environment — its own file
//! when Ansible renders it as a template, every template that includes it (directly, or
//! through a macro that includes its argument), and every template that reads a variable whose
//! winning definition (Ansible's precedence, `ansible::tasks::Playbooks::trace`) holds the edit.
//! An edit no rendering carries is in data Ansible reads as it is (a playbook, a task file).
//!
//! The derived proof (`prove::derived`) renders exactly these, so what is checked follows from
//! the edits, not from a list of files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use crate::ansible::tasks::Playbooks;
use crate::ansible::{EnvVars, is_template, render};
use crate::formats::jinja::{self, Envs};
use crate::formats::yaml;
use crate::migration::Env;
use crate::plan::Edit;

/// How an edit's value reaches a rendering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// The edit is in the template's own text.
    Text,
    /// The edit is in a file the template includes.
    Include(String),
    /// The template reads this variable, whose winning definition holds the edit.
    Variable(String),
}

/// The edits a rendering carries.
#[derive(Debug, Clone, Default)]
pub struct Sites {
    /// Per (template, environment): the edits (indexes into the plan's edits) and how each
    /// reaches it.
    pub renderings: BTreeMap<(String, Env), Vec<(usize, Via)>>,
    /// Edits no rendering carries: their file is data Ansible reads as written.
    pub data: Vec<usize>,
}

/// How many variable names a search for readers follows.
const MAX_NAMES: usize = 256;

/// How many include levels are followed upward (a cycle or a deep chain ends there).
const MAX_INCLUDE_DEPTH: usize = 8;

/// The sites of `edits`, from the tree as it is before them (`vars`, `playbooks`).
pub fn of(edits: &[Edit], vars: &EnvVars, playbooks: &Playbooks, envs: &[Env]) -> Sites {
    let finder = Finder {
        vars,
        playbooks,
        envs,
        templates: OnceLock::new(),
        definitions: OnceLock::new(),
        served: std::sync::Mutex::default(),
    };
    let mut sites = Sites::default();
    let files: BTreeSet<&str> = edits.iter().map(|e| e.path.as_str()).collect();
    for file in files {
        let of_file: Vec<usize> = (0..edits.len())
            .filter(|&i| edits[i].path == file)
            .collect();
        // A template no task renders is checked in the environments its edits serve (the plan
        // reads them from the host a file names, or its `{% if %}` branch).
        let served = of_file
            .iter()
            .fold(Envs::NONE, |acc, &i| acc.union(edits[i].envs));
        let mut reached = false;
        for (template, via) in finder.including(file) {
            for env in finder.envs_of(&template, served) {
                reached = true;
                let entry = sites.renderings.entry((template.clone(), env));
                entry
                    .or_default()
                    .extend(of_file.iter().map(|&i| (i, via.clone())));
            }
        }
        if !is_template(file) {
            // Parsed once for all its edits: each names the keys leading to its value.
            let docs = parsed(vars, file);
            for &i in &of_file {
                let through = finder.reading(&docs, &edits[i]);
                if through.is_empty() && !reached {
                    sites.data.push(i);
                }
                for (template, name, env) in through {
                    sites
                        .renderings
                        .entry((template, env))
                        .or_default()
                        .push((i, Via::Variable(name)));
                }
            }
        }
    }
    sites
}

/// The documents of a data file (none when it does not parse: planning reports it).
fn parsed(vars: &EnvVars, file: &str) -> Vec<crate::formats::tree::Node> {
    let Some(text) = vars.renderer().view().read(file) else {
        return Vec::new();
    };
    yaml::parse(Path::new(file), &text, &jinja::mask(&text)).unwrap_or_default()
}

struct Finder<'a> {
    vars: &'a EnvVars,
    playbooks: &'a Playbooks,
    envs: &'a [Env],
    /// Every template of the tree with its text, read once (includers and readers are looked
    /// for among them, for every edited file).
    templates: OnceLock<Vec<(String, String)>>,
    /// The group variables' definitions as written, read once.
    definitions: OnceLock<Vec<(String, String)>>,
    /// Per template: the environments it is rendered in.
    served: std::sync::Mutex<BTreeMap<String, Vec<Env>>>,
}

impl Finder<'_> {
    fn templates(&self) -> &[(String, String)] {
        self.templates.get_or_init(|| {
            let view = self.vars.renderer().view();
            let paths: Vec<&String> = view.files.iter().filter(|f| is_template(f)).collect();
            crate::parallel::map(&paths, |t| Some(((*t).clone(), view.read(t)?)))
                .into_iter()
                .flatten()
                .collect()
        })
    }

    /// The environments `template` is rendered in: those where a template task renders it;
    /// when no task in the tree does (a template rendered by a lookup or a module the index
    /// does not read), those of `served`, rendered with the group variables.
    fn envs_of(&self, template: &str, served: Envs) -> Vec<Env> {
        let tasked = self.tasked(template);
        if tasked.is_empty() {
            self.envs
                .iter()
                .copied()
                .filter(|e| served.contains(*e))
                .collect()
        } else {
            tasked
        }
    }

    /// The environments where a template task renders `template`.
    fn tasked(&self, template: &str) -> Vec<Env> {
        if let Some(known) = self
            .served
            .lock()
            .ok()
            .and_then(|s| s.get(template).cloned())
        {
            return known;
        }
        let tasked: Vec<Env> = self
            .envs
            .iter()
            .copied()
            .filter(|&env| self.playbooks.renders(self.vars, template, env))
            .collect();
        if let Ok(mut s) = self.served.lock() {
            s.insert(template.to_string(), tasked.clone());
        }
        tasked
    }

    /// The templates whose rendering holds `file`'s text: those including it, up to
    /// [`MAX_INCLUDE_DEPTH`] levels, and itself when it is a template that a task renders or
    /// that nothing includes (a template only ever included, such as one rendered through
    /// `lookup('template', …, template_vars=…)`, is rendered by its includers only: alone it
    /// misses the variables they give it).
    fn including(&self, file: &str) -> Vec<(String, Via)> {
        let mut out = self.includers(file);
        if is_template(file) && (out.is_empty() || !self.tasked(file).is_empty()) {
            out.insert(0, (file.to_string(), Via::Text));
        }
        out
    }

    fn includers(&self, file: &str) -> Vec<(String, Via)> {
        let mut out = Vec::new();
        let mut frontier = vec![file.to_string()];
        let mut seen: BTreeSet<String> = frontier.iter().cloned().collect();
        for _ in 0..MAX_INCLUDE_DEPTH {
            let mut next = Vec::new();
            for included in &frontier {
                for t in self.includers_of(included) {
                    if seen.insert(t.clone()) {
                        out.push((t.clone(), Via::Include(file.to_string())));
                        next.push(t);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        out
    }

    /// The templates that include `file` by a literal name.
    fn includers_of(&self, file: &str) -> Vec<String> {
        let view = self.vars.renderer().view();
        let name = file.rsplit('/').next().unwrap_or(file);
        let hits = crate::parallel::map(self.templates(), |(t, text)| {
            if !text.contains(name) {
                return None;
            }
            let macros = render::including_macros(text);
            render::includes_in(text, &macros)
                .iter()
                .any(|n| render::join(view, n, t) == file)
                .then(|| t.clone())
        });
        hits.into_iter().flatten().collect()
    }

    /// The (template, variable, environment) renderings that read a variable whose winning
    /// definition holds `edit`: the variable is any key on the way from the document to the
    /// edited value (a vars file's top-level name, a role parameter, a `set_fact` name).
    fn reading(
        &self,
        docs: &[crate::formats::tree::Node],
        edit: &Edit,
    ) -> Vec<(String, String, Env)> {
        let Some(doc) = docs.iter().find(|d| d.span().contains(&edit.range.start)) else {
            return Vec::new();
        };
        let (names, _) = doc.keys_to(edit.range.start);
        let names: BTreeSet<String> = names
            .into_iter()
            .filter(|n| identifier(n) && !KEYWORDS.contains(&n.as_str()))
            .collect();
        if names.is_empty() {
            return Vec::new();
        }
        // A template may read the variable through others defined from it (`url: "https://{{
        // registry }}/v2"`): it is a candidate when it names any of them; the trace decides.
        let readable = self.defined_from(&names);
        let readers = crate::parallel::map(self.templates(), |(t, text)| {
            readable
                .iter()
                .any(|n| mentions(text, n))
                .then(|| t.clone())
        });
        let mut out = Vec::new();
        for template in readers.into_iter().flatten() {
            for env in self.envs_of(&template, edit.envs) {
                for name in &names {
                    if self.wins(&template, name, env, edit) {
                        out.push((template.clone(), name.clone(), env));
                    }
                }
            }
        }
        out
    }

    /// `names` and every group variable whose definition reads one of them, at any depth
    /// (bounded: [`MAX_NAMES`]).
    fn defined_from(&self, names: &BTreeSet<String>) -> BTreeSet<String> {
        let defs = self.definitions.get_or_init(|| {
            let view = self.vars.renderer().view();
            let mut texts: BTreeMap<&str, Option<String>> = BTreeMap::new();
            let mut defs = Vec::new();
            for d in self.envs.iter().flat_map(|&env| self.vars.definitions(env)) {
                let text = texts.entry(&d.file).or_insert_with(|| view.read(&d.file));
                if let Some(written) = text.as_deref().and_then(|t| t.get(d.span.clone())) {
                    defs.push((d.name.clone(), written.to_string()));
                }
            }
            defs
        });
        let mut out = names.clone();
        loop {
            let more: Vec<String> = defs
                .iter()
                .filter(|(name, text)| !out.contains(name) && out.iter().any(|n| mentions(text, n)))
                .map(|(name, _)| name.clone())
                .collect();
            if more.is_empty() || out.len() >= MAX_NAMES {
                return out;
            }
            out.extend(more);
        }
    }

    /// Whether the definition of `name` that `template` renders with in `env` holds `edit`.
    fn wins(&self, template: &str, name: &str, env: Env, edit: &Edit) -> bool {
        let traced = self.playbooks.trace(self.vars, template, name, env);
        let holds = |file: &str, span: &std::ops::Range<usize>| {
            file == edit.path && span.start <= edit.range.start && edit.range.end <= span.end
        };
        if !traced.is_empty() {
            return traced.iter().any(|d| holds(&d.file, &d.span));
        }
        // No task renders it: the group variables decide.
        self.vars
            .definitions(env)
            .iter()
            .rev()
            .find(|d| d.name == name)
            .is_some_and(|d| holds(&d.file, &d.span))
    }
}

/// Ansible's play, task and block keywords: keys on the way to a value that are not variables.
const KEYWORDS: &[&str] = &[
    "always",
    "args",
    "become",
    "become_user",
    "block",
    "collections",
    "delegate_to",
    "environment",
    "gather_facts",
    "handlers",
    "hosts",
    "import_role",
    "import_tasks",
    "include_role",
    "include_tasks",
    "include_vars",
    "local_action",
    "loop",
    "name",
    "notify",
    "post_tasks",
    "pre_tasks",
    "rescue",
    "role",
    "roles",
    "set_fact",
    "tags",
    "tasks",
    "vars",
    "vars_files",
    "when",
    "with_items",
];

/// A name Jinja could read as a variable.
fn identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether `text` names `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(word)
            && !text[at + name.len()..].chars().next().is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_whole_words() {
        assert!(mentions("{{ auth_info | b64encode }}", "auth_info"));
        assert!(!mentions("{{ auth_info_prod }}", "auth_info"));
        assert!(!mentions("{{ my_auth_info }}", "auth_info"));
        assert!(identifier("auth_info_prod"));
        assert!(!identifier("registry.example.org"));
        assert!(!identifier("[]"));
    }
}
