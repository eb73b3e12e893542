"""The organisers' downloads: /manage/{slug}/export/{what}.{fmt}, the applications, reviews or
ranking (services/exports.py) as CSV or XLSX, streamed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from grants.models import Edition
from grants.services import exports
from grants.web.common import organiser_required, require_user
from grants.web.session import client_ip


@organiser_required
async def export(request: Request, edition: Edition) -> Response:
    """The file, as an attachment that no cache keeps: CSV written while it is sent, XLSX
    written to a temporary file first, then sent."""
    prepared = await exports.open_export(
        await require_user(request),
        edition,
        what=request.path_params["what"],
        fmt=request.path_params["fmt"],
        ip=client_ip(request),
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{prepared.filename}"',
        "Cache-Control": "no-store",
    }
    if prepared.fmt == "csv":
        body = exports.csv_chunks(prepared.table)
    else:
        file = await exports.xlsx_file(prepared.table)
        headers["Content-Length"] = str(file.seek(0, 2))
        file.seek(0)
        body = exports.file_chunks(file)
    return StreamingResponse(body, media_type=prepared.content_type, headers=headers)


routes = [
    Route("/manage/{slug}/export/{what}.{fmt}", export, name="export"),
]
