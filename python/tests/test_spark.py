"""The Spark job against the real phx-redact binary, on a real local[2]
session: the same bytes, the same findings, the same exit statuses.

Each tree is built at run time from the binary's seeded generator and
compressed by the real gzip and zstd tools.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark")

from phx_redact import spark as phx_spark  # noqa: E402
from spark_tree import (  # noqa: E402
    add_corrupt,
    build_tree,
    cli,
    cli_findings,
    copy_tree,
    fake_key,
    files_under,
    session,
)


# A secret-shaped token, as the engine finds one.
HOLDS_A_TOKEN = re.compile(r"ph[xsar]_[A-Za-z0-9_]{0,20}[A-Za-z0-9]{20}")


@pytest.fixture(scope="session")
def spark():
    return session()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return build_tree(tmp_path_factory.mktemp("tree") / "logs")


@pytest.fixture(scope="module")
def broken_tree(tmp_path_factory, tree) -> Path:
    root = copy_tree(tree, tmp_path_factory.mktemp("broken") / "logs")
    add_corrupt(root)
    return root


def rows_by_path(df) -> dict:
    return {row.path: row for row in df.collect()}


def temp_files(root: Path) -> list:
    return sorted(str(p) for p in root.rglob(".phx-redact-*"))


def test_scrub_writes_the_clis_mirror_byte_for_byte(spark, tree, tmp_path):
    ours, theirs = tmp_path / "spark", tmp_path / "cli"
    cli("-q", "-r", str(tree), "--output-dir", str(theirs))

    df = phx_spark.scrub(spark, [str(tree)], output_dir=str(ours))

    assert files_under(ours) == files_under(theirs)
    # Each compressed copy stayed in its format (and is not the original).
    copies = files_under(ours)
    assert copies["archive/2026-11-01.log.gz"][:2] == b"\x1f\x8b"
    assert copies["archive/2026-11-03.log.zst"][:4] == b"\x28\xb5\x2f\xfd"
    rows = rows_by_path(df)
    assert set(rows) == {f"{tree}/{rel}" for rel in files_under(tree)}
    assert {row.status for row in rows.values()} == {"written"}
    assert all(row.error is None for row in rows.values())
    # Tokens per file are the findings the CLI's audit counts in it.
    counts: dict = {}
    for finding in cli_findings("-r", str(tree)):
        counts[finding["path"]] = counts.get(finding["path"], 0) + 1
    assert {path: row.tokens for path, row in rows.items()} == {
        path: counts.get(path, 0) for path in rows
    }
    assert rows[f"{tree}/clean.log"].tokens == 0
    assert rows[f"{tree}/app.log"].bytes == (tree / "app.log").stat().st_size


def test_named_files_globs_and_folders_are_laid_out_as_the_cli_lays_them(spark, tree, tmp_path):
    ours, theirs = tmp_path / "spark", tmp_path / "cli"
    # The CLI gets the glob expanded, as a shell would.
    pattern = f"{tree}/archive/*.gz"
    args = [f"{tree}/app.log", f"{tree}/archive/old"]
    cli("-q", "-r", *args, *sorted(glob.glob(pattern)), "--output-dir", str(theirs))

    df = phx_spark.scrub(spark, [*args, pattern], output_dir=str(ours), partitions=1)

    assert files_under(ours) == files_under(theirs)
    assert sorted(files_under(ours)) == [
        "2025.log",
        "2025.log.zst",
        "2026-11-01.log.gz",
        "2026-11-02.log.gz",
        "app.log",
    ]
    assert df.count() == 5


def test_file_urls_read_and_write_like_paths(spark, tree, tmp_path):
    ours, theirs = tmp_path / "spark", tmp_path / "cli"
    cli("-q", "-r", str(tree), "--output-dir", str(theirs))

    df = phx_spark.scrub(spark, [f"file://{tree}"], output_dir=f"file://{ours}")

    assert files_under(ours) == files_under(theirs)
    assert {row.status for row in df.collect()} == {"written"}
    assert all(row.path.startswith(f"file://{tree}/") for row in df.collect())


def test_audit_rows_equal_the_clis_check_json(spark, tree):
    for options in ({}, {"include_public": True}):
        flags = ["--include-public"] if options else []
        expected = cli_findings(*flags, "-r", str(tree))

        df = phx_spark.audit(spark, [str(tree)], **options)

        rows = [
            {k: v for k, v in row.asDict().items() if v is not None} for row in df.collect()
        ]
        key = lambda f: (f["path"], f["offset"])  # noqa: E731
        assert sorted(rows, key=key) == sorted(expected, key=key)
        assert {f["rule"] for f in expected} >= ({"phx", "phs", "pha", "phr"} | (
            {"phc"} if options else set()
        ))
        assert df.columns == [
            "type", "path", "line", "column", "offset", "length",
            "rule", "mask", "fingerprint", "message", "status",
        ]  # fmt: skip


def test_a_corrupt_archive_fails_only_its_own_row(spark, broken_tree, tmp_path):
    ours, theirs = tmp_path / "spark", tmp_path / "cli"
    cli("-q", "-r", str(broken_tree), "--output-dir", str(theirs), check_status=(2,))

    df = phx_spark.scrub(spark, [str(broken_tree)], output_dir=str(ours))

    rows = rows_by_path(df)
    broken = {f"{broken_tree}/archive/broken.log.gz", f"{broken_tree}/archive/broken.log.zst"}
    assert {p for p, row in rows.items() if row.status == "error"} == broken
    assert {row.status for p, row in rows.items() if p not in broken} == {"written"}
    # Each says what the CLI says of it, without its name (the row has it).
    errors = [e for e in cli_findings("-r", str(broken_tree)) if e["type"] == "error"]
    said = {e["path"]: e["message"] for e in errors}
    assert {path: rows[path].error for path in broken} == said
    assert all("corrupt" in message for message in said.values())
    # No partial copy of a broken file, and every other copy is the CLI's.
    assert files_under(ours) == files_under(theirs)
    assert "archive/broken.log.gz" not in files_under(ours)
    assert temp_files(ours) == []

    audit_rows = phx_spark.audit(spark, [str(broken_tree)]).collect()
    assert {r.path for r in audit_rows if r.type == "error"} == broken
    # The other files' findings are all there. (The CLI also lists what it
    # found in a broken archive before the break; the engine's check() raises
    # instead, so here that file is one error row.)
    expected = cli_findings("-r", str(broken_tree))
    assert sorted((r.path, r.offset) for r in audit_rows if r.type == "finding") == sorted(
        (f["path"], f["offset"])
        for f in expected
        if f["type"] == "finding" and f["path"] not in broken
    )


def test_in_place_replaces_files_atomically_and_leaves_no_temp_file(
    spark, broken_tree, tmp_path
):
    ours = copy_tree(broken_tree, tmp_path / "spark")
    theirs = copy_tree(broken_tree, tmp_path / "cli")
    cli("-q", "--in-place", "-r", str(theirs), check_status=(2,))
    (ours / "app.log").chmod(0o640)
    (theirs / "app.log").chmod(0o640)
    original = (ours / "app.log").read_bytes()
    clean_before = (ours / "clean.log").stat()
    reader = open(ours / "app.log", "rb")  # a reader that holds the old file

    try:
        df = phx_spark.scrub(spark, [str(ours)], in_place=True)
        # A rename, not a rewrite: the open file still holds the original.
        assert reader.read() == original
    finally:
        reader.close()

    assert files_under(ours) == files_under(theirs)
    assert (ours / "app.log").read_bytes() != original
    assert (ours / "app.log").stat().st_mode & 0o777 == 0o640
    clean_after = (ours / "clean.log").stat()
    assert (clean_after.st_ino, clean_after.st_mtime_ns) == (
        clean_before.st_ino,
        clean_before.st_mtime_ns,
    )
    rows = rows_by_path(df)
    assert rows[f"{ours}/clean.log"].status == "clean"
    assert rows[f"{ours}/app.log"].status == "written"
    assert rows[f"{ours}/archive/broken.log.gz"].status == "error"
    assert temp_files(ours) == []
    assert cli("--check", "-q", "-r", str(ours / "archive" / "old")).returncode == 0


def test_a_key_in_a_file_name_is_in_no_row_and_named_as_the_cli_names_it(spark, tmp_path):
    key = fake_key(seed=12)
    src = tmp_path / "in"
    src.mkdir()
    (src / f"leak-{key}.log").write_bytes(b"token " + key.encode() + b"\n")
    # A broken archive with a key in its name: its error must not show it.
    (src / f"old-{key}.log.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    ours, theirs = tmp_path / "spark", tmp_path / "cli"
    cli("-q", "-r", str(src), "--output-dir", str(theirs), check_status=(2,))

    rows = phx_spark.scrub(spark, [str(src)], output_dir=str(ours)).collect()
    findings = phx_spark.audit(spark, [str(src)]).collect()

    assert files_under(ours) == files_under(theirs)
    assert key not in repr(rows) and key not in repr(findings)
    assert sorted((r.status, r.tokens) for r in rows) == [("error", None), ("written", 1)]
    assert {r.type for r in findings} == {"finding", "error"}


def test_a_mirror_that_would_write_two_files_to_one_path_is_refused(spark, tree, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "app.log").write_bytes(b"no key here\n")
    out = tmp_path / "out"

    with pytest.raises(ValueError, match="would both be written"):
        phx_spark.scrub(spark, [str(tree / "app.log"), str(other / "app.log")], output_dir=str(out))
    with pytest.raises(ValueError, match="inside"):
        phx_spark.scrub(spark, [str(tree)], output_dir=str(tree / "clean"))
    assert not out.exists() and not (tree / "clean").exists()


def test_no_input_at_all_is_an_error_not_a_clean_bill(spark, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no input"):
        phx_spark.audit(spark, [str(tmp_path / "empty")])


def test_main_exit_status_is_0_none_1_found_2_error(spark, tree, broken_tree, tmp_path, capsys):
    # In this process, on the shared session (getOrCreate returns it).
    assert phx_spark.main(["--check", str(tree / "clean.log")]) == 0
    capsys.readouterr()
    assert phx_spark.main(["--check", str(tree)]) == 1
    # The text report is the CLI's, line for line.
    expected = cli("--check", "-r", str(tree), check_status=(1,)).stdout.decode()
    assert capsys.readouterr().out == expected
    assert phx_spark.main(["--check", "--json", str(broken_tree)]) == 2
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["type"] for line in lines} == {"finding", "error", "key"}
    assert phx_spark.main(["--output-dir", str(tmp_path / "out"), str(tree)]) == 0
    assert phx_spark.main(["--output-dir", str(tmp_path / "out2"), str(broken_tree)]) == 2
    err = capsys.readouterr().err
    assert "broken.log.gz" in err and "2 failed" in err


def test_the_module_runs_as_a_program_and_fails_on_a_corrupt_file(broken_tree, tmp_path):
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [sys.executable, "-m", "phx_redact.spark", "--master", "local[2]",
         "--output-dir", str(tmp_path / "out"), str(broken_tree)],
        capture_output=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr.decode()[-2000:]
    assert b"broken.log.zst" in done.stderr
    assert (tmp_path / "out" / "app.log").exists()


def test_the_module_runs_from_a_virtualenv_that_is_not_activated(tree, tmp_path):
    # Spark starts its workers with `python3` from PATH unless told: here
    # that is an interpreter without phx_redact, as for a user who runs the
    # venv's python by its path without activating the venv.
    venv_bin = os.path.dirname(sys.executable)
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and os.path.abspath(p) != venv_bin
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "VIRTUAL_ENV")}
    env["PATH"] = path
    ours, theirs = tmp_path / "spark", tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "phx_redact.spark", "--master", "local[2]",
         "--output-dir", str(ours), str(tree / "app.log")],
        capture_output=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    cli("-q", str(tree / "app.log"), "--output-dir", str(theirs))
    assert files_under(ours) == files_under(theirs)


def test_spark_submit_runs_the_job_file_and_passes_on_its_status(tree, tmp_path):
    submit = Path(sys.executable).with_name("spark-submit")
    if not submit.exists():
        pytest.skip("spark-submit is not beside this interpreter")
    # spark-submit finds Spark through this interpreter's pyspark.
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    done = subprocess.run(
        [str(submit), "--master", "local[2]", phx_spark.__file__,
         "--check", "--json", str(tree / "archive")],
        capture_output=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr.decode()[-2000:]
    # Line for line what the CLI prints: findings in file order, then keys.
    expected = cli("--check", "--json", "-r", str(tree / "archive"), check_status=(1,)).stdout
    assert done.stdout.decode().splitlines() == expected.decode().splitlines()
    assert b'"type":"key"' in done.stdout


def test_a_missing_file_fails_its_own_row(spark, tree, tmp_path):
    missing = str(tree / "gone.log")

    rows = rows_by_path(
        phx_spark.scrub(spark, [str(tree / "app.log"), missing], output_dir=str(tmp_path / "out"))
    )

    assert rows[missing].status == "error"
    [said] = [e for e in cli_findings(missing) if e["type"] == "error"]
    assert rows[missing].error == said["message"]
    assert "No such file" in said["message"]
    assert rows[f"{tree}/app.log"].status == "written"


def test_in_place_leaves_a_file_that_grows_meanwhile_as_it_was(tree, tmp_path, monkeypatch):
    # In this process (no Spark): the task's own function, with a writer
    # that appends a line while the engine reads, as an active log would.
    path = copy_tree(tree, tmp_path / "t") / "app.log"
    original = path.read_bytes()
    real = phx_spark.phx_redact.redact_file

    def while_a_writer_appends(src, dst, **options):
        info = real(src, dst, **options)
        with open(src, "ab") as log:
            log.write(b"one more line\n")
        return info

    monkeypatch.setattr(phx_spark.phx_redact, "redact_file", while_a_writer_appends)
    job = phx_spark._Job(phx_spark._Rules(), "in_place")
    item = phx_spark._list_local(str(path))[0]

    row = phx_spark._ScrubRow(*next(phx_spark._scrub_task([[(item, None)]], job)))

    assert row.status == "error" and "changed while it was scrubbed" in row.error
    assert path.read_bytes() == original + b"one more line\n"
    assert temp_files(path.parent) == []


def test_in_place_through_fsspec_on_a_renaming_store(tree, tmp_path):
    # The path HDFS takes (a temporary name, then a rename), run in this
    # process on fsspec's local file system.
    root = copy_tree(tree, tmp_path / "t")
    theirs = copy_tree(tree, tmp_path / "cli")
    cli("-q", "--in-place", "-r", str(theirs))
    job = phx_spark._Job(phx_spark._Rules(), "in_place")
    items = [
        phx_spark._Item(f"file://{root}/{rel}", f"file://{root}/{rel}", rel, 0, local=False)
        for rel in files_under(root)
    ]

    rows = phx_spark._scrub_task([[(i, None) for i in items]], job)
    rows = [phx_spark._ScrubRow(*r) for r in rows]

    assert files_under(root) == files_under(theirs)
    assert {r.status for r in rows} == {"written", "clean"}
    assert all(r.note is None for r in rows)  # a rename: no old version kept
    assert temp_files(root) == []


def _key_list(text: str) -> list:
    """The key list of a report: from its heading to its last advice line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "distinct key" in line)
    end = lines.index("What to do:", start)
    end += 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return lines[start:end]


