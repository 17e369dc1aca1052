"""The names of the systems scenario 1 measures: its rows carry them, the report's ratios look
them up by them."""

JOBSTREAM = "jobstream (HTTP, SQLite view)"
RAW_FLOOR = "raw nats-py floor (no HTTP, no DB)"
PYGEOAPI = "pygeoapi 0.21 + TinyDB"
CELERY = "Celery 5.7 + Redis"
CELERY_FRONT = "Celery 5.7 + Redis behind FastAPI"
