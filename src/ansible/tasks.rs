//! Where templates are rendered from: every `template` task in the tree (also written as
//! `local_action: template …` or `ansible.builtin.template`), with the variables Ansible gives it.
//!
//! Precedence, lowest first (Ansible's order, the levels this version reads): role defaults,
//! the group_vars and host_vars of the play's first host in the environment (inventory order;
//! group_vars `all`/`staging` when the play has none), play `vars`, play `vars_files` that
//! resolve into the tree, role vars, task `vars`, `set_fact` of the same play, role params.
//! `include_vars` is not read.
//!
//! The index is lazy: asked about a template, it parses only the task files whose text could
//! hold a task rendering it (`Candidate::may_hold`, a superset of the parsed test that a
//! property test checks), then only the playbooks that name those tasks' roles. Loops are not
//! modelled: a `src` built from the loop variable `item` is not followed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use minijinja::Value;

use super::inventory::Inventory;
use super::render::{Renderer, Vars, template_vars};
use super::{Definition, EnvVars, Layer, definitions, read_defs};
use crate::find::lines_holding;
use crate::formats::tree::Node;
use crate::formats::{jinja, yaml};
use crate::migration::Env;
use crate::migration::Selector;
use crate::parallel;
use crate::walk::View;

const TEMPLATE_MODULES: &[&str] = &["template", "ansible.builtin.template"];

/// A task that renders a template, with the definitions it adds around the inventory's.
#[derive(Debug, Clone)]
pub struct TemplateTask {
    /// The file holding the task.
    pub file: String,
    /// Where the task starts in it.
    pub at: usize,
    /// `src` as written (may hold Jinja).
    pub src: String,
    /// `dest` as written (may hold Jinja): where the rendering is deployed.
    pub dest: Option<String>,
    /// The role the task belongs to, if any: its defaults (below the inventory) and vars
    /// (above the play) are read when the task renders the template asked about.
    pub role: Option<String>,
    /// The task's own definitions above the play's and the role's vars: task vars, set_fact
    /// (and, for a task written in a playbook, that play's vars first), lowest precedence first.
    pub own: Vec<Definition>,
    /// The play that runs a task written in a playbook (a role's tasks get theirs from the
    /// plays that apply the role, looked up when needed).
    pub play: Option<PlayUse>,
}

/// A play that runs a task: its hosts, its vars and vars_files, and the role params it passes.
#[derive(Debug, Clone, Default)]
pub struct PlayUse {
    /// The playbook (or task file) holding the play.
    pub file: String,
    pub hosts: Option<String>,
    pub play: Arc<Vec<Definition>>,
    pub params: Vec<Definition>,
}

/// A play as a reader names it: the playbook holding it and its `hosts` pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Play {
    pub playbook: String,
    pub hosts: Option<String>,
}

impl From<&PlayUse> for Play {
    fn from(u: &PlayUse) -> Play {
        Play {
            playbook: u.file.clone(),
            hosts: u.hosts.clone(),
        }
    }
}

/// Definitions read once and shared.
type Shared = Arc<Vec<Definition>>;

/// What the index has read so far, shared by the threads that use it. Everything is read on
/// first need: a run asks about a few templates, and parsing every task file and playbook
/// would cost more than the rest of `plan` together.
#[derive(Default)]
struct Cache {
    /// Task files that mention `template` and playbooks that mention `role`, read once.
    candidates: OnceLock<Vec<Candidate>>,
    /// Per (vars file, layer): its definitions.
    defs: Mutex<BTreeMap<(String, Layer), Shared>>,
    /// Per path as a play names it: the tree file it resolves to.
    resolved: Mutex<BTreeMap<String, Option<String>>>,
    /// Task files and playbooks the index needed that do not parse: a task rendering the
    /// template asked about may be in one, so a run that asked fails naming the first.
    broken: Mutex<Vec<crate::error::Error>>,
    /// Vars files a play names that do not parse (Ansible refuses the play too): their
    /// definitions are unknown, said as a note.
    unknown: Mutex<Vec<crate::error::Error>>,
}

/// The tree with the index's cache: vars files and resolved paths are read once, however many
/// plays name them.
#[derive(Clone, Copy)]
struct Files<'a> {
    view: &'a View,
    cache: &'a Cache,
}

impl<'a> Files<'a> {
    fn defs(&self, rel: &str, layer: Layer) -> Shared {
        cached(&self.cache.defs, (rel.to_string(), layer), || {
            Arc::new(read_defs(self.view, rel, layer).unwrap_or_else(|e| {
                if let Ok(mut list) = self.cache.unknown.lock() {
                    list.push(e);
                }
                Vec::new()
            }))
        })
    }

    fn broken(&self, e: crate::error::Error) {
        if let Ok(mut list) = self.cache.broken.lock() {
            list.push(e);
        }
    }

    fn resolve(&self, path: &str) -> Option<String> {
        cached(&self.cache.resolved, path.to_string(), || {
            resolve_in_tree(self.view, path)
        })
    }

    fn candidates(self) -> &'a [Candidate] {
        self.cache.candidates.get_or_init(|| {
            let paths: Vec<&String> = self.view.files.iter().filter(|f| indexes(f)).collect();
            parallel::map(&paths, |path| Candidate::read(self.view, path))
                .into_iter()
                .flatten()
                .collect()
        })
    }

    /// What each of `files` contributes, in their order; those not parsed yet are parsed now,
    /// in parallel.
    fn indexed<'c>(&self, files: &[&'c Candidate]) -> Vec<&'c Indexed> {
        let fresh: Vec<&Candidate> = files
            .iter()
            .copied()
            .filter(|c| c.indexed.get().is_none())
            .collect();
        parallel::map(&fresh, |c| {
            c.indexed.get_or_init(|| index_file(*self, c));
        });
        files
            .iter()
            .map(|c| c.indexed.get_or_init(|| index_file(*self, c)))
            .collect()
    }

    /// The template tasks that may render `template`, in path order.
    fn tasks_for(&self, template: &str) -> Vec<&Indexed> {
        let files: Vec<&Candidate> = self
            .candidates()
            .iter()
            .filter(|c| c.may_hold(template))
            .collect();
        self.indexed(&files)
    }

    /// The plays that apply `role`, in path order, parsing the playbooks that name it one at a
    /// time: callers mostly stop at the first play that has a host.
    fn uses_of(self, role: &'a str) -> impl Iterator<Item = &'a PlayUse> + 'a {
        self.candidates()
            .iter()
            .filter(move |c| c.uses && c.text.contains(role))
            .flat_map(move |c| {
                c.indexed
                    .get_or_init(|| index_file(self, c))
                    .uses
                    .iter()
                    .filter(move |(r, _)| r == role)
                    .map(|(_, play)| play)
            })
    }
}

