"""jobstream: long geospatial data jobs as OGC API - Processes jobs on NATS JetStream."""
