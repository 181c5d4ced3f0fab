#!/usr/bin/env bash
# What two cores allow: the bound on any way of spreading one file's work
# over both cores. The file is cut in two at a line; two phx-redact
# processes take a half each at the same time, with nothing to hand over,
# order or join. No single process reading the file can do better, so where
# even this stays below a baseline (wc -l, rg -c, cat | cat), the goal that
# asks for it is out of reach on this machine, whatever the design.
#
#   benches/floor.sh [MIB]     # MIB of the realistic log, default 256, the
#                              # same files as benches/io.sh
#   PHX=BINARY benches/floor.sh
#
# Needs hyperfine and ripgrep. Writes target/io/floor.md and prints it:
# "x" is the baseline's time over the halves' (above 1: the bound beats it).
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-256}
tools="hyperfine rg python3"
. benches/io-files.sh

rule='(phx|phs|pha|phr)_([A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})'
for f in "$real" "$dense"; do
  lines=$(wc -l <"$f")
  head -n $((lines / 2)) "$f" >"$f.half1"
  tail -n +$((lines / 2 + 1)) "$f" >"$f.half2"
  # The halves redacted are the whole redacted: the cut loses nothing.
  cat "$f.half1" "$f.half2" | cmp -s - "$f" || { echo "floor.sh: halves of $f differ" >&2; exit 1; }
  "$bin" "$f" | cmp -s - <("$bin" "$f.half1"; "$bin" "$f.half2") \
    || { echo "floor.sh: $f redacted in halves differs" >&2; exit 1; }
done

# Each command as a script, so that hyperfine runs it without a shell of
# its own and the halves' two processes start together.
script() {
  printf '#!/usr/bin/env bash\nf=$1; shift\n%s\n' "$2" >"$out/$1"
  chmod +x "$out/$1"
}
script halves "'$bin' \"\$@\" \"\$f.half1\" >/dev/null & '$bin' \"\$@\" \"\$f.half2\" >/dev/null; wait"
script halves-pipe "'$bin' \"\$f.half1\" | cat >/dev/null & '$bin' \"\$f.half2\" | cat >/dev/null; wait"
script whole-pipe "'$bin' \"\$f\" | cat >/dev/null"
script cat-pipe "cat \"\$f\" | cat >/dev/null"

results=$out/floor.md
printf '| case | phx-redact, whole | halves at once | baseline | baseline / halves |\n|---|---:|---:|---:|---:|\n' >"$results"
# bound NAME BASE_NAME BASE_CMD WHOLE_CMD HALVES_CMD
bound() {
  local name=$1 base_name=$2 base=$3 whole=$4 halves=$5
  hyperfine -N -i --style none --warmup 2 --min-runs 15 --export-json "$out/run.json" \
    -n whole "$whole" -n halves "$halves" -n "$base_name" "$base" >/dev/null
  python3 - "$name" "$base_name" "$out/run.json" >>"$results" <<'EOF'
import json, sys
name, base_name, path = (a.replace("|", "\\|") for a in sys.argv[1:])
whole, halves, base = json.load(open(path))["results"]
ms = lambda r: f"{r['mean'] * 1000:.1f} ms"
print(f"| {name} | {ms(whole)} | {ms(halves)} | {base_name}: {ms(base)} | {base['mean'] / halves['mean']:.2f}x |")
EOF
}
for f in "$real" "$dense"; do
  kind=$(basename "$f" | cut -d- -f1)
  bound "$kind: FILE > /dev/null" "wc -l FILE" "wc -l $f" "$bin $f" "$out/halves $f"
  bound "$kind: FILE | cat" "cat FILE | cat" "$out/cat-pipe $f" "$out/whole-pipe $f" "$out/halves-pipe $f"
  bound "$kind: --check -q" "rg -c" "rg -c -a $rule $f" "$bin --check -q $f" "$out/halves $f --check -q"
done
rm -f "$out/run.json" "$real".half? "$dense".half?
cat "$results"
