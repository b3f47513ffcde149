//! A small model of Apache's mod_rewrite in server (vhost) context, enough to prove a step-3
//! redirect (SPEC §7.3, issue 14.3): `RewriteCond` on `%{REQUEST_METHOD}`, `%{HTTP_HOST}`,
//! `%{SERVER_NAME}`, `%{REQUEST_URI}`, `%{QUERY_STRING}`, `%{HTTPS}`, `%{HTTP:Header}`,
//! `%{REMOTE_HOST}`/`%{REMOTE_ADDR}` (the address: no lookups) and `expr "[!] -R 'CIDR'"`, with `[NC]` and
//! `[OR]`; `RewriteRule PATTERN SUBSTITUTION [flags]` with `R[=code]`, `L`, `END`, `P`, `PT`, `F`,
//! `G`, `NC`, `QSA`, `E=…` (ignored), in file order, `$N` and `%N` back-references; and
//! mod_alias's `RedirectMatch [status] PATTERN URL`, which translates what mod_rewrite leaves
//! (rewrite runs first; a path it rewrote internally is a file by then, one passed on with
//! `PT` is not).
//!
//! What Apache does, as the model answers it (httpd's mod_rewrite documentation):
//! - a rule's pattern is matched against the URL path first, then its conditions (ANDed, `[OR]`
//!   joins a condition with the next), and `%N` refers to the last matched condition;
//! - `-` substitutes nothing; `R` redirects (302 unless `R=code`); a code outside 300–399 drops
//!   the substitution and stops, answering that status; `F` is 403, `G` 410, both stop;
//! - `P` proxies the substitution; `L`/`END` stop; `PT` passes the new path on to the next
//!   handler (an `Alias`, the document root) and stops;
//! - without `L`, the rewritten path is what the next rule matches;
//! - an unmatched request is served locally, from its path.
//!
//! Anything the model does not know (another directive's flag, a condition's variable) is an
//! error naming the line: a proof that cannot read a rule must not pass it.

use std::net::Ipv4Addr;

/// A request as a client sends it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    /// The path, with a `?query` when there is one.
    pub uri: &'a str,
    pub https: bool,
    pub remote: Ipv4Addr,
    /// Request headers (`%{HTTP:Name}`), by name; those absent are empty.
    pub headers: &'a [(&'a str, &'a str)],
}

/// What Apache answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A redirect: the status and `Location`.
    Redirect(u16, String),
    /// A status without a location (`R=404`, `F`, `G`, `R=405`).
    Status(u16),
    /// Proxied to this URL.
    Proxy(String),
    /// Served here from this path (after any internal rewrite).
    Local(String),
}

#[derive(Debug, Clone)]
struct Cond {
    test: String,
    pattern: Pattern,
    or: bool,
}

#[derive(Debug, Clone)]
enum Pattern {
    Regex {
        re: regex::Regex,
        negate: bool,
    },
    /// `expr "[!] -R 'a.b.c.d/n'"`: the client address in a subnet.
    InSubnet {
        net: Ipv4Addr,
        bits: u32,
        negate: bool,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    conds: Vec<Cond>,
    re: regex::Regex,
    negate: bool,
    substitution: String,
    flags: Flags,
}

#[derive(Debug, Clone, Default)]
struct Flags {
    redirect: Option<u16>,
    last: bool,
    proxy: bool,
    pass_through: bool,
    forbidden: bool,
    gone: bool,
    qsa: bool,
}

/// A `RedirectMatch` (mod_alias): the pattern, the status and the target.
#[derive(Debug, Clone)]
struct Alias {
    re: regex::Regex,
    status: u16,
    target: String,
}

/// The rewrite rules of one configuration text, in order, and its `RedirectMatch`es.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
    /// `RewriteEngine on` was seen (rules do nothing otherwise).
    on: bool,
    aliases: Vec<Alias>,
}

