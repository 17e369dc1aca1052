"""The data shared by every jobstream component: events, subjects and OGC API models.

Nothing here performs I/O, so services that only read jobstream's events can depend on this
distribution alone.
"""
