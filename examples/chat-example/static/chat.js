// The chat page: one EventSource per user, plain fetch() for sending, a polled presence list.
// With a server started with --auth the page first signs in (POST /chat/login sets an
// HttpOnly ticket cookie) and signs in again when the ticket expires, resuming after the
// last event it saw; against an open server that route is 404 and the page just connects.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const loginForm = $("login-form");
  const usernameInput = $("username");
  const chat = $("chat");
  const me = $("me");
  const statusBadge = $("status");
  const usersList = $("users");
  const userCount = $("user-count");
  const toSelect = $("to");
  const composeForm = $("compose");
  const messageInput = $("message");
  const messages = $("messages");
  const errorBox = $("error");
  const loginError = $("login-error");

  let username = null;
  let source = null;
  let lost = false;          // the connection dropped and has not come back yet
  let everConnected = false;
  const seen = new Set();    // event ids already shown (a resume never shows one twice)
  let lastId = "";           // the last event id received, to resume from after a new sign-in
  let authMode = false;      // the server signed us in (started with --auth)
  let signIns = 0;
  let renewing = null;       // the sign-in in flight, shared by whoever needs it

  function setStatus(kind, text) {
    statusBadge.className = "status " + kind;
    statusBadge.textContent = text;
    statusBadge.dataset.state = kind;
  }

  function systemLine(text, bad) {
    const li = document.createElement("li");
    li.className = bad ? "system bad" : "system";
    li.textContent = text;
    messages.appendChild(li);
    messages.scrollTop = messages.scrollHeight;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function formatTime(timestamp) {
    const date = new Date(timestamp);
    return isNaN(date) ? timestamp : date.toLocaleTimeString();
  }

  function showMessage(event) {
    if (event.lastEventId) lastId = event.lastEventId;
    if (event.lastEventId && seen.has(event.lastEventId)) return;
    if (event.lastEventId) seen.add(event.lastEventId);
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch (e) {
      systemLine("unreadable message: " + event.data, true);
      return;
    }
    render(msg, event.lastEventId, false);
  }

  // One message; `outgoing` marks the local copy of a direct message this page sent (the
  // server delivers direct messages to the recipient only).
  function render(msg, id, outgoing) {
    const li = document.createElement("li");
    li.className = "message " + (msg.Type === "direct" ? "direct" : "broadcast") +
      (outgoing ? " outgoing" : "");
    if (id) li.dataset.id = id;
    li.dataset.type = msg.Type;
    const meta = document.createElement("div");
    meta.className = "meta";
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = msg.Type === "direct" ? "direct" : "everyone";
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = msg.From;
    meta.append(kind, from);
    if (msg.Type === "direct") {
      const to = document.createElement("span");
      to.className = "to";
      to.textContent = "\u2192 " + msg.To;
      meta.append(to);
    }
    const time = document.createElement("time");
    time.className = "time";
    time.dateTime = msg.Timestamp;
    time.textContent = formatTime(msg.Timestamp);
    meta.append(time);
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = msg.Message;
    li.append(meta, text);
    messages.appendChild(li);
    messages.scrollTop = messages.scrollHeight;
  }

  function connect() {
    setStatus("connecting", "connecting\u2026");
    let url = "/chat/sse?username=" + encodeURIComponent(username);
    // A new EventSource cannot send Last-Event-ID: the query parameter says it instead.
    if (lastId) url += "&lastEventId=" + encodeURIComponent(lastId);
    source = new EventSource(url);
    source.addEventListener("broadcast", showMessage);
    source.addEventListener("direct", showMessage);
    // The hub sends `reset` when it cannot replay everything since our last event.
    source.addEventListener("reset", () =>
      systemLine("some messages could not be replayed: they are older than the history", true));
    // --auth: the ticket ran out and the server ended the stream; sign in again and resume.
    source.addEventListener("expired", () => renew());
    source.onopen = function () {
      setStatus("connected", "connected");
      if (lost) systemLine("reconnected: missed messages were replayed");
      else if (!everConnected) systemLine("connected as " + username);
      lost = false;
      everConnected = true;
      refreshUsers();
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED && authMode) {
        // Refused, most likely for an expired ticket (401): sign in again once.
        renew();
      } else if (source.readyState === EventSource.CLOSED) {
        setStatus("disconnected", "disconnected");
        systemLine("the server refused the connection; reload the page to try again", true);
      } else {
        setStatus("connecting", "reconnecting\u2026");
        if (!lost) systemLine("connection lost, reconnecting\u2026", true);
        lost = true;
      }
    };
  }

  // POST /chat/login: true when signed in, "open" when the server has no sign-in (404), or
  // the server's message when it refused.
  async function signIn(name) {
    let response;
    try {
      response = await fetch("/chat/login?username=" + encodeURIComponent(name),
                             { method: "POST", cache: "no-store" });
    } catch (e) {
      return "the server cannot be reached";
    }
    if (response.status === 404) return "open";
    if (!response.ok) return (await response.text()) || "sign-in failed (" + response.status + ")";
    signIns += 1;
    return true;
  }

  // Signs in again with the same name (the cookie's expired ticket proves it is ours), then
  // opens a new stream that resumes after the last event seen.
  function renew() {
    if (renewing) return renewing;
    if (source) source.close();
    setStatus("connecting", "signing in again\u2026");
    renewing = signIn(username).then((result) => {
      renewing = null;
      if (result === true) {
        systemLine("signed in again as " + username);
        connect();
        return true;
      }
      setStatus("disconnected", "signed out");
      systemLine("signing in again failed: " + result + "; reload the page", true);
      return false;
    });
    return renewing;
  }

  async function refreshUsers() {
    if (!username) return;
    let users;
    try {
      const response = await fetch("/chat/users", { cache: "no-store" });
      if (!response.ok) return;
      users = (await response.json()).users;
    } catch (e) {
      return; // offline: keep the last list
    }
    userCount.textContent = String(users.length);
    usersList.replaceChildren(...users.map((name) => {
      const li = document.createElement("li");
      li.textContent = name;
      li.dataset.user = name;
      if (name === username) li.className = "self";
      else li.addEventListener("click", () => { toSelect.value = name; messageInput.focus(); });
      return li;
    }));
    const selected = toSelect.value;
    const options = [new Option("Everyone", "")];
    for (const name of users) {
      if (name !== username) options.push(new Option(name, name));
    }
    toSelect.replaceChildren(...options);
    toSelect.value = users.includes(selected) ? selected : "";
  }

  async function send(to, text, again) {
    const params = new URLSearchParams({ from: username, message: text });
    let path = "/chat/broadcast";
    if (to) {
      params.set("to", to);
      path = "/chat/direct";
    }
    try {
      const response = await fetch(path + "?" + params.toString(), { method: "POST" });
      if (response.status === 401 && authMode && !again) {
        // The ticket expired before the stream told us: sign in again, then retry once.
        return (await renew()) && send(to, text, true);
      }
      if (!response.ok) {
        showError((await response.text()) || "sending failed (" + response.status + ")");
        return false;
      }
    } catch (e) {
      showError("sending failed: the server cannot be reached");
      return false;
    }
    showError("");
    if (to) {
      render({ Type: "direct", From: username, To: to, Message: text,
               Timestamp: new Date().toISOString() }, null, true);
    }
    return true;
  }

  loginForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = usernameInput.value.trim();
    if (!name) return;
    const result = await signIn(name);
    if (result !== true && result !== "open") {
      loginError.textContent = result;
      loginError.hidden = false;
      return;
    }
    loginError.hidden = true;
    authMode = result === true;
    username = name;
    me.textContent = name;
    me.hidden = false;
    loginForm.hidden = true;
    chat.hidden = false;
    connect();
    messageInput.focus();
    setInterval(refreshUsers, 2000);
  });

  composeForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = messageInput.value;
    if (!text.trim()) return;
    if (await send(toSelect.value, text)) messageInput.value = "";
  });

  // For tests and the curious: the current state, read-only.
  window.chatState = () => ({
    username,
    connected: source !== null && source.readyState === EventSource.OPEN,
    seen: Array.from(seen),
    authMode,
    signIns,
    lastId,
  });

  const preset = new URLSearchParams(location.search).get("username");
  if (preset) usernameInput.value = preset;
})();
