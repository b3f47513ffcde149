//! `unread` (SPEC §4): a definition that nothing able to see it reads. A group variable defined
//! in `group_vars/G` is read by a file that names it (outside a key of its own) only if that file
//! can see G's value: a template, task or playbook might run on any host, so it reads it; another
//! `group_vars/H` or `host_vars/h` file is evaluated only for its own hosts, so it reads it only
//! when those hosts and G's share one. A definition shadowed on every host it applies to (a
//! deeper group, or the host, defines the variable too: Ansible's precedence) is seen by no one.
//! Computed from the tree and the inventory, once per run.

use std::collections::{BTreeMap, BTreeSet};

use crate::ansible::inventory::Inventory;
use crate::walk::View;

/// Which files name each variable asked about, other than as a key.
#[derive(Debug, Default)]
pub struct Readers {
    by_name: BTreeMap<String, Vec<String>>,
    /// The vars files that define each variable at their top level.
    definers: BTreeMap<String, Vec<String>>,
}

/// What one file says of the variables asked about: (name, file, reads it, defines it).
pub type Seen = (String, String, bool, bool);

/// What `text` (the file `rel`) says of `names`; nothing for a file that names none.
pub fn look(rel: &str, text: &str, names: &BTreeSet<String>) -> Vec<Seen> {
    names
        .iter()
        .filter(|n| text.contains(n.as_str()))
        .map(|n| (n.clone(), rel.to_string(), reads(text, n), defines(text, n)))
        .collect()
}

/// The variables the `unread` rules of `rules` ask about.
pub fn names(rules: &crate::rules::RuleSet) -> BTreeSet<String> {
    rules
        .rules
        .iter()
        .filter_map(|r| r.where_.as_ref().filter(|w| w.unread)?.key.as_ref())
        .flat_map(|k| k.names.iter().cloned())
        .collect()
}

impl Readers {
    /// Scans every file of `view` for `names` (in parallel; a file that does not name one is
    /// not looked at further). `audit` instead looks while it scans ([`Readers::from_seen`]).
    pub fn scan(view: &View, names: &BTreeSet<String>) -> Readers {
        let found = crate::parallel::map(&view.files, |rel| {
            view.read(rel)
                .map_or_else(Vec::new, |text| look(rel, &text, names))
        });
        Readers::from_seen(found.into_iter().flatten())
    }

    /// The readers and definers among what files said.
    pub fn from_seen(seen: impl IntoIterator<Item = Seen>) -> Readers {
        let mut out = Readers::default();
        for (name, file, read, defined) in seen {
            if read {
                out.by_name
                    .entry(name.clone())
                    .or_default()
                    .push(file.clone());
            }
            if defined {
                out.definers.entry(name).or_default().push(file);
            }
        }
        out
    }

    /// The hosts `file`'s definition of `name` reaches: those it applies to where no file of
    /// higher precedence defines it too; `None` when `file` is not an inventory vars file.
    fn effective_hosts(
        &self,
        file: &str,
        name: &str,
        inventory: &Inventory,
    ) -> Option<BTreeSet<String>> {
        let hosts = vars_file_hosts(file, inventory)?;
        let definers = self.definers.get(name).map_or(&[][..], Vec::as_slice);
        Some(
            hosts
                .into_iter()
                .filter(|h| winner(definers, h, inventory) == Some(file))
                .collect(),
        )
    }

    /// The files that read `name` but cannot see its definition in `file` (evidence for
    /// `unread`).
    pub fn blind_to(&self, file: &str, name: &str, inventory: &Inventory) -> Vec<&str> {
        let seeing = self.seen_by(file, name, inventory);
        self.by_name
            .get(name)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(String::as_str)
            .filter(|r| !seeing.contains(r))
            .collect()
    }

    /// The files that read `name` and can see its definition in `file` (see the module doc);
    /// empty when the definition is unread. A definition outside the inventory's vars files
    /// is seen by every reader.
    pub fn seen_by(&self, file: &str, name: &str, inventory: &Inventory) -> Vec<&str> {
        let defined_for = self.effective_hosts(file, name, inventory);
        if defined_for.as_ref().is_some_and(BTreeSet::is_empty) {
            return Vec::new(); // shadowed everywhere it applies
        }
        let readers = self.by_name.get(name).map_or(&[][..], Vec::as_slice);
        readers
            .iter()
            .filter(
                |reader| match (&defined_for, vars_file_hosts(reader, inventory)) {
                    (Some(def), Some(read)) => read.iter().any(|h| def.contains(h)),
                    _ => true,
                },
            )
            .map(String::as_str)
            .collect()
    }
}

/// The vars file whose definition of a variable `host` sees, among `definers`: the last in
/// Ansible's order (group_vars of `all`, then by depth and name; then host_vars).
fn winner<'d>(definers: &'d [String], host: &str, inventory: &Inventory) -> Option<&'d str> {
    let of_group = |group: &str| {
        definers
            .iter()
            .rev()
            .find(|d| group_of(d) == Some(("group_vars", group)))
    };
    let host_file = definers
        .iter()
        .rev()
        .find(|d| group_of(d) == Some(("host_vars", host)));
    host_file
        .or_else(|| {
            inventory
                .groups_of(host)
                .iter()
                .rev()
                .find_map(|g| of_group(g))
        })
        .map(String::as_str)
}

/// `…/group_vars/G[/…]` → ("group_vars", G); the same for host_vars.
fn group_of(file: &str) -> Option<(&str, &str)> {
    let mut parts = file.split('/');
    while let Some(kind) = parts.next() {
        if kind == "group_vars" || kind == "host_vars" {
            let name = parts.next()?;
            let name = name
                .strip_suffix(".yml")
                .or_else(|| name.strip_suffix(".yaml"))
                .unwrap_or(name);
            return Some((kind, name));
        }
    }
    None
}

/// Whether `text` defines `name` at its top level (`name:` at the start of a line).
fn defines(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        line.strip_prefix(name)
            .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(':'))
    })
}

/// Whether `text` names `name` as a variable: a whole identifier (not after `.`, which makes it
/// an attribute or a dotted key), not written as a key (`name:`).
fn reads(text: &str, name: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(name).any(|(at, _)| {
        let end = at + name.len();
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let whole = !before.is_some_and(|b| word(b) || b == b'.') && !after.is_some_and(word);
        let rest = text[end..].trim_start_matches([' ', '\t']);
        let is_key =
            rest.starts_with(':') && rest[1..].chars().next().is_none_or(|c| c.is_whitespace());
        whole && !is_key
    })
}

/// The hosts a vars file applies to: `…group_vars/G[/…]` → G's hosts, `…host_vars/h[/…]` → h;
/// `None` for any other file.
fn vars_file_hosts(file: &str, inventory: &Inventory) -> Option<BTreeSet<String>> {
    Some(match group_of(file)? {
        ("group_vars", group) => inventory.select(group).into_iter().collect(),
        (_, host) => BTreeSet::from([host.to_string()]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_a_whole_identifier_outside_a_key() {
        assert!(reads("url: \"{{ source_registry }}\"\n", "source_registry"));
        assert!(reads("when: source_registry is defined", "source_registry"));
        assert!(!reads("source_registry: x\n", "source_registry"));
        assert!(!reads(
            "  source_registry:\n    url: y\n",
            "source_registry"
        ));
        assert!(!reads("container.source_registry = a\n", "source_registry"));
        assert!(!reads("my_source_registry_x: 1", "source_registry"));
    }
}
