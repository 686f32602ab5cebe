"""The app's own URLs for a job's videos: ``/vst-media/<job id>/<file name>``, with no server path in them.

Gradio serves files under ``/gradio_api/file=<absolute server path>``, which would put the cache folder's location into
the page wherever our own HTML (the flicker slider) links a video. :func:`media_routes` adds one FastAPI route (given to
``launch(app_kwargs={"routes": ...})``) that serves a file of a job folder by the job's random id and the file's name:
only plain files directly inside an existing job folder, never a listing; an expired (deleted) job answers 404.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from fastapi import HTTPException
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute

MEDIA_PREFIX = "/vst-media"
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def media_url(path: str | Path) -> str:
    """The URL of a file directly inside a job folder (``<jobs dir>/<job id>/<name>``)."""
    path = Path(path)
    return f"{MEDIA_PREFIX}/{quote(path.parent.name)}/{quote(path.name)}"


def media_file(jobs_dir: Path, job_id: str, name: str) -> Path | None:
    """The file ``<jobs_dir>/<job_id>/<name>`` when both parts are well-formed and it is a plain file, else ``None``."""
    if not _JOB_ID.match(job_id) or not _FILE_NAME.match(name):
        return None
    path = Path(jobs_dir) / job_id / name
    return path if path.is_file() and not path.is_symlink() else None


def media_routes(jobs_dir: Path) -> list[APIRoute]:
    """The route serving :func:`media_url` URLs from ``jobs_dir``."""

    def serve(job_id: str, name: str) -> FileResponse:
        path = media_file(jobs_dir, job_id, name)
        if path is None:
            raise HTTPException(status_code=404, detail="not found (results expire after a while)")
        return FileResponse(path, media_type="video/mp4" if name.endswith(".mp4") else None)

    return [APIRoute(f"{MEDIA_PREFIX}/{{job_id}}/{{name}}", serve, methods=["GET"], include_in_schema=False)]
