//! Finds references: whole-hostname occurrences of the migration's hosts in text (SPEC §2).
//!
//! One Aho-Corasick automaton over every host (and its regex-escaped spelling) scans a text once.
//! A match counts only at hostname boundaries, so `candidate-registry.example.org` is never a
//! reference to `registry.example.org`.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::migration::Env;

/// One occurrence of a host in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Byte range of the occurrence (the escaped spelling included).
    pub start: usize,
    pub end: usize,
    /// The host as the migration names it (lower case, unescaped).
    pub host: String,
    /// Written with regex escapes (`registry\.example\.org`).
    pub escaped: bool,
}

/// What a pattern of the automaton stands for.
enum Pattern {
    /// A host, in its plain or its regex-escaped spelling.
    Host { host: String, escaped: bool },
    /// The literal head of the glob with this index.
    GlobHead(usize),
}

/// A compiled finder for a fixed set of hosts.
pub struct Finder {
    /// Whether a text holds any of the automaton's literals at all: a regex over them (SIMD
    /// literal search) is ten times faster than the overlapping automaton pass it saves on the
    /// many texts that hold none.
    any: Option<regex::Regex>,
    automaton: AhoCorasick,
    /// For each pattern: what it finds.
    patterns: Vec<Pattern>,
    /// Whole-hostname globs (`oci-registry*.example.org`), searched where the automaton found
    /// their literal head.
    globs: Vec<regex::Regex>,
    /// Every host, lower case (globs with their `*`).
    hosts: Vec<String>,
}

