#!/usr/bin/env bash
# Issue 11's acceptance on both corpora (not run in CI: `cargo test` covers the same ground in
# parts). Each corpus is extracted into a temporary git repository, then for each migration
# (the embedded default, fixtures/migrations/example-port.yaml, no-namespace.yaml): audit
# (references, unclassified), plan (1: edits pending), apply --env staging, check --env staging
# (0), apply, plan (0: nothing left), check (0) and verify; then steps 3 and 4 the same way
# (staging first, idempotent, check and verify per step), each line `s3:`/`s4:` with the exit
# codes in that order.
#
# usage: bench/acceptance.sh
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
R="$here/target/release/regshift"
for date in 2023-09-20 2025-07-17; do
  for mig in default example-port no-namespace; do
    d=$(mktemp -d)
    tar xzf "$here/../shared/corpus/fedora-infra-ansible-$date.tar.gz" -C "$d" --strip-components=1
    (cd "$d" && git init -q && git add -A && git -c user.name=a -c user.email=a@example.org commit -qm corpus)
    m=()
    [ "$mig" != default ] && m=(--migration "$here/fixtures/migrations/$mig.yaml" --builtin-rules)
    refs=$("$R" audit -C "$d" "${m[@]}" --format json 2>/dev/null | python3 -c '
import json, sys
refs = json.load(sys.stdin)["references"]
bad = sum(r["class"] == "unclassified" for r in refs)
print("refs=%d unclassified=%d" % (len(refs), bad))')
    "$R" plan -C "$d" "${m[@]}" >/dev/null 2>&1; p=$?
    "$R" apply -C "$d" "${m[@]}" --env staging >/dev/null 2>&1; as=$?
    "$R" check -C "$d" "${m[@]}" --env staging >/dev/null 2>&1; cs=$?
    "$R" apply -C "$d" "${m[@]}" >/dev/null 2>&1; a=$?
    "$R" plan -C "$d" "${m[@]}" >/dev/null 2>&1; p2=$?
    "$R" check -C "$d" "${m[@]}" >/dev/null 2>&1; c=$?
    v=$("$R" verify -C "$d" "${m[@]}" 2>/dev/null | tail -1)
    echo "$date $mig: $refs plan=$p apply-staging=$as check-staging=$cs apply=$a plan-after=$p2 check-after=$c [$v]"
    for step in 3 4; do
      codes=""
      for cmd in "plan" "apply --env staging" "check --env staging" "apply --env production" "plan" "check"; do
        # shellcheck disable=SC2086
        "$R" $cmd --step $step -C "$d" "${m[@]}" >/dev/null 2>&1; codes="$codes $?"
      done
      v=$("$R" verify --step $step -C "$d" "${m[@]}" 2>/dev/null | tail -1)
      echo "  s$step:$codes [$v]"
    done
    rm -rf "$d"
  done
done