/// The value cached under `key`, computed outside the lock (two threads may both compute it;
/// the first stored wins).
fn cached<K: Ord, V: Clone>(cache: &Mutex<BTreeMap<K, V>>, key: K, make: impl FnOnce() -> V) -> V {
    if let Some(v) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return v;
    }
    let v = make();
    match cache.lock() {
        Ok(mut c) => c.entry(key).or_insert(v).clone(),
        Err(_) => v,
    }
}

/// A task file that mentions `template` or a playbook that mentions `role`, with its text.
struct Candidate {
    path: String,
    text: String,
    /// May hold template tasks.
    tasks: bool,
    /// May apply roles.
    uses: bool,
    /// Offsets just after each `}}` on a line that names `src`.
    jinja_ends: Vec<usize>,
    /// A `src` key whose value starts on a later line (a block scalar): the text alone
    /// cannot say what it names.
    open_src: bool,
    /// What the file contributes, parsed once by the first thread that needs it.
    indexed: OnceLock<Indexed>,
}

impl Candidate {
    fn read(view: &View, path: &str) -> Option<Candidate> {
        let text = view.read(path)?;
        let tasks = is_task_file(path) && text.contains("template");
        let uses = is_playbook(path) && text.contains("role");
        if !tasks && !uses {
            return None;
        }
        let mut jinja_ends = Vec::new();
        let mut open_src = false;
        for (start, line) in lines_holding(&text, "src").filter(|_| tasks) {
            let at = line.rfind("src").unwrap_or_default();
            let rest = line[at + 3..].trim();
            open_src |= rest.strip_prefix(':').is_some_and(|r| {
                let r = r.split(" #").next().unwrap_or(r).trim();
                r.is_empty() || r.starts_with(['>', '|'])
            });
            // An expression that reads the loop variable cannot end an indexed `src`.
            jinja_ends.extend(
                line.match_indices("}}")
                    .filter(|(i, _)| {
                        let open = line[..*i].rfind("{{").unwrap_or(0);
                        !uses_loop_var(&line[open..*i + 2])
                    })
                    .map(|(i, _)| start + i + 2),
            );
        }
        Some(Candidate {
            path: path.to_string(),
            text,
            tasks,
            uses,
            jinja_ends,
            open_src,
            indexed: OnceLock::new(),
        })
    }

    /// Whether the file could hold a task rendering `template`, judged from its text before any
    /// parsing, so it errs on yes (see `Playbooks::may_render` for the parsed test): it names
    /// the template's file, or the text after a `}}` on a `src` line could end the template's
    /// path (cut at any delimiter, line breaks folded to spaces as YAML folds them).
    fn may_hold(&self, template: &str) -> bool {
        let name = template.rsplit('/').next().unwrap_or(template);
        self.tasks
            && (self.open_src
                || name.contains(char::is_whitespace)
                || self.text.contains(name)
                || self
                    .jinja_ends
                    .iter()
                    .any(|&end| may_end(&self.text[end..], template)))
    }
}

/// Whether `template` ends with some start of `after` (the text after a `}}`) that stops at a
/// delimiter or at the end, with whitespace runs folded to one space.
fn may_end(after: &str, template: &str) -> bool {
    let mut tail = String::new();
    let mut chars = after.chars().peekable();
    loop {
        let next = chars.peek().copied();
        let delimiter = next.is_none_or(|c| c.is_whitespace() || "\"',]}".contains(c));
        if delimiter && template.ends_with(tail.as_str()) {
            return true;
        }
        let Some(c) = chars.next() else {
            return false;
        };
        if c.is_whitespace() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            tail.push(' ');
        } else {
            tail.push(c);
        }
        if tail.len() > template.len() {
            return false;
        }
    }
}

/// What one playbook or task file contributes to the index.
#[derive(Default)]
struct Indexed {
    tasks: Vec<TemplateTask>,
    /// (role, the play applying it).
    uses: Vec<(String, PlayUse)>,
}

/// The template tasks of a task file or playbook that mentions `template`, and the roles a
/// playbook that mentions `role` applies. A file that does not parse contributes nothing and
/// is recorded: a run that asked about it fails naming it ([`Playbooks::check`]).
fn index_file(files: Files<'_>, file: &Candidate) -> Indexed {
    let mut out = Indexed::default();
    let (path, text) = (file.path.as_str(), file.text.as_str());
    let masked = jinja::mask(text);
    let docs = match yaml::parse(Path::new(path), text, &masked) {
        Ok(docs) => docs,
        Err(e) => {
            files.broken(e);
            return out;
        }
    };
    let role = role_of(path);
    for doc in &docs {
        // A task file may hold one mapping instead of a list; a playbook is always a list.
        let (plays, listed) = match doc {
            Node::Sequence { items, .. } => (items.as_slice(), true),
            other => (std::slice::from_ref(other), false),
        };
        for play in plays {
            if file.tasks {
                collect_play(&files, path, role.as_deref(), play, &mut out.tasks);
            }
            if file.uses && listed {
                play_uses(&files, path, play, &mut out.uses);
            }
        }
    }
    out
}

/// The roles one play of a playbook applies, with the params it passes.
fn play_uses(files: &Files<'_>, file: &str, play: &Node, out: &mut Vec<(String, PlayUse)>) {
    let hosts = play
        .get("hosts")
        .and_then(Node::as_scalar)
        .map(|s| s.value.clone());
    let play_defs = Arc::new(play_definitions(files, file, play));
    let mut add = |role: &str, params: Vec<Definition>| {
        let play = PlayUse {
            file: file.to_string(),
            hosts: hosts.clone(),
            play: Arc::clone(&play_defs),
            params,
        };
        out.push((role.trim_matches('/').to_string(), play));
    };
    if let Some(Node::Sequence { items, .. }) = play.get("roles") {
        for item in items {
            if let Some((role, params)) = listed_role(file, item) {
                add(role, params);
            }
        }
    }
    visit(play, &mut |node| {
        for key in ROLE_INCLUDES {
            if let Some(role) = node
                .get(key)
                .and_then(|r| r.get("name"))
                .and_then(Node::as_scalar)
            {
                let params = match node.get("vars") {
                    Some(Node::Mapping { entries, .. }) => {
                        definitions(file, entries, Layer::RoleParams)
                    }
                    _ => Vec::new(),
                };
                add(&role.value, params);
            }
        }
    });
}