impl Finder {
    /// A finder for `hosts`; a host holding `*` is a glob over hostname characters.
    pub fn new(hosts: &[String]) -> Finder {
        let all = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        let (globbed, hosts): (Vec<&String>, Vec<&String>) =
            hosts.iter().partition(|h| h.contains('*'));
        let mut literals = Vec::new();
        let mut patterns = Vec::new();
        for host in hosts {
            let host = host.to_ascii_lowercase();
            literals.push(host.replace('.', "\\."));
            patterns.push(Pattern::Host {
                host: host.clone(),
                escaped: true,
            });
            literals.push(host.clone());
            patterns.push(Pattern::Host {
                host,
                escaped: false,
            });
        }
        // A glob is searched only where its head occurs: one more pattern of the same pass.
        let mut globs = Vec::new();
        for glob in globbed {
            let head = glob.split('*').next().unwrap_or_default();
            if let Some(re) = glob_regex(glob).filter(|_| !head.is_empty()) {
                literals.push(head.to_ascii_lowercase());
                patterns.push(Pattern::GlobHead(globs.len()));
                globs.push(re);
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .expect("host literals always compile");
        let any: Vec<String> = literals.iter().map(|l| regex::escape(l)).collect();
        // ASCII case folding, as the automaton's (Unicode folding would match `ſ` for `s` and
        // costs a millisecond to compile).
        let any = regex::RegexBuilder::new(&any.join("|"))
            .case_insensitive(true)
            .unicode(false)
            .build()
            .ok();
        Finder {
            any,
            automaton,
            patterns,
            globs,
            hosts: all,
        }
    }

    /// Every reference in `text`, in order, none overlapping.
    ///
    /// Overlapping search finds `registry.x` inside `candidate-registry.x`; the boundary check
    /// drops it, and of two matches at one start the longer one wins.
    pub fn find(&self, text: &str) -> Vec<Reference> {
        if self.any.as_ref().is_some_and(|any| !any.is_match(text)) {
            return Vec::new();
        }
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let mut heads = vec![false; self.globs.len()];
        for m in self.automaton.find_overlapping_iter(text) {
            match &self.patterns[m.pattern().as_usize()] {
                Pattern::GlobHead(g) => heads[*g] = true,
                Pattern::Host { host, escaped } if at_boundary(bytes, m.start(), m.end()) => {
                    found.push(Reference {
                        start: m.start(),
                        end: m.end(),
                        host: host.clone(),
                        escaped: *escaped,
                    });
                }
                Pattern::Host { .. } => {}
            }
        }
        let hit = self.globs.iter().zip(heads).filter(|(_, hit)| *hit);
        for (re, _) in hit {
            found.extend(
                re.find_iter(text)
                    .filter(|m| at_boundary(bytes, m.start(), m.end()))
                    .map(|m| Reference {
                        start: m.start(),
                        end: m.end(),
                        host: m.as_str().replace("\\.", ".").to_ascii_lowercase(),
                        escaped: m.as_str().contains('\\'),
                    }),
            );
        }
        found.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut kept: Vec<Reference> = Vec::with_capacity(found.len());
        for r in found {
            if kept.last().is_none_or(|last| r.start >= last.end) {
                kept.push(r);
            }
        }
        kept
    }

    /// The references written as plain hostnames (not regex-escaped): the ones an edit may
    /// replace with another hostname.
    pub fn find_literal(&self, text: &str) -> Vec<Reference> {
        self.find(text).into_iter().filter(|r| !r.escaped).collect()
    }
}

/// A hostname built by Jinja (`registry{{ suffix }}.example.org`): where it is written, and
/// the host of the migration it renders to in each environment that makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub start: usize,
    pub end: usize,
    pub hosts: BTreeMap<Env, String>,
}

/// The domain suffixes of `hosts` (all but the first label): a line that builds one of them with
/// Jinja still spells its suffix out, so only lines holding `{{` and a suffix are rendered
/// (SPEC §8).
pub fn suffixes(hosts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = hosts
        .iter()
        .filter_map(|h| h.split_once('.').map(|(_, rest)| format!(".{rest}")))
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Finder {
    /// Jinja-built references in `text`: candidate hostnames on prefiltered lines, rendered per
    /// environment by `render` (which returns `None` when it cannot know the value).
    pub fn find_built(
        &self,
        text: &str,
        suffixes: &[String],
        envs: &[Env],
        render: impl Fn(&str, Env) -> Option<String>,
    ) -> Vec<Built> {
        let mut out = Vec::new();
        for (start, line) in lines_holding(text, "{{") {
            if !suffixes.iter().any(|s| line.contains(s.as_str())) {
                continue;
            }
            for range in candidates(line) {
                let token = &line[range.clone()];
                if !token.contains("{{")
                    || !suffixes.iter().any(|s| token.contains(s.as_str()))
                    || !self.could_build(token)
                {
                    continue;
                }
                let hosts: BTreeMap<Env, String> = envs
                    .iter()
                    .copied()
                    .filter_map(|env| {
                        let rendered = render(token, env)?;
                        let found = self.find_literal(&rendered);
                        (found.len() == 1 && found[0].start == 0 && found[0].end == rendered.len())
                            .then(|| (env, found[0].host.clone()))
                    })
                    .collect();
                if !hosts.is_empty() {
                    out.push(Built {
                        start: start + range.start,
                        end: start + range.end,
                        hosts,
                    });
                }
            }
        }
        out
    }

    /// Whether `token` (hostname characters and `{{ … }}`) could render to one of the hosts,
    /// before rendering it: its literal pieces, in order and with anything between them (what
    /// the expressions render to), must be able to spell the host. For a glob host only the
    /// first and last pieces are compared, since both sides stretch in the middle.
    fn could_build(&self, token: &str) -> bool {
        let token = token.to_ascii_lowercase();
        let mut pieces = vec![token.split("{{").next().unwrap_or_default()];
        pieces.extend(
            token
                .split("{{")
                .skip(1)
                .map(|part| part.split_once("}}").map_or("", |(_, rest)| rest)),
        );
        let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
        let compatible = |a: &str, b: &str| a.starts_with(b) || b.starts_with(a);
        let compatible_end = |a: &str, b: &str| a.ends_with(b) || b.ends_with(a);
        self.hosts.iter().any(|host| match host.split_once('*') {
            Some((head, _)) => {
                let tail = host.rsplit('*').next().unwrap_or_default();
                compatible(first, head) && compatible_end(last, tail)
            }
            None => spells(&pieces, host),
        })
    }
}

/// The lines of `text` holding `needle`, each once, with their offsets (line breaks included):
/// one substring search over the text instead of one per line, since most lines hold none.
pub fn lines_holding<'t>(text: &'t str, needle: &str) -> impl Iterator<Item = (usize, &'t str)> {
    let mut next_line = 0;
    text.match_indices(needle).filter_map(move |(at, _)| {
        if at < next_line {
            return None;
        }
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        next_line = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        Some((start, &text[start..next_line]))
    })
}

/// Whether `host` starts with the first piece, ends with the last and holds the ones between in
/// order, none overlapping (the pieces of a pattern `a*b*c`).
fn spells(pieces: &[&str], host: &str) -> bool {
    let [first, middle @ .., last] = pieces else {
        return pieces.first().is_some_and(|p| *p == host);
    };
    if host.len() < first.len() + last.len() || !host.starts_with(first) || !host.ends_with(last) {
        return false;
    }
    let mut rest = &host[first.len()..host.len() - last.len()];
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Maximal runs of hostname characters and `{{ … }}` expressions on a line.
fn candidates(line: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut run: Option<usize> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'{' && bytes.get(i + 1) == Some(&b'{') {
            match line[i..].find("}}") {
                Some(close) => {
                    run.get_or_insert(i);
                    i += close + 2;
                    continue;
                }
                None => break,
            }
        }
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
            run.get_or_insert(i);
        } else if let Some(s) = run.take() {
            out.push(s..i);
        }
        i += 1;
    }
    if let Some(s) = run {
        out.push(s..i.min(bytes.len()));
    }
    out
}

