"""Generic extraction layers for shops without a store adapter.

Each layer reads one kind of markup into `Fields`: `jsonld` (schema.org JSON-LD), `microdata`
(schema.org microdata), `opengraph` (OpenGraph and product meta tags) and `heuristics` (the
visible page: title, buy box, price, stock text). `extract` merges them, earlier layers first.
"""
