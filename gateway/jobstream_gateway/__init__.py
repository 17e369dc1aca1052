"""The OGC API - Processes HTTP surface: validates, publishes events, reads the job view."""