impl Rules {
    /// Reads the `Rewrite*` directives of `text` (a rendered vhost configuration); other
    /// directives are left to Apache. An error names the line it cannot read.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut out = Rules::default();
        let mut conds = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let words = split_words(line.trim());
            let at = |e: String| format!("line {}: {e}", n + 1);
            match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
                Some("rewriteengine") => {
                    out.on = words.get(1).is_some_and(|w| w.eq_ignore_ascii_case("on"));
                }
                Some("rewritecond") => conds.push(cond(&words).map_err(at)?),
                Some("rewriterule") => {
                    let rule = rule(&words, std::mem::take(&mut conds)).map_err(at)?;
                    out.rules.push(rule);
                }
                Some("redirectmatch") => out.aliases.push(alias(&words).map_err(at)?),
                _ => {}
            }
        }
        Ok(out)
    }

    /// What Apache answers `req`: mod_rewrite first; a path it leaves as it was, or passes
    /// on (`PT`), then goes to mod_alias's `RedirectMatch`es (both translate the URL, rewrite
    /// first).
    pub fn answer(&self, req: &Request<'_>) -> Answer {
        let query = req.uri.split_once('?').map_or("", |(_, q)| q);
        match self.rewrite(req) {
            (Answer::Local(path), true) => self.alias(&path, query).unwrap_or(Answer::Local(path)),
            (answer, _) => answer,
        }
    }

    /// The first `RedirectMatch` matching `path`: its status and target (`$N` expanded, the
    /// query string carried over when the target has none).
    fn alias(&self, path: &str, query: &str) -> Option<Answer> {
        self.aliases.iter().find_map(|a| {
            let caps = a.re.captures(path)?;
            let groups: Vec<String> = (0..caps.len())
                .map(|i| caps.get(i).map_or("", |m| m.as_str()).to_string())
                .collect();
            if !(300..400).contains(&a.status) {
                return Some(Answer::Status(a.status));
            }
            let mut to = expand(&a.target, &groups, &[]);
            if !query.is_empty() && !to.contains('?') {
                to = format!("{to}?{query}");
            }
            Some(Answer::Redirect(a.status, to))
        })
    }

    /// mod_rewrite's answer, and whether the path goes on to the next translator (nothing
    /// rewrote it, or `PT`).
    fn rewrite(&self, req: &Request<'_>) -> (Answer, bool) {
        let (path, query) = req.uri.split_once('?').unwrap_or((req.uri, ""));
        let mut path = path.to_string();
        let mut query = query.to_string();
        if !self.on {
            return (Answer::Local(path), true);
        }
        let mut rewritten = false;
        for rule in &self.rules {
            let Some(caps) = rule.re.captures(&path) else {
                if !rule.negate {
                    continue;
                }
                // A negated pattern that does not match applies, with no groups.
                rewritten |= rule.substitution != "-";
                match self.apply(rule, req, &mut path, &mut query, &[], &[]) {
                    Some(answer) => return (answer, rule.flags.pass_through || !rewritten),
                    None => continue,
                }
            };
            if rule.negate {
                continue;
            }
            let groups: Vec<String> = (0..caps.len())
                .map(|i| caps.get(i).map_or("", |m| m.as_str()).to_string())
                .collect();
            let Some(cond_groups) = conds_hold(&rule.conds, req, &path, &query, &groups) else {
                continue;
            };
            rewritten |= rule.substitution != "-";
            if let Some(answer) =
                self.apply(rule, req, &mut path, &mut query, &groups, &cond_groups)
            {
                return (answer, rule.flags.pass_through || !rewritten);
            }
        }
        (Answer::Local(path), !rewritten)
    }

    /// Applies a matched rule: `Some` when it ends the processing.
    fn apply(
        &self,
        rule: &Rule,
        req: &Request<'_>,
        path: &mut String,
        query: &mut String,
        groups: &[String],
        cond_groups: &[String],
    ) -> Option<Answer> {
        let f = &rule.flags;
        if f.forbidden {
            return Some(Answer::Status(403));
        }
        if f.gone {
            return Some(Answer::Status(410));
        }
        if let Some(code) = f.redirect.filter(|c| !(300..400).contains(c)) {
            return Some(Answer::Status(code));
        }
        if rule.substitution != "-" {
            let new = expand(&rule.substitution, groups, cond_groups);
            let (new_path, new_query) = match new.split_once('?') {
                Some((p, q)) if f.qsa && !query.is_empty() => {
                    (p.to_string(), format!("{q}&{query}"))
                }
                Some((p, q)) => (p.to_string(), q.to_string()),
                None => (new, query.clone()),
            };
            *path = new_path;
            *query = new_query;
        }
        let with_query = |p: &str| match query.is_empty() {
            true => p.to_string(),
            false => format!("{p}?{query}"),
        };
        if let Some(code) = f.redirect {
            let location = match path.contains("://") {
                true => with_query(path),
                false => {
                    let scheme = if req.https { "https" } else { "http" };
                    with_query(&format!("{scheme}://{}{}", req.host, path))
                }
            };
            return Some(Answer::Redirect(code, location));
        }
        if f.proxy {
            return Some(Answer::Proxy(with_query(path)));
        }
        if f.last || f.pass_through {
            return Some(Answer::Local(path.clone()));
        }
        None
    }
}

