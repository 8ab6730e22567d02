// What an EventSource sees, reported in order as JSON objects; the same code runs in Chromium,
// Firefox (served to the page by the Rust test) and Node (the `eventsource` package), so the
// three are compared on exactly the same observations.
//
// Reports: {kind: "open"}, {kind: "event", type, data, id} (id is the event's `lastEventId`),
// {kind: "error", ready_state}. Every report gets `seq`, counting from 0.
export function observe(EventSourceImpl, url, types, report) {
  let seq = 0;
  const send = (value) => report({ ...value, seq: seq++ });
  const source = new EventSourceImpl(url);
  const onEvent = (e) => send({ kind: "event", type: e.type, data: e.data, id: e.lastEventId });
  source.onopen = () => send({ kind: "open" });
  source.onmessage = onEvent;
  // `message` events reach `onmessage`; listening for them too would report them twice.
  for (const type of types.filter((t) => t !== "message")) {
    source.addEventListener(type, onEvent);
  }
  source.onerror = () => send({ kind: "error", ready_state: source.readyState });
  return source;
}
