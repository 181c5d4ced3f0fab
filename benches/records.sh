#!/usr/bin/env bash
# Whole-process comparison: `--input-format cri` against the plain filter on
# the same content (a CRI file's bytes), best of several interleaved runs.
#
#   benches/records.sh [MIB] [RUNS]     # default 64 MiB, 7 runs
#
# The file is a generated sample log (`--generate-sample`, one line in 100
# with a key) written as containerd writes it: `TIMESTAMP stdout F LINE`,
# and every 50th line 40 KiB long, split into P records of 16 KiB. Prints
# the best wall time of each and the ratio cri / plain (plain with -j1,
# since the record reader is one thread, and at its default threads).
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-64}
runs=${2:-7}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/phx-redact
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

lines=$((mib * 1024 * 1024 / 160))
"$bin" --generate-sample "$lines" --secret-every 100 | awk -v long="$(head -c 40960 /dev/zero | tr '\0' 'x')" '
  NR % 50 == 0 {
    text = $0 " " long
    while (length(text) > 16384) { print "2024-05-06T07:08:09.123456789Z stdout P " substr(text, 1, 16384); text = substr(text, 16385) }
    print "2024-05-06T07:08:09.123456789Z stdout F " text; next
  }
  { print "2024-05-06T07:08:09.123456789Z stdout F " $0 }' >"$dir/0.log"
size=$(stat -c %s "$dir/0.log")

best() { sort -n | head -1; }
time_one() {
  local start end
  start=$(date +%s.%N)
  "$bin" "$@" "$dir/0.log" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
declare -A times
for _ in $(seq "$runs"); do
  times[cri]+="$(time_one --input-format cri)"$'\n'
  times[plain1]+="$(time_one -j1)"$'\n'
  times[plain]+="$(time_one)"$'\n'
done
cri=$(printf %s "${times[cri]}" | best)
plain1=$(printf %s "${times[plain1]}" | best)
plain=$(printf %s "${times[plain]}" | best)
echo "file: $((size / 1024 / 1024)) MiB CRI, best of $runs"
printf '%-28s %8.3f s\n' "--input-format cri" "$cri" "plain -j1" "$plain1" "plain (default -j)" "$plain"
printf 'ratio cri / plain -j1: %.3f\n' "$(echo "$cri / $plain1" | bc -l)"
printf 'ratio cri / plain:     %.3f\n' "$(echo "$cri / $plain" | bc -l)"
