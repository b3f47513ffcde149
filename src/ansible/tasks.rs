//! Where templates are rendered from: every `template` task in the tree (also written as
//! `local_action: template …` or `ansible.builtin.template`), with the variables Ansible gives it.
//!
//! Precedence, lowest first (Ansible's order, the levels this version reads): role defaults,
//! group_vars (`all`, then `staging`), play `vars`, play `vars_files` that resolve into the tree,
//! role vars, task `vars`, `set_fact` of the same play. Host vars, inventory order, role params
//! and `include_vars` are not read yet.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use minijinja::Value;

use super::inventory::Inventory;
use super::render::{Renderer, Vars, template_vars};
use super::{Definition, EnvVars, Layer, definitions, read_defs};
use crate::formats::tree::Node;
use crate::formats::{jinja, yaml};
use crate::migration::Env;
use crate::parallel;
use crate::walk::View;

const TEMPLATE_MODULES: &[&str] = &["template", "ansible.builtin.template"];

/// A task that renders a template, with the definitions it adds around the inventory's.
#[derive(Debug, Clone)]
pub struct TemplateTask {
    /// The file holding the task.
    pub file: String,
    /// `src` as written (may hold Jinja).
    pub src: String,
    /// The role the task belongs to, if any.
    pub role: Option<String>,
    /// Definitions below the inventory's (role defaults), lowest precedence first.
    pub below: Shared,
    /// The task's own definitions above the play's: role vars, task vars, set_fact (and, for a
    /// task written in a playbook, that play's vars), lowest precedence first.
    pub own: Vec<Definition>,
    /// The plays that run the task (for a role's task: the plays that apply the role).
    pub uses: Vec<PlayUse>,
}

/// A play that runs a task: its hosts, its vars and vars_files, and the role params it passes.
#[derive(Debug, Clone, Default)]
pub struct PlayUse {
    pub hosts: Option<String>,
    pub play: Arc<Vec<Definition>>,
    pub params: Vec<Definition>,
}

/// Definitions read once and shared.
type Shared = Arc<Vec<Definition>>;

/// The tree while indexing (shared by the indexing threads): vars files and resolved paths are
/// read once, however many plays name them.
struct Files<'v> {
    view: &'v View,
    defs: Mutex<BTreeMap<(String, Layer), Shared>>,
    resolved: Mutex<BTreeMap<String, Option<String>>>,
}