/// The groups of the last condition that matched, when the conditions hold.
/// The `RewriteRule`s of `text` (a configuration, its Jinja masked) whose pattern matches one of
/// `paths`, each as the byte range of its lines: from its first `RewriteCond` to the end of the
/// rule's line. Patterns the model cannot compile match nothing.
pub fn rules_matching(text: &str, paths: &[&str]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut conds_from = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let words = split_words(line.trim());
        match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
            Some("rewritecond") => {
                conds_from.get_or_insert(start);
            }
            Some("rewriterule") => {
                let from = conds_from.take().unwrap_or(start);
                let pattern = words.get(1).map(String::as_str).unwrap_or_default();
                let (negate, body) = match pattern.strip_prefix('!') {
                    Some(p) => (true, p),
                    None => (false, pattern),
                };
                let nocase = words.get(3).is_some_and(|f| {
                    parse_flag_list(f)
                        .iter()
                        .any(|f| f.eq_ignore_ascii_case("NC"))
                });
                let matches = compile(body, nocase)
                    .is_ok_and(|re| paths.iter().any(|p| re.is_match(p) != negate));
                if matches {
                    out.push(from..at);
                }
            }
            _ => {}
        }
    }
    out
}

fn conds_hold(
    conds: &[Cond],
    req: &Request<'_>,
    path: &str,
    query: &str,
    groups: &[String],
) -> Option<Vec<String>> {
    let mut last = Vec::new();
    let mut i = 0;
    while i < conds.len() {
        // An `[OR]` chain holds when any of its conditions does.
        let mut any = false;
        loop {
            let c = &conds[i];
            if let Some(g) = cond_holds(c, req, path, query, groups) {
                any = true;
                if !g.is_empty() {
                    last = g;
                }
            }
            i += 1;
            if !c.or || i >= conds.len() {
                break;
            }
        }
        if !any {
            return None;
        }
    }
    Some(last)
}

fn cond_holds(
    c: &Cond,
    req: &Request<'_>,
    path: &str,
    query: &str,
    groups: &[String],
) -> Option<Vec<String>> {
    match &c.pattern {
        Pattern::InSubnet { net, bits, negate } => {
            let mask = if *bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            let inside = u32::from(req.remote) & mask == u32::from(*net) & mask;
            (inside != *negate).then(Vec::new)
        }
        Pattern::Regex { re, negate } => {
            let value = variables(&c.test, req, path, query, groups);
            match (re.captures(&value), negate) {
                (Some(caps), false) => Some(
                    (0..caps.len())
                        .map(|i| caps.get(i).map_or("", |m| m.as_str()).to_string())
                        .collect(),
                ),
                (None, true) => Some(Vec::new()),
                _ => None,
            }
        }
    }
}

