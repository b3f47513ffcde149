//! The INI inventory under `inventory/` (every file that is not `group_vars`, `host_vars` or a
//! plugin config): groups, their hosts in file order, `:children`, play host patterns, and the
//! variables of one host (group_vars of its groups in Ansible's order, then its host_vars).

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use super::{Definition, Layer};
use crate::migration::{Env, Selector};
use crate::walk::View;

const DIR: &str = "inventory/";

#[derive(Debug, Clone, Default)]
struct Group {
    hosts: Vec<String>,
    children: Vec<String>,
}

/// Groups and hosts, in inventory order.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    groups: BTreeMap<String, Group>,
    /// Every host, in the order it first appears.
    hosts: Vec<String>,
    /// The same hosts, to ask whether one is known (an inventory has hundreds).
    known: BTreeSet<String>,
    /// Per host: its groups in Ansible's order (all, then by depth and name); computed once,
    /// because walking the group graph per host dominated `plan`.
    memberships: BTreeMap<String, Vec<String>>,
    /// Per host in one of the selector's groups: its environment (others are the default's).
    env_hosts: BTreeMap<String, Env>,
    /// The environment of hosts in no selector group.
    default_env: Option<Env>,
}

/// Whether `path` is an INI inventory file (directly under `inventory/`, no extension).
pub fn is_inventory_file(path: &str) -> bool {
    path.strip_prefix(DIR)
        .is_some_and(|rest| !rest.contains('/') && !rest.contains('.') && !rest.is_empty())
}

impl Inventory {
    /// Every host, in the order it first appears.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Reads the inventory files of the tree (none: an empty inventory); hosts belong to
    /// environments as `selector` says.
    pub fn load(view: &View, selector: &Selector) -> Inventory {
        let mut inv = Inventory::default();
        let files = view.files.iter().filter(|f| is_inventory_file(f));
        for file in files {
            if let Some(text) = view.read(file) {
                inv.read(&text);
            }
        }
        inv.index();
        inv.assign(selector);
        inv
    }

    fn index(&mut self) {
        // Each group's parents, in name order, so that depth need not scan every group.
        let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (parent, g) in &self.groups {
            for child in &g.children {
                let of_child = parents.entry(child.as_str()).or_default();
                if of_child.last() != Some(&parent.as_str()) {
                    of_child.push(parent);
                }
            }
        }
        let mut ranked: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
        for name in self.groups.keys() {
            let depth = depth(&parents, name, &mut BTreeSet::new());
            for host in self.members_of(name, &mut BTreeSet::new()) {
                ranked.entry(host).or_default().push((depth, name));
            }
        }
        let memberships = ranked
            .into_iter()
            .map(|(host, mut groups)| {
                groups.sort();
                let names = std::iter::once("all".to_string())
                    .chain(groups.into_iter().map(|(_, g)| g.to_string()))
                    .collect();
                (host.to_string(), names)
            })
            .collect();
        self.memberships = memberships;
    }

    /// Assigns hosts to environments as `selector` says (its groups; the rest to its default).
    fn assign(&mut self, selector: &Selector) {
        self.default_env = Some(selector.default);
        for (group, env) in &selector.groups {
            for host in self.members(group) {
                self.env_hosts.entry(host).or_insert(*env);
            }
        }
    }

