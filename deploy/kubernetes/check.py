"""The manifests' phx-redact command lines, checked against the binary.

Every flag a manifest passes must be one `phx-redact --help` lists, and the
image tag the crate's version. With `--rootfs` (the unpacked image, from
deploy/image/check.sh), each manifest's phx-redact container is run as its
pod runs it: from the image's root, as its user, its volumes made as
folders, its exact arguments: it must follow the log, redact every key,
refuse a second follower on its state, stop on SIGTERM with 0, and resume
after a restart losing and repeating nothing. A manifest that follows a
folder (--recursive, the DaemonSet) is run on a sample /var/log/pods: pods
there at start, a pod started while it runs and one while it is stopped,
each mirrored, redacted, record for record as `--input-format cri` redacts
the whole file. A manifest listed in PENDING must still fail, so the list
cannot outlive its reasons.

Run by deploy/kubernetes/validate.sh, with the venv's Python (PyYAML).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1].parent
MANIFESTS = sorted((ROOT / "deploy/kubernetes").glob("*.yaml"))
# Manifests whose command line the binary does not take yet, and why. Each
# must still be refused; when it runs, test it as the sidecar and drop it.
PENDING = {}
KEY = re.compile(rb"(phx|phs|pha|phr)_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}")
DEADLINE = 30.0


def fail(message):
    sys.exit(f"deploy/kubernetes/check.py: {message}")


def help_flags(binary):
    """Each long flag of `--help`, and whether it takes a value."""
    text = subprocess.run([binary, "--help"], capture_output=True, check=True, text=True).stdout
    flags = {}
    for m in re.finditer(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)(\[?=?\s?<)?", text, re.M):
        flags[m[1]] = m[2] is not None and not m[2].startswith("[")
    return flags


def containers(manifest):
    """Each phx-redact container of a manifest, with its pod spec."""
    for doc in yaml.safe_load_all(manifest.read_text()):
        spec = doc["spec"]
        pod = spec["template"]["spec"] if "template" in spec else spec
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            if "/phx-redact:" in c["image"] or c["image"].startswith("phx-redact:"):
                yield c, pod


def parse_args(args, flags, pending):
    """The positional arguments (the followed files) and the flags' values."""
    files, values, unknown = [], {}, set()
    it = iter(args)
    for arg in it:
        if re.match(r"-[^-]", arg):
            fail(f"{arg}: a manifest spells its flags out (--long), to be checked")
        if not arg.startswith("--"):
            files.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name not in flags:
            unknown.add(name)
            if name in pending:
                next(it, None)  # a pending flag's value
            continue
        values[name] = value if eq else (next(it) if flags[name] else True)
    return files, values, unknown


class Pod:
    """A container of a manifest, run from a copy of the unpacked image."""

    def __init__(self, rootfs, container, pod, work):
        self.root = Path(work) / "root"
        shutil.copytree(rootfs, self.root, symlinks=True)
        ctx = container.get("securityContext", {})
        self.user = f"{ctx.get('runAsUser', 65532)}:{ctx.get('runAsGroup', 65532)}"
        self.args = container.get("command", ["/phx-redact"]) + container.get("args", [])
        self.mounts = container.get("volumeMounts", [])
        # The pod's fsGroup, as the kubelet applies it: a supplementary
        # group of the container, owning each writable volume (setgid).
        fs_group = pod.get("securityContext", {}).get("fsGroup")
        self.groups = [f"--groups={fs_group}"] if fs_group is not None else []
        for mount in self.mounts:
            path = self.inside(mount["mountPath"])
            path.mkdir(parents=True)
            if mount.get("readOnly"):
                continue
            if fs_group is None:
                path.chmod(0o777)  # an emptyDir without fsGroup
            else:
                os.chown(path, 0, fs_group)
                path.chmod(0o2775)
        self.work = Path(work)
        self.runs = 0

    def inside(self, path):
        return self.root / path.lstrip("/")

    def on_a_volume(self, path):
        return any(path.startswith(m["mountPath"].rstrip("/") + "/") for m in self.mounts)

    def start(self):
        self.runs += 1
        out = self.work / f"out-{self.runs}"
        err = self.work / f"err-{self.runs}"
        argv = ["chroot", f"--userspec={self.user}", *self.groups, str(self.root), *self.args]
        if os.geteuid() != 0:
            argv = ["sudo"] + argv
        proc = subprocess.Popen(argv, stdout=out.open("wb"), stderr=err.open("wb"))
        return proc, out, err