/// A condition's test string with its `%{VAR}` and `$N` filled in.
fn variables(test: &str, req: &Request<'_>, path: &str, query: &str, groups: &[String]) -> String {
    let remote = req.remote.to_string();
    let mut out = test
        .replace("%{REQUEST_METHOD}", req.method)
        .replace("%{HTTP_HOST}", req.host)
        .replace("%{SERVER_NAME}", req.host)
        .replace("%{REQUEST_URI}", path)
        .replace("%{QUERY_STRING}", query)
        .replace("%{REMOTE_HOST}", &remote)
        .replace("%{REMOTE_ADDR}", &remote)
        .replace("%{HTTPS}", if req.https { "on" } else { "off" });
    while let Some(at) = out.find("%{HTTP:") {
        let Some(close) = out[at..].find('}') else {
            break;
        };
        let name = out[at + 7..at + close].to_string();
        let value = req
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            .map_or("", |(_, v)| v);
        out.replace_range(at..at + close + 1, value);
    }
    for (i, g) in groups.iter().enumerate().rev() {
        out = out.replace(&format!("${i}"), g);
    }
    out
}

/// `$N` from the rule's groups and `%N` from the last matched condition's.
fn expand(substitution: &str, groups: &[String], cond_groups: &[String]) -> String {
    let mut out = String::with_capacity(substitution.len());
    let bytes = substitution.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let digit = bytes.get(i + 1).filter(|d| d.is_ascii_digit());
        match (b, digit) {
            (b'$' | b'%', Some(d)) => {
                let n = usize::from(d - b'0');
                let source = if b == b'$' { groups } else { cond_groups };
                out.push_str(source.get(n).map_or("", String::as_str));
                i += 2;
            }
            _ => {
                let ch = substitution[i..].chars().next().unwrap_or_default();
                out.push(ch);
                i += ch.len_utf8().max(1);
            }
        }
    }
    out
}

fn cond(words: &[String]) -> Result<Cond, String> {
    let (test, pattern) = match words {
        [_, test, pattern, ..] => (test, pattern),
        _ => return Err("RewriteCond needs a test string and a pattern".into()),
    };
    let flags = words.get(3).map(|f| parse_flag_list(f)).unwrap_or_default();
    let nocase = flags.iter().any(|f| f.eq_ignore_ascii_case("NC"));
    let or = flags.iter().any(|f| f.eq_ignore_ascii_case("OR"));
    if test == "expr" {
        return Ok(Cond {
            test: test.clone(),
            pattern: subnet(pattern)?,
            or,
        });
    }
    if test.contains("%{") {
        const KNOWN: &[&str] = &[
            "REQUEST_METHOD",
            "HTTP_HOST",
            "SERVER_NAME",
            "REQUEST_URI",
            "QUERY_STRING",
            "HTTPS",
            "REMOTE_HOST",
            "REMOTE_ADDR",
        ];
        let known = test.split("%{").skip(1).all(|v| {
            v.starts_with("HTTP:") || KNOWN.iter().any(|k| v.starts_with(&format!("{k}}}")))
        });
        if !known {
            return Err(format!("the model does not know the variable in `{test}`"));
        }
    }
    let (negate, body) = match pattern.strip_prefix('!') {
        Some(p) => (true, p),
        None => (false, pattern.as_str()),
    };
    Ok(Cond {
        test: test.clone(),
        pattern: Pattern::Regex {
            re: compile(body, nocase)?,
            negate,
        },
        or,
    })
}

/// `! -R '10.3.171.0/24'` (an `expr` condition on the client's address).
fn subnet(expr: &str) -> Result<Pattern, String> {
    let e = expr.trim();
    let (negate, e) = match e.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, e),
    };
    let cidr = e
        .strip_prefix("-R")
        .map(|r| r.trim().trim_matches(['\'', '"']))
        .ok_or_else(|| format!("the model reads only `-R 'CIDR'` expressions, not `{expr}`"))?;
    let (ip, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let net: Ipv4Addr = ip
        .parse()
        .map_err(|_| format!("`{cidr}` is not an IPv4 subnet"))?;
    let bits: u32 = bits
        .parse()
        .ok()
        .filter(|b| *b <= 32)
        .ok_or_else(|| format!("`{cidr}`: bad prefix length"))?;
    Ok(Pattern::InSubnet { net, bits, negate })
}

