//! Inferred rewrites (`unclaimed: rewrite`, SPEC §3, issue 13.2): every literal reference no
//! rule claims is rewritten in place by the context its syntax shows (SPEC §2), in any file —
//! YAML/JSON/INI/TOML values, values mixing the literal with Jinja (only the literal's bytes
//! change; the Jinja stays verbatim), comments, scripts, Markdown:
//!
//! - `scheme://HOST/v2…` is an API URL (host only); `scheme://HOST/x` a URL (`to` whole);
//! - `HOST/x` an image reference (`to` whole: the namespace is prefixed);
//! - a bare `HOST` is a host, or an image prefix when it is the value of a variable the tree
//!   uses as `{{ VAR }}/…` (a registry prefix);
//! - identifiers stay: a path segment (`certs.d/HOST`, `/etc/…/HOST`), a vhost name
//!   (`ServerName`, `<VirtualHost …>`, `server_name`), a mail address, a regex-escaped spelling
//!   (a pattern: what it matches is a human's decision).
//!
//! References a classification rule claims (`keep`, `redirect`, …) are never rewritten, nor
//! Jinja-built ones (no literal to splice: they stay `unclassified`).

use std::collections::BTreeSet;
use std::ops::Range;

use super::{Claim, Edit, Planner, Site, Source};
use crate::rules::{Context, Rule};

impl Planner<'_> {
    /// The inferred edits of one file: its literal references that neither `taken` (the rules'
    /// edits) nor `claims` cover and no classification rule claims; an identifier among them is
    /// claimed `keep` (pushed to `claims`).
    pub(super) fn infer(
        &self,
        src: &Source<'_>,
        rule: &Rule,
        taken: &[Edit],
        claims: &mut Vec<Claim>,
        prefixes: &BTreeSet<String>,
    ) -> Vec<Edit> {
        let covered = |r: &Range<usize>, claims: &[Claim]| {
            taken
                .iter()
                .filter(|e| e.path == src.path)
                .any(|e| e.range.start < r.end && r.start < e.range.end)
                || claims
                    .iter()
                    .filter(|c| c.path == src.path)
                    .any(|c| c.range.start <= r.start && r.end <= c.range.end)
        };
        let mut out = Vec::new();
        let mut kept = Vec::new();
        for r in self.finder.find_literal(src.text) {
            let Some(mapped) = self.migration.by_host(&r.host) else {
                continue;
            };
            if r.escaped
                || covered(&(r.start..r.end), claims)
                || !self.selection.envs.contains(mapped.env)
            {
                continue;
            }
            let line = line_of(src.text, r.start);
            if crate::audit::classify_line(self.rules, src.path, line, &r.host).is_some() {
                continue;
            }
            let Some(context) = context_at(src.text, r.start, r.end, prefixes) else {
                kept.push(Claim {
                    path: src.path.to_string(),
                    range: r.start..r.end,
                    rule: rule.id.clone(),
                    class: crate::rules::Class::Keep,
                });
                continue;
            };
            let to = &mapped.registry.to;
            let port = super::tree_rules::port_len(&src.text[r.end..]);
            let end = if to.host.contains(':') {
                r.end + port
            } else {
                r.end
            };
            let Some(new) = super::tree_rules::target(to, context) else {
                continue;
            };
            let site = Site {
                src,
                rule,
                envs: src.jinja.envs_at(r.start).intersect(self.selection.envs),
            };
            let mut edit = site.edit(r.start..end, new, Some(context));
            edit.target = scalar_at(src, r.start);
            out.push(edit);
        }
        claims.extend(kept);
        out
    }
}

/// The line holding `at`.
fn line_of(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    &text[start..end]
}

/// What the syntax around `text[start..end]` (a host) says it is; `None` for an identifier,
/// which stays.
pub fn context_at(
    text: &str,
    start: usize,
    end: usize,
    prefixes: &BTreeSet<String>,
) -> Option<Context> {
    let before = &text[..start];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let head = &text[line_start..start];
    let lower = head.trim_start().to_ascii_lowercase();
    let vhost = ["servername", "serveralias", "<virtualhost", "server_name"]
        .iter()
        .any(|d| lower.starts_with(d));
    if vhost || head.ends_with('@') {
        return None;
    }
    let after = &text[end..];
    let port = super::tree_rules::port_len(after);
    let rest = &after[port..];
    if head.ends_with("://") {
        let api = rest
            .strip_prefix("/v2")
            .is_some_and(|r| r.is_empty() || !r.starts_with(|c: char| c.is_ascii_alphanumeric()));
        return Some(if api { Context::ApiUrl } else { Context::Url });
    }
    // A path segment (`certs.d/HOST`, `/etc/x/HOST/ca.crt`): a name, not an address.
    if head.ends_with('/') {
        return None;
    }
    if rest.starts_with('/') {
        return Some(Context::ImagePrefix);
    }
    // A bare host: a registry prefix when its variable is used as `{{ VAR }}/…`.
    let key = variable_of(head);
    Some(match key {
        Some(k) if prefixes.contains(k) => Context::ImagePrefix,
        _ => Context::Host,
    })
}

