//! What a rule's `where` (SPEC §4) selects in one parsed file: the places it works on, found by
//! meaning. Planning and proving both ask here, so they agree on the places.

use crate::ansible::inventory::{Inventory, wildcard};
use crate::ansible::roles::{self, RoleUse};
use crate::formats::tree::{Hit, Node};
use crate::rules::{Hosts, Where};

/// What deciding a place needs beyond the file: the inventory (which hosts a play runs on) and
/// the migration's related hosts.
pub struct Places<'a> {
    pub inventory: &'a Inventory,
    pub related: &'a [String],
}

impl Places<'_> {
    /// The uses of the predicate's role that it admits (`runs_on`, `not`).
    pub fn role_uses<'n>(&self, docs: &'n [Node], w: &Where) -> Vec<RoleUse<'n>> {
        let Some(rp) = &w.role_param else {
            return Vec::new();
        };
        roles::uses(docs, &rp.role)
            .into_iter()
            .filter(|u| self.admits(u, w))
            .collect()
    }

    /// The role parameter the predicate names, at every use it admits.
    pub fn hits(&self, docs: &[Node], w: &Where) -> Vec<Hit> {
        let Some(rp) = &w.role_param else {
            return Vec::new();
        };
        self.role_uses(docs, w)
            .iter()
            .filter_map(|u| u.param(&rp.param))
            .collect()
    }

    /// Whether `u` satisfies the predicate's conditions on a place (`runs_on`, `not`).
    fn admits(&self, u: &RoleUse<'_>, w: &Where) -> bool {
        w.runs_on.as_ref().is_none_or(|h| self.runs_on(u, h))
            && w.not.as_deref().is_none_or(|n| !self.admits(u, n))
    }

    /// Whether the play applying `u` runs only on `hosts` (never for a task file, whose play
    /// is not known here, nor for a pattern that selects no host).
    fn runs_on(&self, u: &RoleUse<'_>, hosts: &Hosts) -> bool {
        let Some(pattern) = u.hosts else {
            return false;
        };
        let selected = self.inventory.select(&pattern.value);
        let matches = |host: &String| {
            let host = host.to_ascii_lowercase();
            match hosts {
                Hosts::Related => self.related.iter().any(|g| wildcard(g, &host)),
                Hosts::Glob(g) => wildcard(g, &host),
            }
        };
        !selected.is_empty() && selected.iter().all(matches)
    }
}

/// Deeper than this, a document is not a Kubernetes object anyone writes.
const MAX_DEPTH: usize = 64;

/// Image references by structure (SPEC §4 `image`): the value of every `image:` entry, and the
/// `name` of every mapping whose `kind` is `DockerImage` (ImageStream tags, BuildConfig
/// `from`), at any depth.
pub fn image_fields(docs: &[Node]) -> Vec<Hit> {
    let mut out = Vec::new();
    for doc in docs {
        images_in(doc, 0, &mut out);
    }
    out
}

fn images_in(node: &Node, depth: usize, out: &mut Vec<Hit>) {
    if depth > MAX_DEPTH {
        return;
    }
    match node {
        Node::Mapping { entries, .. } => {
            let docker_image = node
                .get("kind")
                .and_then(Node::as_scalar)
                .is_some_and(|k| k.value == "DockerImage");
            for (k, v) in entries {
                let key = k.as_scalar().map(|s| s.value.as_str());
                let is_image = key == Some("image") || (docker_image && key == Some("name"));
                if is_image && v.as_scalar().is_some() {
                    out.push(Hit {
                        key: k.as_scalar().cloned(),
                        value: v.clone(),
                        parent: Some(node.clone()),
                        when: None,
                    });
                }
                images_in(v, depth + 1, out);
            }
        }
        Node::Sequence { items, .. } => {
            for item in items {
                images_in(item, depth + 1, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{jinja, yaml};
    use std::path::Path;

    #[test]
    fn image_fields_by_structure() {
        let text = "spec:\n  containers:\n  - image: a.example.org/x:1\n    name: not-an-image\n  tags:\n  - from:\n      kind: DockerImage\n      name: b.example.org/y:2\n  - from:\n      kind: ImageStreamTag\n      name: z:3\n";
        let docs = yaml::parse(Path::new("t.yml"), text, &jinja::mask(text)).expect("parses");
        let values: Vec<String> = image_fields(&docs)
            .iter()
            .filter_map(|h| h.value.as_scalar().map(|s| s.value.clone()))
            .collect();
        assert_eq!(values, ["a.example.org/x:1", "b.example.org/y:2"]);
    }
}
