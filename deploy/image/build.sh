#!/usr/bin/env bash
# Builds the phx-redact OCI image offline: a static binary (the glibc
# target with crt-static; musl's target is not installable everywhere) alone
# in one layer, run as 65532:65532, with no shell and nothing else, so the
# root file system can be mounted read-only. Writes an OCI image layout
# (TARGET/image/oci, tag = the crate's version) and the same as an archive
# (TARGET/image/phx-redact-VERSION.oci.tar), for `skopeo copy` or
# `podman load`. Needs the Rust toolchain and umoci (installed from Debian's
# packages when missing); no registry, no daemon, no network but crates.io.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${CARGO_TARGET_DIR:-target}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
triple=x86_64-unknown-linux-gnu
# A target folder of its own: other RUSTFLAGS would otherwise invalidate
# the ordinary release build.
static_dir=$target/static
bin=$static_dir/$triple/release/phx-redact
out=$target/image
layout=$out/oci
archive=$out/phx-redact-$version.oci.tar
# The user the image runs as: not root, and numeric, so that Kubernetes'
# runAsNonRoot can verify it without an /etc/passwd.
user=65532:65532

if ! command -v umoci >/dev/null 2>&1; then
  echo "deploy/image/build.sh: installing umoci (Debian package)" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends umoci
fi

# With --target, RUSTFLAGS reach the binary but not build scripts.
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked --quiet --target "$triple" --target-dir "$static_dir"

# Static: no program interpreter and no shared library needed.
if readelf -lW "$bin" | grep -q INTERP || readelf -dW "$bin" | grep -q NEEDED; then
  echo "deploy/image/build.sh: $bin is not static:" >&2
  readelf -dW "$bin" | grep NEEDED >&2 || true
  exit 1
fi
case "$(ldd "$bin" 2>&1 || true)" in
*"not a dynamic executable"* | *"statically linked"*) ;;
*)
  echo "deploy/image/build.sh: ldd finds libraries in $bin" >&2
  exit 1
  ;;
esac

# Build in a scratch folder, then move the layout into place: an
# interrupted build leaves no half image behind.
work=$(mktemp -d "${TMPDIR:-/tmp}/phx-redact-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootless=()
[ "$(id -u)" = 0 ] || rootless=(--rootless)
# Timestamps from the last commit, so that the same binary gives the same
# layer and the same image digest.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

umoci init --layout "$work/oci"
umoci new --image "$work/oci:$version"
umoci unpack "${rootless[@]}" --image "$work/oci:$version" "$work/bundle"
install -m 0555 "$bin" "$work/bundle/rootfs/phx-redact"
touch -h -d "@$epoch" "$work/bundle/rootfs/phx-redact" "$work/bundle/rootfs"
umoci repack --image "$work/oci:$version" \
  --history.created "$created" --history.created_by "deploy/image/build.sh" \
  --history.comment "the static phx-redact binary, alone" "$work/bundle"
umoci config --no-history --image "$work/oci:$version" \
  --created "$created" \
  --clear=config.env --clear=config.cmd \
  --config.user="$user" \
  --config.entrypoint=/phx-redact \
  --config.workingdir=/ \
  --config.label=org.opencontainers.image.title=phx-redact \
  --config.label=org.opencontainers.image.version="$version" \
  --config.label=org.opencontainers.image.description="Redacts PostHog secret keys from logs and streams"
umoci gc --layout "$work/oci"

mkdir -p "$out"
rm -rf "$layout" "$archive"
mv "$work/oci" "$layout"
tar -C "$layout" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -cf "$archive" .
echo "$layout:$version"