@pytest.mark.parametrize("mode", ["--in-place", "--output-dir"])
def test_a_scrub_writes_the_keys_first_and_ends_with_the_clis_key_list(
    spark, tree, tmp_path, capsys, mode
):
    logs = copy_tree(tree, tmp_path / "logs")
    # The CLI's audit of the same tree, before anything is scrubbed.
    audit = cli("--check", "--json", "-r", str(logs), check_status=(1,)).stdout.decode()
    records = [json.loads(line) for line in audit.splitlines()]
    records = [r for r in records if r["type"] == "key"]
    assert len(records) > 3
    keys_out = tmp_path / "keys.jsonl"
    text = cli("--check", "-r", str(logs), check_status=(1,)).stdout.decode()
    capsys.readouterr()
    target = ["--in-place"] if mode == "--in-place" else ["--output-dir", str(tmp_path / "out")]
    status = phx_spark.main([*target, "--keys-out", str(keys_out), str(logs)])
    err = capsys.readouterr().err
    assert status == 0, err
    written = keys_out.read_bytes()
    assert [json.loads(line) for line in written.decode().splitlines()] == records
    assert keys_out.stat().st_mode & 0o777 == 0o600
    # Sorted and advised as the CLI's list, last on stderr.
    assert _key_list(err) == _key_list(text)
    assert err.rstrip("\n").endswith(_key_list(text)[-1])
    assert not HOLDS_A_TOKEN.search(err) and not HOLDS_A_TOKEN.search(written.decode())


