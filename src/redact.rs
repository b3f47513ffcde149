//! Keeps literal secrets out of everything regshift prints (SPEC §6.5): a password, token, secret
//! or auth value that is not a Jinja expression, and Ansible vault blocks, show as `<redacted>`.
//! Files written and patch files stay exact; only displays go through here.

pub const REDACTED: &str = "<redacted>";

const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token", "auth"];

/// Whether a value under `key` is a literal secret.
pub fn is_secret(key: &str, value: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let value = value.trim().trim_matches(['"', '\'']);
    SECRET_WORDS.iter().any(|w| key.contains(w))
        && !value.is_empty()
        && !value.contains("{{")
        && !value.starts_with('{')
        && !value.starts_with('[')
        && !["true", "false", "yes", "no", "null", "none"]
            .contains(&value.to_ascii_lowercase().as_str())
}

/// One display line with any literal secret replaced. The body of a vault block (long runs of
/// hex digits) is hidden too.
pub fn line(text: &str) -> String {
    if text.contains("$ANSIBLE_VAULT") {
        return redact_after(text, text.find("$ANSIBLE_VAULT").unwrap_or(0));
    }
    let body = text.trim_start_matches(['+', '-', ' ']).trim_end();
    if body.len() >= 32 && body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return redact_after(
            text,
            text.len() - text.trim_start_matches(['+', '-', ' ']).len(),
        );
    }
    let Some(pos) = text.find([':', '=']) else {
        return text.to_string();
    };
    let key = text[..pos]
        .trim()
        .trim_start_matches(['+', '-', ' '])
        .trim_matches(['"', '\'', ' ']);
    let value = &text[pos + 1..];
    if is_secret(key, value) && !value.trim().starts_with('|') && !value.trim().starts_with('!') {
        return redact_after(text, pos + 1);
    }
    text.to_string()
}

fn redact_after(text: &str, at: usize) -> String {
    let lead = &text[at..];
    let spaces = lead.len() - lead.trim_start().len();
    let eol = if text.ends_with("\r\n") {
        "\r\n"
    } else if text.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    format!("{}{REDACTED}{eol}", &text[..at + spaces])
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
}
