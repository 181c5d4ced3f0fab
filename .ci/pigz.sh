#!/usr/bin/env bash
# pigz (Debian package pigz), which tests/integration/parallel_archive.rs
# drives to make and read gzip files, and benches/parallel-archive.sh
# compares against. Installs it when missing.
set -euo pipefail
command -v pigz >/dev/null 2>&1 && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends pigz
