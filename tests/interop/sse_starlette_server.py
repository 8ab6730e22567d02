"""An sse-starlette app under uvicorn, serving the events of a scenario file.

Usage: python3 sse_starlette_server.py SCENARIO.json

Binds 127.0.0.1:0 and reports {kind: listening, port}, then {kind: request, method, path,
last_event_id, body} for every request (see report.py). Routes:

- GET /events[?drop_after=K]: `retry`, then the scenario's events after the request's
  Last-Event-ID (all of them without one), `pause_ms` apart with sse-starlette's own pings every
  `ping_ms`; the stream ends cleanly after the last one. With drop_after and no Last-Event-ID,
  the connection is dropped after K events instead (the app raises; uvicorn closes the
  connection without ending the chunked body).
- POST /chat: one event per word of the body, then a clean end.
"""

import asyncio
import json
import socket
import sys

import uvicorn
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.routing import Route

from report import report

with open(sys.argv[1], encoding="utf-8") as file:
    SCENARIO = json.load(file)


class Dropped(Exception):
    """Raised inside the stream to make the server drop the connection."""


def start_after(last_event_id):
    ids = [event["id"] for event in SCENARIO["events"]]
    return ids.index(last_event_id) + 1 if last_event_id in ids else 0


async def events(request):
    last_event_id = request.headers.get("last-event-id")
    report(kind="request", method="GET", path=request.url.path, last_event_id=last_event_id, body=None)
    drop_after = request.query_params.get("drop_after")
    drop_after = int(drop_after) if drop_after is not None and last_event_id is None else None

    async def stream():
        yield ServerSentEvent(retry=SCENARIO["retry_ms"])
        sent = 0
        for event in SCENARIO["events"][start_after(last_event_id):]:
            await asyncio.sleep(SCENARIO["pause_ms"] / 1000)
            if drop_after is not None and sent == drop_after:
                raise Dropped()
            yield ServerSentEvent(data=event["data"], event=event["type"], id=event["id"])
            sent += 1

    return EventSourceResponse(stream(), ping=SCENARIO["ping_ms"] / 1000)


async def chat(request):
    body = (await request.body()).decode("utf-8")
    report(kind="request", method="POST", path=request.url.path, last_event_id=request.headers.get("last-event-id"), body=body)

    async def stream():
        for n, word in enumerate(body.split()):
            await asyncio.sleep(SCENARIO["pause_ms"] / 1000)
            yield ServerSentEvent(data=word, event="token", id=str(n + 1))

    return EventSourceResponse(stream(), ping=SCENARIO["ping_ms"] / 1000)


app = Starlette(routes=[Route("/events", events), Route("/chat", chat, methods=["POST"])])


def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # Listening before the report: connections wait in the backlog until the server accepts.
    sock.listen(128)
    report(kind="listening", port=sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])


main()
