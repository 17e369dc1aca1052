"""The Prefer request header (RFC 7240): ``respond-async``, ``wait=10``, and whatever else."""

# The longest a request may ask to wait for a job to change (Prefer: wait).
MAX_WAIT = 60.0


def preferences(prefer: str | None) -> dict[str, str]:
    """Preference names (lowercase) to their values ("" when a name has none).

    ";" separates like "," (clients write `respond-async; wait=10`); unknown names are kept and
    ignored by the callers (OWSLib sends respond-sync).
    """
    found: dict[str, str] = {}
    for item in (prefer or "").replace(";", ",").split(","):
        name, _, value = item.partition("=")
        if name.strip():
            found[name.strip().lower()] = value.strip().strip('"')
    return found


def wait_seconds(found: dict[str, str]) -> float:
    """Seconds of ``wait=``, capped at MAX_WAIT; 0 when absent or not a number."""
    try:
        return max(0.0, min(float(found.get("wait", "0")), MAX_WAIT))
    except ValueError:
        return 0.0
