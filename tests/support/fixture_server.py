"""A real HTTP file server on 127.0.0.1 for source-plugin tests, with faults on demand.

It serves the files under a directory with HEAD, GET and single byte-range GET (206), always
with Content-Length. Faults are queued per path and spent by the GET requests that follow, one
each, in order; after them the path is served cleanly again. Every request is recorded, so a
test can assert what was fetched, re-fetched or only range-read.

    with FixtureServer(tmp_path) as server:
        server.inject("/2021/01/06.tif", Drop(), Status(500))
        ...
        assert server.downloads("/2021/01/06.tif") == 3
"""

import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile
from rasterio.transform import Affine

STUB_SIZE = 48


@dataclass(frozen=True)
class Drop:
    """Announce the whole file, send only its first ``fraction``, then close the connection."""

    fraction: float = 0.5


@dataclass(frozen=True)
class Stub:
    """A 200 with the file's first 48 bytes and a Content-Length that matches them: the empty
    stubs a naive resume used to keep as done."""


@dataclass(frozen=True)
class Status:
    code: int


@dataclass(frozen=True)
class Delay:
    """Wait before answering, then answer cleanly (if the client is still there)."""

    seconds: float


Fault = Drop | Stub | Status | Delay


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None


_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class FixtureServer:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.requests: list[Request] = []
        # Bytes of file content sent per path, range reads and partial bodies included.
        self.bytes_sent: dict[str, int] = defaultdict(int)
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def inject(self, path: str, *faults: Fault) -> None:
        with self._lock:
            self._faults[path].extend(faults)

    def downloads(self, path: str) -> int:
        """Whole-file GETs of ``path`` (no Range header)."""
        return sum(1 for r in self.requests if r.path == path and r.method == "GET" and not r.range)

    def range_reads(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path and r.method == "GET" and r.range)

    def __enter__(self) -> "FixtureServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _record(self, method: str, path: str, byte_range: str | None) -> Fault | None:
        with self._lock:
            self.requests.append(Request(method, path, byte_range))
            queue = self._faults[path]
            return queue.popleft() if method == "GET" and queue else None

    def _sent(self, path: str, count: int) -> None:
        with self._lock:
            self.bytes_sent[path] += count


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up on a slow or broken response is part of the tests, not news.
        pass


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no handler thread outlives the server.
        protocol_version = "HTTP/1.0"

        def log_message(self, format, *args):
            pass

        def do_HEAD(self):
            self._answer(body=False)

        def do_GET(self):
            self._answer(body=True)

        def _answer(self, body: bool):
            path = self.path.split("?", 1)[0]
            byte_range = self.headers.get("Range")
            fault = server._record(self.command, path, byte_range)
            file = server.root / path.lstrip("/")
            if isinstance(fault, Delay):
                time.sleep(fault.seconds)
            if isinstance(fault, Status):
                return self._status(fault.code)
            if ".." in path or not file.is_file():
                return self._status(404)
            data = file.read_bytes()
            if isinstance(fault, Stub):
                data = data[:STUB_SIZE]
            status, headers = 200, {}
            wanted = _RANGE.match(byte_range or "")
            if wanted and not isinstance(fault, Stub):
                first = int(wanted[1])
                last = min(int(wanted[2]) if wanted[2] else len(data) - 1, len(data) - 1)
                if first >= len(data):
                    return self._status(416)
                status, headers = 206, {"Content-Range": f"bytes {first}-{last}/{len(data)}"}
                data = data[first : last + 1]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not body:
                return
            if isinstance(fault, Drop):
                data = data[: int(len(data) * fault.fraction)]
            self.wfile.write(data)
            self.wfile.flush()
            server._sent(path, len(data))

        def _status(self, code: int):
            message = f"{code}\n".encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(message)

    return Handler


def north_up(west: float, north: float, resolution: float) -> Affine:
    return Affine(resolution, 0.0, west, 0.0, -resolution, north)


def write_geotiff(
    path: Path,
    values: np.ndarray,
    transform: Affine | None,
    nodata: float | None = None,
    scale: float = 1.0,
) -> Path:
    """A single-band GeoTIFF in EPSG:4326; like CHIRPS's, it may leave nodata undeclared.
    ``transform=None`` writes one without georeferencing, ``scale`` one with packed values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype=values.dtype,
        crs="EPSG:4326" if transform else None,
        nodata=nodata,
        transform=transform,
    ) as dataset:
        dataset.write(values, 1)
        dataset.scales = (scale,)
    return path


def write_netcdf(
    path: Path, variable: str, values: np.ndarray, transform: Affine, nodata: float
) -> Path:
    """A NetCDF4 (HDF5) file with ``variable`` on CF lat/lon coordinates, latitudes ascending
    as in CHIRPS's NetCDF, and ``nodata`` declared as its _FillValue.

    Written by GDAL's netCDF driver: xarray would need an HDF5 binding (h5py) to write it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = values.shape
    with MemoryFile() as raster:
        with raster.open(
            driver="GTiff",
            width=width,
            height=height,
            count=1,
            dtype=values.dtype,
            crs="EPSG:4326",
            nodata=nodata,
            transform=transform,
        ) as dataset:
            dataset.write(values, 1)
            dataset.update_tags(1, NETCDF_VARNAME=variable)
        rasterio.shutil.copy(raster.name, path, driver="netCDF", FORMAT="NC4", COMPRESS="DEFLATE")
    return path
