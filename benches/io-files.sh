# Sourced by benches/io.sh and benches/floor.sh: the build to measure and
# the logs they share. Expects $mib, and $tools (what must be installed).
#   $bin   phx-redact: $PHX if set (another build, say an older commit's),
#          else this tree's release build
#   $out   target/io, where the files and results go
#   $real  the realistic log ($mib MiB, a key on 1 line in 100)
#   $dense the dense log ($mib / 2 MiB, a key on every line)
out=$PWD/target/io
mkdir -p "$out"
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is not installed" >&2; exit 2; }
done
if [ -n "${PHX:-}" ]; then
  bin=$(realpath "$PHX")
else
  cargo build --release --locked --quiet
  bin=$PWD/target/release/phx-redact
fi
# The generator's lines average about 107 bytes (realistic) and 133 (dense).
real=$out/realistic-${mib}m.log dense=$out/dense-${mib}m.log
[ -s "$real" ] || "$bin" --generate-sample $((mib * 1024 * 1024 / 107)) --secret-every 100 --seed 7 >"$real"
[ -s "$dense" ] || "$bin" --generate-sample $((mib * 1024 * 1024 / 2 / 133)) --secret-every 1 --seed 8 >"$dense"
