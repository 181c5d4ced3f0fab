"""The job's Python API, run on the Spark driver: the rules checked and the
files listed before any task starts, the files spread over tasks, and the
rows brought back in the order the files were listed."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Optional, Sequence

from phx_redact.spark.job import (
    AUDIT_SCHEMA,
    SCRUB_SCHEMA,
    _is_local,
    _Job,
    _refuse_cloud,
    _rules,
    _say,
    _verify,
)
from phx_redact.spark.listing import _bins, _distinct, _list, _mirror_targets
from phx_redact.spark.tasks import _audit_task, _scrub_task


def scrub(
    spark,
    inputs: Sequence[str],
    output_dir: Optional[str] = None,
    in_place: bool = False,
    *,
    partitions: Optional[int] = None,
    storage_options: Optional[dict] = None,
    **rule_options: Any,
):
    """Redacts every file under ``inputs`` into a mirror under
    ``output_dir``, or in place, and returns one row per file
    (:data:`SCRUB_SCHEMA`).

    ``inputs`` are files, folders (walked) and globs, local, ``file://`` or
    any fsspec URL (``s3://``, ``gs://``, ``hdfs://``). A file named
    directly is copied to ``output_dir/NAME``, a file in a folder to its
    path below that folder, as ``phx-redact -r --output-dir`` does.
    ``rule_options`` are the engine's: ``include_public``, ``patterns``,
    ``posthog_hosts`` (self-hosted PostHog hosts, as ``--posthog-host``: a
    legacy personal API key sent as ``Authorization: Bearer`` counts on a
    line naming one, as on one naming ``posthog.com``), ``marker``. ``partitions`` is how many tasks share the files (default
    four per core of the cluster; ``len(files)`` gives one file per task).
    ``storage_options`` go to fsspec (for example ``{"endpoint_url": ...}``).

    The job runs once, when called; the rows are then a small local
    DataFrame. A file that fails (corrupt, unreadable) fails its own row
    only, with ``status == "error"``.

    Raises ``ValueError`` before anything is written when there is no
    input, when both or neither of ``output_dir`` and ``in_place`` are
    given, or when the mirror would write two files to one path or over an
    input.
    """
    rows = _scrub_rows(
        spark, inputs, output_dir, in_place, partitions, storage_options, rule_options
    )
    return spark.createDataFrame(rows, SCRUB_SCHEMA)


def _scrub_rows(spark, inputs, output_dir, in_place, partitions, storage_options, rule_options):
    """:func:`scrub`'s rows as tuples, without Spark SQL (the command line
    needs no DataFrame, and a first DataFrame costs seconds)."""
    if bool(output_dir) == bool(in_place):
        raise ValueError("give either output_dir or in_place=True")
    rules = _rules(rule_options)
    items = _list(inputs, storage_options)
    if in_place:
        job = _Job(rules, "in_place", storage_options=storage_options)
        targets: dict = {}
        items = _distinct(items)
    else:
        output_dir = os.fspath(output_dir)
        targets = _mirror_targets(items, output_dir, rules)
        job = _Job(
            rules,
            "mirror",
            output_dir=output_dir,
            output_local=_is_local(output_dir),
            storage_options=storage_options,
        )
    rows = (
        _spread(spark, items, targets, partitions)
        .mapPartitions(functools.partial(_scrub_task, job=job))
        .collect()
    )
    order = {_say(item.display, rules): n for n, item in enumerate(items)}
    rows.sort(key=lambda r: order.get(r[0], len(order)))
    return rows


def audit(
    spark,
    inputs: Sequence[str],
    *,
    partitions: Optional[int] = None,
    storage_options: Optional[dict] = None,
    verify: bool = False,
    posthog_urls: Optional[Sequence[str]] = None,
    verify_timeout: float = 10.0,
    **rule_options: Any,
):
    """Finds every token under ``inputs`` and returns one row per finding
    (:data:`AUDIT_SCHEMA`), as ``phx-redact --check --json`` prints them;
    a file that could not be read is a row with ``type == "error"``.

    The listing happens now; the reading when the DataFrame is first
    acted on, and again at each action unless it is cached. Rewrites
    nothing. Options as for :func:`scrub` (``marker`` is not used).

    ``verify=True`` (opt-in) also asks PostHog whether each key is live,
    as ``phx-redact --check --verify``: each row of a ``phx``, ``phs``,
    ``pha``, ``phr`` or legacy personal key gets a ``status``. The tasks
    ask, where the keys are read (no key enters a row or a shuffle), each
    Python worker process once per key and host (its cache outlives its
    tasks). ``posthog_urls`` replaces PostHog's two cloud regions
    (self-hosted; plain ``http://`` only to a loopback address);
    ``verify_timeout`` is the seconds one call may take. A refused URL
    raises ``ValueError`` here, before any task starts; so does
    ``posthog_hosts`` without ``posthog_urls`` (a self-hosted instance's
    keys are not sent to PostHog Cloud).
    """
    verify_options = _verify(verify, posthog_urls, verify_timeout)
    rdd, _ = _audit_rdd(spark, inputs, partitions, storage_options, rule_options, verify_options)
    return spark.createDataFrame(rdd, AUDIT_SCHEMA)


def _audit_rdd(spark, inputs, partitions, storage_options, rule_options, verify=None):
    """:func:`audit`'s rows as an RDD of tuples (listed now, read lazily),
    and the rank of each path shown in the listing's order."""
    rule_options = {k: v for k, v in rule_options.items() if k != "marker"}
    rules = _rules(rule_options)
    _refuse_cloud(rules, verify)
    items = _list(inputs, storage_options)
    job = _Job(rules, "check", storage_options=storage_options, verify=verify)
    rdd = _spread(spark, items, {}, partitions).mapPartitions(
        functools.partial(_audit_task, job=job)
    )
    order = {_say(item.display, rules): n for n, item in enumerate(items)}
    return rdd, order


def _spread(spark, items: list, targets: dict, partitions: Optional[int]):
    sc = spark.sparkContext
    _workers_run_this_python(sc)
    count = partitions or sc.defaultParallelism * 4
    bins = _bins([(item, targets.get(id(item))) for item in items], count)
    return sc.parallelize(bins, len(bins))


def _workers_run_this_python(sc) -> None:
    """On a local master, the Python workers run this interpreter, which has
    phx_redact, unless the user chose one: Spark's default is ``python3``
    from PATH, which in a virtualenv that is not activated lacks the module.
    (``spark.pyspark.python`` reaches a driver started by ``spark-submit``
    as ``PYSPARK_PYTHON``.) On a cluster this path may not exist on the
    executors, so their Python stays the user's to give."""
    if not os.environ.get("PYSPARK_PYTHON") and sc.master.startswith("local"):
        sc.pythonExec = sys.executable
