//! Keeps literal secrets out of everything regshift prints (SPEC §6.5), by structure: every
//! value whose key names a secret (at any depth, in any syntax on the line: YAML block or flow,
//! JSON on one line, INI behind `{% if %}`, `--password=x`), every value nested under such a key,
//! every block scalar under one, and every Ansible vault block whole. A value that is a Jinja
//! expression (`{{ pw }}`), a boolean or empty is not a secret and stays readable.
//! Files written and patch files stay exact; only displays go through here.

use std::ops::Range;

pub const REDACTED: &str = "<redacted>";

const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token", "auth"];

/// Quoted strings inside quoted strings are scanned this deep (escaped quotes could nest more).
const MAX_QUOTE_DEPTH: usize = 4;

/// Whether a key (any spelling: quoted, dotted, with a diff sign) names a secret.
pub fn names_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// Whether a checked place (`a.b."c".auth`, `[section] key`, `param (role r)`) is, or lies
/// under, a key naming a secret.
pub fn path_names_secret(path: &str) -> bool {
    let path = path.split(" (role ").next().unwrap_or(path);
    names_secret(path)
}

/// Whether a value under `key` is a literal secret.
pub fn is_secret(key: &str, value: &str) -> bool {
    names_secret(key) && literal(value.trim().trim_matches(['"', '\'']))
}

/// Whether a value found under a secret key would show a secret: a literal, not a Jinja
/// expression, and not only placeholders for undefined variables (`<user>:<password>`, what a
/// proof renders for the vault's variables).
pub fn shows_secret(value: &str) -> bool {
    static PLACEHOLDER: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"<[A-Za-z_][A-Za-z0-9_]*>").ok());
    let value = value.trim();
    let rest = PLACEHOLDER.as_ref().map_or_else(
        || value.to_string(),
        |re| re.replace_all(value, "").into_owned(),
    );
    literal(value) && rest.chars().any(char::is_alphanumeric)
}

/// A value that would be shown as written: not empty, not a Jinja expression, not a structure
/// (its own keys are judged one by one), not a boolean or null.
fn literal(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with("{{")
        && !value.starts_with('{')
        && !value.starts_with('[')
        && !["true", "false", "yes", "no", "null", "none", "~"]
            .contains(&value.to_ascii_lowercase().as_str())
}

/// One display line (possibly a diff line with its `+`/`-`/` ` sign) with every literal secret
/// replaced. Without the lines around it, a long run of hex digits is taken for a vault block's
/// body. Prefer [`text`] or [`excerpt`] when the whole text is at hand.
pub fn line(text: &str) -> String {
    let body = text.trim_start_matches(['+', '-', ' ']).trim_end();
    if body.len() >= 32 && body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return whole(text);
    }
    apply(text, &scan(text, false).ranges)
}

/// A whole text with every literal secret replaced, line for line (the number of lines and
/// every line's ending are kept, so line numbers and diffs still match).
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut state = Block::None;
    for l in text.split_inclusive('\n') {
        out.push_str(&state.next(l));
    }
    out
}

/// Line `n` (1-based) of `text`, redacted knowing the lines before it (a vault block's short
/// last line, a block scalar under a secret key). Empty when there is no such line.
pub fn excerpt(whole_text: &str, n: usize) -> String {
    let mut state = Block::None;
    for (i, l) in whole_text.split_inclusive('\n').enumerate() {
        let shown = state.next(l);
        if i + 1 == n {
            return shown.trim_end_matches(['\n', '\r']).to_string();
        }
    }
    String::new()
}

/// What the lines before say about the next one.
enum Block {
    None,
    /// Lines indented deeper than this hold a secret's text (a block scalar, a vault).
    Hidden(usize),
    /// Lines indented deeper than this are values of a mapping under a secret key.
    Under(usize),
    /// Lines of hex digits follow a vault header.
    Vault,
}