/// A whole-hostname glob as a regex: `*` is any run of hostname characters, a dot may be escaped.
fn glob_regex(glob: &str) -> Option<regex::Regex> {
    let body: Vec<String> = glob
        .to_ascii_lowercase()
        .split('*')
        .map(|part| regex::escape(part).replace("\\.", r"\\?\."))
        .collect();
    regex::RegexBuilder::new(&body.join(r"[a-z0-9.-]*"))
        .case_insensitive(true)
        .unicode(false)
        .build()
        .ok()
}

/// A hostname boundary: not preceded by a letter, digit, `.` or `-` (nor an escaped dot `\.`),
/// not followed by a letter, digit or `-`.
fn at_boundary(bytes: &[u8], start: usize, end: usize) -> bool {
    let before_ok = start == 0 || {
        let b = bytes[start - 1];
        let escaped_dot = b == b'\\' && start >= 2 && bytes[start - 2] == b'.';
        !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || escaped_dot)
    };
    let after_ok = bytes
        .get(end)
        .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'-'));
    before_ok && after_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finder() -> Finder {
        Finder::new(&[
            "registry.fedoraproject.org".to_string(),
            "candidate-registry.fedoraproject.org".to_string(),
        ])
    }

    #[test]
    fn only_tokens_that_could_spell_a_host_are_rendered() {
        let f = Finder::new(&[
            "registry.fedoraproject.org".to_string(),
            "oci-registry*.fedoraproject.org".to_string(),
        ]);
        assert!(f.could_build("{{ name }}.fedoraproject.org"));
        assert!(f.could_build("Registry{{ env_suffix }}.fedoraproject.org"));
        assert!(f.could_build("reg{{ a }}stry{{ b }}.fedoraproject.org"));
        assert!(!f.could_build("koji{{ env_suffix }}.fedoraproject.org"));
        assert!(!f.could_build("registry{{ env_suffix }}.example.org"));
        // The middle piece must fit between the first and the last, not overlap them.
        assert!(!f.could_build("registry.{{ a }}registry.fedoraproject.org"));
        // A glob host: its head and tail against the token's first and last pieces.
        assert!(f.could_build("oci-registry{{ n }}.fedoraproject.org"));
        assert!(f.could_build("oci-{{ n }}.fedoraproject.org"));
        assert!(!f.could_build("oci-cache{{ n }}.fedoraproject.org"));
    }

    fn hosts(text: &str) -> Vec<String> {
        finder().find(text).into_iter().map(|r| r.host).collect()
    }

    #[test]
    fn whole_hostnames_only() {
        assert_eq!(
            hosts("x candidate-registry.fedoraproject.org y"),
            ["candidate-registry.fedoraproject.org"]
        );
        assert!(hosts("cdn.registry.fedoraproject.org").is_empty());
        assert!(hosts("distribution.registry.fedoraproject.org").is_empty());
        assert!(hosts("registry.fedoraproject.org-x").is_empty());
        assert!(hosts("registry-no-cdn.fedoraproject.org").is_empty());
        assert_eq!(
            hosts("https://registry.fedoraproject.org/v2"),
            ["registry.fedoraproject.org"]
        );
        assert_eq!(
            hosts("registry.fedoraproject.org:5000"),
            ["registry.fedoraproject.org"]
        );
        assert_eq!(
            hosts("certs.d/registry.fedoraproject.org"),
            ["registry.fedoraproject.org"]
        );
    }

    #[test]
    fn escaped_spelling_is_a_reference() {
        let refs = finder().find(r"^registry\.fedoraproject\.org$");
        assert_eq!(refs.len(), 1);
        assert!(refs[0].escaped);
        assert_eq!(refs[0].host, "registry.fedoraproject.org");
        assert!(
            finder()
                .find(r"cdn\.registry\.fedoraproject\.org")
                .is_empty()
        );
    }

    #[test]
    fn jinja_built_hosts_render_per_environment() {
        let finder = Finder::new(&[
            "registry.example.org".into(),
            "registry.stg.example.org".into(),
        ]);
        let text = "a: https://registry{{ env_suffix }}.example.org/x\nb: odcs{{ env_suffix }}.example.org\nc: {{ x }}\n";
        let render = |t: &str, env: Env| {
            Some(t.replace(
                "{{ env_suffix }}",
                if env == crate::migration::testing::stg() {
                    ".stg"
                } else {
                    ""
                },
            ))
        };
        let envs = [
            crate::migration::testing::prod(),
            crate::migration::testing::stg(),
        ];
        let built = finder.find_built(
            text,
            &suffixes(&["registry.example.org".into()]),
            &envs,
            render,
        );
        assert_eq!(built.len(), 1);
        assert_eq!(
            &text[built[0].start..built[0].end],
            "registry{{ env_suffix }}.example.org"
        );
        assert_eq!(
            built[0].hosts[&crate::migration::testing::stg()],
            "registry.stg.example.org"
        );
        assert_eq!(
            built[0].hosts[&crate::migration::testing::prod()],
            "registry.example.org"
        );
    }

    #[test]
    fn globs_match_whole_hostnames() {
        let finder = Finder::new(&[
            "oci-registry*.example.org".into(),
            "cdn.registry.example.org".into(),
        ]);
        let hosts: Vec<String> = finder
            .find("a oci-registry01.stg.example.org b oci-registry01 c cdn.registry.example.org")
            .into_iter()
            .map(|r| r.host)
            .collect();
        assert_eq!(
            hosts,
            ["oci-registry01.stg.example.org", "cdn.registry.example.org"]
        );
        assert!(finder.find("xoci-registry01.example.org").is_empty());
    }

    #[test]
    fn case_insensitive_and_ordered() {
        let refs = finder().find("Registry.FedoraProject.org candidate-registry.fedoraproject.org");
        assert_eq!(refs.len(), 2);
        assert!(refs[0].start < refs[1].start);
    }
}