fn rule(words: &[String], conds: Vec<Cond>) -> Result<Rule, String> {
    let (pattern, substitution) = match words {
        [_, p, s, ..] => (p, s),
        _ => return Err("RewriteRule needs a pattern and a substitution".into()),
    };
    let mut flags = Flags::default();
    let mut nocase = false;
    for f in words.get(3).map(|f| parse_flag_list(f)).unwrap_or_default() {
        let (name, value) = f.split_once('=').unwrap_or((&f, ""));
        match name.to_ascii_uppercase().as_str() {
            "R" | "REDIRECT" => {
                flags.redirect = Some(match value {
                    "" | "temp" => 302,
                    "permanent" => 301,
                    "seeother" => 303,
                    code => code.parse().map_err(|_| format!("R={code} is no status"))?,
                })
            }
            "L" | "LAST" | "END" => flags.last = true,
            "P" | "PROXY" => flags.proxy = true,
            "PT" | "PASSTHROUGH" => flags.pass_through = true,
            "F" | "FORBIDDEN" => flags.forbidden = true,
            "G" | "GONE" => flags.gone = true,
            "NC" | "NOCASE" => nocase = true,
            "QSA" | "QSAPPEND" => flags.qsa = true,
            // Environment, MIME type and escaping change no status or location.
            "E" | "ENV" | "T" | "TYPE" | "NE" | "NOESCAPE" | "B" => {}
            other => return Err(format!("the model does not know the flag `{other}`")),
        }
    }
    let (negate, body) = match pattern.strip_prefix('!') {
        Some(p) => (true, p),
        None => (false, pattern.as_str()),
    };
    Ok(Rule {
        conds,
        re: compile(body, nocase)?,
        negate,
        substitution: substitution.clone(),
        flags,
    })
}

/// `RedirectMatch [status] regex URL` (the status a code or `permanent`, `temp`, `seeother`,
/// `gone`; 302 when absent).
fn alias(words: &[String]) -> Result<Alias, String> {
    let status = |w: &str| match w.to_ascii_lowercase().as_str() {
        "permanent" => Some(301),
        "temp" => Some(302),
        "seeother" => Some(303),
        "gone" => Some(410),
        code => code.parse::<u16>().ok().filter(|c| (100..600).contains(c)),
    };
    let (status, rest) = match words.get(1).and_then(|w| status(w)) {
        Some(code) => (code, &words[2..]),
        None => (302, &words[1..]),
    };
    let (pattern, target) = match rest {
        [p, t, ..] => (p.as_str(), t.clone()),
        [p] if !(300..400).contains(&status) => (p.as_str(), String::new()),
        _ => return Err("RedirectMatch needs a pattern and a URL".into()),
    };
    Ok(Alias {
        re: compile(pattern, false)?,
        status,
        target,
    })
}

fn compile(pattern: &str, nocase: bool) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(nocase)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("pattern `{pattern}`: {e}"))
}

