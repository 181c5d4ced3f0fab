#!/usr/bin/env bash
# The Spark job against the CLI, whole process, on the same generated files.
#
#   benches/spark.sh [FILES] [LINES]     # default 120 files of 20,000 lines
#
# FILES files (a third plain, a third gzip, a third zstd; keys of every era,
# one line in 50) are mirrored by:
#   - phx-redact -j2 --output-dir                 (the baseline; and -j1, to
#     show how far the machine itself scales from one core to two)
#   - python -m phx_redact.spark --master local[2] --output-dir
#   - the same at local[1]                         (executor scaling)
#   - both on one file of the set                  (the fixed cost: JVM,
#     session, task scheduling), so that the per-file cost shows apart from it
#   - the job inside one warm session at local[1] and local[2] (per-file
#     cost and executor scaling without the JVM's start-up in the figure)
# after checking that the job's mirror is the CLI's, byte for byte. Needs
# hyperfine, gzip, zstd, Java and a Python with phx_redact[spark]
# ($PYTHON, else the venv of python/ci-spark.sh, else python3).
# Writes target/spark-bench/results.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."

files=${1:-120}
lines=${2:-20000}
out=$PWD/target/spark-bench
python=${PYTHON:-}
if [ -z "$python" ]; then
  python=python3
  [ -x target/venv-spark/bin/python ] && python=$PWD/target/venv-spark/bin/python
fi
for tool in hyperfine gzip zstd java; do
  command -v "$tool" >/dev/null || { echo "spark.sh: $tool is not installed" >&2; exit 2; }
done
"$python" -c 'import phx_redact.spark' || {
  echo "spark.sh: $python cannot import phx_redact.spark (pip install ./python[spark])" >&2
  exit 2
}
cargo build --release --quiet --locked
bin=$PWD/target/release/phx-redact
# Spark's workers run the same interpreter; the driver binds to loopback.
export PYSPARK_PYTHON=$python SPARK_LOCAL_IP=127.0.0.1

if [ ! -f "$out/.made-$files-$lines" ]; then
  rm -rf "$out"
  mkdir -p "$out/in" "$out/one"
  for i in $(seq 1 "$files"); do
    sample() { "$bin" --generate-sample "$lines" --secret-every 50 --seed "$i"; }
    case $((i % 3)) in
      0) sample >"$out/in/$i.log" ;;
      1) sample | gzip -6 >"$out/in/$i.log.gz" ;;
      2) sample | zstd -q -3 >"$out/in/$i.log.zst" ;;
    esac
  done
  cp "$out/in/1.log.gz" "$out/one/"
  touch "$out/.made-$files-$lines"
