"""httpx-sse reading a stream, reconnecting the way the WHATWG EventSource does (wait `retry`,
send `Last-Event-ID`), as an application using it would.

Usage: python3 httpx_sse_client.py URL CONNECTIONS

Reports (see report.py): {kind: open, status}, {kind: event, type, data, id}, {kind: retry, ms},
{kind: end} after a clean end, {kind: error, message} after a failed connection, {kind: done}.
"""

import sys
import time

import httpx
import httpx_sse

from report import report


def main():
    url, connections = sys.argv[1], int(sys.argv[2])
    last_event_id = ""
    retry_ms = 3000
    # No read timeout: the stream is silent between events (but for keep-alive comments).
    with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client:
        for n in range(connections):
            if n:
                time.sleep(retry_ms / 1000)
            headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
            try:
                with httpx_sse.connect_sse(client, "GET", url, headers=headers) as source:
                    report(kind="open", status=source.response.status_code)
                    for sse in source.iter_sse():
                        if sse.retry is not None:
                            retry_ms = sse.retry
                            report(kind="retry", ms=sse.retry)
                        # httpx-sse keeps the last event ID across events, as the standard does.
                        last_event_id = sse.id
                        report(kind="event", type=sse.event, data=sse.data, id=sse.id)
                report(kind="end")
            except Exception as error:  # any failure of the connection is reported, then retried
                report(kind="error", message=repr(error))
    report(kind="done")


main()
