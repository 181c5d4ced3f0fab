#!/usr/bin/env bash
# Two builds side by side, each case in one hyperfine run with its baseline,
# so that a change shows beside the machine's noise:
#
#   benches/ab.sh OLD_BINARY [NEW_BINARY] [MIB]
#
# NEW_BINARY defaults to this tree's release build; MIB (default 256) and
# the files are benches/io.sh's. Checks both builds give the same output
# and the same verdict before timing. Needs hyperfine and ripgrep. Writes
# target/io/ab.md and prints it: "x" is the baseline's time over each
# build's (above 1: faster than the baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "${1:?usage: benches/ab.sh OLD_BINARY [NEW_BINARY] [MIB]}")
mib=${3:-256}
tools="hyperfine rg python3"
PHX=${2:-} . benches/io-files.sh
new=$bin
tree=$out/tree
[ -d "$tree" ] || { echo "ab.sh: run benches/io.sh first (it makes $tree)" >&2; exit 2; }
rule='(phx|phs|pha|phr)_([A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})'
for f in "$real" "$dense"; do
  cmp -s <("$old" "$f") <("$new" "$f") || { echo "ab.sh: the builds differ on $f" >&2; exit 1; }
done
for args in "$real" "$dense" "-r $tree"; do
  # shellcheck disable=SC2086
  a=$("$old" --check -q $args; echo $?) b=$("$new" --check -q $args; echo $?)
  [ "$a" = "$b" ] || { echo "ab.sh: verdicts differ on $args" >&2; exit 1; }
done
printf '#!/usr/bin/env bash\n"$1" "$2" | cat >/dev/null\n' >"$out/to-pipe"
printf '#!/usr/bin/env bash\ncat "$1" | cat >/dev/null\n' >"$out/cat-to-pipe"
chmod +x "$out/to-pipe" "$out/cat-to-pipe"

results=$out/ab.md
printf '| case | baseline | old | new | baseline / old | baseline / new |\n|---|---|---:|---:|---:|---:|\n' >"$results"
# ab NAME BASE_NAME BASE_CMD OLD_CMD NEW_CMD
ab() {
  hyperfine -N -i --style none --warmup 3 --min-runs 25 --export-json "$out/run.json" \
    -n old "$4" -n new "$5" -n base "$3" >/dev/null
  python3 - "$1" "$2" "$out/run.json" >>"$results" <<'PY'
import json, sys
name, base_name, path = (a.replace("|", "\\|") for a in sys.argv[1:])
old, new, base = json.load(open(path))["results"]
ms = lambda r: f"{r['mean'] * 1000:.1f} ± {r['stddev'] * 1000:.1f} ms"
print(f"| {name} | {base_name}: {ms(base)} | {ms(old)} | {ms(new)} | "
      f"{base['mean'] / old['mean']:.2f}x | {base['mean'] / new['mean']:.2f}x |")
PY
}
for f in "$real" "$dense"; do
  kind=$(basename "$f" | cut -d- -f1)
  ab "$kind: FILE > /dev/null" "wc -l FILE" "wc -l $f" "$old $f" "$new $f"
  ab "$kind: FILE | cat" "cat FILE | cat" "$out/cat-to-pipe $f" "$out/to-pipe $old $f" "$out/to-pipe $new $f"
  ab "$kind: --check -q" "rg -c" "rg -c -a $rule $f" "$old --check -q $f" "$new --check -q $f"
done
ab "tree: --check -q -r -j2" "rg -c -j2" "rg -c -a -j2 $rule $tree" \
  "$old --check -q -r -j2 $tree" "$new --check -q -r -j2 $tree"
rm -f "$out/run.json"
cat "$results"
