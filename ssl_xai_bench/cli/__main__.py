"""``python -m ssl_xai_bench.cli``: the ``ssl-xai-bench`` command."""

import sys

from ssl_xai_bench.cli import main

sys.exit(main())
