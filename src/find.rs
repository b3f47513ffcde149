//! Finds references: whole-hostname occurrences of the migration's hosts in text (SPEC §2).
//!
//! One Aho-Corasick automaton over every host (and its regex-escaped spelling) scans a text once.
//! A match counts only at hostname boundaries, so `candidate-registry.example.org` is never a
//! reference to `registry.example.org`.

use aho_corasick::{AhoCorasick, MatchKind};

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

/// A compiled finder for a fixed set of hosts.
pub struct Finder {
    automaton: AhoCorasick,
    /// For each pattern: the host it stands for and whether it is the escaped spelling.
    patterns: Vec<(String, bool)>,
}

impl Finder {
    pub fn new(hosts: &[String]) -> Finder {
        let mut patterns = Vec::new();
        for host in hosts {
            let host = host.to_ascii_lowercase();
            patterns.push((host.replace('.', "\\."), true));
            patterns.push((host, false));
        }
        let literals: Vec<String> = patterns.iter().map(|(p, _)| p.clone()).collect();
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .expect("host literals always compile");
        let patterns = patterns
            .into_iter()
            .map(|(p, escaped)| (if escaped { p.replace("\\.", ".") } else { p }, escaped))
            .collect();
        Finder {
            automaton,
            patterns,
        }
    }

    /// Every reference in `text`, in order, none overlapping.
    ///
    /// Overlapping search finds `registry.x` inside `candidate-registry.x`; the boundary check
    /// drops it, and of two matches at one start the longer one wins.
    pub fn find(&self, text: &str) -> Vec<Reference> {
        let bytes = text.as_bytes();
        let mut found: Vec<Reference> = self
            .automaton
            .find_overlapping_iter(text)
            .filter(|m| at_boundary(bytes, m.start(), m.end()))
            .map(|m| {
                let (host, escaped) = &self.patterns[m.pattern().as_usize()];
                Reference {
                    start: m.start(),
                    end: m.end(),
                    host: host.clone(),
                    escaped: *escaped,
                }
            })
            .collect();
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
    fn case_insensitive_and_ordered() {
        let refs = finder().find("Registry.FedoraProject.org candidate-registry.fedoraproject.org");
        assert_eq!(refs.len(), 2);
        assert!(refs[0].start < refs[1].start);
    }
}