/// `[L,R=307]` → `["L", "R=307"]`.
fn parse_flag_list(text: &str) -> Vec<String> {
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

/// A directive's words: spaces separate them, double quotes group them, a `#` starts a comment.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted && chars.peek() == Some(&'"') => {
                word.push('"');
                chars.next();
            }
            '#' if !quoted && word.is_empty() => break,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(method: &'a str, uri: &'a str) -> Request<'a> {
        Request {
            method,
            host: "old.example.org",
            uri,
            https: true,
            remote: Ipv4Addr::new(192, 0, 2, 7),
            headers: &[],
        }
    }

    fn answer(conf: &str, method: &str, uri: &str) -> Answer {
        Rules::parse(conf)
            .expect("parses")
            .answer(&req(method, uri))
    }

    /// Known Apache behaviour, each from httpd's mod_rewrite documentation.
    #[test]
    fn redirects_statuses_and_proxies_as_apache_answers_them() {
        let conf = "RewriteEngine on\n\
            RewriteRule ^/old/(.*)$ /new/$1 [R]\n\
            RewriteRule ^/perm$ https://elsewhere.example.net/x [R=permanent,L]\n\
            RewriteRule ^/gone - [G]\n\
            RewriteRule ^/secret - [F]\n\
            RewriteRule ^/api/(.*)$ http://backend:5000/api/$1 [P,L]\n\
            RewriteRule ^/teapot$ /ignored [R=418,L]\n";
        // `R` alone is 302, and a relative substitution gets this host and scheme.
        assert_eq!(
            answer(conf, "GET", "/old/a?x=1"),
            Answer::Redirect(302, "https://old.example.org/new/a?x=1".into())
        );
        assert_eq!(
            answer(conf, "GET", "/perm"),
            Answer::Redirect(301, "https://elsewhere.example.net/x".into())
        );
        assert_eq!(answer(conf, "GET", "/gone/x"), Answer::Status(410));
        assert_eq!(answer(conf, "GET", "/secret"), Answer::Status(403));
        assert_eq!(
            answer(conf, "PUT", "/api/v1"),
            Answer::Proxy("http://backend:5000/api/v1".into())
        );
        // Outside 300–399 the substitution is dropped and rewriting stops.
        assert_eq!(answer(conf, "GET", "/teapot"), Answer::Status(418));
        assert_eq!(answer(conf, "GET", "/else"), Answer::Local("/else".into()));
        // Without RewriteEngine on, nothing applies.
        let off = conf.replace("RewriteEngine on\n", "");
        assert_eq!(answer(&off, "GET", "/gone"), Answer::Local("/gone".into()));
    }

    #[test]
    fn conditions_chain_negate_and_feed_back_references() {
        let conf = "RewriteEngine on\n\
            RewriteCond %{REQUEST_METHOD} ^(PATCH|POST|PUT|DELETE)$\n\
            RewriteRule ^/v2/(.*)$ http://origin:5000/v2/$1 [P,L]\n\
            RewriteCond %{HTTP_HOST} ^(old)\\.example\\.org$ [NC,OR]\n\
            RewriteCond %{HTTP_HOST} ^other$\n\
            RewriteRule ^/who$ /%1/$0 [L]\n\
            RewriteCond expr \"! -R '192.0.2.0/24'\"\n\
            RewriteRule ^/cdn/(.*)$ https://cdn.example.net/$1 [R]\n\
            RewriteRule ^/v2/(.*)$ http://cache:10048/v2/$1 [P,L]\n";
        assert_eq!(
            answer(conf, "PUT", "/v2/x/blobs/uploads/"),
            Answer::Proxy("http://origin:5000/v2/x/blobs/uploads/".into())
        );
        assert_eq!(
            answer(conf, "GET", "/v2/x/manifests/1"),
            Answer::Proxy("http://cache:10048/v2/x/manifests/1".into())
        );
        // `%1` is the last matched condition's group, `$0` the whole match.
        assert_eq!(
            answer(conf, "GET", "/who"),
            Answer::Local("/old//who".into())
        );
        // The client is inside the subnet: the negated `-R` does not hold, no CDN redirect.
        assert_eq!(
            answer(conf, "GET", "/cdn/a"),
            Answer::Local("/cdn/a".into())
        );
    }

    #[test]
    fn without_l_the_next_rule_sees_the_rewritten_path() {
        let conf = "RewriteEngine On\nRewriteRule ^/a$ /b\nRewriteRule ^/b$ /c [R=307,L]\n";
        assert_eq!(
            answer(conf, "GET", "/a"),
            Answer::Redirect(307, "https://old.example.org/c".into())
        );
        let pt = "RewriteEngine on\nRewriteRule ^/index/static$ /index/flatpak.json [L,PT]\n";
        assert_eq!(
            answer(pt, "GET", "/index/static"),
            Answer::Local("/index/flatpak.json".into())
        );
    }

    /// The step-3 shape of SPEC §7.3 (context/steps-3-4.md E1) for the sample requests of the
    /// issue: the answers a registry client needs.
    #[test]
    fn the_step_three_redirect_answers_every_sample_request() {
        let conf = "RewriteEngine on\n\
            RewriteRule ^/v2/?$ /static/v2.json [PT,L,E=REGISTRY_PING:1]\n\
            RewriteRule ^/v2/_catalog$ - [R=404,L]\n\
            RewriteCond %{REQUEST_METHOD} !^(GET|HEAD)$\n\
            RewriteRule ^/v2/ - [R=405,L]\n\
            RewriteRule ^/v2/(.+)/(manifests|blobs|tags|referrers)/(.*)$ https://new.example.net/v2/ns/$1/$2/$3 [R=307,L]\n\
            RewriteRule ^/v2/ - [R=404,L]\n\
            RewriteRule \"^/index/static$\" /index/flatpak.json [L,PT]\n\
            RewriteRule ^/(index\\.html|repo(.*))?$ https://new.example.net/organization/ns/ [R=307,L]\n";
        let to = |p: &str| Answer::Redirect(307, format!("https://new.example.net/v2/ns/{p}"));
        let cases = [
            ("GET", "/v2/fedora/manifests/40", to("fedora/manifests/40")),
            ("HEAD", "/v2/fedora/manifests/40", to("fedora/manifests/40")),
            (
                "GET",
                "/v2/fedora/blobs/sha256:ab",
                to("fedora/blobs/sha256:ab"),
            ),
            ("PUT", "/v2/fedora/blobs/uploads/1", Answer::Status(405)),
            ("PATCH", "/v2/fedora/blobs/uploads/1", Answer::Status(405)),
            ("GET", "/v2/", Answer::Local("/static/v2.json".into())),
            ("GET", "/v2/_catalog", Answer::Status(404)),
            (
                "GET",
                "/index/static",
                Answer::Local("/index/flatpak.json".into()),
            ),
            (
                "GET",
                "/",
                Answer::Redirect(307, "https://new.example.net/organization/ns/".into()),
            ),
            (
                "GET",
                "/repo/fedora/tags/",
                Answer::Redirect(307, "https://new.example.net/organization/ns/".into()),
            ),
        ];
        let rules = Rules::parse(conf).expect("parses");
        for (method, uri, expected) in cases {
            assert_eq!(rules.answer(&req(method, uri)), expected, "{method} {uri}");
        }
    }

    /// mod_alias translates what mod_rewrite leaves (httpd docs, "mod_rewrite and mod_alias":
    /// rewrite runs first); a path rewritten internally is a file by then, one passed on
    /// (`PT`) is not.
    #[test]
    fn redirect_match_answers_what_rewrite_leaves() {
        let conf = "RewriteEngine on\n\
            RewriteRule ^/v2/ - [R=404,L]\n\
            RewriteRule ^/old$ /repo/x [PT]\n\
            RewriteRule ^/file$ /repo/y [L]\n\
            RedirectMatch ^/(index\\.html|repo(/.*)?)?$ https://new.example.net/org/ns/\n\
            RedirectMatch permanent ^/v2/(.*) https://elsewhere/$1\n";
        let rules = Rules::parse(conf).expect("parses");
        let to = Answer::Redirect(302, "https://new.example.net/org/ns/".into());
        assert_eq!(rules.answer(&req("GET", "/")), to);
        assert_eq!(rules.answer(&req("GET", "/repo/fedora/tags/")), to);
        assert_eq!(rules.answer(&req("GET", "/old")), to, "PT passes it on");
        assert_eq!(
            rules.answer(&req("GET", "/file")),
            Answer::Local("/repo/y".into())
        );
        assert_eq!(
            rules.answer(&req("GET", "/v2/x")),
            Answer::Status(404),
            "rewrite first"
        );
        assert_eq!(
            rules.answer(&req("GET", "/?a=1")),
            Answer::Redirect(302, "https://new.example.net/org/ns/?a=1".into())
        );
        assert_eq!(
            rules.answer(&req("GET", "/other")),
            Answer::Local("/other".into())
        );
    }

    #[test]
    fn what_the_model_cannot_read_is_an_error_naming_the_line() {
        let e = Rules::parse("RewriteEngine on\nRewriteRule ^/x /y [N]\n").expect_err("N");
        assert!(e.starts_with("line 2:") && e.contains("`N`"), "{e}");
        let e =
            Rules::parse("RewriteCond %{HTTP_REFERER} x\nRewriteRule ^ - [F]\n").expect_err("var");
        assert!(e.starts_with("line 1:"), "{e}");
    }
}