/// The variable a line defines before the value at its end (`key: `, `- key: "`, `KEY=`).
fn variable_of(head: &str) -> Option<&str> {
    let h = head.trim_end_matches(['"', '\'', ' ']);
    let h = h.strip_suffix(':').or_else(|| h.strip_suffix('='))?;
    let h = h.trim_end();
    let start = h
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let name = &h[start..];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// The variables the tree uses as a registry prefix: `{{ VAR }}/…` where an image reference
/// starts (after a space, a quote, `=`, `:` …), never inside a path.
pub fn prefix_variables<'t>(texts: impl Iterator<Item = &'t str>) -> BTreeSet<String> {
    static USE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        // Where an image reference starts (a value, a word): not inside a path
        // (`/etc/{{ site_name }}/x.conf` uses a name, not a registry).
        regex::Regex::new(
            r#"(?m)(?:^|[\s"'=:(\[,])\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}/[A-Za-z0-9]"#,
        )
        .ok()
    });
    let Some(re) = USE.as_ref() else {
        return BTreeSet::new();
    };
    texts
        .flat_map(|t| {
            re.captures_iter(t)
                .filter_map(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
        .collect()
}

/// The span of the scalar holding `at` in a data file (a template named for its data too), for
/// the exactness check; `None` in other files and outside any scalar (a comment).
fn scalar_at(src: &Source<'_>, at: usize) -> Option<Range<usize>> {
    let format = crate::formats::data_format(src.path.trim_end_matches(".j2"))?;
    let docs = crate::formats::parse_data(format, src.path, src.text, &src.jinja.masked)?;
    let doc = docs.iter().find(|d| d.span().contains(&at))?;
    let (_, span) = doc.keys_to(at);
    (span.start <= at && at < span.end.max(span.start + 1)).then_some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(line: &str, host: &str) -> Option<Context> {
        let start = line.find(host).expect("host");
        let prefixes: BTreeSet<String> = ["thing_image_repo".to_string()].into();
        context_at(line, start, start + host.len(), &prefixes)
    }

    #[test]
    fn context_follows_syntax() {
        let h = "old.example.org";
        assert_eq!(
            ctx("image: old.example.org/x/y:{{ tag }}", h),
            Some(Context::ImagePrefix)
        );
        assert_eq!(ctx("url: https://old.example.org/x", h), Some(Context::Url));
        assert_eq!(
            ctx("api: https://old.example.org/v2", h),
            Some(Context::ApiUrl)
        );
        assert_eq!(
            ctx("api: \"https://old.example.org:5000/v2/\"", h),
            Some(Context::ApiUrl)
        );
        assert_eq!(ctx("login: old.example.org", h), Some(Context::Host));
        assert_eq!(
            ctx("thing_image_repo: \"old.example.org\"", h),
            Some(Context::ImagePrefix)
        );
        assert_eq!(
            ctx("# pulls from old.example.org/x", h),
            Some(Context::ImagePrefix)
        );
        assert_eq!(
            ctx("podman pull old.example.org/x:1", h),
            Some(Context::ImagePrefix)
        );
        assert_eq!(
            ctx("dest: /etc/containers/certs.d/old.example.org/ca.crt", h),
            None
        );
        assert_eq!(ctx("  ServerName old.example.org", h), None);
        assert_eq!(ctx("<VirtualHost old.example.org:443>", h), None);
        assert_eq!(ctx("mail: admin@old.example.org", h), None);
    }

    #[test]
    fn prefix_variables_are_read_from_their_uses() {
        let found = prefix_variables(
            ["image: {{ a_image_repo }}/x", "b: {{b}}", "{{- c -}}/y"].into_iter(),
        );
        assert_eq!(found, ["a_image_repo".to_string(), "c".to_string()].into());
    }
}
