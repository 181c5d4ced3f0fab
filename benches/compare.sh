#!/usr/bin/env bash
# Whole-process comparison: phx-redact against the tools people use instead
# (sed, perl, ripgrep), with the same rule on the same generated files, after
# checking that every tool's output is identical.
#
#   benches/compare.sh [MIB]      # MIB per file, default 64
#   BIN=path/to/phx-redact ...   # this binary, not a release build
#
# Needs hyperfine, ripgrep, perl and GNU sed (apt-get install hyperfine ripgrep).
# Writes the figures to target/compare/results.md and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-64}
out=target/compare
mkdir -p "$out"
for tool in hyperfine rg perl sed; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is not installed" >&2; exit 2; }
done

. benches/bin.sh

rule='(phx|phs|pha|phr)_([A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})'
sed_cmd="LC_ALL=C sed -E 's/$rule/\\1_[REDACTED]/g'"
perl_cmd="perl -pe 's/$rule/\$1_[REDACTED]/g'"
rg_cmd="rg -a --passthru --no-line-number --no-filename --color never -r '\${1}_[REDACTED]' '$rule'"

# About 130 bytes a line.
lines=$((mib * 1024 * 1024 / 130))
declare -A every=([clean]=0 [realistic]=100 [dense]=1)
for kind in clean realistic dense; do
  file=$out/$kind.log
  [ -s "$file" ] || "$bin" --generate-sample "$lines" --secret-every "${every[$kind]}" --seed 7 >"$file"
done

# Correctness first: every tool must give the same bytes.
for kind in clean realistic dense; do
  file=$out/$kind.log
  "$bin" "$file" >"$out/$kind.phx"
  for tool in sed perl rg; do
    cmd_var="${tool}_cmd"
    # rg exits 1 when it finds nothing, which on the clean file is right.
    bash -c "${!cmd_var} $file" >"$out/$kind.$tool" || [ $? = 1 ]
    cmp -s "$out/$kind.phx" "$out/$kind.$tool" || { echo "compare.sh: $tool disagrees on $kind" >&2; exit 1; }
  done
  if [ "$kind" != clean ]; then
    ! cmp -s "$file" "$out/$kind.phx" || { echo "compare.sh: nothing redacted in $kind" >&2; exit 1; }
  fi
done
echo "All tools agree on every file."

results=$out/results.md
: >"$results"
run() { # name, then hyperfine arguments
  local name=$1; shift
  hyperfine --style basic --warmup 1 --min-runs 5 --ignore-failure --export-markdown "$out/$name.md" "$@" >/dev/null
  { echo "### $name ($mib MiB)"; cat "$out/$name.md"; echo; } >>"$results"
}

for kind in clean realistic dense; do
  file=$out/$kind.log
  run "$kind" \
    -n phx-redact "$bin $file" \
    -n "rg -r" "$rg_cmd $file" \
    -n sed "$sed_cmd $file" \
    -n perl "$perl_cmd $file" \
    --output null
done

# From a pipe: phx-redact between two cats against a plain cat.
file=$out/realistic.log
run pipe \
  -n "cat | cat" "cat $file | cat" \
  -n "cat | phx-redact" "cat $file | $bin" \
  --output null

cat "$results"
