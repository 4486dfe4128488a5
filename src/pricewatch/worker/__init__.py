"""Background work: the job engines (Huey embedded, Celery distributed) and their thin tasks."""