def wait_for(what, condition):
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            fail(f"{DEADLINE:.0f}s without {what}")
        time.sleep(0.05)


def lines(path):
    return path.read_bytes().count(b"\n")


def sample(binary, n, seed):
    return subprocess.run(
        [binary, "--generate-sample", str(n), "--secret-every", "2", "--seed", str(seed)],
        capture_output=True,
        check=True,
    ).stdout


def refuse_a_second_then_stop(pod, proc, err, name):
    """A second follower on the same state is refused (exit 2), and the
    running one ends with 0 on SIGTERM, as a pod's stop sends it."""
    second, _, second_err = pod.start()
    if second.wait(timeout=DEADLINE) != 2:
        fail(f"{name}: a second follower on the same state was not refused")
    print(f"{name}: a second follower: {second_err.read_text().strip()}")
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=DEADLINE) != 0:
        fail(f"{name}: SIGTERM did not end it with 0: {err.read_text()}")


def run_as_its_pod_runs(name, binary, pod, files, values):
    """Follow, a second follower refused, SIGTERM, a restart that resumes."""
    logs = [f for f in files if pod.on_a_volume(f)]
    if not logs or logs != files:
        fail(f"{name}: a followed file is not on a volume: {files}")
    log = pod.inside(logs[0])
    first, more, later = sample(binary, 300, 1), sample(binary, 200, 2), sample(binary, 100, 3)
    log.write_bytes(first)
    proc, out, err = pod.start()
    wait_for(f"{name}: the first lines", lambda: lines(out) >= 300)
    with log.open("ab") as f:
        f.write(more)
    wait_for(f"{name}: the lines appended", lambda: lines(out) >= 500)
    refuse_a_second_then_stop(pod, proc, err, name)
    state = values.get("--state")
    if state and not pod.inside(state).is_file():
        fail(f"{name}: no state file at {state}")
    # The container restarts: it resumes from its state, losing nothing.
    with log.open("ab") as f:
        f.write(later)
    proc, out2, err2 = pod.start()
    wait_for(f"{name}: the lines written while it was stopped", lambda: lines(out2) >= 100)
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=DEADLINE) != 0:
        fail(f"{name}: SIGTERM after the restart did not end it with 0: {err2.read_text()}")
    written = out.read_bytes() + out2.read_bytes()
    expected = subprocess.run([binary], input=first + more + later, capture_output=True).stdout
    if KEY.search(written):
        fail(f"{name}: a key came out")
    if written != expected:
        fail(f"{name}: {lines(out)} + {lines(out2)} lines out, not the 600 written, redacted")
    print(f"{name}: {len(KEY.findall(first + more + later))} keys in 600 lines, none out; "
          f"resumed after a restart with nothing lost or repeated")


def read_back(path):
    """A file the pod wrote (as its user: through sudo when not root)."""
    if os.geteuid() == 0:
        return path.read_bytes() if path.is_file() else b""
    got = subprocess.run(["sudo", "cat", str(path)], capture_output=True)
    return got.stdout if got.returncode == 0 else b""


def cri(text, seed):
    """`text` as containerd writes it: a record per line, and one line split
    into partial records through the middle of a key."""
    out = []
    for i, line in enumerate(text.splitlines()):
        stamp = f"2026-01-0{1 + seed}T00:00:00.{i:09d}Z stdout ".encode()
        m = KEY.search(line)
        if m and i % 7 == 0:
            cut = m.start() + 9
            out.append(stamp + b"P " + line[:cut] + b"\n")
            out.append(stamp + b"F " + line[cut:] + b"\n")
        else:
            out.append(stamp + b"F " + line + b"\n")
    return b"".join(out)


