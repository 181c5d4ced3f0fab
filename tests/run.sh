#!/usr/bin/env bash
# The README's test command: installs the real tools the tests drive, where
# they are missing, then runs every Rust test (unit, integration, property
# tests, doc examples). Needs the Rust toolchain, and root (or sudo) only
# when a Debian package is missing. Arguments go to `cargo test`
# (`bash tests/run.sh -- follow::` runs the follow tests alone).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each tool the tests drive, with the Debian package that brings it:
# logrotate rotates followed logs; pzstd, xz, bzip2 and lz4 make real
# archives and pigz real gzip members; attr and acl set what --in-place must
# keep; tar, ar (binutils) and python3's sqlite3 make archives it must not
# break; strace counts the filter's writes per read; rsyslogd (with its
# mmexternal module) runs --rsyslog as rsyslog does; journalctl reads a
# journal file systemd-journal-remote makes.
tools=(logrotate:logrotate pzstd:zstd zstd:zstd xz:xz-utils bzip2:bzip2 lz4:lz4
  setfattr:attr setfacl:acl tar:tar ar:binutils gzip:gzip pigz:pigz
  python3:python3 strace:strace setpriv:util-linux pkill:procps git:git
  rsyslogd:rsyslog journalctl:systemd systemd-journal-remote:systemd-journal-remote)
missing=()
for pair in "${tools[@]}"; do
  tool=${pair%%:*} package=${pair#*:}
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ] && [ ! -x "/sbin/$tool" ] &&
    [ ! -x "/lib/systemd/$tool" ]; then
    [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
  fi
done
# python3 -m venv (for the pre-commit framework, below) is a package of its own.
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})) && [ "${PHX_REDACT_ALLOW_MISSING_TOOLS:-}" = 1 ]; then
  echo "tests/run.sh: missing ${missing[*]}: the tests that need them are skipped" >&2
elif ((${#missing[@]})); then
  echo "tests/run.sh: installing the tools the tests drive: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: no apt-get; install ${missing[*]} (Debian names), or set" \
      "PHX_REDACT_ALLOW_MISSING_TOOLS=1 to skip the tests that need them" >&2
    exit 2
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The pre-commit framework, for the hook's test (diff_check::), in a venv
# under the target folder: nothing is installed system-wide.
venv="${CARGO_TARGET_DIR:-target}/pre-commit-venv"
if ! command -v pre-commit >/dev/null 2>&1 && [ ! -x "$venv/bin/pre-commit" ] &&
  [ "${PHX_REDACT_ALLOW_MISSING_TOOLS:-}" != 1 ]; then
  echo "tests/run.sh: installing the pre-commit framework into $venv" >&2
  python3 -m venv "$venv" && "$venv/bin/pip" install -q pre-commit
fi

# The official SARIF 2.1.0 schema and jsonschema, for the check of
# --check --format sarif (sarif::), under the target folder too.
bash tests/sarif_schema.sh || [ "${PHX_REDACT_ALLOW_MISSING_TOOLS:-}" = 1 ]

exec cargo test --all-features --locked "$@"
