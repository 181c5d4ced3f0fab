#!/usr/bin/env bash
# The official SARIF 2.1.0 schema (OASIS's sarif-schema-2.1.0.json, JSON
# Schema draft-07) and a validator for it, under the target folder, for the
# test sarif::the_log_is_valid_against_the_official_schema. The schema comes
# from crates.io, where the serde-sarif crate ships it (its src/schema.json,
# checked against the sha256 pinned here), not from a copy kept by hand;
# jsonschema, with its format checkers, from PyPI into a venv. tests/run.sh
# runs this before the tests; once both are there, it needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
dir=$target/sarif-schema
schema=$dir/sarif-schema-2.1.0.json
crate=serde-sarif-0.8.0
sha256=af47e7b67f24efe74076621fd3a5fbe7398add9e84fe820c971219a385895cea

if ! echo "$sha256  $schema" | sha256sum -c --status 2>/dev/null; then
  # A package of its own (and a workspace of its own), only to have cargo
  # fetch the crate that holds the schema.
  mkdir -p "$dir/fetch/src"
  printf '%s\n' '[package]' 'name = "sarif-schema-fetch"' 'version = "0.0.0"' \
    'edition = "2021"' 'publish = false' '[dependencies]' "serde-sarif = \"=${crate#serde-sarif-}\"" \
    '[workspace]' >"$dir/fetch/Cargo.toml"
  : >"$dir/fetch/src/lib.rs"
  cargo fetch -q --manifest-path "$dir/fetch/Cargo.toml"
  archive=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/cache" -name "$crate.crate" | head -n 1)
  tar -xzOf "$archive" "$crate/src/schema.json" >"$schema.tmp"
  if ! echo "$sha256  $schema.tmp" | sha256sum -c --status; then
    echo "tests/sarif_schema.sh: $crate's schema.json is not the one pinned" >&2
    exit 2
  fi
  mv "$schema.tmp" "$schema"
fi

venv=$target/sarif-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r tests/sarif_requirements.txt