def run_folder_as_its_pod_runs(name, binary, pod, files, values):
    """The DaemonSet: pods come and go below the followed folder."""
    mounted = [m["mountPath"].rstrip("/") for m in pod.mounts]
    on_a_volume = len(files) == 1 and (files[0].rstrip("/") in mounted or pod.on_a_volume(files[0]))
    if not on_a_volume or "--output-dir" not in values:
        fail(f"{name}: a folder follower needs one folder on a volume and --output-dir")
    root, mirror = pod.inside(files[0]), pod.inside(values["--output-dir"])
    logs = {p: root / p / "app" / "0.log" for p in ("ns_a_1", "ns_b_2", "ns_c_3")}
    written = {p: b"" for p in logs}

    def write(p, n, seed):
        logs[p].parent.mkdir(parents=True, exist_ok=True)
        data = cri(sample(binary, n, seed), seed)
        with logs[p].open("ab") as f:
            f.write(data)
        written[p] += data

    def copied(p):
        return lines_of(read_back(mirror / logs[p].relative_to(root)))

    def wait_copied(p, n):
        wait_for(f"{name}: {n} lines in the copy of {p}", lambda: copied(p) >= n)

    write("ns_a_1", 300, 1)
    proc, _, err = pod.start()
    wait_copied("ns_a_1", 300)
    write("ns_b_2", 200, 2)  # a pod started while it runs
    write("ns_a_1", 100, 3)
    wait_copied("ns_b_2", 200)
    wait_copied("ns_a_1", 400)
    refuse_a_second_then_stop(pod, proc, err, name)
    write("ns_a_1", 50, 4)
    write("ns_c_3", 60, 5)  # a pod started while it is stopped
    proc, _, err2 = pod.start()
    wait_copied("ns_a_1", 450)
    wait_copied("ns_c_3", 60)
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=DEADLINE) != 0:
        fail(f"{name}: SIGTERM after the restart did not end it with 0: {err2.read_text()}")
    for p, data in written.items():
        got = read_back(mirror / logs[p].relative_to(root))
        expected = subprocess.run(
            [binary, "--input-format", "cri"], input=data, capture_output=True
        ).stdout
        if KEY.search(got):
            fail(f"{name}: a key came out in the copy of {p}")
        if got != expected:
            fail(f"{name}: the copy of {p} is not its records redacted ({lines_of(got)} lines)")
    print(f"{name}: three pods (one started while it ran, one while it was stopped) "
          f"mirrored redacted, record for record, across a restart")


def lines_of(data):
    return data.count(b"\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--rootfs")
    opts = parser.parse_args()
    flags = help_flags(opts.binary)
    version = re.search(r'^version = "(.*)"$', (ROOT / "Cargo.toml").read_text(), re.M)[1]
    for manifest in MANIFESTS:
        pending = PENDING.get(manifest.name)
        found = list(containers(manifest))
        if not found:
            fail(f"{manifest.name}: no phx-redact container")
        for container, pod_spec in found:
            name = f"{manifest.name}: {container['name']}"
            tag = container["image"].rpartition(":")[2]
            if tag != version:
                fail(f"{name}: the image tag is {tag}, the crate's version {version}")
            files, values, unknown = parse_args(
                container.get("args", []), flags, pending["flags"] if pending else set()
            )
            if unknown - (pending["flags"] if pending else set()):
                fail(f"{name}: phx-redact has no {', '.join(sorted(unknown))}")
            if not opts.rootfs:
                continue
            with tempfile.TemporaryDirectory(prefix="phx-redact-pod.") as work:
                pod = Pod(opts.rootfs, container, pod_spec, work)
                if pending:
                    proc, _, err = pod.start()
                    try:
                        code = proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        fail(f"{name} runs now: drop it from PENDING and test it as the sidecar")
                    if code != 2:
                        fail(f"{name}: pending, and exited {code}, not 2")
                    print(f"{name}: pending ({pending['why']}); refused today: "
                          f"{err.read_text().splitlines()[0]}")
                elif "--recursive" in values:
                    run_folder_as_its_pod_runs(name, opts.binary, pod, files, values)
                else:
                    run_as_its_pod_runs(name, opts.binary, pod, files, values)


if __name__ == "__main__":
    main()
