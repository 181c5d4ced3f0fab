#!/usr/bin/env bash
# Speed where the tool sits: phx-redact in pipes, into files, over trees and
# as an audit, each against the copy that does the same I/O without looking
# at the bytes (cat, wc -l, cp -r, rg -c), side by side in one hyperfine run.
#
#   benches/io.sh [MIB]      # MIB of the realistic log, default 256 (the
#                            # dense log is half that; the tree 120 files)
#   PHX=BINARY benches/io.sh # the same, for another build of phx-redact
#
# Every output is checked equal to the plain path's before it is timed, and
# the plain path's output equal to the regex oracle (rg -r) on the files.
# Needs hyperfine, ripgrep and strace (apt-get install hyperfine ripgrep
# strace). Writes target/io/results.md and prints it: one line per case,
# "x faster" being the baseline's time over phx-redact's (above 1 is faster).
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-256}
tools="hyperfine rg strace cp cat wc python3"
. benches/io-files.sh
tree=$out/tree
if [ ! -d "$tree" ]; then
  mkdir -p "$tree.tmp"
  for i in $(seq 1 120); do
    "$bin" --generate-sample 18000 --secret-every 100 --seed "$i" >"$tree.tmp/$i.log"
  done
  mv "$tree.tmp" "$tree"
fi

# Correctness first. The oracle: ripgrep replacing the same rule.
rule='(phx|phs|pha|phr)_([A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})'
oracle() { rg -a --passthru --no-line-number --no-filename --color never -r '${1}_[REDACTED]' "$rule" "$1" || [ $? = 1 ]; }
for f in "$real" "$dense"; do
  oracle "$f" >"$out/expected"
  "$bin" "$f" >"$out/got.file"
  "$bin" "$f" | cat >"$out/got.pipe"
  cat "$f" | "$bin" | cat >"$out/got.stdin"
  for got in file pipe stdin; do
    cmp -s "$out/expected" "$out/got.$got" || { echo "io.sh: $f via $got differs from the oracle" >&2; exit 1; }
  done
done
rm -rf "$out/mirror"
"$bin" -q -j2 -r "$tree" --output-dir "$out/mirror"
for f in "$tree"/*.log; do
  oracle "$f" | cmp -s - "$out/mirror/$(basename "$f")" || { echo "io.sh: mirror of $f differs" >&2; exit 1; }
done
[ "$("$bin" --check -q "$real"; echo $?)" = 1 ] || { echo "io.sh: --check found nothing" >&2; exit 1; }
rm -f "$out/expected" "$out"/got.*
echo "Every path agrees with the oracle."

results=$out/results${PHX:+-$(basename "$bin")}.md
printf '| case | phx-redact | baseline | baseline / phx-redact |\n|---|---:|---:|---:|\n' >"$results"
# compare NAME PHX_CMD BASE_NAME BASE_CMD [hyperfine options...]
compare() {
  local name=$1 phx=$2 base_name=$3 base=$4
  shift 4
  hyperfine -N --style none --warmup 2 --min-runs 10 --export-json "$out/run.json" "$@" \
    -n phx-redact "$phx" -n "$base_name" "$base" >/dev/null
  python3 - "$name" "$base_name" "$out/run.json" >>"$results" <<'EOF'
import json, sys
name, base_name, path = (a.replace("|", "\\|") for a in sys.argv[1:])
phx, base = json.load(open(path))["results"]
ratio = base["mean"] / phx["mean"]
ms = lambda r: f"{r['mean'] * 1000:.1f} ± {r['stddev'] * 1000:.1f} ms"
print(f"| {name} | {ms(phx)} | {base_name}: {ms(base)} | {ratio:.2f}x |")
EOF
}
sh() { printf 'bash -c %q' "$1"; }

for kind in realistic dense; do
  f=$out/$kind-${mib}m.log
  compare "$kind: FILE | cat" "$(sh "$bin $f | cat >/dev/null")" "cat FILE | cat" "$(sh "cat $f | cat >/dev/null")"
  compare "$kind: cat FILE | phx-redact | cat" "$(sh "cat $f | $bin | cat >/dev/null")" \
    "cat | cat | cat" "$(sh "cat $f | cat | cat >/dev/null")"
  compare "$kind: FILE > /dev/null" "$(sh "$bin $f >/dev/null")" "wc -l FILE" "$(sh "wc -l $f >/dev/null")"
  compare "$kind: FILE > OUT" "$(sh "$bin $f > $out/out")" "cat FILE > OUT" "$(sh "cat $f > $out/out")"
done
compare "tree of 120 files: --output-dir -j2" "$bin -q -j2 -r $tree --output-dir $out/mirror" \
  "cp -r" "cp -r $tree $out/mirror" --prepare "rm -rf $out/mirror"
compare "realistic: --check -q" "$bin --check -q $real" "rg -c" "rg -c -a $rule $real" -i
compare "tree: --check -q -r -j2" "$bin --check -q -j2 -r $tree" "rg -c -j2" "rg -c -a -j2 $rule $tree" -i

# Writes per read, output into a pipe: phx-redact's reads of its input (of
# 1 MiB on the reading thread; 256 KiB before it had one) and its writes to
# standard output, on any thread.
for kind in realistic dense; do
  rm -f "$out"/trace.*
  # One trace file per thread (-ff), so no call is split across lines.
  strace -ff -o "$out/trace" -e trace=read,pread64,write "$bin" "$out/$kind-${mib}m.log" | cat >/dev/null
  # A read of the input: the read-ahead thread's or the engine's, or a
  # segment's pread (app::segments; its 64 KiB reads past the segment's end
  # for a line's end are part of the same segment).
  reads=$(cat "$out"/trace.* | grep -cE '^(read\([0-9]+, .*, (262144|1048576)\)|pread64\([0-9]+, .*, 52428[0-9], [0-9]+\)) = [1-9]')
  writes=$(cat "$out"/trace.* | grep -cE '^write\(1, ')
  python3 -c "print(f'| $kind: writes per read, FILE \\| cat (strace) | {$writes / $reads:.2f} ($writes writes, $reads reads) | | |')" >>"$results"
done
rm -f "$out/out" "$out"/trace.* "$out/run.json"
cat "$results"
