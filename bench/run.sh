#!/usr/bin/env bash
# Benchmark (SPEC §8): regshift audit, plan, check and verify against rg searching the same
# hosts, a `git grep -l | xargs sed -i` pipeline and `fastmod --accept-all`, on both corpora (×1)
# and on the ×30 layout of the 2023 one (the corpus at the root plus bulk/copy01 … bulk/copy29,
# about 100k files).
# Prints wall time (hyperfine mean), peak memory, and each tool's ratio to rg. Not run in CI.
# hyperfine times one command's runs back to back, so a busy moment on a shared machine lands on
# one tool: the ×1 tree is timed in three rounds; each tool's median time and its median ratio
# to rg within a round are printed.
#
# usage: bench/run.sh [WORKDIR]        (default: a new temporary directory)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
corpora="$here/../shared/corpus"
work="${1:-$(mktemp -d)}"

# Tools: hyperfine and ripgrep from Debian's packages, fastmod from crates.io.
need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || ! need rg; then
  (apt-get update -qq && apt-get install -y -qq hyperfine ripgrep) >/dev/null
fi
need fastmod || cargo install --quiet fastmod
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
regshift="$here/target/release/regshift"

# The hosts regshift looks for (the embedded migration's `from` hosts), as one regex.
hosts='(candidate-registry\.stg|candidate-registry|registry\.stg|registry)\.fedoraproject\.org'

prepare() { # $1 = corpus date, $2 = copies
  local dir="$work/$1-x$2" corpus="$corpora/fedora-infra-ansible-$1.tar.gz"
  [ -d "$dir/.git" ] && { echo "$dir"; return; }
  mkdir -p "$dir"
  tar xzf "$corpus" -C "$dir" --strip-components=1
  for i in $(seq -w 1 $(( $2 - 1 ))); do
    mkdir -p "$dir/bulk/copy$i"
    tar xzf "$corpus" -C "$dir/bulk/copy$i" --strip-components=1
  done
  (cd "$dir" && git init -q && git add -A && git -c user.name=b -c user.email=b@example.org commit -qm corpus)
  echo "$dir"
}

peak_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

run() { # $1 = corpus date, $2 = copies, $3 = rounds
  local dir; dir=$(prepare "$1" "$2")
  local files; files=$(cd "$dir" && git ls-files | wc -l)
  echo "== corpus $1 x$2: $files files ($dir), $3 round(s) of 5 runs"
  local jsons=()
  for round in $(seq 1 "$3"); do
    jsons+=("$work/$1-x$2.$round.json")
    time_tools "$dir" "$work/$1-x$2.$round.json"
  done
  python3 - "${jsons[@]}" <<'PY'
import json, statistics, sys
rounds = [{x["command"]: x["mean"] for x in json.load(open(f))["results"]} for f in sys.argv[1:]]
for name in rounds[0]:
    mean = statistics.median(r[name] for r in rounds)
    ratio = statistics.median(r[name] / r["rg"] for r in rounds)
    print(f"  {name:16s} {mean*1000:9.1f} ms   {ratio:5.2f}x rg")
PY
  printf '  peak memory: rg %s KB, regshift audit %s KB, plan %s KB, check %s KB, verify %s KB\n' \
    "$(peak_kb rg -l -i -e "$hosts" "$dir")" \
    "$(peak_kb "$regshift" audit -C "$dir")" \
    "$(peak_kb "$regshift" plan -C "$dir" --format stat)" \
    "$(peak_kb "$regshift" check -C "$dir")" \
    "$(peak_kb "$regshift" verify -C "$dir")"
  git -C "$dir" checkout -q .
}

time_tools() { # $1 = tree, $2 = JSON out
  local dir=$1 json=$2
  hyperfine --warmup 1 --runs 5 --ignore-failure --export-json "$json" \
    --prepare "git -C $dir checkout -q ." \
    -n rg "rg -l -i -e '$hosts' $dir" \
    -n "regshift audit" "$regshift audit -C $dir" \
    -n "regshift plan" "$regshift plan -C $dir --format stat" \
    -n "regshift check" "$regshift check -C $dir" \
    -n "regshift verify" "$regshift verify -C $dir" \
    -n "git grep | sed" "cd $dir && git grep -l -i -E '$hosts' | xargs -r sed -i -E 's/$hosts/quay.io/g'" \
    -n "fastmod" "fastmod --accept-all -d $dir '$hosts' quay.io" >/dev/null
}

run 2023-09-20 1 3
run 2025-07-17 1 3
run 2023-09-20 30 1
