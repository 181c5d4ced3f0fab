"""The command line (``python -m phx_redact.spark``, or the package's
``__init__.py`` given to ``spark-submit``): the arguments, a Spark
session, the job, and what the CLI prints and exits with. Exit status 0
done and nothing found, 1 found (with ``--check``), 2 an error in any file
(which wins over a finding)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from phx_redact.spark.driver import _audit_rdd, _scrub_rows
from phx_redact.spark.job import _AuditRow, _Rules, _rules, _say, _ScrubRow, _verify, _Verify
from phx_redact.spark.keys import _key_records, _print_keys, _tally_keys, _write_keys_file


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m phx_redact.spark",
        description="Redact PostHog secret keys from many files with Spark.",
        epilog="Exit status: 0 done (nothing found), 1 found (--check), 2 an error in any file.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders, globs or URLs")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--output-dir", metavar="OUT", help="write scrubbed copies under OUT")
    mode.add_argument("--in-place", action="store_true", help="rewrite each file that holds a key")
    mode.add_argument("--check", action="store_true", help="audit: rewrite nothing")
    p.add_argument("--json", action="store_true", help="with --check: JSON lines")
    p.add_argument(
        "--keys-out",
        metavar="FILE",
        help="also write the keys to rotate to FILE as JSON lines (mode 0600); a scrub "
        "writes it before it changes any file",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="ask PostHog whether each key found is live (each executor's Python worker "
        "asks once per key and host); the key list shows each key's status",
    )
    p.add_argument(
        "--posthog-url",
        action="append",
        metavar="URL",
        help="with --verify: a host to ask instead of PostHog's two regions (repeatable)",
    )
    p.add_argument(
        "--verify-timeout", type=float, default=10.0, metavar="SECONDS",
        help="with --verify: the time one call may take (default 10)",
    )  # fmt: skip
    p.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--include-public", action="store_true", help="also redact phc_ keys")
    p.add_argument("--pattern", action="append", default=[], metavar="REGEX")
    p.add_argument(
        "--posthog-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a self-hosted PostHog's host (repeatable): a legacy personal API key sent as "
        "an Authorization: Bearer token on a line naming it is redacted, as on one naming "
        "posthog.com",
    )
    p.add_argument("--marker", default="default", metavar="TEMPLATE")
    p.add_argument("--partitions", type=int, metavar="N", help="tasks that share the files")
    p.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an fsspec storage option (JSON values are decoded), e.g. endpoint_url=...",
    )
    return p


def _storage_options(pairs: list) -> dict:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--storage-option {key!r}: expected KEY=VALUE")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (0, 1 found, 2 error)."""
    args = _parser().parse_args(argv)
    try:
        storage_options = _storage_options(args.storage_option) or None
        rule_options = {
            "include_public": args.include_public,
            "patterns": tuple(args.pattern),
            "posthog_hosts": tuple(args.posthog_host),
        }
        rules = _rules({**rule_options, "marker": args.marker})
        verify = _verify_args(args)
    except (ValueError, TypeError) as e:
        print(f"phx-redact: {_say(str(e), _Rules())}", file=sys.stderr)
        return 2
    spark = _session(args.master)
    if spark is None:
        return 2
    try:
        audit_args = (spark, args.inputs, args.partitions, storage_options, rule_options, verify)
        if args.check:
            return _run_check(args, audit_args, rules)
        # The keys first, into --keys-out before any file changes: a run
        # killed at any moment has lost none of the keys to rotate.
        findings, keys = _tally_keys(_audit_rows(*audit_args))
        if args.keys_out and not _keys_out(args.keys_out, keys, rules, "; nothing was scrubbed"):
            return 2
        rows = _scrub_rows(
            spark,
            args.inputs,
            args.output_dir,
            args.in_place,
            args.partitions,
            storage_options,
            {**rule_options, "marker": args.marker},
        )
    except ValueError as e:
        print(f"phx-redact: {_say(str(e), rules)}", file=sys.stderr)
        return 2
    finally:
        sys.stdout.flush()
    return _finish_scrub(rows, findings, keys)


def _verify_args(args: argparse.Namespace) -> Optional[_Verify]:
    """``--verify`` and its options, checked before Spark starts."""
    if not args.verify and (args.posthog_url or args.verify_timeout != 10.0):
        raise ValueError("--posthog-url and --verify-timeout go with --verify")
    if args.verify and args.posthog_host and not args.posthog_url:
        raise ValueError(
            "--posthog-host names a self-hosted PostHog, whose keys --verify would send to "
            "PostHog Cloud: name the instance with --posthog-url (add https://us.posthog.com "
            "and https://eu.posthog.com to ask the cloud too)"
        )
    return _verify(args.verify, args.posthog_url, args.verify_timeout)


