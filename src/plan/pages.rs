//! Step 3 (SPEC §7.3): the web pages of the site serving a registry's old name (a registry
//! browser's `/`, `/index.html`, `/repo/…`) are redirected to the new registry's page, per
//! environment — through the role that redirects a site's pages (Fedora: `httpd/redirectmatch`),
//! never by editing the server configuration by hand (Fedora's own first attempts went into
//! the wrong vhost and lacked the pattern's leading `/`).
//!
//! The uses of the role whose site parameter names the registry's `from` host and whose
//! pattern matches one of the rule's sample pages are the site's page redirect. Each gets the
//! new target for the selected environments (the others keep theirs: a split on the selector
//! when they differ). A site without one gets a new use, beside the last use of the role in
//! the playbook holding most of them, applied only where the redirect's switch is on.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use super::{Edit, Note, Plan, Planner};
use crate::ansible::roles;
use crate::error::{Error, Result};
use crate::formats::jinja::Envs;
use crate::formats::tree::{Node, Style};
use crate::formats::yaml;
use crate::migration::Env;
use crate::rules::{Pages, Rule};
use crate::template::{Scope, Template};
use crate::walk::Tree;

/// A use of the role in one file: the file's text, the entry's span, its target scalar.
struct Use {
    file: String,
    text: String,
    entry: Range<usize>,
    site: Option<String>,
    pattern: Option<String>,
    target: Option<(Range<usize>, String, Style)>,
}

