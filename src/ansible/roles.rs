//! Where a role is applied, found by structure (SPEC §4 `role_param`): an entry of a play's
//! `roles:` (block or flow style, `role:` or `name:`), or a task that includes or imports it
//! (`include_role`/`import_role`, FQCN or not, inside blocks too), in any playbook or task file.
//! The parameters are the entry's own keys (and its `vars:`), or the task's `vars:`.

use crate::formats::tree::{Hit, Node, Scalar};

/// One place a role is applied.
#[derive(Debug, Clone)]
pub struct RoleUse<'n> {
    /// The mappings that hold its parameters, in the order Ansible reads them (later wins).
    pub params: Vec<&'n Node>,
    /// The mapping whose `when:` decides where it runs (the entry, or the including task).
    pub entry: &'n Node,
    /// The `hosts:` of the play, when the use is in a playbook.
    pub hosts: Option<&'n Scalar>,
}

impl<'n> RoleUse<'n> {
    /// The parameter `name`, as a hit whose parent is the mapping that holds it.
    pub fn param(&self, name: &str) -> Option<Hit> {
        self.params.iter().rev().find_map(|holder| {
            let Node::Mapping { entries, .. } = holder else {
                return None;
            };
            let (key, value) = entries
                .iter()
                .find(|(k, _)| k.as_scalar().is_some_and(|s| s.value == name))?;
            Some(Hit {
                key: key.as_scalar().cloned(),
                value: value.clone(),
                parent: Some((*holder).clone()),
                when: self.entry.get("when").cloned(),
            })
        })
    }
}

const TASK_LISTS: [&str; 4] = ["tasks", "pre_tasks", "post_tasks", "handlers"];
const BLOCK_LISTS: [&str; 3] = ["block", "rescue", "always"];
const INCLUDES: [&str; 4] = [
    "include_role",
    "import_role",
    "ansible.builtin.include_role",
    "ansible.builtin.import_role",
];

/// Every use of `role` in the YAML documents of one file.
pub fn uses<'n>(docs: &'n [Node], role: &str) -> Vec<RoleUse<'n>> {
    let mut out = Vec::new();
    for doc in docs {
        let Node::Sequence { items, .. } = doc else {
            continue;
        };
        for item in items {
            match item.get("hosts").and_then(Node::as_scalar) {
                Some(hosts) => play(item, hosts, role, &mut out),
                None => task(item, None, role, 0, &mut out),
            }
        }
    }
    out
}

fn play<'n>(play: &'n Node, hosts: &'n Scalar, role: &str, out: &mut Vec<RoleUse<'n>>) {
    if let Some(Node::Sequence { items, .. }) = play.get("roles") {
        for entry in items {
            let named = entry.get("role").or_else(|| entry.get("name"));
            if named
                .and_then(Node::as_scalar)
                .is_some_and(|n| is_role(&n.value, role))
            {
                let mut params = vec![entry];
                params.extend(entry.get("vars"));
                out.push(RoleUse {
                    params,
                    entry,
                    hosts: Some(hosts),
                });
            }
        }
    }
    for list in TASK_LISTS {
        if let Some(Node::Sequence { items, .. }) = play.get(list) {
            for t in items {
                task(t, Some(hosts), role, 0, out);
            }
        }
    }
}

/// Blocks nest; a tree deeper than this is not a task list anyone writes.
const MAX_BLOCK_DEPTH: usize = 64;

fn task<'n>(
    task: &'n Node,
    hosts: Option<&'n Scalar>,
    role: &str,
    depth: usize,
    out: &mut Vec<RoleUse<'n>>,
) {
    if depth > MAX_BLOCK_DEPTH {
        return;
    }
    for list in BLOCK_LISTS {
        if let Some(Node::Sequence { items, .. }) = task.get(list) {
            for t in items {
                self::task(t, hosts, role, depth + 1, out);
            }
        }
    }
    let included = INCLUDES.iter().find_map(|k| task.get(k));
    let named = included
        .and_then(|i| i.get("name"))
        .and_then(Node::as_scalar);
    if named.is_some_and(|n| is_role(&n.value, role)) {
        out.push(RoleUse {
            params: task.get("vars").into_iter().collect(),
            entry: task,
            hosts,
        });
    }
}

/// `written` names `role`: the same name, or a path or collection name ending in it.
fn is_role(written: &str, role: &str) -> bool {
    let last = written.rsplit(['/', '.']).next().unwrap_or(written);
    written == role || last == role
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{jinja, yaml};
    use std::path::Path;

    fn docs(text: &str) -> Vec<Node> {
        yaml::parse(Path::new("t.yml"), text, &jinja::mask(text)).expect("parses")
    }

    #[test]
    fn finds_block_flow_and_included_uses() {
        let text = "\
- hosts: builders
  roles:
  - base
  - role: login
    registry: a.example.org
    when: env == 'x' and other
  - { role: login, registry: b.example.org }
  tasks:
  - block:
    - include_role:
        name: login
      vars:
        registry: c.example.org
      when: y
- import_playbook: other.yml
";
        let d = docs(text);
        let found = uses(&d, "login");
        let values: Vec<String> = found
            .iter()
            .filter_map(|u| u.param("registry"))
            .filter_map(|h| h.value.as_scalar().map(|s| s.value.clone()))
            .collect();
        assert_eq!(values, ["a.example.org", "b.example.org", "c.example.org"]);
        let whens: Vec<Option<String>> = found
            .iter()
            .map(|u| {
                u.entry
                    .get("when")
                    .and_then(Node::as_scalar)
                    .map(|s| s.value.clone())
            })
            .collect();
        assert_eq!(
            whens,
            [
                Some("env == 'x' and other".to_string()),
                None,
                Some("y".to_string())
            ]
        );
        assert!(
            found
                .iter()
                .all(|u| u.hosts.is_some_and(|h| h.value == "builders"))
        );
        assert!(
            uses(&d, "base")
                .iter()
                .all(|u| u.param("registry").is_none())
        );
    }

    #[test]
    fn a_task_file_has_no_play_hosts() {
        let d = docs("- name: x\n  import_role:\n    name: ns.col.login\n  vars: {registry: r}\n");
        let found = uses(&d, "login");
        assert_eq!(found.len(), 1);
        assert!(found[0].hosts.is_none());
    }
}
