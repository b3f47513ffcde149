//! Where templates are rendered from: every `template` task in the tree (also written as
//! `local_action: template …` or `ansible.builtin.template`), with the variables Ansible gives it.
//!
//! Precedence, lowest first (Ansible's order, the levels this version reads): role defaults,
//! group_vars (`all`, then `staging`), play `vars`, play `vars_files` that resolve into the tree,
//! role vars, task `vars`, `set_fact` of the same play. Host vars, inventory order, role params
//! and `include_vars` are not read yet.

use std::path::Path;

use minijinja::Value;

use super::render::{Renderer, Vars, template_vars};
use super::{Definition, Layer, definitions, merge, read_defs};
use crate::formats::tree::Node;
use crate::formats::{jinja, yaml};
use crate::walk::View;

const TEMPLATE_MODULES: &[&str] = &["template", "ansible.builtin.template"];

/// A task that renders a template, with the definitions it adds around group_vars.
#[derive(Debug, Clone)]
pub struct TemplateTask {
    /// The file holding the task.
    pub file: String,
    /// `src` as written (may hold Jinja).
    pub src: String,
    /// The role the task belongs to, if any.
    pub role: Option<String>,
    /// Definitions below group_vars (role defaults), lowest precedence first.
    pub below: Vec<Definition>,
    /// Definitions above group_vars, lowest precedence first.
    pub above: Vec<Definition>,
}

