#!/usr/bin/env bash
# Whole-process comparison: `--input-format cri` and `docker-json` against
# the plain filter on the same content (each file's bytes), best of several
# interleaved runs.
#
#   benches/records.sh [MIB] [RUNS]     # default 64 MiB, 7 runs
#   SHORT=1 benches/records.sh ...      # short lines only (no long ones)
#   BASE=path/to/phx-redact benches/records.sh ...  # and that binary's
#                                       # times, in the same run
#   BIN=path/to/phx-redact ...          # this binary, not a release build
#
# The file is a generated sample log (`--generate-sample`, one line in 100
# with a key) written as containerd writes it: `TIMESTAMP stdout F LINE`,
# and every 50th line 40 KiB long, split into P records of 16 KiB; and the
# same lines as Docker's json-file writes them. Prints the best wall time
# of each and the ratios to plain (plain with -j1, since the record reader
# is one thread, and for CRI at its default threads).
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-64}
runs=${2:-7}
. benches/bin.sh
base=${BASE:-}
# Every 50th line long, split into partials; SHORT=1: none.
every=50
[ -n "${SHORT:-}" ] && every=0
# KEEP=DIR: make the files in DIR and keep them (RUNS 0: only make them).
if [ -n "${KEEP:-}" ]; then
  dir=$KEEP
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi

lines=$((mib * 1024 * 1024 / 160))
"$bin" --generate-sample "$lines" --secret-every 100 >"$dir/sample"
long="$(head -c 40960 /dev/zero | tr '\0' 'x')"
# CRI: `TIME stdout P|F CONTENT`.
awk -v long="$long" -v every="$every" '
  every && NR % every == 0 {
    text = $0 " " long
    while (length(text) > 16384) { print "2024-05-06T07:08:09.123456789Z stdout P " substr(text, 1, 16384); text = substr(text, 16385) }
    print "2024-05-06T07:08:09.123456789Z stdout F " text; next
  }
  { print "2024-05-06T07:08:09.123456789Z stdout F " $0 }' "$dir/sample" >"$dir/0.log"
# json-file: the same lines, a partial record's log without its newline.
awk -v long="$long" -v every="$every" '
  function rec(text, nl) {
    gsub(/\\/, "\\\\", text); gsub(/"/, "\\\"", text); gsub(/\t/, "\\t", text)
    printf "{\"log\":\"%s%s\",\"stream\":\"stdout\",\"time\":\"2024-05-06T07:08:09.123456789Z\"}\n", text, nl
  }
  every && NR % every == 0 {
    text = $0 " " long
    while (length(text) > 16384) { rec(substr(text, 1, 16384), ""); text = substr(text, 16385) }
    rec(text, "\\n"); next
  }
  { rec($0, "\\n") }' "$dir/sample" >"$dir/json.log"
[ "$runs" = 0 ] && exit 0
size=$(stat -c %s "$dir/0.log")
json_size=$(stat -c %s "$dir/json.log")

best() { sort -n | head -1; }
time_one() {
  local file=$1 start end
  shift
  start=$(date +%s.%N)
  "${exe:-$bin}" "$@" "$dir/$file" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
declare -A times
for _ in $(seq "$runs"); do
  times[cri]+="$(time_one 0.log --input-format cri)"$'\n'
  times[plain1]+="$(time_one 0.log -j1)"$'\n'
  times[plain]+="$(time_one 0.log)"$'\n'
  times[json]+="$(time_one json.log --input-format docker-json)"$'\n'
  times[jplain1]+="$(time_one json.log -j1)"$'\n'
  if [ -n "$base" ]; then
    times[bcri]+="$(exe=$base time_one 0.log --input-format cri)"$'\n'
    times[bjson]+="$(exe=$base time_one json.log --input-format docker-json)"$'\n'
  fi
done
cri=$(printf %s "${times[cri]}" | best)
plain1=$(printf %s "${times[plain1]}" | best)
plain=$(printf %s "${times[plain]}" | best)
json=$(printf %s "${times[json]}" | best)
jplain1=$(printf %s "${times[jplain1]}" | best)
echo "files: $((size / 1024 / 1024)) MiB CRI, $((json_size / 1024 / 1024)) MiB json-file; best of $runs"
printf '%-36s %8.3f s\n' "--input-format cri" "$cri" "plain -j1 (CRI file)" "$plain1" \
  "plain (default -j, CRI file)" "$plain" "--input-format docker-json" "$json" \
  "plain -j1 (json-file)" "$jplain1"
printf 'ratio cri / plain -j1:         %.3f\n' "$(echo "$cri / $plain1" | bc -l)"
printf 'ratio cri / plain:             %.3f\n' "$(echo "$cri / $plain" | bc -l)"
printf 'ratio docker-json / plain -j1: %.3f\n' "$(echo "$json / $jplain1" | bc -l)"
if [ -n "$base" ]; then
  bcri=$(printf %s "${times[bcri]}" | best)
  bjson=$(printf %s "${times[bjson]}" | best)
  printf '%-36s %8.3f s\n' "BASE --input-format cri" "$bcri" "BASE --input-format docker-json" "$bjson"
  printf 'ratio BASE cri / plain -j1:         %.3f\n' "$(echo "$bcri / $plain1" | bc -l)"
  printf 'ratio BASE docker-json / plain -j1: %.3f\n' "$(echo "$bjson / $jplain1" | bc -l)"
fi
