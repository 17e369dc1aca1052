"""Whether a request wants HTML: ``?f=`` decides, else the Accept header's preferences."""

from urllib.parse import parse_qs

HTML = "text/html"
JSON = "application/json"


def _quality(accept: str, media_type: str) -> float:
    """The q value the Accept header gives ``media_type`` (most specific range wins)."""
    best, specificity = 0.0, -1
    major = media_type.split("/")[0]
    for part in accept.split(","):
        name, *params = [p.strip() for p in part.split(";")]
        rank = {media_type: 2, f"{major}/*": 1, "*/*": 0}.get(name.lower())
        if rank is None or rank < specificity:
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            best, specificity = float(q), rank
        except ValueError:
            continue
    return best


def wants_html(query_string: str, accept: str | None) -> bool:
    requested = parse_qs(query_string).get("f")
    if requested:
        return requested[-1] == "html"
    if not accept:
        return False
    return _quality(accept, HTML) > _quality(accept, JSON)
