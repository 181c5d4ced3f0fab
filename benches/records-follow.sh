#!/usr/bin/env bash
# What issue 20 asks of the record formats: throughput within 10% of plain
# follow on the same content. Makes benches/records.sh's files (a CRI log
# and the same lines as Docker's json-file), then times `--follow
# --from-start` over each, with and without `--input-format`, from start
# until the output holds all it will (the size a one-shot run writes),
# best of several interleaved runs, and prints the ratios.
#
#   benches/records-follow.sh [MIB] [RUNS]   # default 64 MiB, 5 runs
#   SHORT=1 benches/records-follow.sh ...     # short lines only
#   BIN=path/to/phx-redact ...                # this binary, not a release build
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-64}
runs=${2:-5}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
fi
bin=$(realpath "${BIN:-${CARGO_TARGET_DIR:-target}/release/phx-redact}")
dir=$(mktemp -d)
trap 'kill %% 2>/dev/null || true; rm -rf "$dir"' EXIT
# The files, as benches/records.sh makes them.
KEEP="$dir" BIN="$bin" bash benches/records.sh "$mib" 0 >/dev/null

# follow FILE [ARGS...]: seconds from start until the output is whole.
follow() {
  local file=$1 want start end
  shift
  want=$("$bin" "$@" "$dir/$file" | wc -c)
  rm -f "$dir/out"
  start=$(date +%s.%N)
  "$bin" --follow --from-start "$@" "$dir/$file" >"$dir/out" 2>/dev/null &
  while [ "$(stat -c %s "$dir/out" 2>/dev/null || echo 0)" -lt "$want" ]; do
    sleep 0.005
  done
  end=$(date +%s.%N)
  kill $! && wait $! 2>/dev/null || true
  echo "$end - $start" | bc
}
best() { sort -n | head -1; }
declare -A t
for _ in $(seq "$runs"); do
  t[cri]+="$(follow 0.log --input-format cri)"$'\n'
  t[plain]+="$(follow 0.log)"$'\n'
  t[json]+="$(follow json.log --input-format docker-json)"$'\n'
  t[jplain]+="$(follow json.log)"$'\n'
done
for k in cri plain json jplain; do t[$k]=$(printf %s "${t[$k]}" | best); done
echo "follow --from-start, best of $runs:"
printf '  %-40s %7.3f s\n' "--input-format cri (CRI file)" "${t[cri]}" "plain (CRI file)" "${t[plain]}" \
  "--input-format docker-json (json-file)" "${t[json]}" "plain (json-file)" "${t[jplain]}"
printf 'ratio cri / plain follow:          %.3f\n' "$(echo "${t[cri]} / ${t[plain]}" | bc -l)"
printf 'ratio docker-json / plain follow:  %.3f\n' "$(echo "${t[json]} / ${t[jplain]}" | bc -l)"