impl Planner<'_> {
    /// Plans a `pages` rule.
    pub(super) fn pages(
        &self,
        tree: &Tree,
        rule: &Rule,
        p: &Pages,
        to: &Template,
        out: &mut Plan,
    ) -> Result<()> {
        let hosts = self.migration.from_hosts_of(&p.registry);
        let uses = self.role_uses(p)?;
        let redirects: Vec<&Use> = uses
            .iter()
            .filter(|u| {
                u.site
                    .as_ref()
                    .is_some_and(|s| hosts.contains(&s.to_ascii_lowercase()))
            })
            .filter(|u| {
                u.pattern.as_deref().is_some_and(|pat| {
                    regex::Regex::new(pat).is_ok_and(|re| p.sample.iter().any(|s| re.is_match(s)))
                })
            })
            .collect();
        let desired = |env: Env| {
            to.render(&Scope {
                migration: self.migration,
                env,
                registry: None,
            })
            .unwrap_or_default()
        };
        let mut edits = Vec::new();
        for u in &redirects {
            edits.extend(self.retarget(u, rule, &desired, &mut out.notes));
        }
        if redirects.is_empty() {
            match self.added(&uses, &hosts, p, rule, &desired)? {
                Some(e) => edits.push(e),
                None => out.notes.push(Note::new(
                    ".",
                    format!(
                        "rule `{}`: no use of role `{}` to add the site's beside",
                        rule.id, p.role
                    ),
                )),
            }
        }
        out.found.insert(rule.id.clone());
        self.write_edits(tree, edits, out)
    }

    /// Every use of the role in the tree's YAML files.
    fn role_uses(&self, p: &Pages) -> Result<Vec<Use>> {
        let view = self.vars.renderer().view();
        let files: Vec<&String> = view
            .files
            .iter()
            .filter(|f| crate::formats::is_yaml_file(f))
            .collect();
        let found = crate::parallel::map(&files, |file| {
            let text = view.read(file)?;
            if !text.contains(p.role.as_str()) {
                return None;
            }
            let docs = yaml::parse_masked(file, &text).ok()?;
            let scalar = |u: &roles::RoleUse<'_>, name: &str| {
                u.param(name).and_then(|h| h.value.as_scalar().cloned())
            };
            let uses: Vec<Use> = roles::uses(&docs, &p.role)
                .iter()
                .map(|u| Use {
                    file: (*file).clone(),
                    text: text.clone(),
                    entry: u.entry.span(),
                    site: scalar(u, &p.site).map(|s| s.value),
                    pattern: scalar(u, &p.pattern).map(|s| s.value),
                    target: scalar(u, &p.target).map(|s| (s.span, s.value, s.style)),
                })
                .collect();
            Some(uses)
        });
        Ok(found.into_iter().flatten().flatten().collect())
    }

    /// The value written for the environments: the desired one where selected, the current
    /// one (`current`, rendered) elsewhere; one value, or a split on the selector.
    fn written(
        &self,
        current: Option<&str>,
        desired: &dyn Fn(Env) -> String,
        selected: Envs,
    ) -> Option<String> {
        let values: BTreeMap<Env, String> = self
            .vars
            .envs()
            .into_iter()
            .map(|env| {
                let value = match (selected.contains(env), current) {
                    (false, Some(now)) => self.vars.render_loose(now, env).unwrap_or_default(),
                    _ => desired(env),
                };
                (env, value)
            })
            .collect();
        let distinct: std::collections::BTreeSet<&String> = values.values().collect();
        match distinct.len() {
            0 => None,
            1 => distinct.into_iter().next().cloned(),
            _ => self
                .vars
                .selector()
                .split()
                .map(|pair| super::tree_rules::split(&values, pair)),
        }
    }

    /// A new target for an existing page redirect (nothing when it already has it).
    fn retarget(
        &self,
        u: &Use,
        rule: &Rule,
        desired: &dyn Fn(Env) -> String,
        notes: &mut Vec<Note>,
    ) -> Option<Edit> {
        let Some((span, now, style)) = &u.target else {
            notes.push(Note::new(
                &u.file,
                format!("rule `{}`: the page redirect has no target", rule.id),
            ));
            return None;
        };
        let Some(value) = self.written(Some(now), desired, self.selection.envs) else {
            notes.push(Note::new(
                &u.file,
                format!(
                    "rule `{}`: the environments differ and the selector cannot tell them apart",
                    rule.id
                ),
            ));
            return None;
        };
        let unchanged = self
            .vars
            .envs()
            .into_iter()
            .all(|env| self.vars.render_loose(now, env) == self.vars.render_loose(&value, env));
        if unchanged {
            return None;
        }
        let style = if value.contains("{{") {
            Style::Double
        } else {
            *style
        };
        Some(Edit {
            path: u.file.clone(),
            range: span.clone(),
            old: u.text[span.clone()].to_string(),
            new: yaml::encode(&value, style, false),
            rule: rule.id.clone(),
            envs: self.selection.envs,
            context: None,
            secret: false,
            target: Some(span.clone()),
        })
    }

    /// A new use of the role for the site, behind the switch, after the last use in the file
    /// holding most of them.
    fn added(
        &self,
        uses: &[Use],
        hosts: &[String],
        p: &Pages,
        rule: &Rule,
        desired: &dyn Fn(Env) -> String,
    ) -> Result<Option<Edit>> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for u in uses {
            *counts.entry(&u.file).or_default() += 1;
        }
        let Some((file, _)) = counts
            .iter()
            .max_by_key(|(f, n)| (**n, std::cmp::Reverse(**f)))
        else {
            return Ok(None);
        };
        let Some(last) = uses
            .iter()
            .filter(|u| u.file == *file)
            .max_by_key(|u| u.entry.end)
        else {
            return Ok(None);
        };
        let text = &last.text;
        let line_start = text[..last.entry.start].rfind('\n').map_or(0, |i| i + 1);
        let lead = &text[line_start..last.entry.start];
        let Some(dash) = lead.trim_end().strip_suffix('-') else {
            return Ok(None); // not a list item written in block style
        };
        if !dash.chars().all(|c| c == ' ') {
            return Ok(None);
        }
        let key = " ".repeat(last.entry.start - line_start);
        let at = text[last.entry.end..]
            .find('\n')
            .map_or(text.len(), |i| last.entry.end + i + 1);
        let site = self
            .migration
            .envs
            .get(&self.vars.selector().default)
            .and_then(|e| e.registries.get(&p.registry))
            .map(|r| r.from.clone())
            .or_else(|| hosts.first().cloned())
            .unwrap_or_default();
        // Applied only where the switch is on: every environment gets its own target.
        let Some(value) = self.written(None, desired, Envs::ALL) else {
            return Ok(None);
        };
        let field = |name: &str, v: &str| {
            format!("{key}{name}: {}\n", yaml::encode(v, Style::Plain, false))
        };
        let mut new = format!("\n{dash}- role: {}\n", p.role);
        for (k, v) in &p.add {
            new.push_str(&field(k, v));
        }
        new.push_str(&field(&p.site, &site));
        new.push_str(&field(&p.pattern, &p.pages));
        new.push_str(&field(&p.target, &value));
        new.push_str(&field("when", &format!("{} | default(false)", p.switch)));
        let lead = if at == text.len() && !text.ends_with('\n') {
            "\n"
        } else {
            ""
        };
        let mut after = text.clone();
        after.insert_str(at, &format!("{lead}{new}"));
        let docs = yaml::parse_masked(&last.file, &after)?;
        let count = |docs: &[Node]| roles::uses(docs, &p.role).len();
        let before = yaml::parse_masked(&last.file, text)?;
        if count(&docs) != count(&before) + 1 {
            return Err(Error::at(
                Path::new(&last.file),
                text,
                at,
                format!(
                    "rule `{}`: a new use of `{}` here does not read back as one",
                    rule.id, p.role
                ),
            ));
        }
        Ok(Some(Edit {
            path: last.file.clone(),
            range: at..at,
            old: String::new(),
            new: format!("{lead}{new}"),
            rule: rule.id.clone(),
            envs: self.selection.envs,
            context: None,
            secret: false,
            target: None,
        }))
    }
}
