"""The request body cap, with an OGC exception body.

FastAPI's ``max_body_size`` counts a body while it streams in and stops it at the cap, so a
body is never buffered whole; its answer to a declared Content-Length over the cap is plain
text, though. This middleware answers that case first, as every other error is answered.
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import too_large


class DeclaredBodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                await too_large(self.max_bytes, scope.get("path"))(scope, receive, send)
                return
        await self.app(scope, receive, send)
