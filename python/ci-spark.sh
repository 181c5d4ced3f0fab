#!/usr/bin/env bash
# CI for the Spark job (phx_redact.spark), run after python/ci.sh: a Java
# runtime (Debian's openjdk-17-jre-headless) if there is none, pyspark,
# fsspec, s3fs and moto's S3 server (pinned), then the job's tests on a
# local[2] session, and S3 against moto on 127.0.0.1.
#
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

step "python: a venv with the module, pyspark and the S3 test server"
# Its own venv (python/ci.sh's is a temporary one): target/venv-spark, which
# benches/spark.sh uses too.
venv=${PHX_SPARK_VENV:-$PWD/target/venv-spark}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py=$venv/bin/python
# maturin's build hook runs `maturin` from PATH.
export PATH="$venv/bin:$PATH"
# Pinned: pyspark 4.0 runs on Java 17; s3fs pins the fsspec it is released
# with; moto[server] is the S3 server the tests start on 127.0.0.1.
"$py" -m pip install --quiet --disable-pip-version-check maturin==1.16.0 pytest==9.2.0 \
  'pyspark==4.0.1' 'fsspec==2026.9.0' 's3fs==2026.9.0' 'moto[server]==5.2.5'
# As python/ci.sh builds it (its cargo artefacts are reused): the module as
# of this checkout, with the spark job in it.
MATURIN_PEP517_ARGS="--locked" "$py" -m pip install --quiet --disable-pip-version-check \
  --no-build-isolation --force-reinstall --no-deps ./python

step "the binary the tests compare with"
if [ -z "${PHX_REDACT_BIN:-}" ]; then
  cargo build --locked --quiet
  export PHX_REDACT_BIN=$PWD/target/debug/phx-redact
fi

step "the Spark job's tests (pyspark local[2], moto S3 on 127.0.0.1)"
# Spark's driver binds to loopback; its workers run the venv's Python.
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$py AWS_EC2_METADATA_DISABLED=true
# Outside the source tree, so that `import phx_redact` is the installed
# module, not python/phx_redact without its compiled part.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && "$py" -m pytest -p no:cacheprovider -q \
  "$OLDPWD/python/tests/test_spark.py" "$OLDPWD/python/tests/test_spark_verify.py" \
  "$OLDPWD/python/tests/test_s3.py")
