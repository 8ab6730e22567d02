// The stock page: one EventSource on /price, an inline SVG line chart per ticker.
"use strict";

(function () {
  const TICKERS = ["AAPL", "AMZN"];
  const MAX_POINTS = 60;
  const WIDTH = 600, HEIGHT = 220, LEFT = 58, RIGHT = 8, TOP = 10, BOTTOM = 22;
  const SVG = "http://www.w3.org/2000/svg";

  const series = {};
  for (const t of TICKERS) series[t] = [];
  const statusBadge = document.getElementById("status");
  const lastTick = document.getElementById("last-tick");
  let lastId = null;

  function setStatus(kind, text) {
    statusBadge.className = "status " + kind;
    statusBadge.textContent = text;
    statusBadge.dataset.state = kind;
  }

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function draw(ticker) {
    const svg = document.getElementById("chart-" + ticker);
    const points = series[ticker];
    svg.dataset.points = String(points.length);
    const children = [];
    const prices = points.map((p) => p.price);
    let lo = Math.min(...prices), hi = Math.max(...prices);
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (hi - lo < 0.01) { lo -= 0.5; hi += 0.5; }
    const pad = (hi - lo) * 0.1;
    lo -= pad; hi += pad;
    const plotW = WIDTH - LEFT - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
    const y = (p) => TOP + plotH - ((p - lo) / (hi - lo)) * plotH;
    const x = (i) => LEFT + (plotW * (MAX_POINTS - points.length + i)) / (MAX_POINTS - 1);

    for (let k = 0; k <= 4; k++) {
      const value = lo + ((hi - lo) * k) / 4;
      const gy = y(value);
      children.push(el("line", { class: "grid", x1: LEFT, x2: WIDTH - RIGHT, y1: gy, y2: gy }));
      children.push(el("text", { class: "label", x: LEFT - 6, y: gy + 4, "text-anchor": "end" },
        value.toFixed(2)));
    }
    children.push(el("text", { class: "label", x: WIDTH - RIGHT, y: HEIGHT - 4, "text-anchor": "end" },
      "now"));
    children.push(el("text", { class: "label", x: LEFT, y: HEIGHT - 4 }, "\u2212" + MAX_POINTS + " ticks"));

    if (points.length > 0) {
      const coords = points.map((p, i) => x(i).toFixed(1) + "," + y(p.price).toFixed(1));
      const base = (TOP + plotH).toFixed(1);
      const area = x(0).toFixed(1) + "," + base + " " + coords.join(" ") + " " +
        x(points.length - 1).toFixed(1) + "," + base;
      children.push(el("polygon", { class: "area", points: area }));
      children.push(el("polyline", { class: "line", points: coords.join(" ") }));
      const last = points[points.length - 1];
      children.push(el("circle", { class: "line", cx: x(points.length - 1), cy: y(last.price), r: 3 }));
    }
    svg.replaceChildren(...children);
  }

  function onPrice(event) {
    const ticker = event.type;
    const price = parseFloat(event.data);
    if (!series[ticker] || !isFinite(price)) return;
    const points = series[ticker];
    points.push({ price });
    if (points.length > MAX_POINTS) points.shift();
    document.getElementById("price-" + ticker).textContent = event.data;
    const change = document.getElementById("change-" + ticker);
    if (points.length > 1) {
      const diff = price - points[points.length - 2].price;
      change.textContent = (diff >= 0 ? "\u25B2 +" : "\u25BC \u2212") + Math.abs(diff).toFixed(4);
      change.className = "change " + (diff >= 0 ? "up" : "down");
    }
    // The hub writes the tick's id (its Unix time in ms) on the tick's last event.
    if (event.lastEventId && event.lastEventId !== lastId) {
      lastId = event.lastEventId;
      const at = new Date(Number(lastId.split("-")[0]));
      lastTick.textContent = "last tick " + at.toLocaleTimeString() + " (id " + lastId + ")";
    }
    draw(ticker);
  }

  TICKERS.forEach(draw);
  const source = new EventSource("/price");
  for (const t of TICKERS) source.addEventListener(t, onPrice);
  // The hub sends `reset` when it cannot replay every tick since our last one: start afresh.
  source.addEventListener("reset", () => {
    for (const t of TICKERS) { series[t].length = 0; draw(t); }
  });
  source.onopen = () => setStatus("connected", "connected");
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) setStatus("disconnected", "disconnected");
    else setStatus("connecting", "reconnecting\u2026");
  };

  // For tests and the curious: how many points each chart holds.
  window.stockPoints = () => Object.fromEntries(TICKERS.map((t) => [t, series[t].length]));
})();
