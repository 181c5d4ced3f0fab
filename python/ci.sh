#!/usr/bin/env bash
# CI for the Python module: a fresh virtualenv, the wheel built as a user
# builds it (`pip install ./python`, an optimised abi3 build) and its tag
# checked, the type stubs against the module, clippy on the crate, then
# pytest against the real binary. Needs python3 (3.9+) and the Rust
# toolchain; installs python3-venv, zstd and lz4 from Debian where they are
# missing; reaches only PyPI, crates.io and Debian's archive. Placed after
# .ci/run's release build, it builds nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> [%ss] %s\n' "$SECONDS" "$*"; }

step "python: Debian packages (venv, and the compressors the tests use)"
# Debian splits venv's pip bootstrap into python3-venv; zstd and lz4 make
# the compressed files the tests compare against the binary.
need=()
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v lz4 >/dev/null 2>&1 || need+=(lz4)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

step "python: a fresh virtualenv with pinned tools"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
# The build backend runs the venv's maturin by name.
export PATH="$work/venv/bin:$PATH"
"$py" -m pip install --quiet --disable-pip-version-check \
  maturin==1.16.0 pytest==9.2.0 hypothesis==6.170.17 mypy==1.19.0

step "python: pip install ./python (the abi3 wheel, built fresh)"
# The pinned maturin builds it (no isolated build environment), with the
# lock file as it is.
MATURIN_PEP517_ARGS="--locked" "$py" -m pip install --quiet --disable-pip-version-check \
  --no-build-isolation --force-reinstall ./python
wheel_file=$("$py" -c 'import importlib.metadata as m; print(m.distribution("phx-redact").locate_file("phx_redact-" + m.version("phx-redact") + ".dist-info/WHEEL"))')
grep '^Tag:' "$wheel_file"
if ! grep -q '^Tag: cp39-abi3-' "$wheel_file"; then
  echo "the wheel is not an abi3 wheel for CPython 3.9 and later" >&2
  exit 1
fi

step "python: the type stubs agree with the module (mypy's stubtest)"
(cd "$work" && "$py" -m mypy.stubtest phx_redact._native)

step "python: clippy on the extension crate"
cargo clippy -p phx-redact-python --all-targets --locked -- -D warnings

step "python: pytest"
# The tests compare the module with the real command line: the release
# binary, which .ci/run builds anyway (for its own check of the
# repository), so that CI builds it once.
cargo build --release --locked --quiet --bin phx-redact
export PHX_REDACT_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/phx-redact"
# Outside the source tree, so that `import phx_redact` is the installed
# wheel, not python/phx_redact without its compiled part.
(cd "$work" && "$py" -m pytest -p no:cacheprovider -q "$OLDPWD/python/tests")
step "python: done"