impl Block {
    /// `l` as shown, and the state for the line after it.
    fn next(&mut self, l: &str) -> String {
        let content = l.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start().len();
        let blank = content.trim().is_empty();
        match *self {
            Block::Hidden(at) if blank || indent > at => return whole(l),
            Block::Vault if !blank && content.trim().bytes().all(|b| b.is_ascii_hexdigit()) => {
                return whole(l);
            }
            Block::Under(at) if blank || indent > at => {
                return apply(l, &scan(content, true).ranges);
            }
            _ => *self = Block::None,
        }
        let found = scan(content, false);
        *self = match found.opens {
            Some(Opens::Vault) => Block::Vault,
            Some(Opens::Block) => Block::Hidden(indent),
            Some(Opens::Mapping(column)) => Block::Under(column),
            None => Block::None,
        };
        apply(l, &found.ranges)
    }
}

/// The secrets of one line, and what a secret key at its end opens for the lines below.
#[derive(Default)]
struct Scan {
    ranges: Vec<Range<usize>>,
    opens: Option<Opens>,
}

enum Opens {
    /// `key: |`, `key: !vault |`: the indented lines below are the value.
    Block,
    /// `key:` and nothing after: a mapping or list below, every value of it secret. The
    /// key's column: what is indented deeper belongs to it (`- auth:`'s siblings do not).
    Mapping(usize),
    /// `$ANSIBLE_VAULT;…`: lines of hex digits follow.
    Vault,
}

/// Finds the literal secrets in one line. `all`: every value is secret (the line lies under a
/// secret key).
fn scan(line: &str, all: bool) -> Scan {
    let mut s = Scanner {
        line,
        out: Scan::default(),
        depth: 0,
        key_at: 0,
    };
    if let Some(at) = line.find("$ANSIBLE_VAULT") {
        s.out.ranges.push(at..line.len());
        s.out.opens = Some(Opens::Vault);
        return s.out;
    }
    s.run(0, line.len(), all);
    s.out
}

struct Scanner<'a> {
    line: &'a str,
    out: Scan,
    depth: usize,
    /// Where the key whose value is being read starts.
    key_at: usize,
}