def _session(master: Optional[str]):
    """A Spark session for the command line, or None (said on stderr) when
    pyspark is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        # Not exit 1, which --check means "keys found".
        print(
            "phx-redact: the Spark job needs pyspark (and Java 17): "
            "pip install './python[spark]'",
            file=sys.stderr,
        )
        return None

    # The console progress bar would mix with the findings on a terminal.
    builder = SparkSession.builder.appName("phx-redact").config(
        "spark.ui.showConsoleProgress", "false"
    )
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ---------------------------------------------------------------- --check


def _run_check(args: argparse.Namespace, audit_args: tuple, rules: _Rules) -> int:
    """``--check``: the findings and keys printed as the CLI prints them."""
    audited = _audit_rows(*audit_args)
    findings, errors, keys = _print_check(audited, sys.stdout, args.json)
    if args.keys_out and not _keys_out(args.keys_out, keys, rules, ""):
        errors += 1
    if not findings:
        _say_no_keys()
    return 2 if errors else 1 if findings else 0


def _audit_rows(spark, inputs, partitions, storage_options, rule_options, verify) -> list:
    """The audit's rows, as :data:`AUDIT_SCHEMA` tuples, in the order the
    files were listed (as the CLI prints them)."""
    # collect(), not toLocalIterator(): that would read one partition at
    # a time.
    rdd, order = _audit_rdd(spark, inputs, partitions, storage_options, rule_options, verify)
    rows = sorted(rdd.collect(), key=lambda r: (order.get(r[1], len(order)), r[4] or 0))
    return [_AuditRow(*r) for r in rows]


def _print_check(rows: list, out, json_lines: bool) -> tuple:
    findings = errors = 0
    for row in rows:
        if row.type == "error":
            errors += 1
            print(f"phx-redact: {row.path}: {row.message}", file=sys.stderr)
            if json_lines:
                line = {"type": "error", "path": row.path, "message": row.message}
                print(json.dumps(line, separators=(",", ":")), file=out)
            continue
        findings += 1
        if json_lines:
            fields = ("path", "line", "column", "offset", "length", "rule", "mask", "fingerprint")
            line = {"type": "finding", **{k: getattr(row, k) for k in fields}}
            print(json.dumps(line, separators=(",", ":")), file=out)
        else:
            print(f"{row.path}:{row.line}:{row.column}: {row.rule}: {row.mask}", file=out)
    _, keys = _tally_keys(rows)
    if json_lines:
        for record in _key_records(keys):
            print(json.dumps(record, separators=(",", ":")), file=out)
    else:
        _print_keys(findings, keys, out)
    return findings, errors, keys


def _keys_out(path: str, keys: dict, rules: _Rules, after: str) -> bool:
    """Writes ``--keys-out``; says why not and returns False if it fails."""
    try:
        _write_keys_file(path, keys)
    except OSError as e:
        print(f"phx-redact: --keys-out {_say(path, rules)}: {e.strerror or e}{after}",
              file=sys.stderr)
        return False
    return True


def _say_no_keys() -> None:
    """On a terminal only: scripts reading stderr get what they always got."""
    if sys.stderr.isatty():
        print("no keys found", file=sys.stderr)


# ---------------------------------------------------------------- scrub


def _finish_scrub(rows: list, findings: int, keys: dict) -> int:
    """After a scrub: each file's trouble, the summary, then the keys to
    rotate; returns the exit status."""
    status = _report_scrub([_ScrubRow(*r) for r in rows])
    # Last, on stderr with the summary: what to do next.
    _print_keys(findings, keys, sys.stderr)
    if not keys:
        _say_no_keys()
    return status


def _report_scrub(rows: list) -> int:
    failed = sum(r.status == "error" for r in rows)
    notes = set()
    for r in rows:
        if r.status in ("error", "skipped"):
            print(f"phx-redact: {r.path}: {r.error}", file=sys.stderr)
        if r.note:
            notes.add(r.note)
    for note in sorted(notes):
        print(f"phx-redact: note: {note}", file=sys.stderr)
    scanned = sum(r.status in ("written", "clean") for r in rows)
    changed = sum(r.status == "written" and bool(r.tokens) for r in rows)
    tokens = sum(r.tokens or 0 for r in rows)
    read = sum(r.bytes or 0 for r in rows)
    print(
        f"{scanned} files scanned, {changed} changed, {tokens} tokens redacted, "
        f"{read} bytes read, {failed} failed",
        file=sys.stderr,
    )
    return 2 if failed else 0
