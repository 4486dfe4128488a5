"""Generic extraction layers for shops without a store adapter.

Each layer reads one kind of markup into `Fields`: `jsonld` (schema.org JSON-LD), `microdata`
(schema.org microdata), `opengraph` (OpenGraph and product meta tags), `appstate` (product JSON
an app embeds: `__NEXT_DATA__`, `window.__INITIAL_STATE__`, ...), `datalayer` (the analytics
product) and `heuristics` (the visible page: title, buy box, price, stock text). `extract`
merges them, earlier layers first.
"""