impl Scanner<'_> {
    /// Scans `line[from..to]`. `secret`: values here lie under a secret key.
    fn run(&mut self, from: usize, to: usize, secret: bool) {
        let bytes = self.line.as_bytes();
        // Brackets opened on this line, each saying whether a secret key opened it.
        let mut brackets: Vec<bool> = Vec::new();
        let mut i = from;
        while i < to {
            let inside = brackets.last().copied().unwrap_or(secret);
            let b = bytes[i];
            if b == b'{' && matches!(bytes.get(i + 1), Some(b'{' | b'%' | b'#')) {
                i = jinja_end(self.line, i, to);
                continue;
            }
            if b == b'-' && matches!(bytes.get(i + 1), Some(b' ')) {
                i += 2; // a YAML list item's marker
                continue;
            }
            match b {
                b'{' | b'[' => {
                    brackets.push(inside);
                    i += 1;
                    continue;
                }
                b'}' | b']' => {
                    brackets.pop();
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let Some((key, after)) = self.token(i, to) else {
                i += self.line[i..].chars().next().map_or(1, char::len_utf8);
                continue;
            };
            let flow = !brackets.is_empty();
            let Some(value) = separator(self.line, after, to, key.quoted, flow) else {
                if inside {
                    // A bare value under a secret key (a list item, a flow sequence's item).
                    i = self
                        .value_at(i, to, flow, false)
                        .unwrap_or(after)
                        .max(i + 1);
                    continue;
                }
                if key.quoted {
                    self.inner(&key, secret);
                }
                i = after.max(i + 1);
                continue;
            };
            let vault = self.line[value..to]
                .get(..6)
                .is_some_and(|t| t.eq_ignore_ascii_case("!vault"));
            if inside || vault || names_secret(&self.line[key.text.clone()]) {
                // `--password=x` on a command line: the value is one word.
                let word = value == after + 1
                    && self.line.as_bytes()[after] == b'='
                    && !self.line[..i]
                        .trim_matches(['+', '-', ' ', '\t'])
                        .is_empty()
                    && !self.line[..i].trim_end().ends_with("%}");
                self.key_at = i;
                match self.value_at(value, to, flow, word) {
                    Ok(end) => i = end.max(value),
                    Err(open) => {
                        // A structure: its values are scanned as secret ones.
                        brackets.push(true);
                        i = open + 1;
                    }
                }
            } else {
                i = after.max(i + 1);
            }
        }
    }

    /// A key-like token at `i`: a quoted string or a run of name characters.
    fn token(&self, i: usize, to: usize) -> Option<(Token, usize)> {
        let bytes = self.line.as_bytes();
        match bytes[i] {
            q @ (b'"' | b'\'') => {
                let end = quoted_end(self.line, i, to, q);
                let close = if end > i + 1 && bytes.get(end - 1) == Some(&q) && end - 1 > i {
                    end - 1
                } else {
                    end
                };
                Some((
                    Token {
                        text: i + 1..close,
                        quoted: true,
                    },
                    end,
                ))
            }
            b if is_name(b) => {
                let end = (i..to).find(|&j| !is_name(bytes[j])).unwrap_or(to);
                Some((
                    Token {
                        text: i..end,
                        quoted: false,
                    },
                    end,
                ))
            }
            _ => None,
        }
    }

    /// A quoted string that is not a key: its text may hold `key=value` pairs (a command line).
    fn inner(&mut self, token: &Token, secret: bool) {
        if self.depth < MAX_QUOTE_DEPTH {
            self.depth += 1;
            self.run(token.text.start, token.text.end, secret);
            self.depth -= 1;
        }
    }

    /// The value starting at `at` (after the separator and spaces): records it when it is a
    /// literal secret and returns where it ends; `Err` with the bracket's place when a
    /// structure opens there.
    fn value_at(&mut self, at: usize, to: usize, flow: bool, word: bool) -> Result<usize, usize> {
        let bytes = self.line.as_bytes();
        let mut at = at;
        // Tags and anchors before the value (`!unsafe 'x'`, `&a x`); `!vault` is a secret.
        while at < to && matches!(bytes[at], b'!' | b'&') {
            let end = (at..to).find(|&j| bytes[j] == b' ').unwrap_or(to);
            if self.line[at..end].eq_ignore_ascii_case("!vault") {
                self.record(at..to);
                self.opens(flow, Opens::Block);
                return Ok(to);
            }
            at = skip_spaces(self.line, end, to);
        }
        let Some(&b) = bytes.get(at).filter(|_| at < to) else {
            self.opens(flow, Opens::Mapping(self.key_at));
            return Ok(at);
        };
        match b {
            b'"' | b'\'' => {
                let end = quoted_end(self.line, at, to, b);
                let close = if end > at + 1 && bytes[end - 1] == b {
                    end - 1
                } else {
                    end
                };
                self.record(at + 1..close);
                Ok(end)
            }
            b'{' if bytes.get(at + 1) == Some(&b'{') => Ok(at),
            b'{' | b'[' => Err(at),
            b'|' | b'>' => {
                self.opens(flow, Opens::Block);
                Ok(to)
            }
            b'#' if !flow => {
                self.opens(flow, Opens::Mapping(self.key_at));
                Ok(to)
            }
            b'*' => Ok(at + 1),
            _ => {
                let end = plain_end(self.line, at, to, flow, word);
                self.record(at..end);
                Ok(end)
            }
        }
    }

    /// A secret key at the end of a block line opens something for the lines below.
    fn opens(&mut self, flow: bool, what: Opens) {
        if self.depth == 0 && !flow {
            self.out.opens = Some(what);
        }
    }

    fn record(&mut self, r: Range<usize>) {
        if r.start < r.end && literal(self.line[r.clone()].trim()) {
            self.out.ranges.push(r);
        }
    }
}

struct Token {
    text: Range<usize>,
    quoted: bool,
}

fn is_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$' | b'@')
}

