"""The Spark job on S3, through s3fs, against moto's S3 server on
127.0.0.1 (nothing leaves the machine): the same bytes and findings as the
CLI on the same files, and what in place means in a versioned bucket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyspark")
s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

from phx_redact import spark as phx_spark  # noqa: E402
from spark_tree import (  # noqa: E402
    add_corrupt,
    build_tree,
    cli,
    cli_findings,
    copy_tree,
    files_under,
    session,
)


@pytest.fixture(scope="session")
def spark():
    return session()


@pytest.fixture(scope="module")
def s3():
    """moto's S3 on a free port of 127.0.0.1; the storage options to reach it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # Explicit credentials and region: botocore looks for nothing else (no
    # instance metadata service, no network).
    options = {
        "key": "testing",
        "secret": "testing",
        "endpoint_url": f"http://{host}:{port}",
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    yield options
    server.stop()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = build_tree(tmp_path_factory.mktemp("s3tree") / "logs")
    add_corrupt(root)
    return root


def fs_for(options: dict, **more):
    return s3fs.S3FileSystem(skip_instance_cache=True, **options, **more)


def upload(fs, tree: Path, bucket: str, versioned: bool = False) -> str:
    fs.mkdir(bucket)
    if versioned:
        fs.make_bucket_versioned(bucket)
    for rel, data in files_under(tree).items():
        fs.pipe(f"{bucket}/logs/{rel}", data)
    return f"s3://{bucket}/logs"


def objects_under(fs, prefix: str) -> dict:
    fs.invalidate_cache()
    return {
        path[len(prefix) + 1 :]: fs.cat(path)
        for path in sorted(fs.find(prefix))
    }


BROKEN = ("archive/broken.log.gz", "archive/broken.log.zst")


def test_s3_to_s3_mirror_is_the_clis_mirror_byte_for_byte(spark, s3, tree, tmp_path):
    fs = fs_for(s3)
    source = upload(fs, tree, "mirror-in")
    fs.mkdir("mirror-out")
    cli("-q", "-r", str(tree), "--output-dir", str(tmp_path / "cli"), check_status=(2,))

    df = phx_spark.scrub(spark, [source], output_dir="s3://mirror-out/clean", storage_options=s3)

    assert objects_under(fs, "mirror-out/clean") == files_under(tmp_path / "cli")
    rows = {row.path: row for row in df.collect()}
    assert {p for p, r in rows.items() if r.status == "error"} == {
        f"{source}/{rel}" for rel in BROKEN
    }
    assert {r.status for p, r in rows.items() if r.status != "error"} == {"written"}


def test_s3_to_local_and_a_glob(spark, s3, tree, tmp_path):
    fs = fs_for(s3)
    source = upload(fs, tree, "glob-in")
    cli("-q", "-r", str(tree / "archive" / "old"), "--output-dir", str(tmp_path / "cli"))

    df = phx_spark.scrub(
        spark, [f"{source}/archive/old/*"], output_dir=str(tmp_path / "spark"), storage_options=s3
    )

    assert files_under(tmp_path / "spark") == files_under(tmp_path / "cli")
    assert df.count() == 2
    assert list((tmp_path / "spark").glob(".phx-redact-*")) == []


def test_s3_audit_rows_equal_the_clis_check_json(spark, s3, tree):
    fs = fs_for(s3)
    source = upload(fs, tree, "audit-in")
    expected = [
        {**f, "path": f["path"].replace(str(tree), source)}
        for f in cli_findings("-r", str(tree))
        if f["type"] == "finding" and not f["path"].endswith(BROKEN)
    ]

    rows = phx_spark.audit(spark, [source], storage_options=s3).collect()

    findings = [
        {k: v for k, v in r.asDict().items() if v is not None}
        for r in rows
        if r.type == "finding"
    ]
    key = lambda f: (f["path"], f["offset"])  # noqa: E731
    assert sorted(findings, key=key) == sorted(expected, key=key)
    assert sorted(r.path for r in rows if r.type == "error") == [
        f"{source}/{rel}" for rel in BROKEN
    ]


def test_s3_in_place_writes_new_objects_and_says_the_old_versions_remain(
    spark, s3, tree, tmp_path
):
    fs = fs_for(s3)
    source = upload(fs, tree, "inplace", versioned=True)
    theirs = copy_tree(tree, tmp_path / "cli")
    cli("-q", "--in-place", "-r", str(theirs), check_status=(2,))

    df = phx_spark.scrub(spark, [source], in_place=True, storage_options=s3)

    assert objects_under(fs, "inplace/logs") == files_under(theirs)
    rows = {row.path: row for row in df.collect()}
    app = rows[f"{source}/app.log"]
    assert app.status == "written" and "version" in app.note
    assert rows[f"{source}/clean.log"].status == "clean"
    assert rows[f"{source}/archive/broken.log.gz"].status == "error"
    # The bucket still holds the old version, with the key: what the note
    # warns of. An object with nothing to redact got no new version.
    fs = fs_for(s3, version_aware=True)
    versions = fs.object_version_info("inplace/logs/app.log")
    assert len(versions) == 2
    # (LastModified has whole seconds: the two may share one.)
    [oldest] = [v for v in versions if not v["IsLatest"]]
    with fs.open("inplace/logs/app.log", "rb", version_id=oldest["VersionId"]) as old:
        assert old.read() == (tree / "app.log").read_bytes()
    assert len(fs.object_version_info("inplace/logs/clean.log")) == 1
    assert len(fs.object_version_info("inplace/logs/archive/broken.log.gz")) == 1


def test_s3_mirror_inside_its_input_folder_is_refused(spark, s3, tree):
    fs = fs_for(s3)
    source = upload(fs, tree, "nested")

    with pytest.raises(ValueError, match="inside"):
        phx_spark.scrub(spark, [source], output_dir=f"{source}/clean", storage_options=s3)
    assert not fs.exists("nested/logs/clean")
