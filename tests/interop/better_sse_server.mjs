// A better-sse session on Node's http server, serving the events of a scenario file.
// Usage: node better_sse_server.mjs SCENARIO.json
// Binds 127.0.0.1:0 and reports {kind: "listening", port}, then {kind: "request", method, path,
// last_event_id, body} per request, one JSON object per line. GET /events[?drop_after=K] as in
// sse_starlette_server.py, with better-sse's keep-alive every `ping_ms` and its `retry` option;
// data goes through better-sse's default serializer (JSON), the drop destroys the socket.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createSession } from "better-sse";

const scenario = JSON.parse(readFileSync(process.argv[2], "utf-8"));
let seq = 0;
const report = (value) => process.stdout.write(JSON.stringify({ ...value, seq: seq++ }) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const lastEventId = req.headers["last-event-id"] ?? null;
  report({ kind: "request", method: req.method, path: url.pathname, last_event_id: lastEventId, body: null });
  if (url.pathname !== "/events") {
    res.writeHead(404).end("not found");
    return;
  }
  const dropAfter = url.searchParams.has("drop_after") && lastEventId === null
    ? Number(url.searchParams.get("drop_after"))
    : null;
  const session = await createSession(req, res, {
    retry: scenario.retry_ms,
    keepAlive: scenario.ping_ms,
  });
  const ids = scenario.events.map((event) => event.id);
  const start = ids.includes(lastEventId) ? ids.indexOf(lastEventId) + 1 : 0;
  let sent = 0;
  for (const event of scenario.events.slice(start)) {
    await sleep(scenario.pause_ms);
    if (dropAfter !== null && sent === dropAfter) {
      res.socket.destroy();
      return;
    }
    if (!session.isConnected) return;
    session.push(event.data, event.type, event.id);
    sent++;
  }
  res.end();
});

server.listen(0, "127.0.0.1", () => {
  report({ kind: "listening", port: server.address().port });
});