fn skip_spaces(line: &str, mut i: usize, to: usize) -> usize {
    let bytes = line.as_bytes();
    while i < to && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// After a token ending at `after`: where its value starts when a key separator (`:` or `=`,
/// not `==`) follows.
fn separator(line: &str, after: usize, to: usize, quoted: bool, flow: bool) -> Option<usize> {
    let bytes = line.as_bytes();
    let at = skip_spaces(line, after, to);
    let next = bytes.get(at + 1).copied().filter(|_| at + 1 < to);
    match bytes.get(at).filter(|_| at < to)? {
        b':' => {
            // YAML wants a space after a plain key's colon; `http://` is no key.
            let ok = quoted || flow || matches!(next, None | Some(b' ' | b'\t'));
            ok.then(|| skip_spaces(line, at + 1, to))
        }
        b'=' if next != Some(b'=') => Some(skip_spaces(line, at + 1, to)),
        _ => None,
    }
}

/// The end (past the closing quote) of a quoted string opening at `at`; `to` when unclosed.
fn quoted_end(line: &str, at: usize, to: usize, quote: u8) -> usize {
    let bytes = line.as_bytes();
    let mut j = at + 1;
    while j < to {
        match bytes[j] {
            b'\\' if quote == b'"' => j += 2,
            b if b == quote => {
                if quote == b'\'' && bytes.get(j + 1) == Some(&b'\'') && j + 1 < to {
                    j += 2;
                } else {
                    return j + 1;
                }
            }
            _ => j += 1,
        }
    }
    to
}

/// The end of an unquoted value: the line's, a Jinja statement's or comment's start, a YAML
/// comment, in a flow (`{…}`, `[…]`) the next `,` or bracket, for a `word` (a command line's
/// `--key=value`) the next space. Trailing spaces are left out.
fn plain_end(line: &str, at: usize, to: usize, flow: bool, word: bool) -> usize {
    let bytes = line.as_bytes();
    let mut end = to;
    for j in at..to {
        let b = bytes[j];
        let stop = (b == b'{' && matches!(bytes.get(j + 1), Some(b'%' | b'#')))
            || (word && b.is_ascii_whitespace())
            || (b == b'#' && j > at && matches!(bytes[j - 1], b' ' | b'\t'))
            || (flow && matches!(b, b',' | b'}' | b']'));
        if stop {
            end = j;
            break;
        }
    }
    while end > at && matches!(bytes[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
        end -= 1;
    }
    end
}

/// The end of the Jinja tag opening at `at` (`{{`, `{%`, `{#`); `to` when unclosed.
fn jinja_end(line: &str, at: usize, to: usize) -> usize {
    let close = match line.as_bytes()[at + 1] {
        b'{' => "}}",
        b'%' => "%}",
        _ => "#}",
    };
    line[at + 2..to]
        .find(close)
        .map_or(to, |p| at + 2 + p + close.len())
}

/// `text` with `ranges` (sorted by where the scan found them) shown as `<redacted>`.
fn apply(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in ranges {
        if r.start < last || r.end > text.len() {
            continue;
        }
        out.push_str(&text[last..r.start]);
        out.push_str(REDACTED);
        last = r.end;
    }
    out.push_str(&text[last..]);
    out
}

/// The whole line hidden, its indentation, sign and line ending kept.
fn whole(text: &str) -> String {
    let body = text.trim_end_matches(['\n', '\r']);
    let lead = body.len() - body.trim_start_matches(['+', '-', ' ', '\t']).len();
    if lead == body.len() {
        return text.to_string();
    }
    format!("{}{REDACTED}{}", &body[..lead], &text[body.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_secrets_are_hidden_jinja_is_not() {
        assert_eq!(line("  password: hunter2\n"), "  password: <redacted>\n");
        assert_eq!(line("+db_token = abc"), "+db_token = <redacted>");
        assert_eq!(line("  password: \"{{ pw }}\""), "  password: \"{{ pw }}\"");
        assert_eq!(line("host: quay.io"), "host: quay.io");
        assert_eq!(
            line("force_flatpak_token: true"),
            "force_flatpak_token: true"
        );
        assert_eq!(line("x: $ANSIBLE_VAULT;1.1;AES256"), "x: <redacted>");
        let hex = "6134353961386331653335373862613430623533393963373864353461366436";
        assert_eq!(line(&format!("+      {hex}\n")), "+      <redacted>\n");
    }

    #[test]
    fn every_secret_on_a_line_is_hidden_whatever_the_syntax() {
        assert_eq!(
            line(
                r#"{"auths":{"quay.io":{"auth":"dXNlcjpodW50ZXIy","email":""},"x":{"password":"p\"w"}}}"#
            ),
            r#"{"auths":{"quay.io":{"auth":"<redacted>","email":""},"x":{"password":"<redacted>"}}}"#
        );
        assert_eq!(
            line("creds: {user: me, password: hunter2, host: quay.io}"),
            "creds: {user: me, password: <redacted>, host: quay.io}"
        );
        assert_eq!(
            line("{% if env == 'staging' %}password = s3cret{% else %}password = pr0d{% endif %}"),
            "{% if env == 'staging' %}password = <redacted>{% else %}password = <redacted>{% endif %}"
        );
        assert_eq!(
            line("  shell: podman login --password=hunter2 quay.io"),
            "  shell: podman login --password=<redacted> quay.io"
        );
        assert_eq!(
            line("- \"--registry-token=abc\""),
            "- \"--registry-token=<redacted>\""
        );
        assert_eq!(line("api_token: 'it''s'"), "api_token: '<redacted>'");
        assert_eq!(line("url: http://quay.io/auth"), "url: http://quay.io/auth");
        assert_eq!(
            line("secrets: [a1, b2]"),
            "secrets: [<redacted>, <redacted>]"
        );
        assert_eq!(
            line("{% if password == 'x' %}"),
            "{% if password == 'x' %}",
            "a Jinja test is no value"
        );
    }

    #[test]
    fn placeholders_and_expressions_under_a_secret_key_show() {
        assert!(shows_secret("bob:hunter2"));
        assert!(!shows_secret("<quay_io_username>:<quay_io_password>"));
        assert!(!shows_secret("{{ quay_io_password }}"));
        assert!(shows_secret("<user>:hunter2"));
        assert!(!shows_secret(""));
    }

    #[test]
    fn vaults_and_blocks_are_hidden_whole() {
        let yaml = "a: 1\npw: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6134353961386331\n      3564\nb: quay.io\n";
        assert_eq!(
            text(yaml),
            "a: 1\npw: <redacted>\n      <redacted>\n      <redacted>\n      <redacted>\nb: quay.io\n"
        );
        assert_eq!(excerpt(yaml, 5), "      <redacted>");
        let plain = "x: $ANSIBLE_VAULT;1.1;AES256\n3564\nhost: quay.io\n";
        assert_eq!(text(plain), "x: <redacted>\n<redacted>\nhost: quay.io\n");
        let block = "token: |\n  abc\n\n  def\nnext: 1\n";
        assert_eq!(
            text(block),
            "token: |\n  <redacted>\n\n  <redacted>\nnext: 1\n"
        );
        let nested = "passwords:\n  quay: hunter2\n  list:\n    - s3cret\nhost: quay.io\n";
        let sibling = "- auth:\n    cfg: x\n  url: https://quay.io/v2\n";
        assert_eq!(
            text(sibling),
            "- auth:\n    cfg: <redacted>\n  url: https://quay.io/v2\n"
        );
        assert_eq!(
            text(nested),
            "passwords:\n  quay: <redacted>\n  list:\n    - <redacted>\nhost: quay.io\n"
        );
    }

    proptest::proptest! {
        /// Redaction never panics, keeps every line and line ending, is stable when applied
        /// again, and leaves a text naming no secret and holding no vault as it is.
        #[test]
        fn redaction_keeps_lines_and_plain_text(t in "[a-z:=\"'{}%#|>!\\[\\], \n-]{0,120}") {
            let shown = text(&t);
            proptest::prop_assert_eq!(shown.matches('\n').count(), t.matches('\n').count());
            proptest::prop_assert_eq!(text(&shown), shown.clone());
            let _ = line(&t);
            let _ = excerpt(&t, 2);
            let plain = t.replace("auth", "host").replace("token", "tok").replace("secret", "sec")
                .replace("passw", "pass");
            if !plain.contains("!vault") {
                proptest::prop_assert_eq!(text(&plain), plain);
            }
        }

        #[test]
        fn a_secret_value_never_shows(key in "(password|api_token|auth|client_secret)",
                                       value in "[A-Za-z0-9+/]{6,20}",
                                       wrap in 0usize..6) {
            let l = match wrap {
                0 => format!("{key}: {value}"),
                1 => format!("{{\"a\":{{\"{key}\":\"{value}\"}}}}"),
                2 => format!("x: {{{key}: {value}, y: 1}}"),
                3 => format!("{{% if env == 'staging' %}}{key} = {value}{{% endif %}}"),
                4 => format!("cmd --{key}={value} next"),
                _ => format!("- '{key}={value}'"),
            };
            proptest::prop_assert!(!line(&l).contains(&value), "{}", line(&l));
            proptest::prop_assert!(!text(&l).contains(&value), "{}", text(&l));
        }
    }
}
