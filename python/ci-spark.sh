#!/usr/bin/env bash
# CI for the Spark job (phx_redact.spark), run after python/ci.sh: a Java
# runtime (Debian's openjdk-17-jre-headless) if there is none, pyspark,
# fsspec, s3fs and moto's S3 server (pinned), then the job's tests on a
# local[2] session, and S3 against moto on 127.0.0.1.
#
# The venv is python/ci.sh's ($PHX_VENV), where phx_redact is installed;
# where there is none, one is made here and ./python installed into it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Java for Spark"
if ! command -v java >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    openjdk-17-jre-headless
fi
java -version 2>&1 | head -1

step "the venv, pyspark and the S3 test server"
venv=${PHX_VENV:-target/venv-spark}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py=$PWD/$venv/bin/python
[ "${venv#/}" != "$venv" ] && py=$venv/bin/python
"$py" -m pip install -q --upgrade pip
if ! "$py" -c 'import phx_redact' 2>/dev/null; then
  "$py" -m pip install -q ./python
fi
# Pinned: pyspark 4.0 runs on Java 17; s3fs and fsspec are released in step;
# moto[server] is the S3 server the tests run on 127.0.0.1.
"$py" -m pip install -q 'pyspark==4.0.1' 'fsspec==2026.9.0' 's3fs==2026.9.0' \
  'moto[server]==5.2.5' 'pytest>=8'

step "the binary the tests compare with"
if [ -z "${PHX_REDACT_BIN:-}" ]; then
  cargo build --locked --quiet
  export PHX_REDACT_BIN=$PWD/target/debug/phx-redact
fi

step "the Spark job's tests (pyspark local[2], moto S3 on 127.0.0.1)"
# Spark's driver binds to loopback; its workers run the venv's Python.
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$py AWS_EC2_METADATA_DISABLED=true
(cd python && "$py" -m pytest -q -p no:cacheprovider tests/test_spark.py tests/test_s3.py)
