//! `apply --interactive` (SPEC §5, issue 15.2): each planned edit is shown as a diff hunk with
//! its rule and why, and accepted or skipped one at a time, as fastmod and `sg --interactive`
//! do. Nothing is written here: `apply` proves the accepted set and writes it only when the
//! proof holds.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::rules::RuleSet;
use crate::series::edit_position;

/// What the reviewer said about one edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
    /// This edit and every later one of the same rule.
    AllOfRule,
    /// Skip this edit and every later one; apply what was accepted.
    Quit,
}

const PROMPT: &str = "accept? [y]es [n]o [a]ll of this rule [q]uit (apply what was accepted) ";

const HELP: &str = "y: accept this edit\nn: skip it\na: accept it and every later edit of this rule\n\
                    q: skip it and every later edit, then prove and apply what was accepted\n";

/// Asks on the terminal (stdin for the answers, stdout for the hunks). Refused when stdin is
/// not a terminal: in CI or a pipe an interactive run would wait forever or read a script.
pub fn on_terminal(plan: &Plan, rules: &RuleSet) -> Result<Vec<bool>> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "--interactive needs a terminal on stdin (answers are read from it)".into(),
        ));
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = anstream::stdout();
    ask(plan, rules, &mut input, &mut out)
}

/// Shows every edit of `plan` in file order and reads an answer for each from `input`: the
/// accepted edits, by index into `plan.edits`. The end of the input is taken as `q`.
pub fn ask(
    plan: &Plan,
    rules: &RuleSet,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<Vec<bool>> {
    let mut order: Vec<usize> = (0..plan.edits.len()).collect();
    order.sort_by_key(|&i| (&plan.edits[i].path, plan.edits[i].range.start));
    let mut keep = vec![false; plan.edits.len()];
    let mut whole_rules: BTreeSet<&str> = BTreeSet::new();
    for (n, &i) in order.iter().enumerate() {
        let edit = &plan.edits[i];
        if whole_rules.contains(edit.rule.as_str()) {
            keep[i] = true;
            continue;
        }
        show(plan, rules, i, (n + 1, order.len()), out)?;
        match answer(input, out)? {
            Answer::Yes => keep[i] = true,
            Answer::No => {}
            Answer::AllOfRule => {
                keep[i] = true;
                whole_rules.insert(&edit.rule);
            }
            Answer::Quit => break,
        }
    }
    let accepted = keep.iter().filter(|k| **k).count();
    written(
        out,
        &format!("accepted {accepted} of {} edits\n", plan.edits.len()),
    )?;
    Ok(keep)
}

/// One edit: where, which rule and why, and the hunk of the file with this edit alone applied
/// (secrets redacted as in `plan`'s diff).
fn show(
    plan: &Plan,
    rules: &RuleSet,
    i: usize,
    (n, of): (usize, usize),
    out: &mut dyn Write,
) -> Result<()> {
    let edit = &plan.edits[i];
    let at = edit_position(plan, edit);
    let why = rules.get(&edit.rule).map_or("", |r| r.why.as_str());
    let mut text = format!(
        "\n[{n}/{of}] {}:{}:{} [rule {}]\n# {why}\n",
        edit.path, at.line, at.column, edit.rule
    );
    if let Some(c) = plan.changed.iter().find(|c| c.path == edit.path) {
        let alone = crate::edit::apply(&c.file.text, &[edit.splice()]).unwrap_or_default();
        let gone = c.gone && edit.removes_all_of(&c.file.text);
        text.push_str(&crate::report::redacted_diff(
            &edit.path,
            &c.file.text,
            &alone,
            gone,
        ));
    }
    written(out, &text)
}

/// Reads answers until one is understood; `?` (or anything else) prints the keys again.
fn answer(input: &mut dyn BufRead, out: &mut dyn Write) -> Result<Answer> {
    loop {
        written(out, PROMPT)?;
        let mut line = String::new();
        let read = input
            .read_line(&mut line)
            .map_err(|e| Error::Usage(format!("cannot read the answer: {e}")))?;
        if read == 0 {
            written(out, "\n")?;
            return Ok(Answer::Quit);
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(Answer::Yes),
            "n" | "no" => return Ok(Answer::No),
            "a" | "all" => return Ok(Answer::AllOfRule),
            "q" | "quit" => return Ok(Answer::Quit),
            _ => written(out, HELP)?,
        }
    }
}

fn written(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Usage(format!("cannot write to the terminal: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Changed, Edit};
    use crate::walk::FileText;

    fn edit(path: &str, range: std::ops::Range<usize>, new: &str, rule: &str) -> Edit {
        Edit {
            path: path.into(),
            range,
            old: String::new(),
            new: new.into(),
            rule: rule.into(),
            envs: crate::formats::jinja::Envs::NONE,
            context: None,
            secret: false,
            target: None,
        }
    }

    /// Two files, three edits of two rules: `b.yml` is reviewed first in file order only when
    /// its path sorts first, so the answers below follow the sorted order (a.yml, then b.yml).
    fn plan() -> Plan {
        let a = "one: old.example\ntwo: old.example\n";
        let b = "three: old.example\n";
        let mut edits = vec![
            edit("b.yml", 7..18, "new.example", "r2"),
            edit("a.yml", 5..16, "new.example", "r1"),
            edit("a.yml", 22..33, "new.example", "r1"),
        ];
        for e in &mut edits {
            let text = if e.path == "a.yml" { a } else { b };
            e.old = text[e.range.clone()].to_string();
        }
        let changed = |path: &str, text: &str| Changed {
            path: path.into(),
            file: FileText {
                text: text.into(),
                bom: false,
            },
            new_text: String::new(),
            gone: false,
        };
        let mut plan = Plan::default();
        plan.edits = edits;
        plan.changed = vec![changed("a.yml", a), changed("b.yml", b)];
        plan
    }

    fn answered(keys: &str) -> (Vec<bool>, String) {
        let mut out = Vec::new();
        let keep =
            ask(&plan(), &RuleSet::default(), &mut keys.as_bytes(), &mut out).expect("asked");
        (keep, String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn each_answer_decides_its_edit_in_file_order() {
        // a.yml:1 yes, a.yml:2 no, b.yml:1 yes; keep is indexed like plan.edits.
        let (keep, out) = answered("y\nn\ny\n");
        assert_eq!(keep, vec![true, true, false]);
        assert!(out.contains("[1/3] a.yml:1:6 [rule r1]"), "{out}");
        assert!(
            out.contains("-one: old.example\n+one: new.example\n"),
            "{out}"
        );
        assert!(out.contains("[3/3] b.yml:1:8 [rule r2]"), "{out}");
        assert!(out.ends_with("accepted 2 of 3 edits\n"), "{out}");
    }

    #[test]
    fn all_accepts_the_rest_of_the_rule_and_quit_skips_the_rest() {
        let (keep, out) = answered("a\nn\n");
        assert_eq!(keep, vec![false, true, true]);
        assert!(
            !out.contains("[2/3]"),
            "the rule's second edit is not asked: {out}"
        );
        let (keep, _) = answered("y\nq\n");
        assert_eq!(keep, vec![false, true, false]);
        // The end of the input is a quit; an unknown key asks again.
        let (keep, out) = answered("x\ny\n");
        assert_eq!(keep, vec![false, true, false]);
        assert!(out.contains("a: accept it and every later edit"), "{out}");
    }

    #[test]
    fn the_accepted_set_is_spliced_alone() {
        let plan = plan();
        let only = plan.only(&[false, true, false]).expect("spliced");
        assert_eq!(only.edits.len(), 1);
        assert_eq!(only.changed.len(), 1, "b.yml has no accepted edit");
        assert_eq!(
            only.changed[0].new_text,
            "one: new.example\ntwo: old.example\n"
        );
    }
}
