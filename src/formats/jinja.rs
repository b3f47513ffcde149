//! Jinja inside target files: masking it so a format scanner can read the rest, and knowing
//! which environments each stretch of a template renders in.
//!
//! Masking keeps every byte offset: `{{ … }}` becomes `x…x` (a scalar to any scanner) and
//! `{% … %}` / `{# … #}` become spaces; newlines stay, so lines and columns stay too. Scanners run
//! on the masked text and report spans that index the original text unchanged.
//! `{% raw %}` bodies are literal text and are not masked.

use std::ops::Range;

use crate::migration::{Env, Selector};

/// A set of environments (which branches of `{% if env == … %}` a stretch of text lies in,
/// which environments a value serves). `ALL` is every environment: intersecting with it changes
/// nothing, and it lists the environments named in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Envs(u64);

impl Envs {
    pub const ALL: Envs = Envs(u64::MAX);
    pub const NONE: Envs = Envs(0);

    pub fn only(env: Env) -> Envs {
        Envs(env.bit())
    }

    /// The set holding `envs`.
    pub fn of(envs: impl IntoIterator<Item = Env>) -> Envs {
        Envs(envs.into_iter().fold(0, |acc, e| acc | e.bit()))
    }

    pub fn contains(self, env: Env) -> bool {
        self.0 & env.bit() != 0
    }

    pub fn intersect(self, other: Envs) -> Envs {
        Envs(self.0 & other.0)
    }

    pub fn union(self, other: Envs) -> Envs {
        Envs(self.0 | other.0)
    }

    pub fn minus(self, other: Envs) -> Envs {
        Envs(self.0 & !other.0)
    }

    /// The environments in the set, by name (only named ones: `ALL` has every bit).
    pub fn iter(self) -> impl Iterator<Item = Env> {
        let mut out: Vec<Env> = (0..64u8)
            .filter(|i| self.0 & (1u64 << i) != 0 && Env::is_named(*i))
            .map(Env::from_index)
            .collect();
        out.sort();
        out.into_iter()
    }
}