fi
size=$(du -sh "$out/in" | cut -f1)
raw=$(( $(cat "$out"/in/*.log | wc -c) * 3 / 1024 / 1024 ))

job() { # master, input, output
  echo "$python -m phx_redact.spark --master 'local[$1]' --output-dir $3 $2 2>/dev/null"
}

# Correctness first: the job's mirror is the CLI's, byte for byte.
rm -rf "$out/cli" "$out/spark"
"$bin" -q -j2 -r "$out/in" --output-dir "$out/cli"
bash -c "$(job 2 "$out/in" "$out/spark")"
diff -r "$out/cli" "$out/spark" >/dev/null || { echo "spark.sh: the job's mirror differs from the CLI's" >&2; exit 1; }
echo "The Spark job's mirror is the CLI's, byte for byte ($files files)."

hyperfine --style basic --warmup 1 --runs "${RUNS:-5}" \
  --prepare "rm -rf $out/mirror" --export-json "$out/times.json" --export-markdown "$out/times.md" \
  -n "cli-j2-all" "$bin -q -j2 -r $out/in --output-dir $out/mirror" \
  -n "cli-j1-all" "$bin -q -j1 -r $out/in --output-dir $out/mirror" \
  -n "cli-j2-one" "$bin -q -j2 -r $out/one --output-dir $out/mirror" \
  -n "spark-2-all" "$(job 2 "$out/in" "$out/mirror")" \
  -n "spark-2-one" "$(job 2 "$out/one" "$out/mirror")" \
  -n "spark-1-all" "$(job 1 "$out/in" "$out/mirror")" >/dev/null

# The same jobs inside one warm session (no JVM start-up in the figure):
# the per-file cost, and how it scales from one executor to two.
warm() { # master
  "$python" - "$1" "$out" "${RUNS:-5}" 2>/dev/null <<'PY'
import json, shutil, statistics, sys, time
from pyspark.sql import SparkSession
from phx_redact import spark as job
master, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
session = (SparkSession.builder.master(f"local[{master}]")
           .config("spark.ui.showConsoleProgress", "false").getOrCreate())
times = {}
for name, source in (("all", f"{out}/in"), ("one", f"{out}/one")):
    runs_s = []
    for _ in range(runs + 1):  # the first run warms the workers up
        shutil.rmtree(f"{out}/mirror", ignore_errors=True)
        start = time.perf_counter()
        job._scrub_rows(session, [source], f"{out}/mirror", False, None, None, {})
        runs_s.append(time.perf_counter() - start)
    times[name] = statistics.median(runs_s[1:])
print(json.dumps(times))
PY
}
warm 1 >"$out/warm-1.json"
warm 2 >"$out/warm-2.json"

"$python" - "$out/times.json" "$files" "$size" "$raw" >"$out/results.md" <<'EOF'
import json, sys
runs = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
files, size, raw = int(sys.argv[2]), sys.argv[3], sys.argv[4]
t = {name: r["mean"] for name, r in runs.items()}
sd = {name: r["stddev"] or 0.0 for name, r in runs.items()}
per_file = lambda kind: (t[f"{kind}-all"] - t[f"{kind}-one"]) / (files - 1)
print(f"### Spark job against the CLI ({files} files, {size} on disk, about {raw} MB of text)\n")
print("| run | mean | ± |\n|---|---|---|")
for name in ("cli-j2-all", "cli-j1-all", "spark-2-all", "spark-1-all", "cli-j2-one", "spark-2-one"):
    print(f"| {name} | {t[name]:.2f} s | {sd[name]:.2f} s |")
print()
print(f"- whole run, local[2] / `phx-redact -j2`: {t['spark-2-all'] / t['cli-j2-all']:.1f}x")
print(f"- fixed cost (one file): Spark {t['spark-2-one']:.2f} s, CLI {t['cli-j2-one']:.3f} s")
print(
    f"- per file, once the fixed cost is paid: Spark {per_file('spark-2') * 1000:.0f} ms, "
    f"CLI {per_file('cli-j2') * 1000:.0f} ms "
    f"(ratio {per_file('spark-2') / per_file('cli-j2'):.2f})"
)
import os
warm = {m: json.load(open(os.path.join(os.path.dirname(sys.argv[1]), f"warm-{m}.json"))) for m in (1, 2)}
print(f"- whole run at local[1]: {t['spark-1-all']:.2f} s")
print("\nIn one warm session (median; no JVM start-up):\n")
print("| executors | 120 files | one file | per file |\n|---|---|---|---|")
for m in (1, 2):
    w = warm[m]
    print(f"| local[{m}] | {w['all']:.2f} s | {w['one']:.2f} s | {(w['all'] - w['one']) / (files - 1) * 1000:.1f} ms |")
pf = lambda m: (warm[m]["all"] - warm[m]["one"]) / (files - 1)
print(
    f"\n- per file, warm local[2] against `phx-redact -j2`: {pf(2) * 1000:.1f} ms against "
    f"{per_file('cli-j2') * 1000:.1f} ms (ratio {pf(2) / per_file('cli-j2'):.2f})"
)
print(f"- executors: local[2] does the files {pf(1) / pf(2):.2f}x as fast as local[1]")
print(
    f"- the machine's own scaling in the same run: `phx-redact -j2` is "
    f"{t['cli-j1-all'] / t['cli-j2-all']:.2f}x as fast as `-j1`"
)
EOF
cat "$out/results.md"
