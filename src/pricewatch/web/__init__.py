"""The web process: FastAPI app (REST API, pages, health)."""
