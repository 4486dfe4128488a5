"""`python -m pricewatch ...`: the command line (how `pricewatch serve` starts its children)."""

from __future__ import annotations

from pricewatch.cli import main

if __name__ == "__main__":
    main()