impl Ord for Envs {
    /// Environment by environment, in name order (a set holding the first is greater).
    fn cmp(&self, other: &Envs) -> std::cmp::Ordering {
        let both = Envs(self.0 | other.0);
        both.iter()
            .map(|e| self.contains(e).cmp(&other.contains(e)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

impl PartialOrd for Envs {
    fn partial_cmp(&self, other: &Envs) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The kind of a `{% … %}` tag, as far as environment branches are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKind {
    /// `if`, with the environments its condition selects (`None`: not an `env` test).
    If(Option<Envs>),
    Elif(Option<Envs>),
    Else,
    Endif,
    Raw,
    EndRaw,
    Other,
}

/// A Jinja tag or expression in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub span: Range<usize>,
    pub kind: TagKind,
}

/// One branch of an `if` block: its body and the environments that render it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// The tag that opens the branch (`if`, `elif` or `else`).
    pub tag: Range<usize>,
    pub body: Range<usize>,
    pub envs: Envs,
    /// The condition tests `env` (or is the `else` of such tests only).
    pub env_test: bool,
}

/// An `{% if %} … {% endif %}` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfBlock {
    pub branches: Vec<Branch>,
    pub endif: Range<usize>,
}

/// A template's Jinja structure.
#[derive(Debug, Clone, Default)]
pub struct Structure {
    pub masked: String,
    pub blocks: Vec<IfBlock>,
    /// The declared environments: what text outside any environment branch serves.
    pub all: Envs,
}

impl Structure {
    /// Parses `text`, reading `{% if %}` conditions on the selector's variable as environments;
    /// unbalanced `if`/`endif` leave the affected text counted as all environments.
    pub fn of(text: &str, selector: &Selector) -> Structure {
        let (masked, tags) = scan(text, &|cond| env_condition(cond, selector));
        let all = Envs::of(selector.envs());
        Structure {
            masked,
            blocks: if_blocks(&tags, all),
            all,
        }
    }

    /// Environments that render the byte at `offset`.
    pub fn envs_at(&self, offset: usize) -> Envs {
        self.blocks
            .iter()
            .flat_map(|b| &b.branches)
            .filter(|br| br.body.contains(&offset))
            .fold(self.all, |acc, br| acc.intersect(br.envs))
    }

    /// The innermost branch holding `offset`.
    pub fn branch_at(&self, offset: usize) -> Option<(&IfBlock, &Branch)> {
        self.blocks
            .iter()
            .flat_map(|b| b.branches.iter().map(move |br| (b, br)))
            .filter(|(_, br)| br.body.contains(&offset))
            .min_by_key(|(_, br)| br.body.len())
    }
}

/// Masks Jinja in `text`, keeping every offset. See the module doc.
pub fn mask(text: &str) -> String {
    scan(text, &|_| None).0
}

fn scan(text: &str, condition: &dyn Fn(&str) -> Option<Envs>) -> (String, Vec<Tag>) {
    let bytes = text.as_bytes();
    let mut masked = bytes.to_vec();
    let mut tags = Vec::new();
    let mut i = 0;
    let mut in_raw = false;
    while let Some(rel) = text[i..].find('{') {
        let start = i + rel;
        let close = match bytes.get(start + 1) {
            Some(b'{') if !in_raw => "}}",
            Some(b'%') => "%}",
            Some(b'#') if !in_raw => "#}",
            _ => {
                i = start + 1;
                continue;
            }
        };
        let Some(end_rel) = text[start + 2..].find(close) else {
            break;
        };
        let end = start + 2 + end_rel + 2;
        if close == "%}" {
            let kind = tag_kind(&text[start + 2..end - 2], condition);
            if in_raw && kind != TagKind::EndRaw {
                i = start + 1;
                continue;
            }
            in_raw = kind == TagKind::Raw;
            tags.push(Tag {
                span: start..end,
                kind,
            });
        }
        let fill = if close == "}}" { b'x' } else { b' ' };
        // Indentation after a newline inside a tag stays blank, so a multi-line expression in a
        // block scalar keeps the scalar's indentation.
        let mut line_start = false;
        for b in &mut masked[start..end] {
            match *b {
                b'\n' | b'\r' => line_start = true,
                b' ' | b'\t' if line_start => *b = b' ',
                _ => {
                    line_start = false;
                    *b = fill;
                }
            }
        }
        i = end;
    }
    // Only ASCII bytes replaced whole UTF-8 sequences inside tags, so the result is valid UTF-8.
    let masked = String::from_utf8(masked)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (masked, tags)
}

fn tag_kind(inner: &str, condition: &dyn Fn(&str) -> Option<Envs>) -> TagKind {
    let inner = inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
    let (word, rest) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
    match word {
        "if" => TagKind::If(condition(rest)),
        "elif" => TagKind::Elif(condition(rest)),
        "else" => TagKind::Else,
        "endif" => TagKind::Endif,
        "raw" => TagKind::Raw,
        "endraw" => TagKind::EndRaw,
        _ => TagKind::Other,
    }
}

/// Reads `VAR == 'x'`, `VAR != "x"` on the selector's variable (and nothing more complex) as an
/// environment set: the environment named `x` (none when no environment is called so).
pub fn env_condition(cond: &str, selector: &Selector) -> Option<Envs> {
    let var = selector.variable.as_deref()?;
    let rest = cond.trim().strip_prefix(var)?;
    if rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let rest = rest.trim_start();
    let (negate, rest) = if let Some(r) = rest.strip_prefix("==") {
        (false, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (true, r)
    } else {
        return None;
    };
    let lit = rest.trim();
    let name = lit
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| lit.strip_prefix('"').and_then(|s| s.strip_suffix('"')))?;
    let all = Envs::of(selector.envs());
    let set = Envs::of(
        selector
            .envs()
            .into_iter()
            .filter(|e| selector.value_of(*e) == name),
    );
    Some(if negate { all.minus(set) } else { set })
}

/// Pairs `if`/`elif`/`else`/`endif` tags into blocks. Unbalanced tags are ignored.
/// `all`: the declared environments (what an `else` after environment tests leaves).
fn if_blocks(tags: &[Tag], all: Envs) -> Vec<IfBlock> {
    struct Open {
        branches: Vec<Branch>,
        taken: Envs,
        all_env_tests: bool,
    }
    fn close_branch(open: &mut Open, end: usize) {
        if let Some(last) = open.branches.last_mut() {
            last.body.end = end;
        }
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut blocks = Vec::new();
    for tag in tags {
        match &tag.kind {
            TagKind::If(cond) => stack.push(Open {
                branches: vec![branch(tag, *cond, Envs::NONE)],
                taken: cond.unwrap_or(Envs::NONE),
                all_env_tests: cond.is_some(),
            }),
            TagKind::Elif(_) | TagKind::Else => {
                let Some(open) = stack.last_mut() else {
                    continue;
                };
                close_branch(open, tag.span.start);
                let cond = match &tag.kind {
                    TagKind::Elif(c) => *c,
                    _ if open.all_env_tests => Some(all),
                    _ => None,
                };
                let b = branch(tag, cond.filter(|_| open.all_env_tests), open.taken);
                open.all_env_tests &= cond.is_some();
                open.taken = open.taken.union(cond.unwrap_or(Envs::NONE));
                open.branches.push(b);
            }
            TagKind::Endif => {
                let Some(mut open) = stack.pop() else {
                    continue;
                };
                close_branch(&mut open, tag.span.start);
                blocks.push(IfBlock {
                    branches: open.branches,
                    endif: tag.span.clone(),
                });
            }
            _ => {}
        }
    }
    blocks.sort_by_key(|b| b.branches.first().map(|br| br.tag.start));
    blocks
}

fn branch(tag: &Tag, cond: Option<Envs>, taken: Envs) -> Branch {
    let envs = cond.map_or(Envs::ALL, |c| c.minus(taken));
    Branch {
        tag: tag.span.clone(),
        body: tag.span.end..tag.span.end,
        envs,
        env_test: cond.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_length_and_lines() {
        let text = "a: {{ x }}\n{% if env == 'staging' %}\nb: \"{{y}}\"\n{# c\nd #}\n";
        let masked = mask(text);
        assert_eq!(masked.len(), text.len());
        assert_eq!(
            masked,
            "a: xxxxxxx\n                         \nb: \"xxxxx\"\n    \n    \n"
        );
    }

    #[test]
    fn multi_line_expressions_keep_indentation() {
        assert_eq!(
            mask("a: >\n  {{ x |\n\n     f }}\n"),
            "a: >\n  xxxxxx\n\n     xxxx\n"
        );
    }

    #[test]
    fn raw_bodies_stay_literal() {
        let text = "{% raw %}{{ keep }}{% endraw %}";
        assert_eq!(
            mask(text),
            format!("{}{{{{ keep }}}}{}", " ".repeat(9), " ".repeat(12))
        );
    }

    /// The embedded migration's two environments.
    fn both() -> Envs {
        Envs::of([
            crate::migration::testing::prod(),
            crate::migration::testing::stg(),
        ])
    }

    #[test]
    fn env_branches() {
        let text = "x\n{% if env == 'staging' %}\nS\n{% else %}\nP\n{% endif %}\nB\n";
        let s = Structure::of(text, &crate::migration::testing::selector());
        let at = |needle: &str| s.envs_at(text.find(needle).expect("present"));
        assert_eq!(at("S"), Envs::only(crate::migration::testing::stg()));
        assert_eq!(at("P"), Envs::only(crate::migration::testing::prod()));
        assert_eq!(at("B"), both());
        assert_eq!(at("x"), both());
    }

    #[test]
    fn non_env_conditions_cover_both_environments() {
        let text = "{% if foo %}\nA\n{% else %}\nB\n{% endif %}\n{% if env != \"production\" %}C{% endif %}";
        let s = Structure::of(text, &crate::migration::testing::selector());
        assert_eq!(s.envs_at(text.find('A').expect("A")), both());
        assert_eq!(s.envs_at(text.find('B').expect("B")), both());
        assert_eq!(
            s.envs_at(text.find('C').expect("C")),
            Envs::only(crate::migration::testing::stg())
        );
    }

    proptest::proptest! {
        /// Masking keeps the length and every newline; it changes bytes only inside `{…}` pairs.
        #[test]
        fn masking_keeps_offsets(text in r"([{}%#x a\n\r]|é|\{\{|\}\}|\{%|%\}){0,40}") {
            let masked = mask(&text);
            proptest::prop_assert_eq!(masked.len(), text.len());
            for (i, (a, b)) in text.bytes().zip(masked.bytes()).enumerate() {
                if a == b'\n' || b == b'\n' {
                    proptest::prop_assert_eq!(a, b, "newline moved at {}", i);
                }
                if a != b {
                    let open = text.as_bytes()[..=i].iter().rposition(|&c| c == b'{');
                    proptest::prop_assert!(open.is_some(), "byte {} changed outside any tag", i);
                }
            }
        }
    }

    #[test]
    fn unclosed_tags_are_left_alone() {
        assert_eq!(mask("a {{ b"), "a {{ b");
        assert_eq!(mask("${#arr[@]}"), "${#arr[@]}");
    }
}
