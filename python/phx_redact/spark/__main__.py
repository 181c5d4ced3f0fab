"""``python -m phx_redact.spark``: the command line (see :mod:`.cli`)."""

import sys

from phx_redact.spark.cli import main

sys.exit(main())
