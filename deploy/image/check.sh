#!/usr/bin/env bash
# CI: builds the image (deploy/image/build.sh), unpacks it with umoci, checks
# what it holds (the binary alone: no shell, nothing to write to) and how it
# runs (a numeric non-root user, the binary as entrypoint), then runs the
# binary from the unpacked root file system (chroot, as the image's user) on
# a sample log and checks that no key comes out. Containers cannot run on
# every CI machine; chroot can (as root, or through sudo). Leaves the
# unpacked image in TARGET/image/bundle for deploy/kubernetes/validate.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=${CARGO_TARGET_DIR:-target}
bundle=$target/image/bundle
fail() {
  echo "deploy/image/check.sh: $*" >&2
  exit 1
}
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

ref=$(bash deploy/image/build.sh | tail -1)
layout=${ref%:*}
rm -rf "$bundle"
$sudo umoci unpack --image "$ref" "$bundle"
rootfs=$bundle/rootfs

# The image's configuration, read from the layout's own blobs.
python3 - "$layout" "${ref##*:}" <<'EOF'
import json, os, sys
layout, tag = sys.argv[1], sys.argv[2]
def blob(digest):
    algo, hex_ = digest.split(":")
    with open(os.path.join(layout, "blobs", algo, hex_)) as f:
        return json.load(f)
index = json.load(open(os.path.join(layout, "index.json")))
[entry] = [m for m in index["manifests"]
           if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
manifest = blob(entry["digest"])
config = blob(manifest["config"]["digest"])
c = config["config"]
problems = []
user = c.get("User", "")
uid, _, gid = user.partition(":")
if not (uid.isdigit() and gid.isdigit()) or uid == "0":
    problems.append(f"User is {user!r}, not a numeric non-root uid:gid")
if c.get("Entrypoint") != ["/phx-redact"]:
    problems.append(f"Entrypoint is {c.get('Entrypoint')!r}")
if c.get("Cmd"):
    problems.append(f"Cmd is {c['Cmd']!r}: the entrypoint alone reads standard input")
if len(manifest["layers"]) != 1:
    problems.append(f"{len(manifest['layers'])} layers, not one")
if config["architecture"] != "amd64" or config["os"] != "linux":
    problems.append(f"platform {config['os']}/{config['architecture']}")
if problems:
    sys.exit("deploy/image/check.sh: the image config: " + "; ".join(problems))
print(f"image config: user {user}, entrypoint {c['Entrypoint']}, one layer")
EOF
user=$($sudo python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["process"]["user"]; print(p["uid"], p["gid"], sep=":")' "$bundle/config.json")

# The root file system is the binary and nothing else: no shell, no
# package manager, no folder the user could write to.
files=$($sudo find "$rootfs" -mindepth 1 -printf '%P %U:%G %m %y\n')
[ "$files" = "phx-redact 0:0 555 f" ] || fail "the root file system holds more than the binary, or it is writable:
$files"

run() { $sudo chroot --userspec="$user" "$rootfs" /phx-redact "$@"; }
run --version
# ldd cannot look inside the chroot; that it runs there, with no library
# and no loader beside it, is the proof that it is static.
work=$(mktemp -d "${TMPDIR:-/tmp}/phx-redact-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
run --generate-sample 5000 --secret-every 2 --seed 20 >"$work/sample.log"
run <"$work/sample.log" >"$work/redacted.log"
key='(phx|phs|pha|phr)_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}'
keys_in=$(grep -cE "$key" "$work/sample.log" || true)
[ "$keys_in" -gt 100 ] || fail "the sample holds only $keys_in keys"
if grep -qE "$key" "$work/redacted.log"; then fail "a key came out of the image's binary"; fi
[ "$(wc -l <"$work/redacted.log")" = 5000 ] || fail "lines were lost"
grep -q '_\[REDACTED\]' "$work/redacted.log" || fail "no marker in the output"
# The C decoders linked in (liblzma, libzstd) work without their shared
# libraries: --check reads the compressed sample from standard input.
for tool in xz zstd gzip; do
  command -v "$tool" >/dev/null 2>&1 || continue
  status=0
  "$tool" -c <"$work/sample.log" | run --check -q - || status=$?
  [ "$status" = 1 ] || fail "--check on the $tool sample: exit $status, not 1 (found)"
done
run --check -q - <"$work/redacted.log" || fail "--check finds a key in the redacted output"
echo "the image's binary, run from its unpacked root as $user: $keys_in lines with keys in, none out"
ls -l "$target/image/"*.oci.tar
