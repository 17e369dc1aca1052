"""One file per period over HTTP(S), CHIRPS-style: a GeoTIFF or a NetCDF file for each period.

The template's ``source.params``:

- ``url_template``: ``str.format`` text filled with the period's ``{year}``, ``{month}``,
  ``{day}``, ``{hour}`` (integers: write ``{month:02d}``) and ``{period}`` (its id);
- ``format``: ``geotiff`` or ``netcdf``; by default from the URL's suffix;
- ``source_variable``: the NetCDF variable to read, by default the template's variable (a
  GeoTIFF is read from band 1, a NetCDF variable from its first time step);
- ``nodata``: the value marking missing cells, for files that do not declare it (CHIRPS's
  GeoTIFFs do not); missing cells of float data become NaN, the store's fill value;
- ``timeout``: seconds to wait for a connection or for the next bytes of a response.

Decisions:

- ``probe`` reads the header of the dataset's first period (``extent.start``) with range
  requests, never the whole file. That period is long published, so an HTTP 4xx for it, a
  missing variable or a bbox outside the file is a template error (PermanentError); a 5xx or
  a dropped connection is retried like any fetch.
- ``fetch_period`` downloads the whole file into memory and checks it before use: the body
  has the length its Content-Length announced, the file opens, holds the variable and covers
  the bbox. Any failure raises DownloadError, which the job machinery retries: probe has
  shown the template right on a good file, so a bad file now is a bad download (an empty
  stub, a dropped connection, a file being replaced) that a later attempt can get right.
- HTTP 404 for a period is retried too: sources publish late (CHIRPS's final product lags
  weeks to months), so a missing period is most likely one not published yet. The job's
  retry policy bounds the wait; the message names the period and the URL.
- ``size_of`` is the Content-Length of a HEAD request, None when the server does not send
  one; a period the server does not have raises as in ``fetch_period``.
- The cells of a bbox are the cells it overlaps on the file's own grid, rows in the order
  GDAL presents them (north to south): every period gives the cells probe reported.
- Both formats are read with rasterio (GDAL's GTiff and netCDF drivers): one reader and one
  crop for both, and NetCDF needs no HDF5 binding in Python. Probe reads through GDAL's
  /vsicurl/ because GDAL's netCDF driver hangs reading through a Python file object (an
  fsspec opener); downloads go through fsspec's aiohttp session.
- The store keeps its own chunking: files are downloaded whole, so the source's tiling does
  not make any read cheaper.
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal, TypedDict, cast
from urllib.parse import urlsplit

import aiohttp
import fsspec
import fsspec.asyn
import numpy as np
import rasterio
import rasterio.errors
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rasterio.io import MemoryFile
from rasterio.windows import Window

from jobstream_contracts.process import PermanentError

from ..grid import GridSpec
from ..periods import period_id, period_of
from ..plugin import Bbox, Plugin

_FORMAT_OF_SUFFIX = {
    ".tif": "geotiff",
    ".tiff": "geotiff",
    ".cog": "geotiff",
    ".nc": "netcdf",
    ".nc4": "netcdf",
}
_GDAL_DRIVER = {"geotiff": "GTiff", "netcdf": "netCDF"}
# A bbox edge within this fraction of a cell of a cell edge lies on it: bboxes like 0.05 * k
# never land exactly on a grid edge in floating point.
_ON_EDGE = 1e-6


class DownloadError(Exception):
    """A period's file could not be had whole and readable; a later attempt may."""


class SourceMismatch(ValueError):
    """A file that opened but does not hold what the template asks for."""


class HttpFilesParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url_template: str
    format: Literal["geotiff", "netcdf"]
    source_variable: str | None = None
    nodata: float | None = None
    timeout: float = Field(default=60.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _format_from_suffix(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("format") is None and "url_template" in raw:
            suffix = PurePosixPath(urlsplit(str(raw["url_template"])).path).suffix.lower()
            if suffix not in _FORMAT_OF_SUFFIX:
                raise ValueError(
                    f"set format (geotiff or netcdf): the URL's suffix {suffix!r} does not tell"
                )
            raw = {**raw, "format": _FORMAT_OF_SUFFIX[suffix]}
        return raw


class HttpFileSource(Plugin):
    max_concurrency = 4
    commit_batch_size = 10

    def probe(self, bbox: Bbox, **params: Any) -> GridSpec:
        source = self._params(params)
        first = period_id(self.template.origin, self.period_type)
        url = self._url(source, first)
        head = _request("HEAD", url, source.timeout, where=f"period {first}: {url}")
        if head.status >= 400:
            if head.status == 429 or head.status >= 500:
                raise DownloadError(f"period {first}: {url}: HTTP {head.status}")
            raise PermanentError(
                f"dataset {self.template.id}: its first period {first} is not "
                f"at {url} (HTTP {head.status}); check url_template"
            )
        with rasterio.Env(**_gdal_http_options(source.timeout)):
            try:
                with self._band(f"/vsicurl/{url}", source) as band:
                    rows, cols = _cells(band, bbox)
                    y, x = _centres(band, rows, cols)
                    dtype, nodata = band.dtypes[0], _nodata(band, source)
                    crs = band.crs.to_string() if band.crs else "EPSG:4326"
            except SourceMismatch as exc:
                raise PermanentError(f"dataset {self.template.id}: {url}: {exc}") from None
            except rasterio.errors.RasterioError as exc:
                raise DownloadError(
                    f"period {first}: {url}: the header could not be read: {exc}"
                ) from exc
        floating = np.dtype(dtype).kind == "f"
        return GridSpec(y=y, x=x, dtype=dtype, crs=crs, nodata=None if floating else nodata)

    def fetch_period(self, period_id: str, bbox: Bbox, **params: Any) -> xr.Dataset:
        source = self._params(params)
        url = self._url(source, period_id)
        body = _download(url, source.timeout, where=f"period {period_id}: {url}")
        suffix = ".nc" if source.format == "netcdf" else ".tif"
        try:
            with MemoryFile(body, ext=suffix) as memfile, self._band(memfile.name, source) as band:
                rows, cols = _cells(band, bbox)
                y, x = _centres(band, rows, cols)
                values = band.read(1, window=Window.from_slices(rows, cols))
                nodata = _nodata(band, source)
        except Exception as exc:
            raise DownloadError(
                f"period {period_id}: {url}: the {len(body)} bytes downloaded "
                f"are not a usable {source.format} file: {exc}"
            ) from exc
        if nodata is not None and values.dtype.kind == "f":
            values[values == nodata] = np.nan
        return xr.Dataset({self.variable: (("lat", "lon"), values)}, coords={"lat": y, "lon": x})

    def size_of(self, period_id: str, bbox: Bbox, **params: Any) -> int | None:
        source = self._params(params)
        url = self._url(source, period_id)
        where = f"period {period_id}: {url}"
        return _answered(_request("HEAD", url, source.timeout, where), where).length

    def _params(self, params: dict[str, Any]) -> HttpFilesParams:
        try:
            return HttpFilesParams.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
            )
            raise PermanentError(f"dataset {self.template.id}: source.params: {problems}") from None

    def _url(self, source: HttpFilesParams, period: str) -> str:
        start = period_of(period, self.period_type).start_time
        try:
            return source.url_template.format(
                year=start.year, month=start.month, day=start.day, hour=start.hour, period=period
            )
        except (KeyError, IndexError, ValueError) as exc:
            raise PermanentError(
                f"dataset {self.template.id}: url_template "
                f"{source.url_template!r} cannot be filled for period "
                f"{period}: {exc!r}"
            ) from None

    @contextmanager
    def _band(self, location: str, source: HttpFilesParams) -> Iterator[Any]:
        """The dataset whose band 1 is read: the GeoTIFF, or the NetCDF variable."""
        if source.format == "netcdf":
            variable = source.source_variable or self.variable
            with rasterio.open(location, driver="netCDF") as container:
                found = _netcdf_variables(container)
            if variable not in found:
                raise SourceMismatch(f"it has no variable {variable!r} (it has {found})")
            location = f'NETCDF:"{location}":{variable}'
        with rasterio.open(location, driver=_GDAL_DRIVER[source.format]) as band:
            if band.scales[0] != 1 or band.offsets[0] != 0:
                raise SourceMismatch(
                    "its values are packed (scale_factor, add_offset); unpacking is not supported"
                )
            yield band


@dataclass(frozen=True)
class _Response:
    status: int
    # Content-Length when it is the size of the file itself (no content encoding).
    length: int | None
    body: bytes


def _answered(response: _Response, where: str) -> _Response:
    if response.status == 404:
        raise DownloadError(f"{where}: not published yet (HTTP 404)")
    if response.status >= 400:
        raise DownloadError(f"{where}: HTTP {response.status}")
    return response


def _download(url: str, timeout: float, where: str) -> bytes:
    response = _answered(_request("GET", url, timeout, where), where)
    if response.length is not None and len(response.body) != response.length:
        raise DownloadError(
            f"{where}: got {len(response.body)} of the {response.length} bytes announced"
        )
    return response.body


def _request(method: str, url: str, timeout: float, where: str) -> _Response:
    # fsspec's shared filesystem: one aiohttp session and event loop for every thread.
    http = fsspec.filesystem("http")
    try:
        # fsspec's sync is unannotated, and pyright infers None, the placeholder it starts its
        # result with: it returns what the coroutine returns, here _send's _Response.
        return cast(_Response, fsspec.asyn.sync(http.loop, _send, http, method, url, timeout))
    except TimeoutError as exc:
        raise DownloadError(f"{where}: nothing came from the server for {timeout} s") from exc
    except aiohttp.ClientError as exc:
        raise DownloadError(f"{where}: the connection failed: {exc}") from exc


async def _send(http: Any, method: str, url: str, timeout: float) -> _Response:
    session = await http.set_session()
    # A stall limit, not a total one: a slow but steady download of a big file may go on.
    limits = aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout)
    async with session.request(
        method, url, timeout=limits, headers={"Accept-Encoding": "identity"}
    ) as response:
        wanted = method == "GET" and response.status < 400
        body = await response.read() if wanted else b""
        encoded = response.headers.get("Content-Encoding", "identity") != "identity"
        return _Response(response.status, None if encoded else response.content_length, body)


