"""Getting product pages and reading them: fetchers, the SSRF guard, store adapters, extraction."""
