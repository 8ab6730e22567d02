"""sseclient-py over requests reading a stream (its documented use: SSEClient(response) over a
streaming `requests` response), reconnecting the way the WHATWG EventSource does (wait `retry`,
send `Last-Event-ID`), as an application using it would.

Usage: python3 sseclient_py_client.py URL CONNECTIONS

Reports (see report.py): {kind: open, status}, {kind: event, type, data, id} (id: the event's own
`id` field, null when it had none), {kind: retry, ms}, {kind: end}, {kind: error, message},
{kind: done}.
"""

import sys
import time

import requests
import sseclient

from report import report


def main():
    url, connections = sys.argv[1], int(sys.argv[2])
    last_event_id = ""
    retry_ms = 3000
    session = requests.Session()
    for n in range(connections):
        if n:
            time.sleep(retry_ms / 1000)
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        try:
            response = session.get(url, stream=True, headers=headers, timeout=(10, None))
            report(kind="open", status=response.status_code)
            for event in sseclient.SSEClient(response).events():
                if event.retry is not None:
                    # sseclient-py hands the field over as text.
                    retry_ms = int(event.retry)
                    report(kind="retry", ms=retry_ms)
                # Each event carries only its own id; keeping the last one is left to us.
                if event.id is not None:
                    last_event_id = event.id
                report(kind="event", type=event.event, data=event.data, id=event.id)
            report(kind="end")
        except Exception as error:  # any failure of the connection is reported, then retried
            report(kind="error", message=repr(error))
    report(kind="done")


main()