const ROLE_INCLUDES: [&str; 4] = [
    "include_role",
    "import_role",
    "ansible.builtin.include_role",
    "ansible.builtin.import_role",
];

/// Keys of a `roles:` item that are not role params.
const ROLE_KEYWORDS: [&str; 7] = [
    "role",
    "name",
    "when",
    "tags",
    "become",
    "vars",
    "delegate_to",
];

/// A `roles:` item: the role's name and the params it passes (its other keys and its `vars`).
fn listed_role<'n>(file: &str, item: &'n Node) -> Option<(&'n str, Vec<Definition>)> {
    match item {
        Node::Scalar(s) => Some((&s.value, Vec::new())),
        Node::Mapping { entries, .. } => {
            let role = item
                .get("role")
                .or_else(|| item.get("name"))
                .and_then(Node::as_scalar)?;
            let params: Vec<(Node, Node)> = entries
                .iter()
                .filter(|(k, _)| {
                    k.as_scalar()
                        .is_some_and(|k| !ROLE_KEYWORDS.contains(&k.value.as_str()))
                })
                .cloned()
                .collect();
            let mut defs = definitions(file, &params, Layer::RoleParams);
            if let Some(Node::Mapping { entries, .. }) = item.get("vars") {
                defs.extend(definitions(file, entries, Layer::RoleParams));
            }
            Some((&role.value, defs))
        }
        _ => None,
    }
}

/// Whether the template index may read `file` (a task file or a playbook).
pub fn indexes(file: &str) -> bool {
    is_task_file(file) || is_playbook(file)
}

fn is_playbook(file: &str) -> bool {
    (file.ends_with(".yml") || file.ends_with(".yaml"))
        && (file.starts_with("playbooks/") || !file.contains('/'))
}

/// A play's vars and the vars_files that resolve into the tree, lowest precedence first.
fn play_definitions(files: &Files<'_>, file: &str, play: &Node) -> Vec<Definition> {
    let mut defs = Vec::new();
    if let Some(Node::Mapping { entries, .. }) = play.get("vars") {
        defs.extend(definitions(file, entries, Layer::PlayVars));
    }
    if let Some(Node::Sequence { items, .. }) = play.get("vars_files") {
        for item in items.iter().filter_map(Node::as_scalar) {
            if let Some(rel) = files.resolve(&item.value) {
                defs.extend(files.defs(&rel, Layer::VarsFiles).iter().cloned());
            }
        }
    }
    defs
}

fn is_task_file(file: &str) -> bool {
    let yaml = file.ends_with(".yml") || file.ends_with(".yaml");
    yaml && (file.starts_with("playbooks/")
        || file.starts_with("tasks/")
        || (file.starts_with("roles/") && file.contains("/tasks/")))
}

/// The role a file of `roles/` belongs to: the path up to its first role directory
/// (`roles/httpd/reverseproxy/templates/x` → `httpd/reverseproxy`).
fn role_owning(file: &str) -> Option<String> {
    const ROLE_DIRS: [&str; 7] = [
        "tasks",
        "templates",
        "files",
        "defaults",
        "vars",
        "handlers",
        "meta",
    ];
    let rest = file.strip_prefix("roles/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let at = parts.iter().position(|p| ROLE_DIRS.contains(p))?;
    (at > 0).then(|| parts[..at].join("/"))
}

/// `path` relative to the folder of `file` (as Ansible resolves a relative import), `..`
/// folded; `None` when it leaves the tree or holds Jinja.
fn beside(file: &str, path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains("{{") {
        return None;
    }
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The top-level items of a playbook's text (plays and imports); none when it does not parse.
fn playbook_items(file: &str, text: &str) -> Vec<Node> {
    let docs = yaml::parse_masked(file, text).unwrap_or_default();
    docs.into_iter()
        .flat_map(|d| match d {
            Node::Sequence { items, .. } => items,
            _ => Vec::new(),
        })
        .collect()
}

/// The plays of a playbook: its top-level items with `hosts`.
fn own_plays(view: &View, file: &str) -> Vec<Play> {
    let text = view.read(file).unwrap_or_default();
    playbook_items(file, &text)
        .iter()
        .filter_map(|play| play.get("hosts").and_then(Node::as_scalar))
        .map(|hosts| Play {
            playbook: file.to_string(),
            hosts: Some(hosts.value.clone()),
        })
        .collect()
}

fn role_of(file: &str) -> Option<String> {
    let rest = file.strip_prefix("roles/")?;
    let (role, _) = rest.split_once("/tasks/")?;
    Some(role.to_string())
}

/// The template tasks of one play (or one task list), with the play's variables.
fn collect_play(
    files: &Files<'_>,
    file: &str,
    role: Option<&str>,
    play: &Node,
    out: &mut Vec<TemplateTask>,
) {
    // A role's task file has no play: its plays come from the playbooks that apply the role.
    let play_defs = if role.is_none() {
        play_definitions(files, file, play)
    } else {
        Vec::new()
    };
    let hosts = play
        .get("hosts")
        .and_then(Node::as_scalar)
        .map(|s| s.value.clone());
    let mut facts = Vec::new();
    visit(play, &mut |node| {
        if let Some(Node::Mapping { entries, .. }) = node.get("set_fact") {
            facts.extend(definitions(file, entries, Layer::SetFact));
        }
    });
    visit(play, &mut |node| {
        let Some(src) = template_arg(node, "src").filter(|src| !uses_loop_var(src)) else {
            return;
        };
        let mut own = play_defs.clone();
        if let Some(Node::Mapping { entries, .. }) = node.get("vars") {
            own.extend(definitions(file, entries, Layer::TaskVars));
        }
        own.extend(facts.iter().cloned());
        let play = role.is_none().then(|| PlayUse {
            file: file.to_string(),
            hosts: hosts.clone(),
            ..PlayUse::default()
        });
        out.push(TemplateTask {
            file: file.to_string(),
            at: node.span().start,
            src,
            dest: template_arg(node, "dest"),
            role: role.map(str::to_string),
            own,
            play,
        });
    });
}

/// Whether a Jinja-built `src` reads the loop variable. Loops are not modelled (the variable
/// is undefined), so such a `src` never names a template and its task is not indexed.
fn uses_loop_var(src: &str) -> bool {
    src.split("{{").skip(1).any(|expr| {
        let expr = expr.split("}}").next().unwrap_or(expr);
        expr.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == "item")
    })
}

/// Calls `f` on every mapping under `node`.
fn visit(node: &Node, f: &mut dyn FnMut(&Node)) {
    match node {
        Node::Mapping { entries, .. } => {
            f(node);
            for (_, v) in entries {
                visit(v, f);
            }
        }
        Node::Sequence { items, .. } => items.iter().for_each(|i| visit(i, f)),
        _ => {}
    }
}

/// The `src` of a template task (`None` for any other task).
pub fn template_src(task: &Node) -> Option<String> {
    template_arg(task, "src")
}

/// The `dest` of a template task.
pub fn template_dest(task: &Node) -> Option<String> {
    template_arg(task, "dest")
}

/// An argument (`src`, `dest`) of a template task, however the module is written.
fn template_arg(task: &Node, key: &str) -> Option<String> {
    for module in TEMPLATE_MODULES {
        match task.get(module) {
            Some(Node::Scalar(s)) => return kv_arg(&s.value, key),
            Some(args @ Node::Mapping { .. }) => {
                return args
                    .get(key)
                    .and_then(Node::as_scalar)
                    .map(|s| s.value.clone());
            }
            _ => {}
        }
    }
    let action = task
        .get("local_action")
        .or_else(|| task.get("action"))
        .and_then(Node::as_scalar)?;
    let (module, args) = action.value.trim().split_once(char::is_whitespace)?;
    TEMPLATE_MODULES
        .contains(&module)
        .then(|| kv_arg(args, key))
        .flatten()
}

/// The value of `key=` in Ansible's `k=v` argument string (quotes honoured).
fn kv_arg(args: &str, key: &str) -> Option<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    // Inside `{{ … }}` a space does not end the word (Ansible's split_args keeps Jinja whole).
    let mut depth = 0usize;
    let mut chars = args.chars().peekable();
    while let Some(c) = chars.next() {
        if quote.is_none() && (c == '{' || c == '}') && chars.peek() == Some(&c) {
            chars.next();
            depth = if c == '{' {
                depth + 1
            } else {
                depth.saturating_sub(1)
            };
            word.push(c);
            word.push(c);
            continue;
        }
        match (quote, c) {
            // Jinja's own strings and spaces stay as written.
            (None, c) if depth > 0 => word.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (_, c) => word.push(c),
        }
    }
    words.push(word);
    words
        .into_iter()
        .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// A path as a play names it (absolute, from the checkout's deployed location) mapped into the
/// tree: the longest tail of its components that is a file here.
pub fn resolve_in_tree(view: &View, path: &str) -> Option<String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    (0..parts.len())
        .map(|i| parts[i..].join("/"))
        .find(|rel| view.exists(rel))
}

