"""An aiohttp-sse server serving the events of a scenario file.

Usage: python3 aiohttp_sse_server.py SCENARIO.json

Binds 127.0.0.1:0 and reports {kind: listening, port}, then {kind: request, method, path,
last_event_id, body} for every request (see report.py). GET /events[?drop_after=K] as in
sse_starlette_server.py, with aiohttp-sse's pings every `ping_ms`; the drop aborts the
transport.
"""

import asyncio
import json
import socket
import sys

from aiohttp import web
from aiohttp_sse import sse_response

from report import report

with open(sys.argv[1], encoding="utf-8") as file:
    SCENARIO = json.load(file)


def start_after(last_event_id):
    ids = [event["id"] for event in SCENARIO["events"]]
    return ids.index(last_event_id) + 1 if last_event_id in ids else 0


async def events(request):
    last_event_id = request.headers.get("last-event-id")
    report(kind="request", method="GET", path=request.path, last_event_id=last_event_id, body=None)
    drop_after = request.query.get("drop_after")
    drop_after = int(drop_after) if drop_after is not None and last_event_id is None else None
    async with sse_response(request, ping_interval=SCENARIO["ping_ms"] / 1000) as response:
        # aiohttp-sse writes `retry` only as a field of an event with data; an empty data line
        # would dispatch an empty event, so the field goes out on its own.
        await response.write(f"retry: {SCENARIO['retry_ms']}\r\n\r\n".encode())
        sent = 0
        for event in SCENARIO["events"][start_after(last_event_id):]:
            await asyncio.sleep(SCENARIO["pause_ms"] / 1000)
            if drop_after is not None and sent == drop_after:
                request.transport.abort()
                return response
            await response.send(event["data"], id=event["id"], event=event["type"])
            sent += 1
    return response


def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # Listening before the report: connections wait in the backlog until the server accepts.
    sock.listen(128)
    report(kind="listening", port=sock.getsockname()[1])
    app = web.Application()
    app.router.add_get("/events", events)
    web.run_app(app, sock=sock, print=None, handle_signals=True)


main()
