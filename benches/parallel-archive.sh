#!/usr/bin/env bash
# One big archive on every core: a single ~500 MB (decoded) realistic log as
# .gz and as .zst, scrubbed --in-place (a fresh copy each run) and mirrored
# (--output-dir) at -j1 and -j2, beside the pipeline people use today:
#
#   pigz -dc F | sed -E 's/RULE/\1_[REDACTED]/g' | pigz > F.tmp && mv F.tmp F
#
# (and zstd -dc | sed | zstd -T2 for .zst), with sed given phx-redact's own
# rule so that the outputs can be checked equal before anything is timed.
#
#   benches/parallel-archive.sh [MB]     # default 500 (decoded size)
#   BIN=path/to/phx-redact ...   # this binary, not a release build
#
# Needs hyperfine, gzip, pigz, zstd, GNU sed and python3. Writes
# target/parallel-archive/results.md (the ratios first) and prints it.
#
# On a machine shared with other sessions, Linux's autogroup scheduler
# (kernel.sched_autogroup_enabled=1) shares the CPU between sessions, not
# threads: while others are busy, this session gets the same share at -j2
# as at -j1, and the speed-up cannot show. As root, give the run's session
# a larger share, and say so beside the figures:
#
#   setsid bash -c 'echo -15 > /proc/self/autogroup; benches/parallel-archive.sh'
set -euo pipefail
cd "$(dirname "$0")/.."

mb=${1:-500}
out=target/parallel-archive
for tool in hyperfine gzip pigz zstd sed python3; do
  command -v "$tool" >/dev/null || { echo "parallel-archive.sh: $tool is not installed" >&2; exit 2; }
done
. benches/bin.sh

# The data: the realistic sample log (1% of lines hold a key), repeated to
# reach the size, then compressed as the tools do by default.
mkdir -p "$out"
if [ ! -f "$out/.made-$mb" ]; then
  rm -f "$out"/.made-* "$out"/big.*
  "$bin" --generate-sample 2000000 --secret-every 100 --seed 1 >"$out/base.log"
  want=$((mb * 1000 * 1000))
  copies=$((want / $(stat -c %s "$out/base.log") + 1))
  # Whole lines, just past the size (awk reads the copies itself, so
  # nothing upstream dies of a closed pipe).
  LC_ALL=C awk -v want="$want" '{ print; n += length($0) + 1; if (n >= want) exit }' \
    $(for _ in $(seq "$copies"); do echo "$out/base.log"; done) >"$out/big.log"
  rm "$out/base.log"
  pigz -6 -c "$out/big.log" >"$out/big.log.gz"
  zstd -q -3 -T2 -c "$out/big.log" >"$out/big.log.zst"
  touch "$out/.made-$mb"
fi
decoded=$(stat -c %s "$out/big.log")

rule='(phx|phs|pha|phr)_([A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})'
sed_rule="LC_ALL=C sed -E 's/$rule/\\1_[REDACTED]/g'"
pipeline() { # decompress, compress, file
  echo "$1 $3 | $sed_rule | $2 > $3.tmp && mv $3.tmp $3"
}
gz_pipe=$(pipeline "pigz -dc" "pigz -6" "$out/work.log.gz")
zst_pipe=$(pipeline "zstd -q -dc" "zstd -q -3 -T2" "$out/work.log.zst")

