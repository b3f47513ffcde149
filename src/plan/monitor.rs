//! Step 3 (SPEC §7.3): the monitoring checks a redirect would break are pointed at what the
//! site still answers, behind the redirect's switch — Fedora's own redirect broke its monitoring
//! (context/steps-3-4.md §1.3).
//!
//! A check is a `check_command NAME!ARG1!ARG2…` line in any template (Nagios object syntax). It
//! breaks when its site is the registry's `from` host and its path is one the redirect answers
//! differently: an API path other than the `/v2/` ping (redirected, or 404/405), or a page the
//! rule names. The line becomes
//!
//! ```text
//! {% if SWITCH | default(false) %}
//! <the line, the path and expected text those the site still answers>
//! {% else %}
//! <the line as it was>
//! {% endif %}
//! ```
//!
//! so that an environment whose switch is off renders byte for byte as before.

use std::ops::Range;

use super::{Edit, Note, Plan, Planner};
use crate::error::Result;
use crate::formats::jinja::Structure;
use crate::plan::redirect::API;
use crate::rules::{Monitor, Rule};
use crate::walk::Tree;

impl Planner<'_> {
    /// Plans a `monitor` rule over every template naming a check command.
    pub(super) fn monitor(
        &self,
        tree: &Tree,
        rule: &Rule,
        m: &Monitor,
        out: &mut Plan,
    ) -> Result<()> {
        let hosts = self.migration.from_hosts_of(&m.registry);
        let pages = m.pages.as_deref().and_then(|p| regex::Regex::new(p).ok());
        let paths: Vec<&String> = tree
            .files
            .iter()
            .filter(|p| crate::ansible::is_template(p))
            .collect();
        let view = self.vars.renderer().view();
        let found = crate::parallel::map(&paths, |path| {
            let text = view.read(path)?;
            if !text.contains("check_command") || !hosts.iter().any(|h| text.contains(h.as_str())) {
                return None;
            }
            let jinja = Structure::of(&text, self.vars.selector());
            let edits: Vec<Edit> = checks(&text)
                .into_iter()
                .filter(|c| breaks(c, m, &hosts, pages.as_ref()))
                .filter(|c| !gated(&jinja, &text, c.line.start, &m.switch))
                .map(|c| self.repoint(path, &text, &c, m, rule))
                .collect();
            Some(edits)
        });
        let edits: Vec<Edit> = found.into_iter().flatten().flatten().collect();
        if edits.is_empty() {
            out.notes.push(Note {
                path: ".".into(),
                message: format!("rule `{}`: no check to repoint", rule.id),
                detail: true,
            });
        }
        out.found.insert(rule.id.clone());
        self.write_edits(tree, edits, out)
    }

    /// The check behind the switch, repointed, with the line as it was otherwise.
    fn repoint(&self, path: &str, text: &str, c: &Check, m: &Monitor, rule: &Rule) -> Edit {
        let old = text[c.line.clone()].to_string();
        let args = &m.commands[&c.name];
        let mut parts = c.parts.clone();
        parts[args.path] = m.still.path.clone();
        parts[args.expect] = m.still.expect.clone();
        let value = parts.join("!");
        let line = format!("{}{value}\n", &old[..c.value.start]);
        let new = format!(
            "{{% if {} | default(false) %}}\n{line}{{% else %}}\n{old}{}{{% endif %}}\n",
            m.switch,
            if old.ends_with('\n') { "" } else { "\n" }
        );
        Edit {
            path: path.to_string(),
            range: c.line.clone(),
            old,
            new,
            rule: rule.id.clone(),
            envs: self.selection.envs,
            context: None,
            secret: false,
            target: None,
        }
    }
}

/// A `check_command` line: its range, the value's range within the line, the command's name
/// and its `!`-separated parts (the name first).
#[derive(Debug, Clone)]
struct Check {
    line: Range<usize>,
    value: Range<usize>,
    name: String,
    parts: Vec<String>,
}

fn checks(text: &str) -> Vec<Check> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start().len();
        let Some(rest) = body[indent..].strip_prefix("check_command") else {
            continue;
        };
        let gap = rest.len() - rest.trim_start().len();
        let value_start = indent + "check_command".len() + gap;
        let value = body[value_start..].trim_end();
        if gap == 0 || value.is_empty() {
            continue;
        }
        let parts: Vec<String> = value.split('!').map(str::to_string).collect();
        out.push(Check {
            line: start..at,
            value: value_start..value_start + value.len(),
            name: parts[0].clone(),
            parts,
        });
    }
    out
}

/// Whether the redirect changes what the check asks.
fn breaks(c: &Check, m: &Monitor, hosts: &[String], pages: Option<&regex::Regex>) -> bool {
    let Some(args) = m.commands.get(&c.name) else {
        return false;
    };
    let (Some(host), Some(path), Some(_)) = (
        c.parts.get(args.host),
        c.parts.get(args.path),
        c.parts.get(args.expect),
    ) else {
        return false;
    };
    if !hosts.contains(&host.to_ascii_lowercase()) {
        return false;
    }
    let bare = path.split('?').next().unwrap_or(path);
    let ping = bare == API || bare == API.trim_end_matches('/');
    (bare.starts_with(API) && !ping) || pages.is_some_and(|p| p.is_match(bare))
}

/// Whether the line at `offset` is already inside a branch testing the switch.
fn gated(jinja: &Structure, text: &str, offset: usize, switch: &str) -> bool {
    jinja.blocks.iter().any(|b| {
        b.branches.iter().any(|br| {
            br.body.contains(&offset)
                && b.branches
                    .first()
                    .is_some_and(|first| text[first.tag.clone()].contains(switch))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_lines_are_read_with_their_arguments() {
        let text = "define service {\n  check_command         check_website_ssl!registry.example.org!/v2/_catalog?last=x!x\n}\n";
        let found = checks(text);
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert_eq!(c.name, "check_website_ssl");
        assert_eq!(
            c.parts,
            [
                "check_website_ssl",
                "registry.example.org",
                "/v2/_catalog?last=x",
                "x"
            ]
        );
        assert_eq!(
            &text[c.line.clone()][c.value.clone()],
            "check_website_ssl!registry.example.org!/v2/_catalog?last=x!x"
        );
    }
}
