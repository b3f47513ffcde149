//! Issue 15.6: the RPM spec in `dist/` makes a source RPM with `rpmbuild -bs` (Debian's or
//! Fedora's rpm; `.ci/run` installs it), and says the version Cargo.toml says.

mod common;

use std::process::Command;

use common::repo_path;

/// `version = "…"` of the package in Cargo.toml.
fn cargo_version() -> String {
    let manifest = std::fs::read_to_string(repo_path("Cargo.toml")).expect("Cargo.toml");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("a version")
        .to_string()
}

#[test]
fn the_rpm_spec_makes_a_source_rpm_of_this_version() {
    let version = cargo_version();
    let spec = std::fs::read_to_string(repo_path("dist/regshift.spec")).expect("spec");
    assert!(
        spec.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Version:", &version]),
        "the spec's Version is Cargo.toml's {version}"
    );
    if Command::new("rpmbuild").arg("--version").output().is_err() {
        common::missing("rpmbuild (Debian's or Fedora's rpm package), for `rpmbuild -bs`");
        return;
    }
    // The release tarball: this checkout's HEAD as `git archive` makes it.
    let top = tempfile::tempdir().expect("tmp");
    let sources = top.path().join("SOURCES");
    std::fs::create_dir_all(&sources).expect("mkdir");
    let tarball = sources.join(format!("regshift-{version}.tar.gz"));
    let prefix = format!("--prefix=regshift-{version}/");
    common::stdout_of(
        Command::new("git")
            .current_dir(repo_path("."))
            .args(["archive", &prefix, "-o"])
            .arg(&tarball)
            .arg("HEAD"),
    );
    let topdir = format!("_topdir {}", top.path().display());
    let out = Command::new("rpmbuild")
        .args(["-bs", "--define", &topdir])
        .arg(repo_path("dist/regshift.spec"))
        .output()
        .expect("rpmbuild runs");
    let said = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}{errors}");
    let srpm = top
        .path()
        .join("SRPMS")
        .join(format!("regshift-{version}-1.src.rpm"));
    assert!(
        said.contains(&format!("Wrote: {}", srpm.display())),
        "{said}"
    );
    // The source RPM holds the spec and the tarball, and names the package, the version and
    // the source's license (a source RPM's License is the spec's SourceLicense).
    let listed = common::stdout_of(Command::new("rpm").args(["-qpl"]).arg(&srpm));
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        [
            "regshift-".to_string() + &version + ".tar.gz",
            "regshift.spec".into()
        ]
    );
    let named = common::stdout_of(
        Command::new("rpm")
            .args(["-qp", "--queryformat", "%{NAME} %{VERSION} %{LICENSE}"])
            .arg(&srpm),
    );
    assert_eq!(named, format!("regshift {version} MIT OR Apache-2.0"));
}
