"""``posthog_hosts=``: a self-hosted PostHog's host, as the CLI's
``--posthog-host``. A legacy personal API key sent as a bearer token
counts only on a line that names posthog.com or one of these hosts; every
entry point that takes the rule options takes it, and verify= will not
send such a key to PostHog Cloud unless told where the instance is."""

from __future__ import annotations

import io

import pytest
from posthog_standin import StandIn

import phx_redact
from conftest import Keys, run_cli, string_logger
from phx_redact.logging import RedactingFilter

HOST = "posthog.internal.example"
MARKER = "[REDACTED:posthog-legacy-bearer]"


@pytest.fixture
def token(keys: Keys) -> str:
    """A legacy personal API key's shape: 43 URL-safe base64 characters."""
    return keys.body(43)


def line_for(token: str, host: str = HOST) -> str:
    return f"POST https://{host}/api/event Authorization: Bearer {token}\n"


def test_redact_counts_a_named_host_and_only_then(token):
    line = line_for(token)
    assert phx_redact.redact(line) == line, "an unnamed host"
    want = line.replace(token, MARKER)
    assert phx_redact.redact(line, posthog_hosts=[HOST]) == want
    assert phx_redact.redact(line.encode(), posthog_hosts=(HOST,)) == want.encode()
    # Any case, as posthog.com; and as the CLI's --posthog-host.
    upper = line_for(token, HOST.upper())
    assert phx_redact.redact(upper, posthog_hosts=[HOST]) == upper.replace(token, MARKER)
    cli = run_cli("--posthog-host", HOST, stdin=line.encode())
    assert cli.stdout.decode() == want
    # posthog.com still counts beside the hosts named.
    cloud = line_for(token, "us.posthog.com")
    assert phx_redact.redact(cloud, posthog_hosts=[HOST]) == cloud.replace(token, MARKER)


def test_redactor_takes_the_hosts(token):
    line = line_for(token).encode()
    plain = phx_redact.Redactor()
    assert plain.feed(line) + plain.finish() == line
    redactor = phx_redact.Redactor(posthog_hosts=[HOST])
    # Fed in pieces: the token before the host's name reaches the line.
    out = b"".join(redactor.feed(line[i : i + 7]) for i in range(0, len(line), 7))
    out += redactor.finish()
    assert out == line.replace(token.encode(), MARKER.encode())
    assert [f.rule for f in redactor.findings()] == ["posthog-legacy-bearer"]


def test_files_streams_and_checks_take_the_hosts(token, tmp_path):
    line = line_for(token).encode()
    want = line.replace(token.encode(), MARKER.encode())
    src, dst = tmp_path / "in.log", tmp_path / "out.log"
    src.write_bytes(line)
    phx_redact.redact_file(src, dst)
    assert dst.read_bytes() == line
    info = phx_redact.redact_file(src, dst, posthog_hosts=[HOST])
    assert dst.read_bytes() == want and info["tokens"] == 1
    out = io.BytesIO()
    phx_redact.redact_stream(io.BytesIO(line), out, posthog_hosts=[HOST])
    assert out.getvalue() == want
    assert phx_redact.check(src) == []
    found = phx_redact.check(src, posthog_hosts=[HOST])
    assert [f.rule for f in found] == ["posthog-legacy-bearer"]
    found = phx_redact.check_stream(io.BytesIO(line), posthog_hosts=[HOST])
    assert [f.rule for f in found] == ["posthog-legacy-bearer"]
    assert token not in repr(found)


@pytest.fixture
def logger(request):
    with string_logger(f"test.hosts.{request.node.name}", "%(message)s %(extra_field)s") as log:
        yield log


def test_the_logging_filter_takes_the_hosts(logger, token):
    logger.handler.addFilter(RedactingFilter())
    line = line_for(token).rstrip("\n")
    logger.info("sent %s", line, extra={"extra_field": "-"})
    assert token in logger.output(), "an unnamed host: kept"
    logger.handler.filters.clear()
    logger.handler.addFilter(RedactingFilter(posthog_hosts=[HOST]))
    # The message alone (the native fast path), and a field beside it (the walk).
    logger.info("sent %s", line, extra={"extra_field": "-"})
    logger.info("sent", extra={"extra_field": line})
    out = logger.output().splitlines()[1:]
    assert out == [f"sent {line.replace(token, MARKER)} -", f"sent {line.replace(token, MARKER)}"]


def test_rules_takes_the_hosts_and_says_where_the_bearer_rule_counts():
    assert phx_redact.rules(posthog_hosts=[HOST]) == phx_redact.rules()
    doc = phx_redact.rules.__doc__ or ""
    assert "posthog_hosts" in doc and "lines naming" in " ".join(doc.split())


@pytest.mark.parametrize("bad", ["", "a\nb", "host\r", "\n"])
def test_a_host_that_no_line_could_name_is_refused(bad, keys: Keys):
    key = keys.key("phx")
    calls = [
        lambda: phx_redact.redact("x", posthog_hosts=[HOST, bad]),
        lambda: phx_redact.rules(posthog_hosts=[bad]),
        lambda: phx_redact.Redactor(posthog_hosts=[bad]),
        lambda: phx_redact.check_stream(io.BytesIO(b""), posthog_hosts=[bad]),
        lambda: RedactingFilter(posthog_hosts=[bad]),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="posthog_hosts") as e:
            call()
        assert "line" in str(e.value) and key not in str(e.value)
    # A host holding a key is refused without showing it; so is one too
    # long for a line's look-ahead (the engine's limit, 255 bytes).
    with pytest.raises(ValueError, match="posthog_hosts: host 1 of 1 is longer than 255") as e:
        phx_redact.redact("x", posthog_hosts=[key * 8])
    assert key not in str(e.value)
    with pytest.raises(ValueError) as e:
        phx_redact.redact("x", posthog_hosts=[f"{key}{bad}" if bad else ""])
    assert key not in str(e.value)


def test_a_single_string_is_not_taken_for_its_letters():
    # Refused for being one str (not for an unknown keyword).
    with pytest.raises(TypeError, match="(?s)str.*posthog_hosts"):
        phx_redact.redact("x", posthog_hosts=HOST)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="posthog_hosts: .*str"):
        RedactingFilter(posthog_hosts=HOST)  # type: ignore[arg-type]


def test_verify_does_not_send_a_self_hosted_key_to_posthog_cloud(token, tmp_path):
    log = tmp_path / "a.log"
    log.write_text(line_for(token))
    refused = [
        lambda: phx_redact.check(log, posthog_hosts=[HOST], verify=True),
        lambda: phx_redact.check(log, posthog_hosts=[HOST], verify=phx_redact.Verifier()),
        lambda: phx_redact.check_stream(
            io.BytesIO(log.read_bytes()), posthog_hosts=[HOST], verify=True
        ),
    ]
    for call in refused:
        with pytest.raises(ValueError, match="posthog_urls") as e:
            call()
        assert token not in str(e.value)
    # Named, the instance alone is asked.
    server = StandIn(lambda key: 401)
    try:
        found = phx_redact.check(log, posthog_hosts=[HOST], verify=True, posthog_urls=[server.url])
        verifier = phx_redact.Verifier(posthog_urls=[server.url])
        again = phx_redact.check(log, posthog_hosts=[HOST], verify=verifier)
    finally:
        server.close()
    assert [f.status for f in found] == ["not live"] and [f.status for f in again] == ["not live"]
    assert [r.key() for r in server.requests] == [token, token]
