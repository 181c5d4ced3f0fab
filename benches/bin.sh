# Sourced by the benches, from the repository's root: sets `bin` to the
# phx-redact they time, as an absolute path: BIN if given, else this
# tree's release build (built first, in CARGO_TARGET_DIR if set).
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked --quiet
fi
bin=$(realpath "${BIN:-${CARGO_TARGET_DIR:-target}/release/phx-redact}")
