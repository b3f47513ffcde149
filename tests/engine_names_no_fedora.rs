//! SPEC §9: the engine knows Ansible and file formats; Fedora lives in `rules/` and the embedded
//! migration file. No Fedora host, path, variable, environment or macro name in `src/` outside
//! unit tests.

use std::path::Path;

/// What only Fedora's tree or plan says.
const FEDORA: &[&str] = &[
    "fedoraproject",
    "quay.io",
    "env_suffix",
    "load_file",
    "candidate_registry",
    "\"staging\"",
    "'staging'",
    "\"production\"",
    "'production'",
    "koji",
    "bodhi",
    "flatpak",
    "osbs",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn src_names_nothing_of_fedora_outside_tests() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20, "found the sources");
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let engine = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in engine.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            for name in FEDORA {
                if lower.contains(name) {
                    found.push(format!("{}:{}: {name}: {line}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