/// Every template task of the tree (YAML files under `roles/*/tasks/`, `playbooks/`, `tasks/`).
pub fn template_tasks(view: &View) -> Vec<TemplateTask> {
    let mut out = Vec::new();
    for file in view.files.iter().filter(|f| is_task_file(f)) {
        let Some(text) = view.read(file) else {
            continue;
        };
        if !text.contains("template") {
            continue;
        }
        let masked = jinja::mask(&text);
        let Ok(docs) = yaml::parse(Path::new(file), &text, &masked) else {
            continue;
        };
        let role = role_of(file);
        for doc in &docs {
            let plays: Vec<&Node> = match doc {
                Node::Sequence { items, .. } => items.iter().collect(),
                other => vec![other],
            };
            for play in plays {
                collect_play(view, file, role.as_deref(), play, &mut out);
            }
        }
    }
    out
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
    view: &View,
    file: &str,
    role: Option<&str>,
    play: &Node,
    out: &mut Vec<TemplateTask>,
) {
    let mut play_defs = Vec::new();
    if let Some(Node::Mapping { entries, .. }) = play.get("vars") {
        play_defs.extend(definitions(file, entries, Layer::PlayVars));
    }
    if let Some(Node::Sequence { items, .. }) = play.get("vars_files") {
        for item in items.iter().filter_map(Node::as_scalar) {
            if let Some(rel) = resolve_in_tree(view, &item.value) {
                play_defs.extend(read_defs(view, &rel, Layer::VarsFiles).unwrap_or_default());
            }
        }
    }
    let mut facts = Vec::new();
    visit(play, &mut |node| {
        if let Some(Node::Mapping { entries, .. }) = node.get("set_fact") {
            facts.extend(definitions(file, entries, Layer::SetFact));
        }
    });
    let (defaults, role_vars) = match role {
        Some(r) => (
            read_defs(
                view,
                &format!("roles/{r}/defaults/main.yml"),
                Layer::RoleDefaults,
            )
            .unwrap_or_default(),
            read_defs(view, &format!("roles/{r}/vars/main.yml"), Layer::RoleVars)
                .unwrap_or_default(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    visit(play, &mut |node| {
        let Some(src) = template_src(node) else {
            return;
        };
        let mut above = play_defs.clone();
        above.extend(role_vars.iter().cloned());
        if let Some(Node::Mapping { entries, .. }) = node.get("vars") {
            above.extend(definitions(file, entries, Layer::TaskVars));
        }
        above.extend(facts.iter().cloned());
        out.push(TemplateTask {
            file: file.to_string(),
            src,
            role: role.map(str::to_string),
            below: defaults.clone(),
            above,
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
        renderer.render("<src>", &task.src, vars).ok()?
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

/// The variables of one task's rendering: its definitions around the group's.
fn task_vars(renderer: &Renderer, task: &TemplateTask, group: &Vars) -> Vars {
    let mut vars = merge(&task.below);
    vars.extend(group.clone());
    vars.extend(merge(&task.above));
    template_vars(renderer, &vars)
}

/// The tasks that render `template` with these group variables.
fn rendering<'t>(
    renderer: &'t Renderer,
    tasks: &'t [TemplateTask],
    template: &'t str,
    group: &'t Vars,
) -> impl Iterator<Item = (&'t TemplateTask, Vars)> + 't {
    tasks.iter().filter_map(move |task| {
        let vars = task_vars(renderer, task, group);
        (resolve_src(renderer, task, &vars)? == template).then_some((task, vars))
    })
}

/// The variables a template renders with in one environment: the first task (in path order)
/// that renders it, merged over `group`.
pub fn vars_for(
    renderer: &Renderer,
    tasks: &[TemplateTask],
    template: &str,
    group: &Vars,
) -> Option<Vars> {
    rendering(renderer, tasks, template, group)
        .next()
        .map(|(_, vars)| vars)
}

/// Where `name` gets its value when `template` is rendered: for every task that renders it, the
/// definition that wins (set_fact, task vars, role vars, vars_files, play vars, group_vars, role
/// defaults). Each place once.
pub fn trace(
    renderer: &Renderer,
    tasks: &[TemplateTask],
    template: &str,
    name: &str,
    group: &Vars,
    group_defs: &[Definition],
) -> Vec<Definition> {
    let mut out: Vec<Definition> = Vec::new();
    for (task, _) in rendering(renderer, tasks, template, group) {
        let winner = task
            .above
            .iter()
            .rev()
            .chain(group_defs.iter().rev())
            .chain(task.below.iter().rev())
            .find(|d| d.name == name);
        if let Some(d) = winner
            && !out.iter().any(|o| o.file == d.file && o.span == d.span)
        {
            out.push(d.clone());
        }
    }
    out
}

/// Values are compared as text where a rule promises them.
pub fn text_of(value: &Value) -> String {
    super::value::py_str(value)
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn task_vars_and_set_facts_reach_their_template() {
        let files = [
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
        ];
        let overlay = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let view = View {
            root: "/nonexistent".into(),
            files: files.iter().map(|(k, _)| k.to_string()).collect(),
            overlay,
        };
        let renderer = Renderer::new(Arc::new(view.clone()));
        let tasks = template_tasks(&view);
        assert_eq!(tasks.len(), 2);
        let group = crate::ansible::read_vars(&view, "inventory/group_vars/all").expect("vars");
        let vars =
            vars_for(&renderer, &tasks, "roles/k/templates/flatpak.conf", &group).expect("found");
        assert_eq!(text_of(&vars["reg"]), "c.example");
        let vars =
            vars_for(&renderer, &tasks, "files/osbs/cfg-production.j2", &group).expect("found");
        assert_eq!(text_of(&vars["auth"]), "<u>:p");
        let defs = trace(
            &renderer,
            &tasks,
            "roles/k/templates/flatpak.conf",
            "reg",
            &group,
            &[],
        );
        assert_eq!(defs.len(), 1);
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("roles/k/tasks/main.yml", Layer::TaskVars)
        );
        let defs = trace(
            &renderer,
            &tasks,
            "files/osbs/cfg-production.j2",
            "auth",
            &group,
            &[],
        );
        assert_eq!(
            (defs[0].file.as_str(), defs[0].layer),
            ("playbooks/p.yml", Layer::SetFact)
        );
    }
}