def test_posthog_hosts_reach_every_task_and_verify_refuses_the_cloud(
    spark, keys, tmp_path, capsys
):
    # A legacy key sent as a bearer token to a self-hosted PostHog counts
    # only with its host named (posthog_hosts=, --posthog-host); verify then
    # needs the instance's URL, refused on the driver before any task.
    host, token = "posthog.internal.example", keys.body(43)
    src = tmp_path / "in"
    src.mkdir()
    line = f"POST https://{host}/api/ Authorization: Bearer {token}\n"
    (src / "a.log").write_text(line)
    want = line.replace(token, "[REDACTED:posthog-legacy-bearer]")
    rows = phx_spark.scrub(spark, [str(src)], output_dir=str(tmp_path / "plain")).collect()
    assert [r.tokens for r in rows] == [0]
    out = tmp_path / "hosts"
    rows = phx_spark.scrub(spark, [str(src)], output_dir=str(out), posthog_hosts=[host]).collect()
    assert [r.tokens for r in rows] == [1] and (out / "a.log").read_text() == want
    audit = phx_spark.audit(spark, [str(src)], posthog_hosts=[host]).collect()
    assert [r.rule for r in audit] == ["posthog-legacy-bearer"]
    with pytest.raises(ValueError, match="posthog_urls") as e:
        phx_spark.audit(spark, [str(src)], posthog_hosts=[host], verify=True)
    assert token not in str(e.value)
    with pytest.raises(ValueError, match="posthog_hosts"):
        phx_spark.scrub(spark, [str(src)], output_dir=str(out), posthog_hosts=["a\nb"])
    cli_out = tmp_path / "cli"
    assert phx_spark.main(["--posthog-host", host, "--output-dir", str(cli_out), str(src)]) == 0
    assert (cli_out / "a.log").read_text() == want
    capsys.readouterr()
    assert phx_spark.main(["--check", "--posthog-host", host, "--verify", str(src)]) == 2
    err = capsys.readouterr().err
    assert "--posthog-url" in err and token not in err
