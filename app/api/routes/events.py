"""GET /v1/generations/{id}/events: the job's events as Server-Sent Events.

Each SSE event carries the Redis stream id as its ``id``, the event type as ``event`` (``queued``,
``running``, ``progress``, ``succeeded``, ``failed``, ``cancelled``) and JSON ``data``. A client
that reconnects with ``Last-Event-ID`` gets only what it missed. The stream ends after the terminal
event; a reconnect after that gets 204, which tells an EventSource to stop. Progress events come at
most every ``SPINDIFF_PROGRESS_INTERVAL_S``; ``?preview=true`` keeps their PNG preview of the
current estimate (only for jobs submitted with ``preview: true``).
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.api import deps
from app.api.errors import ApiError
from app.api.routes.generations import ERRORS
from worker.store import TERMINAL, JobStore, decode_event

router = APIRouter(prefix="/v1/generations", tags=["generations"], dependencies=[Depends(deps.api_key)])
_STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
BLOCK_MS = 5_000


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    summary="Progress as Server-Sent Events (Last-Event-ID resumes)",
)
async def job_events(
    request: Request,
    job: dict = Depends(deps.job_or_404),
    preview: bool = Query(False, description="include the preview PNG of progress events"),
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
):
    if last_event_id is not None and not _STREAM_ID.match(last_event_id):
        raise ApiError(
            422,
            "validation_error",
            f"Last-Event-ID must be an event id such as 1732800000000-0, got {last_event_id!r}",
            "Last-Event-ID",
        )
    aredis, hub = request.app.state.aredis, request.app.state.events
    key = JobStore.events_key(job["id"])
    cursor = last_event_id or "0-0"
    if last_event_id and job["status"] in TERMINAL and not await aredis.xread({key: cursor}, count=1):
        return Response(status_code=204)

    async def stream():
        position = cursor
        while True:
            answer = await hub.read({key: position}, BLOCK_MS / 1000)
            if not answer:
                if not await aredis.exists(JobStore.job_key(job["id"])):
                    return  # removed by retention while watched
                continue
            for raw_id, fields in answer[0][1]:
                event_id, kind, data = decode_event(raw_id, fields)
                position = event_id
                if not preview:
                    data.pop("preview_png_base64", None)
                yield ServerSentEvent(data=json.dumps(data), event=kind, id=event_id)
                if kind in TERMINAL:
                    return

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
