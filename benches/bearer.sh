#!/usr/bin/env bash
# The bearer rule's cost where it is highest: a log in which three lines in
# four carry an `Authorization: Bearer <43>` header (one after a PostHog
# URL, one before another host's URL, one in JSON with no host), the keys
# made at run time from a seed. One hyperfine run times `cat`, this build
# and, with BASE=, another build (main before the rule), each with -j1 on
# stdin from the file and stdout into a pipe, and prints the ratios.
#
#   benches/bearer.sh [MIB]             # default 64 MiB
#   BASE=path/to/phx-redact benches/bearer.sh
#   BIN=path/to/phx-redact ...          # this binary, not a release build
#
# Needs hyperfine and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-64}
. benches/bin.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$mib" >"$dir/bearer.log" <<'PY'
import random, sys
rng = random.Random(1)
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
size, written, i = int(sys.argv[1]) << 20, 0, 0
while written < size:
    key = "".join(rng.choice(alphabet) for _ in range(43))
    line = [
        f'10.0.0.{i % 250} "GET https://us.posthog.com/api/projects/1/flags HTTP/1.1" Authorization: Bearer {key} 200\n',
        f'curl -H "Authorization: Bearer {key}" https://api.example.com/v1/things?page={i}\n',
        f'{{"ts":"2026-11-28","msg":"request","headers":{{"authorization":"Bearer {key}"}},"latency_ms":{i % 900}}}\n',
        f"2026-11-28 worker[{i % 16}]: processed job {i} in 42 ms; queue depth 7\n",
    ][i % 4]
    sys.stdout.write(line)
    written += len(line)
    i += 1
PY
log=$dir/bearer.log
names=(-n cat "cat" -n new "$bin -j1")
if [ -n "${BASE:-}" ]; then
  names+=(-n base "$(realpath "$BASE") -j1")
fi
hyperfine -N --style none --warmup 2 --min-runs 15 --export-json "$dir/run.json" \
  --input "$log" --output=pipe "${names[@]}" >/dev/null
python3 - "$dir/run.json" "$(stat -c %s "$log")" <<'PY'
import json, sys
runs = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
size = int(sys.argv[2])
for name, t in runs.items():
    print(f"{name:5} {t * 1000:8.1f} ms  {size / t / 1e6:7.0f} MB/s  {t / runs['cat']:5.2f}x cat"
          + (f"  {t / runs['base']:5.2f}x base" if "base" in runs else ""))
PY
