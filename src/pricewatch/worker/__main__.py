"""`python -m pricewatch.worker`: the worker process (see `pricewatch.worker.main`)."""

from __future__ import annotations

import sys

from pricewatch.worker.main import main

if __name__ == "__main__":
    sys.exit(main())
