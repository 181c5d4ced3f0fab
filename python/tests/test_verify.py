"""``verify=`` of check and check_stream, against a stand-in for PostHog's
two regions on 127.0.0.1 (two servers that record every request): each
status, each key asked once per region, and no key in a URL, a finding, a
repr, an exception or a log record."""

from __future__ import annotations

import gzip
import io
import logging
import threading

import pytest
from posthog_standin import StandIn, wait_for

import phx_redact


@pytest.fixture
def plan(keys):
    """Each key's answer in each region (US, EU), and what it then is."""
    return {
        keys.key("phx"): ((200, 401), "live"),
        keys.key("phs"): ((401, 403), "live (scoped)"),
        keys.key("pha"): ((401, 401), "not live"),
        keys.key("phr"): ((401, 200), "live"),
        keys.key("phx", 30): ((500, 401), "unknown: {us}: HTTP 500"),
    }


@pytest.fixture
def regions(plan):
    """The two regions, answering each key as ``plan`` says (401 to a key
    it does not know)."""
    servers = [
        StandIn(lambda key, n=n: plan[key][0][n] if key in plan else 401) for n in (0, 1)
    ]
    yield servers
    for server in servers:
        server.close()


def expected(plan, regions) -> dict:
    us = regions[0].url[len("http://"):]
    return {key: status.format(us=us) for key, (_, status) in plan.items()}


def write_logs(tmp_path, plan, public: str) -> list:
    """Three files, each key in each (the last gzipped), and a public key."""
    text = "".join(f"line {n} token={key} end\n" for n, key in enumerate(plan)) + public + "\n"
    paths = []
    for n in range(3):
        path = tmp_path / f"app-{n}.log"
        path.write_text(text)
        paths.append(path)
    paths[2] = tmp_path / "app-2.log.gz"
    paths[2].write_bytes(gzip.compress(text.encode()))
    return paths


def assert_no_key(plan, regions, *texts) -> None:
    for key in plan:
        for server in regions:
            assert all(key not in r.path for r in server.calls())
        for text in texts:
            assert key not in text


def test_each_status_once_per_key_and_region_across_calls(tmp_path, keys, plan, regions, caplog):
    caplog.set_level(logging.DEBUG)
    public = keys.key("phc")
    paths = write_logs(tmp_path, plan, public)
    verifier = phx_redact.Verifier(posthog_urls=[s.url for s in regions], timeout=5)
    want = expected(plan, regions)

    found = []
    for path in paths:
        found += phx_redact.check(path, include_public=True, verify=verifier)
    with open(paths[0], "rb") as reader:
        found += phx_redact.check_stream(
            reader, path="stream", include_public=True, verify=verifier
        )

    assert len(found) == 4 * (len(plan) + 1)
    for finding in found:
        if finding.rule == "phc":
            # Public by design: never sent, no status.
            assert finding.status is None and "status" not in finding.to_dict()
            continue
        line = finding.line - 1
        key = list(plan)[line]
        assert finding.status == want[key], finding
        assert finding.to_dict()["status"] == want[key]
    # One request per key per region, whatever the files and calls.
    for server in regions:
        asked = [r.key() for r in server.calls()]
        assert sorted(asked) == sorted(plan), "each key once, the public key never"
        assert {r.path for r in server.calls()} == {"/api/users/@me/"}
    assert verifier.statuses() == {
        f.fingerprint: f.status for f in found if f.status is not None
    }
    texts = [repr(f) for f in found] + [str(f.to_dict()) for f in found]
    texts += [repr(verifier), str(verifier.statuses()), caplog.text]
    assert_no_key(plan, regions, public, *texts)


def test_verify_true_asks_once_per_call(tmp_path, keys, plan, regions):
    paths = write_logs(tmp_path, plan, keys.key("phc"))
    urls = [s.url for s in regions]
    want = expected(plan, regions)

    found = phx_redact.check(paths[2], verify=True, posthog_urls=urls)
    again = phx_redact.check_stream(
        io.BytesIO(paths[0].read_bytes()), verify=True, posthog_urls=urls
    )

    assert [f.status for f in found] == [want[k] for k in plan]
    assert [f.status for f in again] == [want[k] for k in plan]
    for server in regions:
        # A cache per call: each call asked each key once.
        assert sorted(r.key() for r in server.calls()) == sorted(list(plan) * 2)


def test_without_verify_nothing_is_asked_and_no_status(tmp_path, keys, plan, regions):
    paths = write_logs(tmp_path, plan, keys.key("phc"))
    for verify in (False, None):
        found = phx_redact.check(paths[0], verify=verify)
        assert found and all(f.status is None for f in found)
        assert all("status" not in f.to_dict() for f in found)


def test_a_timeout_is_unknown_and_the_gil_is_released_while_asking(tmp_path, keys):
    key = keys.key("phx")
    (tmp_path / "a.log").write_text(f"token={key}\n")
    hang, quiet = StandIn(lambda k: "hang"), StandIn(lambda k: 401)
    result: list = []
    try:
        worker = threading.Thread(
            target=lambda: result.extend(
                phx_redact.check(
                    tmp_path / "a.log",
                    verify=True,
                    posthog_urls=[hang.url, quiet.url],
                    verify_timeout=3,
                )
            )
        )
        worker.start()
        assert wait_for(lambda: len(hang.calls()) == 1)
        # This thread runs Python while the other waits on the stand-in.
        assert phx_redact.redact(f"x {key}") != f"x {key}"
        assert worker.is_alive()
        worker.join(30)
    finally:
        hang.close()
        quiet.close()
    assert [f.status for f in result] == [f"unknown: {hang.url[7:]}: timeout"]
    assert key not in repr(result) and key not in hang.calls()[0].path


def test_refused_options_name_no_key(tmp_path, keys):
    key = keys.key("phx")
    (tmp_path / "a.log").write_text(f"token={key}\n")
    for urls in ([f"http://example.com/{key}"], [f"ftp://{key}.example.com"], []):
        with pytest.raises(ValueError) as e:
            phx_redact.check(tmp_path / "a.log", verify=True, posthog_urls=urls)
        assert key not in str(e.value) and key not in repr(e.value)
    with pytest.raises(ValueError):
        phx_redact.Verifier(timeout=0)
    with pytest.raises(ValueError):
        phx_redact.check(tmp_path / "a.log", verify=phx_redact.Verifier(), verify_timeout=1)
    with pytest.raises(TypeError):
        phx_redact.check(tmp_path / "a.log", verify="yes")


def test_a_key_in_a_host_name_is_in_no_status_or_repr(tmp_path, keys):
    key, other = keys.key("phx"), keys.key("phs")
    (tmp_path / "a.log").write_text(f"token={other}\n")
    verifier = phx_redact.Verifier(posthog_urls=[f"https://{key}.invalid"], timeout=2)
    found = phx_redact.check(tmp_path / "a.log", verify=verifier)
    assert [f.status.startswith("unknown: ") for f in found] == [True]
    for text in (repr(verifier), repr(found), str(verifier.statuses())):
        assert key not in text and other not in text