/// The tree path a task's `src` names, rendered with `vars`.
/// How many times a Jinja `src` is rendered again while its value still holds Jinja.
const SRC_NESTING: usize = 4;

pub fn resolve_src(renderer: &Renderer, task: &TemplateTask, vars: &Vars) -> Option<String> {
    let mut src = task.src.clone();
    if src.contains("{{") {
        // A variable's value may itself be Jinja (`object_template_fullpath: "{{ roles_path
        // }}/…"`): Ansible templates it too, so the result is rendered again, a bounded number
        // of times.
        let context = vars.into();
        for _ in 0..SRC_NESTING {
            if !src.contains("{{") {
                break;
            }
            src = renderer.render("<src>", &src, &context).ok()?;
        }
        if src.contains("{{") {
            return None;
        }
    }
    let view = renderer.view();
    if src.starts_with('/') {
        return resolve_in_tree(view, &src);
    }
    let dir = task.file.rsplit_once('/').map_or("", |(d, _)| d);
    let mut candidates = Vec::new();
    if let Some(role) = &task.role {
        candidates.push(format!("roles/{role}/templates/{src}"));
    }
    candidates.push(format!("{dir}/templates/{src}"));
    candidates.push(format!("{dir}/{src}"));
    candidates.into_iter().find(|c| view.exists(c))
}

/// What decides a template's variables: the template tasks, the plays that run them and the
/// inventory (the first host, in inventory order, of those plays in an environment). Tasks and
/// plays are read on first need, for the templates asked about.
pub struct Playbooks {
    pub inventory: Inventory,
    cache: Cache,
    /// Per (pattern, environment): the first host; per host: its inventory definitions.
    first_hosts: Mutex<BTreeMap<(String, Env), Option<String>>>,
    host_defs: Mutex<BTreeMap<String, Shared>>,
    /// Per (task file, task, environment): the template a Jinja-built `src` resolves to. It
    /// does not depend on the template asked about, and rendering it needs all the task's
    /// variables.
    sources: Mutex<BTreeMap<(String, usize, Env), Option<String>>>,
    /// Per (destination glob, environment): the templates deployed there.
    deployed: Mutex<BTreeMap<(String, Env), Vec<String>>>,
}

impl Playbooks {
    pub fn load(view: &View, selector: &Selector) -> Playbooks {
        Playbooks {
            inventory: Inventory::load(view, selector),
            cache: Cache::default(),
            first_hosts: Mutex::default(),
            host_defs: Mutex::default(),
            sources: Mutex::default(),
            deployed: Mutex::default(),
        }
    }