class _GdalHttpOptions(TypedDict):
    # GDAL configuration options, passed to rasterio.Env as keywords.
    GDAL_HTTP_TIMEOUT: str
    GDAL_HTTP_CONNECTTIMEOUT: str
    GDAL_DISABLE_READDIR_ON_OPEN: str
    GDAL_PAM_ENABLED: str


def _gdal_http_options(timeout: float) -> _GdalHttpOptions:
    seconds = str(math.ceil(timeout))
    return {
        "GDAL_HTTP_TIMEOUT": seconds,
        "GDAL_HTTP_CONNECTTIMEOUT": seconds,
        # Only the file itself: no directory listing, no .aux.xml side files.
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_PAM_ENABLED": "NO",
    }


def _netcdf_variables(container: Any) -> list[str]:
    if container.subdatasets:
        return [name.rsplit(":", 1)[-1] for name in container.subdatasets]
    return [container.tags(1)["NETCDF_VARNAME"]] if container.count else []


def _nodata(band: Any, source: HttpFilesParams) -> float | None:
    return source.nodata if source.nodata is not None else band.nodata


def _cells(band: Any, bbox: Bbox) -> tuple[slice, slice]:
    """The rows and columns of the file's cells that the bbox overlaps."""
    transform = band.transform
    if transform.is_identity or not transform.is_rectilinear:
        raise SourceMismatch("it has no regular grid (no axis-aligned geotransform)")
    west, south, east, north = bbox
    rows = _span(south, north, transform.f, transform.e, band.height, "south-north")
    cols = _span(west, east, transform.c, transform.a, band.width, "west-east")
    return rows, cols


def _span(low: float, high: float, origin: float, step: float, count: int, axis: str) -> slice:
    first, last = sorted(((low - origin) / step, (high - origin) / step))
    start, stop = math.floor(first + _ON_EDGE), math.ceil(last - _ON_EDGE)
    if start < 0 or stop > count:
        edges = sorted((origin, origin + count * step))
        raise SourceMismatch(
            f"the bbox's {axis} range {low}..{high} reaches outside the "
            f"file's {edges[0]}..{edges[1]}"
        )
    return slice(start, stop)


def _centres(band: Any, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    transform = band.transform
    y = transform.f + transform.e * (np.arange(rows.start, rows.stop) + 0.5)
    x = transform.c + transform.a * (np.arange(cols.start, cols.stop) + 0.5)
    return y, x
