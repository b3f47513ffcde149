//! A fuzz-style test over the corpora's target files (issue 12): seeded mutations of each file
//! the default plan edits — hostile tokens, deletions, duplicated and swapped lines, deep
//! nesting, unclosed blocks, NUL and invalid UTF-8, truncation — then `plan` (and, every few
//! runs, `apply`) on the mutated tree. Whatever the input, regshift ends within a bound, exits
//! 0, 1 or 2, never panics or overflows its stack, prints an `error:` line when it refuses, and a
//! refused `apply` writes nothing; a successful one leaves no temporary file behind.
//! Deterministic (a fixed seed per corpus): a failure names the seed and the mutation to
//! replay. Bounded: about a minute on two cores.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// No run may take longer (the slowest honest run on the corpus takes a few seconds).
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// xorshift64*: small, seeded, the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "\"",
    "'",
    "\t",
    "\n",
    "{%",
    "%}",
    "{{",
    "}}",
    "{#",
    "#",
    "- ",
    "|",
    ">",
    "&a ",
    "*a",
    "!vault |",
    "=",
    ",",
    "\\",
    "{% if env == 'staging' %}",
    "{% endif %}",
    "{% for x in y %}",
    "\u{feff}",
    "\r\n",
    "---\n",
    "...\n",
    "[app:main]\n",
    "password: \"x\"",
    "candidate-registry.fedoraproject.org",
    "\u{0}",
];

/// One mutation of `bytes`, and what it was (to replay a failure).
fn mutate(rng: &mut Rng, bytes: &[u8]) -> (Vec<u8>, String) {
    let at = rng.below(bytes.len() + 1);
    let mut out = bytes.to_vec();
    let what = match rng.below(8) {
        0 | 1 => {
            let t = TOKENS[rng.below(TOKENS.len())];
            out.splice(at..at, t.bytes());
            format!("insert {t:?} at {at}")
        }
        2 => {
            let end = (at + 1 + rng.below(40)).min(out.len());
            out.drain(at.min(end)..end);
            format!("delete {at}..{end}")
        }
        3 => {
            let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
            let i = rng.below(lines.len());
            let j = rng.below(lines.len());
            let mut l: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
            if rng.below(2) == 0 {
                l.insert(i, lines.get(j).map(|l| l.to_vec()).unwrap_or_default());
                out = l.concat();
                format!("duplicate line {j} before {i}")
            } else {
                let last = l.len().saturating_sub(1);
                if !l.is_empty() {
                    l.swap(i.min(last), j.min(last));
                }
                out = l.concat();
                format!("swap lines {i} and {j}")
            }
        }
        4 => {
            let depth = 200 + rng.below(2000);
            let open = ["[", "{\"a\":", "- "][rng.below(3)];
            let nest = format!("{}{}", open.repeat(depth), "]".repeat(depth));
            out.splice(at..at, nest.bytes());
            format!("nest {open:?} x{depth} at {at}")
        }
        5 => {
            let n = 1 + rng.below(60);
            out.splice(at..at, "{% if x %}".repeat(n).bytes());
            format!("{n} unclosed ifs at {at}")
        }
        6 => {
            let b = [0u8, 0xff, 0xc3, 0x80][rng.below(4)];
            if at < out.len() {
                out[at] = b;
            } else {
                out.push(b);
            }
            format!("byte {b:#x} at {at}")
        }
        _ => {
            out.truncate(at);
            format!("truncate at {at}")
        }
    };
    (out, what)
}

struct Ended {
    code: Option<i32>,
    stderr: String,
}

/// Runs regshift with a time limit (killed beyond it: a failure).
fn run_bounded(args: &[&str]) -> Ended {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regshift"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("regshift starts");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut { stderr }, &mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap_or_default();
    assert!(
        status.is_some(),
        "{args:?} ran past {RUN_LIMIT:?}:\n{stderr}"
    );
    Ended {
        code: status.and_then(|s| s.code()),
        stderr,
    }
}

/// The files the default plan edits on `root`.
fn targets(root: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_regshift"))
        .args(["plan", "--format", "json", "-C"])
        .arg(root)
        .output()
        .expect("plan");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    let mut files: Vec<String> = plan["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .filter_map(|e| e["file"].as_str().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    assert!(!files.is_empty(), "the corpus has targets");
    files
}

fn fuzz(root: &Path, seed: u64, runs: usize) {
    let files = targets(root);
    let originals: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|f| {
            let p = root.join(f);
            let b = std::fs::read(&p).expect("read");
            (p, b)
        })
        .collect();
    let dir = root.to_str().expect("utf-8 path");
    // `REGSHIFT_FUZZ_SEED` / `REGSHIFT_FUZZ_RUNS` explore further than CI's bounded run.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let seed = env("REGSHIFT_FUZZ_SEED").unwrap_or(seed);
    let runs = env("REGSHIFT_FUZZ_RUNS").map_or(runs, |r| r as usize);
    let mut rng = Rng(seed);
    let mut codes = [0usize; 3];
    for n in 0..runs {
        let (path, bytes) = &originals[rng.below(originals.len())];
        let (mutated, what) = mutate(&mut rng, bytes);
        std::fs::write(path, &mutated).expect("write");
        let apply = n % 8 == 7;
        let command = if apply { "apply" } else { "plan" };
        let ended = run_bounded(&[command, "-C", dir]);
        let replay = format!(
            "seed {seed} run {n}: {command} with {} mutated ({what})",
            path.display()
        );
        for bad in ["panicked", "stack overflow", "RUST_BACKTRACE"] {
            assert!(!ended.stderr.contains(bad), "{replay}:\n{}", ended.stderr);
        }
        if let Some(c @ 0..=2) = ended.code {
            codes[c as usize] += 1;
        }
        match ended.code {
            Some(0 | 1) => {}
            Some(2) => assert!(
                ended.stderr.contains("error: "),
                "{replay}: exit 2 without an error line:\n{}",
                ended.stderr
            ),
            other => panic!("{replay}: exit {other:?}:\n{}", ended.stderr),
        }
        if apply {
            if ended.code == Some(2) {
                assert_eq!(
                    std::fs::read(path).expect("read"),
                    mutated,
                    "{replay}: a refused apply wrote"
                );
            }
            let left = common::git(root, &["status", "--porcelain", "--untracked-files=all"]);
            assert!(
                !left.contains(".regshift-"),
                "{replay}: files left behind:\n{left}"
            );
        }
        // Back to the corpus as it was: every target (apply may have written any of them).
        for (p, b) in &originals {
            std::fs::write(p, b).expect("restore");
        }
    }
    // The mutations reach both sides: input refused (2) and input planned (1, or 0 after an
    // apply); a generator that only ever broke files, or never did, would test little.
    eprintln!("seed {seed}: {runs} runs, exits 0/1/2: {codes:?}");
    assert!(
        codes[2] > 0 && codes[0] + codes[1] > 0,
        "exits 0/1/2: {codes:?}"
    );
}

#[test]
fn mutated_target_files_of_the_2023_corpus_never_crash_hang_or_write_when_refused() {
    let Some((_dir, root)) = common::corpus() else {
        return;
    };
    fuzz(&root, 0x2023_0920, 96);
}

#[test]
fn mutated_target_files_of_the_2025_corpus_never_crash_hang_or_write_when_refused() {
    let Some((_dir, root)) = common::corpus_2025() else {
        return;
    };
    fuzz(&root, 0x2025_0717, 48);
}