# Correctness first: phx-redact at -j1 and -j2 writes the same bytes, which
# the tools test and decode to what the pipeline's sed makes.
for ext in gz zst; do
  case $ext in gz) pipe=$gz_pipe; cat_="pigz -dc"; test_="gzip -t" ;; zst) pipe=$zst_pipe; cat_="zstd -q -dc"; test_="zstd -q -t" ;; esac
  cp "$out/big.log.$ext" "$out/work.log.$ext" && bash -c "$pipe"
  $cat_ "$out/work.log.$ext" >"$out/by-sed.log"
  for j in 1 2; do
    cp "$out/big.log.$ext" "$out/work.log.$ext"
    "$bin" -q -j$j --in-place "$out/work.log.$ext"
    mv "$out/work.log.$ext" "$out/j$j.log.$ext"
  done
  cmp -s "$out/j1.log.$ext" "$out/j2.log.$ext" || { echo "parallel-archive.sh: -j1 and -j2 wrote other .$ext bytes" >&2; exit 1; }
  $test_ "$out/j2.log.$ext"
  cmp -s <($cat_ "$out/j2.log.$ext") "$out/by-sed.log" || { echo "parallel-archive.sh: .$ext: phx-redact and sed differ" >&2; exit 1; }
done
rm -f "$out/by-sed.log"
echo "-j1 and -j2 write the same bytes; gzip -t and zstd -t pass; the content is sed's."

results=$out/results.md
: >"$out/body.md"
bench() { # name, then hyperfine arguments
  local name=$1; shift
  hyperfine --style basic --warmup 1 --runs 3 --export-markdown "$out/$name.md" \
    --export-json "$out/$name.json" "$@" >/dev/null
  { echo "### $name ($((decoded / 1000000)) MB decoded)"; cat "$out/$name.md"; echo; } >>"$out/body.md"
}

fresh_gz="cp $out/big.log.gz $out/work.log.gz"
fresh_zst="cp $out/big.log.zst $out/work.log.zst"
bench in-place-gz --prepare "$fresh_gz" \
  -n "phx-redact -j1" "$bin -q -j1 --in-place $out/work.log.gz" \
  -n "phx-redact -j2" "$bin -q -j2 --in-place $out/work.log.gz" \
  -n "pigz -dc | sed | pigz" "$gz_pipe"
bench mirror-gz --prepare "rm -rf $out/mirror" \
  -n "phx-redact -j1" "$bin -q -j1 --output-dir $out/mirror $out/big.log.gz" \
  -n "phx-redact -j2" "$bin -q -j2 --output-dir $out/mirror $out/big.log.gz"
bench in-place-zst --prepare "$fresh_zst" \
  -n "phx-redact -j1" "$bin -q -j1 --in-place $out/work.log.zst" \
  -n "phx-redact -j2" "$bin -q -j2 --in-place $out/work.log.zst" \
  -n "zstd -dc | sed | zstd -T2" "$zst_pipe"

# The ratios, from the means; and the sizes written.
python3 - "$out" >"$results" <<'EOF'
import json, os, sys
out = sys.argv[1]
def means(name):
    with open(f"{out}/{name}.json") as f:
        return {r["command"]: r["mean"] for r in json.load(f)["results"]}
print("| case | -j1 | -j2 | -j2 speed-up over -j1 | -j2 against the pipeline |")
print("|---|---|---|---|---|")
for name, pipe in [("in-place-gz", "pigz -dc | sed | pigz"), ("mirror-gz", None),
                   ("in-place-zst", "zstd -dc | sed | zstd -T2")]:
    m = means(name)
    j1, j2 = m["phx-redact -j1"], m["phx-redact -j2"]
    against = f"{m[pipe] / j2:.2f}x ({m[pipe]:.2f} s)" if pipe else "-"
    print(f"| {name} | {j1:.2f} s | {j2:.2f} s | {j1 / j2:.2f}x | {against} |")
print()
size = lambda p: os.stat(f"{out}/{p}").st_size
print(f"Sizes: decoded {size('big.log')} bytes; as given: .gz {size('big.log.gz')}, "
      f".zst {size('big.log.zst')}; rewritten by phx-redact: .gz {size('j2.log.gz')}, "
      f".zst {size('j2.log.zst')}.")
print()
EOF
cat "$out/body.md" >>"$results"
rm -f "$out/body.md" "$out/work.log.gz" "$out/work.log.zst"
rm -rf "$out/mirror"
cat "$results"
