"""Scrub or audit many files with Apache Spark, on the phx-redact engine.

Files are the unit of work. The driver lists them (folders are walked,
globs expanded, through fsspec for URLs such as ``s3://``), spreads them
over tasks balanced by size, and each task streams its files through the
engine: nothing is read whole into memory, and a gzip or zstd file comes
back in its format, byte for byte what ``phx-redact --output-dir`` writes.

What it promises, as the CLI does: a copy or a rewrite appears whole or
not at all (a temporary name then a rename, or an object committed at the
end); a mirror that would write over an input, or two files to one path,
is refused before anything is written; a file that fails fails its own
row only; no key is shown, in a row, a message or a file name.

>>> from pyspark.sql import SparkSession
>>> from phx_redact import spark as phx_spark
>>> session = SparkSession.builder.master("local[2]").getOrCreate()
>>> phx_spark.scrub(session, ["logs/"], output_dir="clean/").show()  # doctest: +SKIP
>>> phx_spark.audit(session, ["s3://bucket/logs/"]).show()           # doctest: +SKIP

The same from a shell, or through ``spark-submit`` (this file is the job
file)::

    python -m phx_redact.spark --master 'local[2]' --output-dir clean/ logs/
    spark-submit "$(python -c 'import phx_redact.spark as s; print(s.__file__)')" \
        --check 's3://bucket/logs/2026-*'

Exit status of the command line: 0 done and nothing found, 1 found (with
``--check``), 2 an error in any file (which wins over a finding).

The parts, each importing only those below it: ``cli`` (the command line)
-> ``driver`` (this API: list, spread, collect) -> ``tasks`` (what a task
does with each file) -> ``listing`` (which files, and where their copies
go) -> ``stores`` (local files or fsspec stores, atomic writes) -> ``job``
(the rules, files and rows all of them share); ``keys`` (the keys to
rotate) sits beside ``driver``, under ``cli``.
"""

from __future__ import annotations

if __name__ == "__main__":
    # Run as a file (spark-submit's way), Python puts this folder first on
    # sys.path, where the job's own modules (cli, keys, ...) would hide
    # any top-level module of the same name. Take it off before anything
    # imports.
    import os as _os
    import sys as _sys

    _here = _os.path.dirname(_os.path.abspath(__file__))
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]

# Absolute imports: run as a file (above), this is __main__, not a package.
import phx_redact  # noqa: F401 - phx_spark.phx_redact, as before the split
from phx_redact.spark.cli import main
from phx_redact.spark.driver import _audit_rdd, _scrub_rows, audit, scrub
from phx_redact.spark.job import (
    AUDIT_SCHEMA,
    SCRUB_SCHEMA,
    _AuditRow,
    _Item,
    _Job,
    _Rules,
    _ScrubRow,
)
from phx_redact.spark.keys import MAX_FILES_PER_KEY
from phx_redact.spark.listing import _list, _list_local, _list_remote
from phx_redact.spark.stores import OBJECT_STORE_NOTE, TEMP_PREFIX, TEMP_SUFFIX
from phx_redact.spark.tasks import _audit_task, _scrub_task

__all__ = ["AUDIT_SCHEMA", "SCRUB_SCHEMA", "audit", "main", "scrub"]

if __name__ == "__main__":
    # Run as a file: main is phx_redact.spark.cli's, so the tasks pickle by
    # reference to phx_redact.spark's modules, which the executors have.
    _sys.exit(main())
