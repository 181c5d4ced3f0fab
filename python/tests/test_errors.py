"""No key ever shows in an exception: not a pattern's text, not a marker,
not a file's name; findings name a file as the CLI does, its key hidden."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import phx_redact
from conftest import Keys, run_cli


def test_a_bad_pattern_or_marker_is_a_value_error_that_never_quotes_it(keys: Keys):
    key = keys.key("phx", 43)
    custom = "SECRET" + keys.body(20)
    for patterns, marker in [
        ([key + "("], "default"),  # a key pasted into a pattern, unbalanced
        ([custom + "[z-a]"], "default"),
        ([custom + "("], "default"),  # a custom secret, caught by no built-in rule
        (["ok", "(" + custom], "default"),
        ([], "{nope}" + key),  # a key in a marker with an unknown placeholder
        ([custom], "{" + custom),  # a custom rule's secret in a bad marker
        ([""], "default"),  # matches the empty string
    ]:
        for call in (
            lambda: phx_redact.redact("x", patterns=patterns, marker=marker),
            lambda: phx_redact.Redactor(patterns=patterns, marker=marker),
        ):
            with pytest.raises(ValueError) as refused:
                call()
            message = str(refused.value)
            assert message, (patterns, marker)
            assert key[4:] not in message and custom[6:] not in message, message
            assert "invalid rules" in message or "marker" in message, message
    # The same refusals as the CLI's, in the same words.
    cli = run_cli("--pattern", "(" + custom, stdin=b"")
    assert cli.returncode == 2
    with pytest.raises(ValueError) as refused:
        phx_redact.redact(b"", patterns=["(" + custom])
    assert str(refused.value) in cli.stderr.decode()
    with pytest.raises(ValueError, match="cannot parse the regex"):
        phx_redact.check(Path("/dev/null"), patterns=["a("])  # before anything is read
    assert custom[6:] not in cli.stderr.decode()


def test_file_names_holding_a_key_never_show(tmp_path: Path, keys: Keys):
    key = keys.key("phs", 43)
    folder = tmp_path / key
    folder.mkdir()
    missing = folder / "app.log"
    for call in (
        lambda: phx_redact.redact_file(missing, tmp_path / "out.log"),
        lambda: phx_redact.check(missing),
    ):
        with pytest.raises(FileNotFoundError) as refused:
            call()
        assert key[4:] not in str(refused.value), str(refused.value)
        assert "phs_[REDACTED]" in str(refused.value)
    corrupt = folder / "app.log.gz"
    corrupt.write_bytes(gzip.compress(b"x" * 5000)[:30])
    with pytest.raises(phx_redact.RedactError) as refused:
        phx_redact.redact_file(corrupt, tmp_path / "out.log.gz")
    assert key[4:] not in str(refused.value) and "corrupt" in str(refused.value)
    assert not (tmp_path / "out.log.gz").exists()
    # A finding's path hides the key, as the CLI's --check --json does.
    log = folder / "b.log"
    log.write_text(f"token={keys.key('phx', 30)}\n")
    [finding] = phx_redact.check(log)
    assert key[4:] not in finding.path and "phs_[REDACTED]" in finding.path
    cli = run_cli("--check", "--json", str(log))
    assert f'"path":"{finding.path}"' in cli.stdout.decode()
    [named] = phx_redact.check_stream(open(log, "rb"), path=str(log))
    assert named.path == finding.path
    redactor = phx_redact.Redactor(path=str(log))
    redactor.feed(log.read_bytes())
    redactor.finish()
    assert redactor.findings()[0].path == finding.path


def test_a_mistyped_preset_is_refused_with_the_closest_one():
    for call in (
        lambda: phx_redact.redact("x", marker="posthg"),
        lambda: phx_redact.Redactor(marker="posthg"),
    ):
        with pytest.raises(ValueError, match="did you mean --marker posthog"):
            call()
    assert phx_redact.redact("x", marker="literal:[HIDDEN]") == "x"
