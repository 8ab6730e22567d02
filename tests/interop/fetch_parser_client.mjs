// `eventsource-parser` over Node's `fetch`, reconnecting the way the WHATWG EventSource does
// (wait `retry`, send `Last-Event-ID`), as an application using the parser would.
// Usage: node fetch_parser_client.mjs URL CONNECTIONS
// Reports, one JSON object per line: {kind: "open", status}, {kind: "event", type, data, id}
// (id: the parser's `id` of that event, null when it had none), {kind: "retry", ms},
// {kind: "end", comments} after a clean end, {kind: "error", message, comments} after a failed
// connection, and {kind: "done"} after CONNECTIONS connections.
import { createParser } from "eventsource-parser";

const [url, connections] = process.argv.slice(2);
let seq = 0;
const report = (value) => process.stdout.write(JSON.stringify({ ...value, seq: seq++ }) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The parser hands out each event's own `id`; keeping the last one is the application's job.
let lastEventId = "";
let retry = 3000;
for (let n = 0; n < Number(connections); n++) {
  if (n > 0) await sleep(retry);
  let comments = 0;
  const parser = createParser({
    onEvent(event) {
      if (event.id !== undefined) lastEventId = event.id;
      report({ kind: "event", type: event.event ?? "message", data: event.data, id: event.id ?? null });
    },
    onRetry(ms) {
      retry = ms;
      report({ kind: "retry", ms });
    },
    onComment() {
      comments++;
    },
  });
  const headers = { accept: "text/event-stream" };
  if (lastEventId !== "") headers["last-event-id"] = lastEventId;
  try {
    const response = await fetch(url, { headers });
    report({ kind: "open", status: response.status });
    const decoder = new TextDecoder();
    for await (const chunk of response.body) parser.feed(decoder.decode(chunk, { stream: true }));
    report({ kind: "end", comments });
  } catch (error) {
    report({ kind: "error", message: String(error?.cause ?? error), comments });
  }
}
report({ kind: "done" });