impl<'v> Files<'v> {
    fn new(view: &'v View) -> Files<'v> {
        Files {
            view,
            defs: Mutex::default(),
            resolved: Mutex::default(),
        }
    }

    fn defs(&self, rel: &str, layer: Layer) -> Shared {
        let key = (rel.to_string(), layer);
        cached(&self.defs, key, || {
            Arc::new(read_defs(self.view, rel, layer).unwrap_or_default())
        })
    }

    fn resolve(&self, path: &str) -> Option<String> {
        cached(&self.resolved, path.to_string(), || {
            resolve_in_tree(self.view, path)
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

/// What one playbook or task file contributes to the index.
#[derive(Default)]
struct Indexed {
    tasks: Vec<TemplateTask>,
    /// (role, the play applying it).
    uses: Vec<(String, PlayUse)>,
}

/// Every template task of the tree (YAML files under `roles/*/tasks/`, `playbooks/`, `tasks/`),
/// each file read and parsed once, in parallel.
pub fn template_tasks(view: &View) -> Vec<TemplateTask> {
    let files = Files::new(view);
    let candidates: Vec<&String> = view
        .files
        .iter()
        .filter(|f| is_task_file(f) || is_playbook(f))
        .collect();
    let indexed = parallel::map(&candidates, |file| index_file(&files, file));
    let mut tasks = Vec::new();
    let mut uses: BTreeMap<String, Vec<PlayUse>> = BTreeMap::new();
    for one in indexed {
        tasks.extend(one.tasks);
        for (role, play) in one.uses {
            uses.entry(role).or_default().push(play);
        }
    }
    for task in tasks.iter_mut().filter(|t| t.role.is_some()) {
        task.uses = task
            .role
            .as_ref()
            .and_then(|r| uses.get(r))
            .cloned()
            .unwrap_or_default();
    }
    tasks
}

/// The template tasks of a task file or playbook that mentions `template`, and the roles a
/// playbook that mentions `role` applies. A file that does not parse is skipped: plan and
/// verify report parse errors where they matter.
fn index_file(files: &Files<'_>, file: &str) -> Indexed {
    let mut out = Indexed::default();
    let Some(text) = files.view.read(file) else {
        return out;
    };
    let tasks = is_task_file(file) && text.contains("template");
    let uses = is_playbook(file) && text.contains("role");
    if !tasks && !uses {
        return out;
    }
    let masked = jinja::mask(&text);
    let Ok(docs) = yaml::parse(Path::new(file), &text, &masked) else {
        return out;
    };
    let role = role_of(file);
    for doc in &docs {
        // A task file may hold one mapping instead of a list; a playbook is always a list.
        let (plays, listed) = match doc {
            Node::Sequence { items, .. } => (items.as_slice(), true),
            other => (std::slice::from_ref(other), false),
        };
        for play in plays {
            if tasks {
                collect_play(files, file, role.as_deref(), play, &mut out.tasks);
            }
            if uses && listed {
                play_uses(files, file, play, &mut out.uses);
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
    let (defaults, role_vars) = match role {
        Some(r) => (
            files.defs(&format!("roles/{r}/defaults/main.yml"), Layer::RoleDefaults),
            files.defs(&format!("roles/{r}/vars/main.yml"), Layer::RoleVars),
        ),
        None => (Shared::default(), Shared::default()),
    };
    visit(play, &mut |node| {
        let Some(src) = template_src(node) else {
            return;
        };
        let mut own = play_defs.clone();
        own.extend(role_vars.iter().cloned());
        if let Some(Node::Mapping { entries, .. }) = node.get("vars") {
            own.extend(definitions(file, entries, Layer::TaskVars));
        }
        own.extend(facts.iter().cloned());
        let uses = if role.is_none() {
            vec![PlayUse {
                hosts: hosts.clone(),
                ..PlayUse::default()
            }]
        } else {
            Vec::new()
        };
        out.push(TemplateTask {
            file: file.to_string(),
            src,
            role: role.map(str::to_string),
            below: Arc::clone(&defaults),
            own,
            uses,
        });
    });
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

/// The `src` of a template task, however the module is written.
fn template_src(task: &Node) -> Option<String> {
    for module in TEMPLATE_MODULES {
        match task.get(module) {
            Some(Node::Scalar(s)) => return kv_arg(&s.value, "src"),
            Some(args @ Node::Mapping { .. }) => {
                return args
                    .get("src")
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
        .then(|| kv_arg(args, "src"))
        .flatten()
}

/// The value of `key=` in Ansible's `k=v` argument string (quotes honoured).
fn kv_arg(args: &str, key: &str) -> Option<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in args.chars() {
        match (quote, c) {
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
pub fn resolve_src(renderer: &Renderer, task: &TemplateTask, vars: &Vars) -> Option<String> {
    let src = if task.src.contains("{{") {
        renderer.render("<src>", &task.src, &vars.into()).ok()?
    } else {
        task.src.clone()
    };
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
/// inventory (the first host, in inventory order, of those plays in an environment).
pub struct Playbooks {
    pub tasks: Vec<TemplateTask>,
    pub inventory: Inventory,
    /// Per (pattern, environment): the first host; per host: its inventory definitions.
    first_hosts: Mutex<BTreeMap<(String, Env), Option<String>>>,
    host_defs: Mutex<BTreeMap<String, Shared>>,
    /// Per vars file: its definitions (`group_vars/all` is read once, not once per host).
    var_files: Mutex<BTreeMap<String, Shared>>,
    /// Per (task, environment): the template a Jinja-built `src` resolves to. It does not
    /// depend on the template asked about, and rendering it needs all the task's variables.
    sources: Mutex<BTreeMap<(usize, Env), Option<String>>>,
}

impl Playbooks {
    pub fn load(view: &View) -> Playbooks {
        // The inventory is small and read by one thread while the others index the tasks.
        let (tasks, inventory) = std::thread::scope(|scope| {
            let inventory = scope.spawn(|| Inventory::load(view));
            let tasks = template_tasks(view);
            let inventory = inventory
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (tasks, inventory)
        });
        Playbooks {
            tasks,
            inventory,
            first_hosts: Mutex::default(),
            host_defs: Mutex::default(),
            var_files: Mutex::default(),
            sources: Mutex::default(),
        }
    }

    fn first_host(&self, pattern: &str, env: Env) -> Option<String> {
        let mut cache = self.first_hosts.lock().ok()?;
        cache
            .entry((pattern.to_string(), env))
            .or_insert_with(|| self.inventory.first_host(pattern, env))
            .clone()
    }

    fn host_definitions(&self, view: &View, host: &str) -> Shared {
        let read = |file: &str, layer| -> Shared {
            let fresh = || Arc::new(read_defs(view, file, layer).unwrap_or_default());
            match self.var_files.lock() {
                Ok(mut cache) => Arc::clone(cache.entry(file.to_string()).or_insert_with(fresh)),
                Err(_) => fresh(),
            }
        };
        let Ok(mut cache) = self.host_defs.lock() else {
            return Arc::new(self.inventory.host_definitions(host, &read));
        };
        Arc::clone(
            cache
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(self.inventory.host_definitions(host, &read))),
        )
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

    /// Every task that renders `template` in `env`, with its definitions in precedence order
    /// (lowest first) and the variables they give, not yet templated (tracing needs only the
    /// definitions; templating every variable is the expensive part).
    fn renderings<'s>(
        &'s self,
        vars: &'s EnvVars,
        template: &'s str,
        env: Env,
    ) -> impl Iterator<Item = (&'s TemplateTask, Vec<Definition>, Vars)> + 's {
        let view = vars.renderer().view();
        self.tasks
            .iter()
            .enumerate()
            .filter(move |(_, task)| Self::may_render(task, template))
            .filter_map(move |(i, task)| {
                // A plain `src` resolves without variables: most tasks render something else.
                if !task.src.contains("{{")
                    && resolve_src(vars.renderer(), task, &Vars::new())? != template
                {
                    return None;
                }
                let fallback = PlayUse::default();
                let hosted = task
                    .uses
                    .iter()
                    .find_map(|u| Some((u, self.first_host(u.hosts.as_deref()?, env)?)));
                let host_defs;
                let (used, inventory_defs): (&PlayUse, &[Definition]) = match hosted {
                    Some((u, host)) => {
                        host_defs = self.host_definitions(view, &host);
                        (u, &host_defs)
                    }
                    None => (
                        task.uses.first().unwrap_or(&fallback),
                        vars.definitions(env),
                    ),
                };
                // Lowest precedence first; the definitions are copied only for the tasks that
                // render this template.
                let layers: [&[Definition]; 5] = [
                    &task.below,
                    inventory_defs,
                    &used.play,
                    &task.own,
                    &used.params,
                ];
                let merged = || {
                    let mut merged: Vars = layers
                        .iter()
                        .flat_map(|l| l.iter())
                        .map(|d| (d.name.clone(), d.value.clone()))
                        .collect();
                    merged
                        .entry("env".into())
                        .or_insert_with(|| Value::from(env.name()));
                    merged
                };
                let source = cached(&self.sources, (i, env), || {
                    resolve_src(vars.renderer(), task, &merged())
                });
                if source.as_deref() != Some(template) {
                    return None;
                }
                Some((task, layers.concat(), merged()))
            })
    }

    /// The variables `template` renders with in `env`: those of the first task (in path order)
    /// that renders it.
    pub fn vars_for(&self, vars: &EnvVars, template: &str, env: Env) -> Option<Vars> {
        self.renderings(vars, template, env)
            .next()
            .map(|(_, _, v)| template_vars(vars.renderer(), &v))
    }

    /// Where `name` gets its value when `template` is rendered in `env`: for every task that
    /// renders it, the definition that wins. Each place once.
    pub fn trace(&self, vars: &EnvVars, template: &str, name: &str, env: Env) -> Vec<Definition> {
        let mut out: Vec<Definition> = Vec::new();
        for (_, defs, _) in self.renderings(vars, template, env) {
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
        };
        (
            EnvVars::load(Arc::new(view.clone())).expect("vars"),
            Playbooks::load(&view),
        )
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
        assert_eq!(books.tasks.len(), 2);
        let got = books
            .vars_for(&vars, "roles/k/templates/flatpak.conf", Env::Production)
            .expect("found");
        assert_eq!(py_str(&got["reg"]), "c.example");
        let got = books
            .vars_for(&vars, "files/osbs/cfg-production.j2", Env::Production)
            .expect("found");
        assert_eq!(py_str(&got["auth"]), "<u>:p");
        let defs = books.trace(
            &vars,
            "roles/k/templates/flatpak.conf",
            "reg",
            Env::Production,
        );
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("roles/k/tasks/main.yml", Layer::TaskVars)
        );
        let defs = books.trace(
            &vars,
            "files/osbs/cfg-production.j2",
            "auth",
            Env::Production,
        );
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("playbooks/p.yml", Layer::SetFact)
        );
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
            .vars_for(&vars, "roles/w/templates/w.conf", Env::Staging)
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
            .vars_for(&vars, "roles/w/templates/w.conf", Env::Production)
            .expect("rendered in production");
        assert_eq!(
            (
                py_str(&prod["name"]),
                py_str(&prod["port"]),
                py_str(&prod["inventory_hostname"])
            ),
            ("default".into(), "1".into(), "web01.example".into())
        );
        let defs = books.trace(&vars, "roles/w/templates/w.conf", "mode", Env::Staging);
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("playbooks/web.yml", Layer::RoleParams)
        );
    }
}
