#!/usr/bin/env bash
# Benchmark (SPEC §8): regshift audit and plan against rg searching the same hosts, a
# `git grep -l | xargs sed -i` pipeline and `fastmod --accept-all`, on the corpus (×1) and on the
# ×30 layout (the corpus at the root plus bulk/copy01 … bulk/copy29, about 100k files).
# Prints wall time (hyperfine mean), peak memory, and each tool's ratio to rg. Not run in CI.
# hyperfine times one command's runs back to back, so a busy moment on a shared machine lands on
# one tool: the ×1 tree is timed in three rounds; each tool's median time and its median ratio
# to rg within a round are printed.
#
# usage: bench/run.sh [WORKDIR]        (default: a new temporary directory)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$here/../shared/corpus/fedora-infra-ansible-2023-09-20.tar.gz"
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

prepare() { # $1 = copies
  local dir="$work/x$1"
  [ -d "$dir/.git" ] && { echo "$dir"; return; }
  mkdir -p "$dir"
  tar xzf "$corpus" -C "$dir" --strip-components=1
  for i in $(seq -w 1 $(( $1 - 1 ))); do
    mkdir -p "$dir/bulk/copy$i"
    tar xzf "$corpus" -C "$dir/bulk/copy$i" --strip-components=1
  done
  (cd "$dir" && git init -q && git add -A && git -c user.name=b -c user.email=b@example.org commit -qm corpus)
  echo "$dir"
}

peak_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

run() { # $1 = copies, $2 = rounds
  local dir; dir=$(prepare "$1")
  local files; files=$(cd "$dir" && git ls-files | wc -l)
  echo "== corpus x$1: $files files ($dir), $2 round(s) of 5 runs"
  local jsons=()
  for round in $(seq 1 "$2"); do
    jsons+=("$work/x$1.$round.json")
    time_tools "$dir" "$work/x$1.$round.json"
  done
  python3 - "${jsons[@]}" <<'PY'
import json, statistics, sys
rounds = [{x["command"]: x["mean"] for x in json.load(open(f))["results"]} for f in sys.argv[1:]]
for name in rounds[0]:
    mean = statistics.median(r[name] for r in rounds)
    ratio = statistics.median(r[name] / r["rg"] for r in rounds)
    print(f"  {name:16s} {mean*1000:9.1f} ms   {ratio:5.2f}x rg")
PY
  printf '  peak memory: rg %s KB, regshift audit %s KB, regshift plan %s KB\n' \
    "$(peak_kb rg -l -i -e "$hosts" "$dir")" \
    "$(peak_kb "$regshift" audit -C "$dir")" \
    "$(peak_kb "$regshift" plan -C "$dir" --format stat)"
  git -C "$dir" checkout -q .
}

time_tools() { # $1 = tree, $2 = JSON out
  local dir=$1 json=$2
  hyperfine --warmup 1 --runs 5 --ignore-failure --export-json "$json" \
    --prepare "git -C $dir checkout -q ." \
    -n rg "rg -l -i -e '$hosts' $dir" \
    -n "regshift audit" "$regshift audit -C $dir" \
    -n "regshift plan" "$regshift plan -C $dir --format stat" \
    -n "git grep | sed" "cd $dir && git grep -l -i -E '$hosts' | xargs -r sed -i -E 's/$hosts/quay.io/g'" \
    -n "fastmod" "fastmod --accept-all -d $dir '$hosts' quay.io" >/dev/null
}

run 1 3
run 30 1
