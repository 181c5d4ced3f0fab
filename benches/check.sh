#!/usr/bin/env bash
# Audit mode: `phx-redact --check` against ripgrep counting the same rule, on
# the same generated files, after checking that both find the same tokens at
# the same offsets with the same lengths.
#
#   benches/check.sh [MIB]      # MIB per file, default 64
#   BIN=path/to/phx-redact ...   # this binary, not a release build
#
# Needs hyperfine and ripgrep (apt-get install hyperfine ripgrep).
# Writes the figures to target/check/results.md and prints them.
#
# Not the same work: rg -c counts matching lines, while --check also gives
# each token's line and column, fingerprints it (BLAKE3) and lists the
# distinct keys at the end, so on a file dense with tokens it costs more per
# token. The files hold at most one token a line, so the counts agree.
#
# Secret scanners people run in CI instead: gitleaks and trufflehog are Go
# programs that no registry reachable here packages (Debian has neither; the
# PyPI and npm packages of those names are other projects or wrappers that
# download a binary), so they are not measured here. If a `gitleaks` (v8.19
# or later, for `gitleaks dir`) is on PATH, it is checked and timed with a
# config holding only the same rule.
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-64}
out=target/check
mkdir -p "$out"
for tool in hyperfine rg; do
  command -v "$tool" >/dev/null || { echo "check.sh: $tool is not installed" >&2; exit 2; }
done

. benches/bin.sh

rule='(phx|phs|pha|phr)_([A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})'
rg_cmd="rg -c -a '$rule'"

gitleaks=
if command -v gitleaks >/dev/null; then
  gitleaks=$out/gitleaks.toml
  printf '[[rules]]\nid = "posthog"\nregex = %s\n' "'''$rule'''" >"$gitleaks"
fi

# About 130 bytes a line (the files come out somewhat smaller than MIB).
lines=$((mib * 1024 * 1024 / 130))
declare -A every=([clean]=0 [realistic]=100 [dense]=1)
kinds=(clean realistic dense)
for kind in "${kinds[@]}"; do
  file=$out/$kind-${mib}m.log
  [ -s "$file" ] || "$bin" --generate-sample "$lines" --secret-every "${every[$kind]}" --seed 7 >"$file"
done

# Correctness first: every token ripgrep finds, phx-redact reports, at the
# same byte offset and with the same length, and its exit status says so.
for kind in "${kinds[@]}"; do
  file=$out/$kind-${mib}m.log
  status=0
  "$bin" --check --json "$file" >"$out/$kind.json" || status=$?
  grep '"type":"finding"' "$out/$kind.json" \
    | sed -E 's/.*"offset":([0-9]+),"length":([0-9]+).*/\1 \2/' >"$out/$kind.phx" || true
  # ripgrep prints offset:token per match; tokens hold no colon.
  { rg -o -a -b --no-filename --no-line-number --color never "$rule" "$file" || [ $? = 1 ]; } \
    | awk -F: '{ print $1, length($2) }' >"$out/$kind.rg"
  found=$(wc -l <"$out/$kind.rg")
  cmp -s "$out/$kind.phx" "$out/$kind.rg" \
    || { echo "check.sh: phx-redact and rg disagree on $kind" >&2; exit 1; }
  [ "$status" = "$((found > 0 ? 1 : 0))" ] \
    || { echo "check.sh: exit status $status with $found findings in $kind" >&2; exit 1; }
  [ "$kind" = clean ] || [ "$found" -gt 0 ] || { echo "check.sh: nothing found in $kind" >&2; exit 1; }
  if [ -n "$gitleaks" ]; then
    gitleaks dir --no-banner --config "$gitleaks" --report-format json \
      --report-path "$out/$kind.gitleaks.json" "$file" >/dev/null 2>&1 || [ $? = 1 ]
    leaks=$(grep -c '"RuleID"' "$out/$kind.gitleaks.json" || true)
    [ "$leaks" = "$found" ] || { echo "check.sh: gitleaks finds $leaks, not $found, in $kind" >&2; exit 1; }
  fi
  echo "$kind: $found findings, the same from phx-redact and rg${gitleaks:+ and gitleaks}"
done

results=$out/results.md
: >"$results"
run() { # name, file, then hyperfine arguments
  local name=$1 size; size=$(($(stat -c %s "$2") / 1024 / 1024)); shift 2
  # --ignore-failure: --check exits 1 when it finds something, rg when not.
  hyperfine --style basic --warmup 1 --min-runs 5 --ignore-failure --export-markdown "$out/$name.md" "$@" >/dev/null
  { echo "### $name ($size MiB, $(wc -l <"$out/$name.rg") tokens)"; cat "$out/$name.md"; echo; } >>"$results"
}

for kind in "${kinds[@]}"; do
  file=$out/$kind-${mib}m.log
  extra=()
  [ -z "$gitleaks" ] || extra=(-n gitleaks "gitleaks dir --no-banner --config $gitleaks --report-path /dev/null $file")
  run "$kind" "$file" \
    -n "phx-redact --check" "$bin --check $file" \
    -n "phx-redact --check --json" "$bin --check --json $file" \
    -n "rg -c" "$rg_cmd $file" \
    "${extra[@]}" \
    --output null
done

cat "$results"
