#!/usr/bin/env bash
# Issue 15.6: the pre-commit hook (.pre-commit-hooks.yaml, `language: rust`) installs itself and
# gates a commit. With pre-commit from PyPI, in a throwaway repository holding a copy of a rule
# fixture, the hook is taken from this checkout at HEAD (pre-commit clones it and runs
# `cargo install` itself):
#   1. while step-2 edits are pending, `pre-commit run` fails and shows them;
#   2. after `regshift apply` and a commit, it passes.
# CI runs it (.ci/run); locally: bash dist/try-pre-commit.sh (a release build: minutes).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rev=$(git -C "$here" rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! python3 -m pre_commit --version > /dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check pre-commit
fi
export PRE_COMMIT_HOME="$work/cache"
# cargo install builds in its own target directory unless told: keep it across runs.
export CARGO_TARGET_DIR="${REGSHIFT_PRE_COMMIT_TARGET:-$here/target/pre-commit}"

tree="$work/tree"
cp -r "$here/fixtures/rules/login-registry-params/default/before" "$tree"
cd "$tree"
git init -q
git config user.name "pre-commit trial"
git config user.email trial@example.org
cat > .pre-commit-config.yaml <<CONFIG
repos:
  - repo: $here
    rev: $rev
    hooks:
      - id: regshift-check
CONFIG
git add -A
git commit -qm "the tree, with the hook"

echo "== 1. step-2 edits pending: the hook must fail and show them"
if python3 -m pre_commit run --all-files > "$work/first" 2>&1; then
  cat "$work/first"
  echo "FAIL: the hook passed while edits were pending" >&2
  exit 1
fi
cat "$work/first"
grep -q "^regshift check.*Failed" "$work/first" || { echo "FAIL: no failed hook line" >&2; exit 1; }
grep -q "^pending: " "$work/first" || { echo "FAIL: no pending line" >&2; exit 1; }

echo "== 2. after regshift apply and a commit: the hook must pass"
regshift=$(find "$PRE_COMMIT_HOME" -path '*/bin/regshift' -type f | head -n 1)
[ -x "$regshift" ] || { echo "FAIL: pre-commit did not install regshift" >&2; exit 1; }
"$regshift" apply -q
git commit -qam "step 2"
python3 -m pre_commit run --all-files | tee "$work/second"
grep -q "^regshift check.*Passed" "$work/second" || { echo "FAIL: no passed hook line" >&2; exit 1; }
echo "pre-commit trial: ok"
