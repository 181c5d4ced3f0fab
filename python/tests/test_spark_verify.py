"""The Spark job's ``verify``, on a real local[2] session, against a
stand-in for PostHog's two regions on 127.0.0.1: each row of a key gets
its status, the tasks ask (no key in a row), each worker process asks once
per key and region, and the command line's key list shows the status."""

from __future__ import annotations

import json

import pytest
from posthog_standin import StandIn

pytest.importorskip("pyspark")

from phx_redact import spark as phx_spark  # noqa: E402
from spark_tree import session  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    return session()


def test_audit_rows_and_key_list_carry_each_keys_status(spark, keys, tmp_path, capsys):
    plan = {
        keys.key("phx"): ((200, 401), "live"),
        keys.key("phs"): ((401, 403), "live (scoped)"),
        keys.key("pha"): ((401, 401), "not live"),
        keys.key("phr"): ((401, 200), "live"),
        keys.key("phx", 30): ((500, 401), "unknown: {us}: HTTP 500"),
    }
    regions = [StandIn(lambda k, n=n: plan[k][0][n] if k in plan else 401) for n in (0, 1)]
    urls = [s.url for s in regions]
    want = {k: status.format(us=urls[0][7:]) for k, (_, status) in plan.items()}
    root = tmp_path / "logs"
    root.mkdir()
    text = "".join(f"n={n} {key}\n" for n, key in enumerate(plan)) + keys.key("phc") + "\n"
    for n in range(3):
        (root / f"app-{n}.log").write_text(text)
    try:
        # One task: one worker process, so each key once per region.
        df = phx_spark.audit(
            spark, [str(root)], partitions=1, verify=True, posthog_urls=urls,
            include_public=True,
        )  # fmt: skip
        rows = df.collect()
        for server in regions:
            assert sorted(r.key() for r in server.calls()) == sorted(plan)
            assert all(key not in r.path for r in server.calls() for key in plan)
        assert df.columns[-1] == "status"
        by_line = list(plan)
        for row in rows:
            want_status = None if row.rule == "phc" else want[by_line[row.line - 1]]
            assert row.status == want_status, row
        assert len(rows) == 3 * (len(plan) + 1)

        # The command line: the key list with each status, as the CLI's.
        status = phx_spark.main(
            ["--check", "--json", "--verify", *(f"--posthog-url={u}" for u in urls), str(root)]
        )
        out = capsys.readouterr().out
    finally:
        for server in regions:
            server.close()
    assert status == 1
    lines = [json.loads(line) for line in out.splitlines()]
    statuses = {line["mask"]: line["status"] for line in lines if line["type"] == "key"}
    masks = {row.mask: row.status for row in rows if row.status}
    assert statuses == masks and len(statuses) == len(plan)
    for key in plan:
        assert key not in out and key not in str(rows)


def test_verify_options_are_refused_on_the_driver(spark, tmp_path, keys, capsys):
    key = keys.key("phx")
    (tmp_path / "a.log").write_text(key)
    with pytest.raises(ValueError) as e:
        phx_spark.audit(spark, [str(tmp_path)], verify=True, posthog_urls=[f"http://x.io/{key}"])
    assert key not in str(e.value)
    assert phx_spark.main(["--check", "--posthog-url=https://ph.example", str(tmp_path)]) == 2
    assert "--verify" in capsys.readouterr().err