    fn read(&mut self, text: &str) {
        let mut current: Option<(String, bool)> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let (name, kind) = header.split_once(':').unwrap_or((header, ""));
                current = match kind {
                    "" => Some((name.to_string(), false)),
                    "children" => Some((name.to_string(), true)),
                    _ => None, // `:vars` sections hold variables, not members
                };
                if let Some((name, _)) = &current {
                    self.groups.entry(name.clone()).or_default();
                }
                continue;
            }
            let Some((group, children)) = &current else {
                continue;
            };
            let member = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            let entry = self.groups.entry(group.clone()).or_default();
            if *children {
                entry.children.push(member);
            } else {
                entry.hosts.push(member.clone());
                if self.known.insert(member.clone()) {
                    self.hosts.push(member);
                }
            }
        }
    }

    /// The hosts of a group (its children's included), in inventory order.
    fn members(&self, group: &str) -> Vec<String> {
        let out = self.members_of(group, &mut BTreeSet::new());
        out.into_iter().map(str::to_string).collect()
    }

    /// [`Inventory::members`] without copying names (indexing asks for every group's).
    fn members_of<'a>(&'a self, group: &'a str, seen: &mut BTreeSet<&'a str>) -> Vec<&'a str> {
        if group == "all" {
            return self.hosts.iter().map(String::as_str).collect();
        }
        if !seen.insert(group) {
            return Vec::new();
        }
        let Some(g) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = g.hosts.iter().map(String::as_str).collect();
        let mut listed: BTreeSet<&str> = out.iter().copied().collect();
        for child in &g.children {
            for h in self.members_of(child, seen) {
                if listed.insert(h) {
                    out.push(h);
                }
            }
        }
        out
    }

    /// The hosts a play's `hosts:` pattern selects, in order (`a:b`, `!x`, `&y`, `g[0]`, globs).
    pub fn select(&self, pattern: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for term in split_pattern(pattern) {
            let (op, term) = match term.chars().next() {
                Some('!') => ('!', &term[1..]),
                Some('&') => ('&', &term[1..]),
                _ => ('+', term),
            };
            let (name, index) = match term.split_once('[') {
                Some((n, rest)) => (n, rest.strip_suffix(']')),
                None => (term, None),
            };
            let mut hosts = self.named(name);
            if let Some(index) = index {
                hosts = slice(&hosts, index);
            }
            match op {
                '!' => out.retain(|h| !hosts.contains(h)),
                '&' => out.retain(|h| hosts.contains(h)),
                _ => out.extend(
                    hosts
                        .into_iter()
                        .filter(|h| !out.contains(h))
                        .collect::<Vec<_>>(),
                ),
            }
        }
        out
    }

    /// A group, a host, or a glob over either.
    fn named(&self, name: &str) -> Vec<String> {
        if name.contains('*') {
            let mut out = Vec::new();
            for g in self.groups.keys().filter(|g| wildcard(name, g)) {
                out.extend(self.members(g));
            }
            out.extend(self.hosts.iter().filter(|h| wildcard(name, h)).cloned());
            let mut seen = BTreeSet::new();
            out.retain(|h| seen.insert(h.clone()));
            return out;
        }
        if self.groups.contains_key(name) || name == "all" {
            return self.members(name);
        }
        self.hosts.iter().filter(|h| *h == name).cloned().collect()
    }

    /// The groups a host is in, in the order Ansible applies their group_vars: `all` first, then
    /// by depth (parents before children), then by name.
    pub fn groups_of(&self, host: &str) -> Vec<String> {
        self.memberships
            .get(host)
            .cloned()
            .unwrap_or_else(|| vec!["all".to_string()])
    }

    /// The environment a host belongs to: that of the selector group it is in, or the default.
    pub fn env_of(&self, host: &str) -> Option<Env> {
        self.env_hosts.get(host).copied().or(self.default_env)
    }

    /// The first host of `pattern`, in inventory order, that belongs to `env`.
    pub fn first_host(&self, pattern: &str, env: Env) -> Option<String> {
        self.select(pattern)
            .into_iter()
            .find(|h| self.env_of(h) == Some(env))
    }

    /// The definitions a host sees from the inventory, lowest precedence first.
    /// `read` reads one vars file (a caller may share the files many hosts read).
    pub fn host_definitions(
        &self,
        host: &str,
        read: &dyn Fn(&str, Layer) -> Arc<Vec<Definition>>,
    ) -> Vec<Definition> {
        let mut defs = Vec::new();
        for group in self.groups_of(host) {
            for file in [
                format!("{DIR}group_vars/{group}"),
                format!("{DIR}group_vars/{group}.yml"),
            ] {
                defs.extend(read(&file, Layer::GroupVars).iter().cloned());
            }
        }
        for file in [
            format!("{DIR}host_vars/{host}"),
            format!("{DIR}host_vars/{host}.yml"),
        ] {
            defs.extend(read(&file, Layer::HostVars).iter().cloned());
        }
        defs.push(Definition {
            name: "inventory_hostname".into(),
            value: minijinja::Value::from(host),
            file: format!("{DIR}(inventory)"),
            span: 0..0,
            layer: Layer::HostVars,
        });
        defs
    }
}

/// How many parent groups stand above `group` (`parents`: each group's, in name order).
fn depth<'a>(
    parents: &BTreeMap<&'a str, Vec<&'a str>>,
    group: &'a str,
    seen: &mut BTreeSet<&'a str>,
) -> usize {
    if !seen.insert(group) {
        return 0;
    }
    parents
        .get(group)
        .into_iter()
        .flatten()
        .map(|parent| 1 + depth(parents, parent, seen))
        .max()
        .unwrap_or(0)
}

/// Splits a pattern on `:` and `,`, but not inside `[…]`.
fn split_pattern(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' | ',' if depth == 0 => {
                out.push(pattern[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(pattern[start..].trim());
    out.retain(|t| !t.is_empty());
    out
}

/// `[n]`, `[-1]`, `[a:b]` over a host list.
fn slice(hosts: &[String], index: &str) -> Vec<String> {
    let at = |s: &str, default: i64| -> usize {
        let n = s.trim().parse::<i64>().unwrap_or(default);
        if n < 0 {
            (hosts.len() as i64 + n).max(0) as usize
        } else {
            n as usize
        }
    };
    match index.split_once(':') {
        Some((a, b)) => {
            let (a, b) = (at(a, 0), at(b, hosts.len() as i64 - 1));
            hosts
                .iter()
                .skip(a)
                .take((b + 1).saturating_sub(a))
                .cloned()
                .collect()
        }
        None => hosts.get(at(index, 0)).cloned().into_iter().collect(),
    }
}

/// `*` matches any run of characters (inventory patterns, host globs).
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    rest.is_empty() || parts.len() > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> Inventory {
        let mut inv = Inventory::default();
        inv.read("[buildvm]\nvm01.example\nvm02.example\n[buildvm_stg]\nvm01.stg.example\n[staging]\nvm01.stg.example\n[builders:children]\nbuildvm\nbuildvm_stg\n[buildvm:vars]\nx=1\n");
        inv.index();
        inv.assign(&crate::migration::testing::selector());
        inv
    }

    #[test]
    fn patterns_select_in_inventory_order() {
        let inv = inventory();
        assert_eq!(
            inv.select("buildvm:buildvm_stg"),
            ["vm01.example", "vm02.example", "vm01.stg.example"]
        );
        assert_eq!(
            inv.select("buildvm_stg[0]:buildvm[0]"),
            ["vm01.stg.example", "vm01.example"]
        );
        assert_eq!(
            inv.select("builders:!buildvm_stg"),
            ["vm01.example", "vm02.example"]
        );
        assert_eq!(
            inv.select("build*"),
            ["vm01.example", "vm02.example", "vm01.stg.example"]
        );
        assert_eq!(
            inv.first_host("buildvm:buildvm_stg", crate::migration::testing::stg())
                .as_deref(),
            Some("vm01.stg.example")
        );
    }

    #[test]
    fn groups_in_ansible_order() {
        let inv = inventory();
        assert_eq!(
            inv.groups_of("vm01.stg.example"),
            ["all", "builders", "staging", "buildvm_stg"]
        );
    }
}
