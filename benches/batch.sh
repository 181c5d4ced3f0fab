#!/usr/bin/env bash
# Batch scrubbing, whole process: 200 files of about 5 MB, plain and gzip.
#
#   benches/batch.sh [FILES] [MB]     # default 200 files of 5 MB
#   BIN=path/to/phx-redact ...   # this binary, not a release build
#
# Times -j2 against -j1 (mirror into a fresh folder, plain and gzip), and
# in-place scrubbing of the gzip set against the shell loop people use today
# (zcat | sed -E | gzip > f.tmp && mv f.tmp f), after checking that both give
# the same content once decompressed. Needs hyperfine, gzip and GNU sed.
# Writes target/batch/results.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."

files=${1:-200}
mb=${2:-5}
out=target/batch
for tool in hyperfine gzip sed zcat; do
  command -v "$tool" >/dev/null || { echo "batch.sh: $tool is not installed" >&2; exit 2; }
done
. benches/bin.sh

lines=$((mb * 1024 * 1024 / 130))
if [ ! -f "$out/.made-$files-$mb" ]; then
  rm -rf "$out"
  mkdir -p "$out/plain" "$out/gz"
  for i in $(seq 1 "$files"); do
    "$bin" --generate-sample "$lines" --secret-every 100 --seed "$i" >"$out/plain/$i.log"
  done
  # One file generated, many gzip processes: use both cores.
  ls "$out/plain" | xargs -P 2 -I{} sh -c "gzip -6 -c '$out/plain/{}' > '$out/gz/{}.gz'"
  touch "$out/.made-$files-$mb"
fi

rule='(phx|phs|pha|phr)_([A-Za-z0-9]{20}[A-Za-z0-9_]*|[A-Za-z0-9_]{40,})'
shell_loop="for f in $out/work/*.gz; do zcat \"\$f\" | LC_ALL=C sed -E 's/$rule/\\1_[REDACTED]/g' | gzip -6 > \"\$f.tmp\" && mv \"\$f.tmp\" \"\$f\"; done"
fresh="rm -rf $out/work $out/mirror && cp -r $out/gz $out/work"

# Correctness first: the shell loop and phx-redact agree after decompression.
bash -c "$fresh" && bash -c "$shell_loop" && mv "$out/work" "$out/by-shell"
bash -c "$fresh" && "$bin" -q --in-place -r "$out/work"
for f in "$out"/by-shell/*.gz; do
  cmp -s <(zcat "$f") <(zcat "$out/work/$(basename "$f")") || { echo "batch.sh: outputs differ for $f" >&2; exit 1; }
done
rm -rf "$out/by-shell"
echo "phx-redact and the shell loop agree on every file."

results=$out/results.md
: >"$results"
bench() { # name, then hyperfine arguments
  local name=$1; shift
  hyperfine --style basic --warmup 1 --runs 3 --export-markdown "$out/$name.md" "$@" >/dev/null
  { echo "### $name ($files files of $mb MB)"; cat "$out/$name.md"; echo; } >>"$results"
}

bench mirror-plain --prepare "rm -rf $out/mirror" \
  -n "phx-redact -j1" "$bin -q -j1 -r $out/plain --output-dir $out/mirror" \
  -n "phx-redact -j2" "$bin -q -j2 -r $out/plain --output-dir $out/mirror"
# The floor for the plain mirror: how well plain copying of the same files
# scales on this machine.
ls "$out/plain" | sed "s|^|$out/plain/|" >"$out/list"
bench copy-floor --prepare "rm -rf $out/copy && mkdir -p $out/copy" \
  -n "cp, 1 process" "xargs -a $out/list -n 100 -P 1 cp -t $out/copy" \
  -n "cp, 2 processes" "xargs -a $out/list -n 100 -P 2 cp -t $out/copy"
bench mirror-gzip --prepare "rm -rf $out/mirror" \
  -n "phx-redact -j1" "$bin -q -j1 -r $out/gz --output-dir $out/mirror" \
  -n "phx-redact -j2" "$bin -q -j2 -r $out/gz --output-dir $out/mirror"
bench in-place-gzip --prepare "$fresh" \
  -n "zcat | sed | gzip loop" "$shell_loop" \
  -n "phx-redact --in-place -j2" "$bin -q -j2 --in-place -r $out/work"

cat "$results"
