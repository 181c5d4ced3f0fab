"""The keys to rotate, as the CLI reports them (src/app/keys.rs): counted
from the audit's findings, sorted, printed with what to do for each kind,
or written to ``--keys-out`` as JSON lines. Masks and fingerprints only,
never a key."""

from __future__ import annotations

import json

from phx_redact.spark.stores import _write_local_atomically

# The inputs listed for one key, as the CLI lists them.
MAX_FILES_PER_KEY = 100

# The list of keys to rotate, as the CLI sorts it (src/app/keys.rs): by
# kind, the most powerful first, then custom rules, then ``capped``; then by
# count, most found first; then as first found.
_KIND_ORDER = ("phx", "phs", "pha", "phr", "phc")

# What to do for each kind: the CLI's words (src/app/keys.rs), which the
# tests compare line for line.
_ADVICE = {
    "phx": "personal API key: roll it in PostHog, Settings \u2192 Personal API keys (it acts as "
    "its user, with its scopes, in the projects it is scoped to)",
    "phs": "project secret API key (feature flags secure API key): roll it in PostHog, "
    "Project \u2192 Settings, then give the new one to the servers that use it",
    "pha": "OAuth tokens: revoke the OAuth app's grant (the user's authorized apps in "
    "PostHog); a refresh token (phr_) mints new access tokens until it is revoked",
    "phc": "public project key, public by design: no action",
    "capped": "text cut at 64 KiB before any rule matched: look at where it was found",
}
_ADVICE["phr"] = _ADVICE["pha"]
_CUSTOM_ADVICE = "rotate it where it was issued"


def _tally_keys(rows: list) -> tuple:
    """The findings counted, and the distinct keys, sorted as the CLI
    sorts them: ``(rule, mask, fingerprint) -> [count, files, status]``
    (``status`` as ``verify`` found it, else None)."""
    keys: dict = {}
    findings = 0
    for row in rows:
        if row.type != "finding":
            continue
        findings += 1
        key = keys.setdefault((row.rule, row.mask, row.fingerprint), [0, [], None])
        key[0] += 1
        if row.path not in key[1]:
            key[1].append(row.path)
        key[2] = key[2] or getattr(row, "status", None)

    def rank(item):
        rule = item[0][0]
        kind = (
            _KIND_ORDER.index(rule)
            if rule in _KIND_ORDER
            else len(_KIND_ORDER) + (1 if rule == "capped" else 0)
        )
        return (kind, -item[1][0])

    # sorted() is stable: keys of one kind and count stay as first found.
    return findings, dict(sorted(keys.items(), key=rank))


def _key_records(keys: dict) -> list:
    """The keys as ``--check --json`` prints them (``{"type":"key",...}``)."""
    records = []
    for (rule, mask, fingerprint), (count, files, status) in keys.items():
        record = {
            "type": "key",
            "rule": rule,
            "mask": mask,
            "fingerprint": fingerprint,
            "count": count,
            "files": files[:MAX_FILES_PER_KEY],
            "more_files": max(0, len(files) - MAX_FILES_PER_KEY),
        }
        if status is not None:
            record["status"] = status
        records.append(record)
    return records


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def _print_keys(findings: int, keys: dict, out) -> None:
    """The keys as the CLI's text list prints them, with what to do."""
    if not keys:
        return
    print(
        f"\n{findings} finding{_plural(findings)}, "
        f"{len(keys)} distinct key{_plural(len(keys))} to rotate:",
        file=out,
    )
    for (rule, mask, fingerprint), (count, files, status) in keys.items():
        more = len(files) - MAX_FILES_PER_KEY
        more = f" and {more} more input{_plural(more)}" if more > 0 else ""
        status = f"  {status}" if status else ""
        print(
            f"  {rule}  {mask}  fingerprint {fingerprint}{status}  {count} time{_plural(count)}"
            f"  in {', '.join(files[:MAX_FILES_PER_KEY])}{more}",
            file=out,
        )
    print("What to do:", file=out)
    said: dict = {}
    for rule, _, _ in keys:
        rules = said.setdefault(_ADVICE.get(rule, _CUSTOM_ADVICE), [])
        if rule not in rules:
            rules.append(rule)
    for what, rules in said.items():
        print(f"  {', '.join(rules)}: {what}", file=out)


def _write_keys_file(path: str, keys: dict) -> None:
    """The keys as JSON lines in ``path``, atomically (a temporary file
    beside it, synced, renamed over it), mode 0600: masks and fingerprints,
    never a key."""
    _write_local_atomically(
        path,
        (
            json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
            for record in _key_records(keys)
        ),
    )