    /// Fails, naming the file and place, when a file the index needed does not parse.
    pub fn check(&self) -> crate::error::Result<()> {
        match self
            .cache
            .broken
            .lock()
            .ok()
            .and_then(|l| l.first().cloned())
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The vars files read so far that do not parse: (file, `line L, column C: why`).
    pub fn unknown(&self) -> Vec<(String, String)> {
        use crate::error::Error;
        let said = |e: &Error| match e {
            Error::At { path, at, message } => (
                path.to_string_lossy().into_owned(),
                format!("line {}, column {}: {message}", at.line, at.column),
            ),
            Error::File { path, message } => (path.to_string_lossy().into_owned(), message.clone()),
            other => (".".to_string(), other.to_string()),
        };
        let mut out: Vec<(String, String)> = self
            .cache
            .unknown
            .lock()
            .map(|l| l.iter().map(said).collect())
            .unwrap_or_default();
        out.sort();
        out.dedup();
        out
    }

    fn files<'a>(&'a self, view: &'a View) -> Files<'a> {
        Files {
            view,
            cache: &self.cache,
        }
    }

    fn first_host(&self, pattern: &str, env: Env) -> Option<String> {
        cached(&self.first_hosts, (pattern.to_string(), env), || {
            self.inventory.first_host(pattern, env)
        })
    }

    fn host_definitions(&self, view: &View, host: &str) -> Shared {
        let files = self.files(view);
        cached(&self.host_defs, host.to_string(), || {
            let read = |file: &str, layer| files.defs(file, layer);
            Arc::new(self.inventory.host_definitions(host, &read))
        })
    }

    /// Whether `task` could render `template` at all, before any rendering: the text after
    /// `src`'s last Jinja expression (all of it, without one) must end the template's path, and
    /// a plain `src` must name the same file.
    fn may_render(task: &TemplateTask, template: &str) -> bool {
        let tail = task.src.rsplit("}}").next().unwrap_or(&task.src);
        let name = template.rsplit('/').next().unwrap_or(template);
        if task.src.contains("{{") {
            template.ends_with(tail)
        } else {
            tail.rsplit('/').next() == Some(name)
        }
    }

    /// Every task that renders `template` in `env` (with `first`, only the first in path
    /// order): its definitions in precedence order (lowest first) and the variables they give,
    /// not yet templated (tracing needs only the definitions; templating every variable is the
    /// expensive part).
    fn renderings(
        &self,
        vars: &EnvVars,
        template: &str,
        env: Env,
        first: bool,
    ) -> Vec<(Vec<Definition>, Vars)> {
        let files = self.files(vars.renderer().view());
        let mut out = Vec::new();
        for indexed in files.tasks_for(template) {
            for task in indexed.tasks.iter() {
                if !Self::may_render(task, template) {
                    continue;
                }
                if let Some(rendering) = self.rendering(files, vars, task, template, env) {
                    out.push(rendering);
                    if first {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The first of `uses`, and the first that has a host in `env` with that host (Ansible
    /// templates once per host; the first host stands for all).
    fn first_hosted<'u>(
        &self,
        mut uses: impl Iterator<Item = &'u PlayUse>,
        env: Env,
    ) -> (Option<&'u PlayUse>, Option<(&'u PlayUse, String)>) {
        let mut first = None;
        let hosted = uses.find_map(|u| {
            first.get_or_insert(u);
            Some((u, self.first_host(u.hosts.as_deref()?, env)?))
        });
        (first, hosted)
    }

    /// `task`'s definitions and variables in `env`, if it renders `template` there.
    fn rendering(
        &self,
        files: Files<'_>,
        vars: &EnvVars,
        task: &TemplateTask,
        template: &str,
        env: Env,
    ) -> Option<(Vec<Definition>, Vars)> {
        // A plain `src` resolves without variables: most tasks render something else.
        let jinja = task.src.contains("{{");
        if !jinja && resolve_src(vars.renderer(), task, &Vars::new())? != template {
            return None;
        }
        let (defs, merged) = self.context(files, vars, task, env);
        if jinja {
            let key = (task.file.clone(), task.at, env);
            let source = cached(&self.sources, key, || {
                resolve_src(vars.renderer(), task, &merged)
            });
            if source.as_deref() != Some(template) {
                return None;
            }
        }
        Some((defs, merged))
    }

    /// `task`'s definitions in `env` in precedence order (lowest first), and the variables
    /// they give (not yet templated).
    fn context(
        &self,
        files: Files<'_>,
        vars: &EnvVars,
        task: &TemplateTask,
        env: Env,
    ) -> (Vec<Definition>, Vars) {
        let uses: Box<dyn Iterator<Item = &PlayUse>> = match &task.role {
            Some(role) => Box::new(files.uses_of(role)),
            None => Box::new(task.play.iter()),
        };
        let (first, hosted) = self.first_hosted(uses, env);
        self.context_of(files, vars, task, env, (first, hosted), None)
    }

    /// `task`'s definitions and variables in `env` as `hosted` (a play and its first host in
    /// `env`) runs it; without one, as `first` does with the environment's group variables.
    /// With `only`, just those variables (and no definitions).
    fn context_of(
        &self,
        files: Files<'_>,
        vars: &EnvVars,
        task: &TemplateTask,
        env: Env,
        (first, hosted): (Option<&PlayUse>, Option<(&PlayUse, String)>),
        only: Option<&BTreeSet<String>>,
    ) -> (Vec<Definition>, Vars) {
        let fallback = PlayUse::default();
        let host_defs;
        let (used, inventory_defs): (&PlayUse, &[Definition]) = match hosted {
            Some((u, host)) => {
                host_defs = self.host_definitions(files.view, &host);
                (u, &host_defs)
            }
            None => (first.unwrap_or(&fallback), vars.definitions(env)),
        };
        let role_defs = |dir: &str, layer| match &task.role {
            Some(r) => files.defs(&format!("roles/{r}/{dir}/main.yml"), layer),
            None => Shared::default(),
        };
        let (defaults, role_vars) = (
            role_defs("defaults", Layer::RoleDefaults),
            role_defs("vars", Layer::RoleVars),
        );
        // Lowest precedence first; the definitions are copied only for the tasks asked about.
        let layers: [&[Definition]; 6] = [
            &defaults,
            inventory_defs,
            &used.play,
            &role_vars,
            &task.own,
            &used.params,
        ];
        let wanted = |name: &str| only.is_none_or(|o| o.contains(name));
        let mut merged: Vars = layers
            .iter()
            .flat_map(|l| l.iter())
            .filter(|d| wanted(&d.name))
            .map(|d| (d.name.clone(), d.value.clone()))
            .collect();
        // The selector's variable is the environment's name where the tree does not set it.
        if let Some(var) = vars.selector().variable.as_ref().filter(|v| wanted(v)) {
            merged
                .entry(var.clone())
                .or_insert_with(|| Value::from(vars.selector().value_of(env)));
        }
        // Asked for a few variables, the definitions are not copied (see `renders_as`).
        let defs = if only.is_some() {
            Vec::new()
        } else {
            layers.concat()
        };
        (defs, merged)
    }

    /// The templates a template task deploys, in one of `envs`, to a path matching `dest` (its
    /// `dest` as written, or rendered with the environment's group variables), found among the task files whose
    /// text holds `hint` (a literal part of the path). A template is known by where Ansible
    /// writes it, whatever it is called and whichever role holds it.
    pub fn deployed_to(
        &self,
        vars: &EnvVars,
        dest: &globset::GlobMatcher,
        hint: &str,
        envs: &[Env],
    ) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        for &env in envs {
            let key = (dest.glob().glob().to_string(), env);
            out.extend(cached(&self.deployed, key, || {
                self.deployed_in(vars, dest, hint, env)
            }));
        }
        out.into_iter().collect()
    }

    /// [`Playbooks::deployed_to`] in one environment.
    fn deployed_in(
        &self,
        vars: &EnvVars,
        dest: &globset::GlobMatcher,
        hint: &str,
        env: Env,
    ) -> Vec<String> {
        let files = self.files(vars.renderer().view());
        let holding: Vec<&Candidate> = files
            .candidates()
            .iter()
            .filter(|c| c.tasks && c.text.contains(hint))
            .collect();
        let mut out = Vec::new();
        for indexed in files.indexed(&holding) {
            for task in &indexed.tasks {
                let Some(written) = &task.dest else { continue };
                let rendered = if written.contains("{{") {
                    vars.render_loose(written, env)
                } else {
                    Some(written.clone())
                };
                if !rendered.is_some_and(|d| dest.is_match(d.trim_start_matches('/'))) {
                    continue;
                }
                let source = if task.src.contains("{{") {
                    // The play's vars_files and vars decide a Jinja `src` (as in `rendering`).
                    let key = (task.file.clone(), task.at, env);
                    cached(&self.sources, key, || {
                        let (_, merged) = self.context(files, vars, task, env);
                        resolve_src(vars.renderer(), task, &merged)
                    })
                } else {
                    resolve_src(vars.renderer(), task, &Vars::new())
                };
                out.extend(source);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The plays that deploy `file` in `env` (issue 15.5: the plays a change needs run), in
    /// path order: a playbook's own plays; for a file of a role, the plays applying the role;
    /// for a template, the plays running a task that renders it there (its own play, or the
    /// plays applying its role). Only plays with a host in `env`. A variables file is deployed
    /// through the templates reading it (the caller asks about those).
    pub fn plays_deploying(&self, vars: &EnvVars, file: &str, env: Env) -> Vec<Play> {
        let files = self.files(vars.renderer().view());
        let mut out: Vec<Play> = Vec::new();
        let mut add = |play: Play| {
            if !out.contains(&play) && self.runs_in(&play, env) {
                out.push(play);
            }
        };
        if is_playbook(file) {
            own_plays(files.view, file).into_iter().for_each(&mut add);
        }
        if let Some(role) = role_owning(file) {
            files.uses_of(&role).map(Play::from).for_each(&mut add);
        }
        for indexed in files.tasks_for(file) {
            for task in indexed.tasks.iter().filter(|t| Self::may_render(t, file)) {
                let uses: Vec<&PlayUse> = match &task.role {
                    Some(role) => files.uses_of(role).collect(),
                    None => task.play.iter().collect(),
                };
                // Each play passes its own parameters: a Jinja `src` resolves per play.
                for u in uses {
                    let Some(host) = u.hosts.as_deref().and_then(|h| self.first_host(h, env))
                    else {
                        continue;
                    };
                    if self.renders_as(files, vars, task, env, u, host).as_deref() == Some(file) {
                        add(Play::from(u));
                    }
                }
            }
        }
        out
    }

    /// The template `task` renders when `used` runs it on `host` in `env`.
    fn renders_as(
        &self,
        files: Files<'_>,
        vars: &EnvVars,
        task: &TemplateTask,
        env: Env,
        used: &PlayUse,
        host: String,
    ) -> Option<String> {
        if !task.src.contains("{{") {
            return resolve_src(vars.renderer(), task, &Vars::new());
        }
        // Only the variables `src` reads, and those their values read (a value holding Jinja):
        // a role applied by hundreds of plays is asked once per play, and merging every
        // definition each time would cost seconds.
        let renderer = vars.renderer();
        let mut wanted = renderer.template_reads(&task.src);
        let mut merged = Vars::new();
        for _ in 0..=SRC_NESTING {
            let run_by = (Some(used), Some((used, host.clone())));
            merged = self
                .context_of(files, vars, task, env, run_by, Some(&wanted))
                .1;
            let more: BTreeSet<String> = merged
                .values()
                .filter_map(|v| v.as_str().filter(|s| s.contains("{{")))
                .flat_map(|s| renderer.template_reads(s))
                .filter(|n| !wanted.contains(n))
                .collect();
            if more.is_empty() {
                break;
            }
            wanted.extend(more);
        }
        resolve_src(renderer, task, &merged)
    }

    /// The play whose first host `template` is rendered for in `env` (what the proof saw:
    /// Ansible renders it once per host, regshift once per environment).
    pub fn rendered_for(&self, vars: &EnvVars, template: &str, env: Env) -> Option<Play> {
        let files = self.files(vars.renderer().view());
        for indexed in files.tasks_for(template) {
            for task in indexed
                .tasks
                .iter()
                .filter(|t| Self::may_render(t, template))
            {
                if self.rendering(files, vars, task, template, env).is_none() {
                    continue;
                }
                return match &task.role {
                    Some(role) => {
                        let (first, hosted) = self.first_hosted(files.uses_of(role), env);
                        hosted.map(|(u, _)| u).or(first).map(Play::from)
                    }
                    None => task.play.as_ref().map(Play::from),
                };
            }
        }
        None
    }

    /// The playbooks that import `playbook` (`import_playbook`, or the old `include` of a
    /// playbook), as a reader runs it: `playbooks/groups/proxies.yml` runs the plays of the
    /// `playbooks/include/` files it imports.
    pub fn importers(&self, view: &View, playbook: &str) -> Vec<String> {
        let files = self.files(view);
        let name = playbook.rsplit('/').next().unwrap_or(playbook);
        let imports = |file: &&String| {
            // Only a playbook whose text names the file is parsed.
            let Some(text) = view.read(file).filter(|t| t.contains(name)) else {
                return false;
            };
            playbook_items(file, &text)
                .iter()
                .filter_map(|item| {
                    [
                        "import_playbook",
                        "ansible.builtin.import_playbook",
                        "include",
                    ]
                    .iter()
                    .find_map(|k| item.get(k).and_then(Node::as_scalar))
                })
                .any(|s| {
                    beside(file, &s.value).as_deref() == Some(playbook)
                        || files.resolve(&s.value).as_deref() == Some(playbook)
                })
        };
        view.files
            .iter()
            .filter(|f| is_playbook(f) && f.as_str() != playbook)
            .filter(imports)
            .cloned()
            .collect()
    }

    /// Whether `play` has a host in `env`.
    pub fn runs_in(&self, play: &Play, env: Env) -> bool {
        play.hosts
            .as_deref()
            .is_some_and(|h| self.first_host(h, env).is_some())
    }

    /// Whether a template task renders `template` in `env` (no variable templated).
    pub fn renders(&self, vars: &EnvVars, template: &str, env: Env) -> bool {
        !self.renderings(vars, template, env, true).is_empty()
    }

    /// The variables `template` renders with in `env`: those of the first task (in path order)
    /// that renders it.
    pub fn vars_for(&self, vars: &EnvVars, template: &str, env: Env) -> Option<Vars> {
        self.renderings(vars, template, env, true)
            .into_iter()
            .next()
            .map(|(_, v)| template_vars(vars.renderer(), &v))
    }

    /// Where `name` gets its value when `template` is rendered in `env`: for every task that
    /// renders it, the definition that wins. Each place once.
    pub fn trace(&self, vars: &EnvVars, template: &str, name: &str, env: Env) -> Vec<Definition> {
        let mut out: Vec<Definition> = Vec::new();
        for (defs, _) in self.renderings(vars, template, env, false) {
            if let Some(d) = defs.iter().rev().find(|d| d.name == name)
                && !out.iter().any(|o| o.file == d.file && o.span == d.span)
            {
                out.push(d.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ansible::value::py_str;
    use std::sync::Arc;

    #[test]
    fn kv_arguments() {
        assert_eq!(
            kv_arg("src=flatpak.conf dest=/etc/x", "src").as_deref(),
            Some("flatpak.conf")
        );
        assert_eq!(
            kv_arg("src=\"{{ files }}/a b.j2\" mode=0400", "src").as_deref(),
            Some("{{ files }}/a b.j2")
        );
        assert_eq!(kv_arg("dest=/x", "src"), None);
        assert_eq!(
            kv_arg("src={{ a }}/{{ b | default('x y') }} dest=/x", "src").as_deref(),
            Some("{{ a }}/{{ b | default('x y') }}")
        );
    }

    fn playbooks(files: &[(&str, &str)]) -> (EnvVars, Playbooks) {
        let overlay = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let view = View {
            root: "/nonexistent".into(),
            files: files.iter().map(|(k, _)| k.to_string()).collect(),
            overlay,
            ..Default::default()
        };
        (
            EnvVars::load(
                Arc::new(view.clone()),
                &crate::migration::testing::selector(),
            )
            .expect("vars"),
            Playbooks::load(&view, &crate::migration::testing::selector()),
        )
    }

    fn candidate(text: &str) -> Candidate {
        let path = "roles/k/tasks/main.yml";
        let view = View {
            root: "/nonexistent".into(),
            files: vec![path.into()],
            overlay: [(path.to_string(), text.to_string())].into(),
            ..Default::default()
        };
        Candidate::read(&view, path).expect("a task file that mentions template")
    }

    #[test]
    fn the_text_prefilter_keeps_files_that_could_render_the_template() {
        let t = "roles/k/templates/flatpak.conf";
        let holds = |text: &str| candidate(text).may_hold(t);
        assert!(holds("- template: src=flatpak.conf dest=/x\n"));
        assert!(!holds("- template: src=other.conf dest=/x\n"));
        assert!(holds("- template: src={{ name }}.conf dest=/x\n"));
        assert!(holds("- template:\n    src: \"{{ d }}/flatpak.conf\"\n"));
        assert!(!holds("- template: src={{ files }}/h2.conf.j2 dest=/x\n"));
        // Loops are not modelled: the loop variable never names a template.
        assert!(!holds("- template: src={{ item }} dest=/x\n"));
        assert!(!uses_loop_var("{{ items }}/{{ x.item_dir }}"));
        // A block scalar or a value on the next line: the text alone cannot tell.
        assert!(holds("- template:\n    src: >-\n      {{ x }}/y\n"));
        assert!(holds("- template:\n    src:\n      \"{{ x }}/y\"\n"));
        // A quoted value folded over two lines ends as one space.
        let folded = "- template:\n    src: \"{{ d }}/a\n      b.conf\"\n";
        assert!(candidate(folded).may_hold("roles/k/templates/x/a b.conf"));
        assert!(!candidate(folded).may_hold("roles/k/templates/x/ab.conf"));
    }

    proptest::proptest! {
        /// The text prefilter never drops a file holding a task that may render the template
        /// (the parsed test), whatever the `src` and however it is written.
        #[test]
        fn the_text_prefilter_keeps_every_parsed_match(
            parts in proptest::collection::vec(
                proptest::prop_oneof!["[a-z./ -]{0,5}", "\\{\\{ [a-z]{1,3} \\}\\}"],
                1..5,
            ),
            prefix in "[a-z/]{0,8}",
            kv in proptest::bool::ANY,
        ) {
            let src = parts.concat();
            let text = if kv {
                format!("- template: src=\"{src}\" dest=/x\n")
            } else {
                format!("- template:\n    src: \"{src}\"\n    dest: /x\n")
            };
            let file = candidate(&text);
            let view = View { root: "/nonexistent".into(), files: Vec::new(), overlay: Default::default() , ..Default::default() };
            let cache = Cache::default();
            let indexed = index_file(Files { view: &view, cache: &cache }, &file);
            proptest::prop_assert_eq!(indexed.tasks.len(), 1);
            let task = &indexed.tasks[0];
            proptest::prop_assert_eq!(&task.src, &src);
            let tail = src.rsplit("}}").next().unwrap_or(&src);
            let name = src.rsplit('/').next().unwrap_or(&src);
            for template in [format!("{prefix}{tail}"), format!("{prefix}/{name}"), prefix.clone()] {
                if Playbooks::may_render(task, &template) {
                    proptest::prop_assert!(file.may_hold(&template), "{template} dropped for {text:?}");
                }
            }
        }
    }

    #[test]
    fn task_vars_and_set_facts_reach_their_template() {
        let (vars, books) = playbooks(&[
            (
                "inventory/group_vars/all",
                "env: production\nenv_suffix: ''\n",
            ),
            ("vars/global.yml", "files: /srv/deployed/ansible/files\n"),
            (
                "roles/k/tasks/main.yml",
                "- name: conf\n  template: src=flatpak.conf dest=/etc/f\n  vars:\n    reg: \"c{{ env_suffix }}.example\"\n",
            ),
            ("roles/k/templates/flatpak.conf", "r={{ reg }}\n"),
            ("files/osbs/cfg-production.j2", "{{ auth }}"),
            (
                "playbooks/p.yml",
                "- hosts: x\n  vars_files:\n    - /srv/deployed/ansible/vars/global.yml\n  pre_tasks:\n    - set_fact:\n        auth: \"{{ u }}:p\"\n    - local_action: >\n        template src=\"{{ files }}/osbs/cfg-{{ env }}.j2\" dest=/tmp/x\n",
            ),
        ]);
        let got = books
            .vars_for(
                &vars,
                "roles/k/templates/flatpak.conf",
                crate::migration::testing::prod(),
            )
            .expect("found");
        assert_eq!(py_str(&got["reg"]), "c.example");
        let got = books
            .vars_for(
                &vars,
                "files/osbs/cfg-production.j2",
                crate::migration::testing::prod(),
            )
            .expect("found");
        assert_eq!(py_str(&got["auth"]), "<u>:p");
        let defs = books.trace(
            &vars,
            "roles/k/templates/flatpak.conf",
            "reg",
            crate::migration::testing::prod(),
        );
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("roles/k/tasks/main.yml", Layer::TaskVars)
        );
        let defs = books.trace(
            &vars,
            "files/osbs/cfg-production.j2",
            "auth",
            crate::migration::testing::prod(),
        );
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("playbooks/p.yml", Layer::SetFact)
        );
    }

    /// Issue 15.5: the plays deploying a template, each play's params resolving the role's
    /// Jinja `src` (a param holding Jinja is rendered again, as Ansible does), kept only where
    /// their hosts have a host in the environment; a playbook's own plays; who imports it.
    #[test]
    fn the_plays_deploying_a_file_resolve_the_src_per_play() {
        let object = "- template: src={{ fullpath }} dest=/etc/o\n";
        let (vars, books) = playbooks(&[
            (
                "inventory/inventory",
                "[ctl]\nctl01.example\n[ctl_stg]\nctl01.stg.example\n[staging]\nctl01.stg.example\n",
            ),
            (
                "inventory/group_vars/all",
                "env: production\nroles_path: /srv/roles\n",
            ),
            ("inventory/group_vars/staging", "env: staging\n"),
            ("roles/object/tasks/main.yml", object),
            ("roles/a/templates/cm.yml", "a\n"),
            ("roles/b/templates/cm.yml", "b\n"),
            (
                "playbooks/apps/a.yml",
                "- hosts: ctl:ctl_stg\n  roles:\n  - role: object\n    fullpath: \"{{ roles_path }}/a/templates/cm.yml\"\n",
            ),
            (
                "playbooks/apps/b.yml",
                "- hosts: ctl\n  roles:\n  - role: object\n    fullpath: \"{{ roles_path }}/b/templates/cm.yml\"\n",
            ),
            (
                "playbooks/site.yml",
                "- import_playbook: apps/a.yml\n- hosts: ctl\n  tasks: []\n",
            ),
        ]);
        let view = vars.renderer().view();
        let (stg, prod) = (
            crate::migration::testing::stg(),
            crate::migration::testing::prod(),
        );
        let play = |book: &str, hosts: &str| Play {
            playbook: book.into(),
            hosts: Some(hosts.into()),
        };
        let a = play("playbooks/apps/a.yml", "ctl:ctl_stg");
        assert_eq!(
            books.plays_deploying(&vars, "roles/a/templates/cm.yml", stg),
            vec![a.clone()]
        );
        // b's play has no host in staging; in production it deploys b's file, never a's.
        assert!(
            books
                .plays_deploying(&vars, "roles/b/templates/cm.yml", stg)
                .is_empty()
        );
        assert_eq!(
            books.plays_deploying(&vars, "roles/b/templates/cm.yml", prod),
            vec![play("playbooks/apps/b.yml", "ctl")]
        );
        assert_eq!(
            books.plays_deploying(&vars, "playbooks/apps/a.yml", stg),
            vec![a.clone()]
        );
        assert_eq!(
            books.importers(view, "playbooks/apps/a.yml"),
            ["playbooks/site.yml"]
        );
        assert!(books.importers(view, "playbooks/apps/b.yml").is_empty());
    }

    #[test]
    fn the_first_host_of_the_play_brings_its_group_and_host_vars_and_role_params_win() {
        let (vars, books) = playbooks(&[
            (
                "inventory/inventory",
                "[web]\nweb01.example\n[web_stg]\nweb01.stg.example\n[staging]\nweb01.stg.example\n",
            ),
            ("inventory/group_vars/all", "env: production\nport: 1\n"),
            ("inventory/group_vars/staging", "env: staging\n"),
            ("inventory/group_vars/web_stg", "port: 2\n"),
            ("inventory/host_vars/web01.stg.example", "name: stg-host\n"),
            ("roles/w/defaults/main.yml", "name: default\nmode: plain\n"),
            (
                "roles/w/tasks/main.yml",
                "- template: src=w.conf dest=/etc/w\n",
            ),
            (
                "roles/w/templates/w.conf",
                "{{ name }} {{ port }} {{ mode }}\n",
            ),
            (
                "playbooks/web.yml",
                "- hosts: web:web_stg\n  roles:\n  - role: w\n    mode: tls\n",
            ),
        ]);
        let stg = books
            .vars_for(
                &vars,
                "roles/w/templates/w.conf",
                crate::migration::testing::stg(),
            )
            .expect("rendered in staging");
        assert_eq!(
            (
                py_str(&stg["name"]),
                py_str(&stg["port"]),
                py_str(&stg["mode"])
            ),
            ("stg-host".into(), "2".into(), "tls".into())
        );
        let prod = books
            .vars_for(
                &vars,
                "roles/w/templates/w.conf",
                crate::migration::testing::prod(),
            )
            .expect("rendered in production");
        assert_eq!(
            (
                py_str(&prod["name"]),
                py_str(&prod["port"]),
                py_str(&prod["inventory_hostname"])
            ),
            ("default".into(), "1".into(), "web01.example".into())
        );
        let defs = books.trace(
            &vars,
            "roles/w/templates/w.conf",
            "mode",
            crate::migration::testing::stg(),
        );
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("playbooks/web.yml", Layer::RoleParams)
        );
    }
}
