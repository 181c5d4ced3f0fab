#!/usr/bin/env bash
# What issue 20 asks of the record formats: throughput within 10% of plain
# follow on the same content. Makes benches/records.sh's files (a CRI log
# and the same lines as Docker's json-file), then times `--follow
# --from-start` over each, with and without `--input-format`, from start
# until the output holds all it will (the size a one-shot run writes),
# best of several interleaved runs, and prints the ratios: of the best
# times, and the median of each run's own ratio.
#
#   benches/records-follow.sh [MIB] [RUNS]   # default 64 MiB, 5 runs
#   SHORT=1 benches/records-follow.sh ...     # short lines only
#   BIN=path/to/phx-redact ...                # this binary, not a release build
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-64}
runs=${2:-5}
. benches/bin.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The files, as benches/records.sh makes them.
KEEP="$dir" BIN="$bin" bash benches/records.sh "$mib" 0 >/dev/null

# follow FILE [ARGS...]: seconds from start until the output is whole,
# its size polled each 0.5 ms by one process (a `stat` a poll would take a
# core from the follower of these two-core machines, and time in steps).
follow() {
  local file=$1 want
  shift
  want=$("$bin" "$@" "$dir/$file" | wc -c)
  python3 - "$want" "$dir/out" "$bin" --follow --from-start "$@" "$dir/$file" <<'PY'
import os, subprocess, sys, time
want, out, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
with open(out, "wb") as sink:
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
    while os.fstat(sink.fileno()).st_size < want:
        if child.poll() is not None:
            sys.exit(f"the follower exited ({child.returncode}) before its output was whole")
        time.sleep(0.0005)
    wall = time.perf_counter() - start
    child.kill()
    _, _, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    print(f"{wall:.4f} {usage.ru_utime + usage.ru_stime:.4f}")
PY
}
# best COLUMN: the least of that column (1: wall, 2: CPU) of the runs.
best() { awk -v c="$1" 'NF { print $c }' | sort -n | head -1; }
declare -A t w c
for _ in $(seq "$runs"); do
  t[cri]+="$(follow 0.log --input-format cri)"$'\n'
  t[plain]+="$(follow 0.log)"$'\n'
  t[json]+="$(follow json.log --input-format docker-json)"$'\n'
  t[jplain]+="$(follow json.log)"$'\n'
done
echo "follow --from-start, best of $runs: wall (until the output is whole), CPU (user + system)"
for k in cri plain json jplain; do
  w[$k]=$(printf %s "${t[$k]}" | best 1)
  c[$k]=$(printf %s "${t[$k]}" | best 2)
done
printf '  %-40s %7.3f s %7.3f s\n' \
  "--input-format cri (CRI file)" "${w[cri]}" "${c[cri]}" "plain (CRI file)" "${w[plain]}" "${c[plain]}" \
  "--input-format docker-json (json-file)" "${w[json]}" "${c[json]}" \
  "plain (json-file)" "${w[jplain]}" "${c[jplain]}"
ratio() { echo "$1 / $2" | bc -l; }
# median A B: the median of each run's own ratio of A's wall time to B's
# (the runs are interleaved, so a slow stretch of the machine slows both
# of a run's times, and leaves their ratio).
median() {
  paste -d' ' <(printf %s "${t[$1]}" | awk 'NF { print $1 }') \
    <(printf %s "${t[$2]}" | awk 'NF { print $1 }') |
    awk '{ print $1 / $2 }' | sort -n | awk '{ r[NR] = $1 } END { print (r[int((NR + 1) / 2)] + r[int(NR / 2) + 1]) / 2 }'
}
printf 'ratio cri / plain follow:          wall %.3f  CPU %.3f  (median of the runs: %.3f)\n' \
  "$(ratio "${w[cri]}" "${w[plain]}")" "$(ratio "${c[cri]}" "${c[plain]}")" "$(median cri plain)"
printf 'ratio docker-json / plain follow:  wall %.3f  CPU %.3f  (median of the runs: %.3f)\n' \
  "$(ratio "${w[json]}" "${w[jplain]}")" "$(ratio "${c[json]}" "${c[jplain]}")" "$(median json jplain)"
