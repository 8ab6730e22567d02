// The `eventsource` npm package (the WHATWG EventSource for Node) reading a stream.
// Usage: node eventsource_client.mjs URL TYPES   (TYPES: comma-separated event types)
// Prints one JSON report per line (see observe.js) until it is killed.
import { EventSource } from "eventsource";
import { observe } from "./observe.js";

const [url, types] = process.argv.slice(2);
observe(EventSource, url, types.split(","), (value) => {
  process.stdout.write(JSON.stringify(value) + "\n");
});
