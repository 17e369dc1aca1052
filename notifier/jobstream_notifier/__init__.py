"""Delivers OGC API - Processes callbacks: the subscriber URIs of execute requests."""
