// The live log view: reads the service's log stream (Server-Sent Events from
// <form id="log-filters" data-stream=…>) with the form's filters as the query string, shows
// each line as text (never as HTML), and restarts the stream — clearing the view and
// updating the address bar — whenever a filter changes.
"use strict";

(function () {
  const MAX_LINES = 5000; // oldest lines leave the page beyond this
  const TYPING_PAUSE_MS = 300;
  const form = document.getElementById("log-filters");
  const view = document.getElementById("log-lines");
  if (!form || !view) {
    return;
  }
  const state = document.getElementById("log-state");
  const count = document.getElementById("log-count");
  const empty = document.getElementById("log-empty");
  let source = null;
  let lastId = 0;
  let shown = 0;

  function query() {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (String(value).trim()) params.set(key, String(value).trim());
    }
    return params.toString();
  }

  function cell(className, text) {
    const span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    return span;
  }

  // Rows are added once per animation frame, so a burst of lines costs one layout.
  let pending = [];
  function flush() {
    const atBottom = view.scrollTop + view.clientHeight >= view.scrollHeight - 8;
    const excess = view.childElementCount + pending.length - MAX_LINES;
    shown += pending.length;
    if (pending.length > MAX_LINES) pending = pending.slice(-MAX_LINES);
    for (let i = 0; i < excess && view.firstElementChild; i++) view.firstElementChild.remove();
    view.append(...pending);
    pending = [];
    count.textContent = "(" + shown + ")";
    empty.hidden = shown > 0;
    if (atBottom) view.scrollTop = view.scrollHeight;
  }

  function append(row) {
    if (!pending.length) requestAnimationFrame(flush);
    pending.push(row);
  }

  function onLine(entry) {
    if (entry.id <= lastId) return; // sent again after a reconnect
    lastId = entry.id;
    const row = document.createElement("div");
    row.className = "log-row log-" + entry.stream;
    row.dataset.id = String(entry.id);
    row.dataset.stream = entry.stream;
    const time = cell("log-time", entry.at.slice(11, 19));
    time.title = entry.at;
    row.append(time, cell("log-replica", entry.replica || entry.source), cell("log-text", entry.line));
    append(row);
  }

  function onDropped(skipped) {
    const row = document.createElement("div");
    row.className = "log-row log-dropped";
    row.append(cell("log-text", "… " + skipped + " lines skipped (this view fell behind)"));
    append(row);
  }

  function show(text, kind) {
    state.textContent = text;
    state.dataset.state = kind;
  }

  function start() {
    if (source) source.close();
    pending = [];
    view.replaceChildren();
    lastId = 0;
    shown = 0;
    count.textContent = "";
    empty.hidden = false;
    show("connecting…", "busy");
    const qs = query();
    history.replaceState(null, "", form.action + (qs ? "?" + qs : ""));
    const current = new EventSource(form.dataset.stream + (qs ? "?" + qs : ""));
    source = current;
    current.addEventListener("open", () => show("live", "live"));
    current.addEventListener("line", (e) => onLine(JSON.parse(e.data)));
    current.addEventListener("dropped", (e) => onDropped(JSON.parse(e.data).skipped));
    current.addEventListener("error", () => {
      // EventSource reconnects by itself; CLOSED means the server refused the stream.
      if (current.readyState === EventSource.CLOSED) {
        show("stopped (reload the page to see why)", "stopped");
      } else {
        show("reconnecting…", "busy");
      }
    });
  }

  let typing = null;
  form.addEventListener("input", (event) => {
    if (event.target.tagName !== "INPUT") return; // selects restart on "change"
    clearTimeout(typing);
    typing = setTimeout(start, TYPING_PAUSE_MS);
  });
  form.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT") start();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    start();
  });
  start();
})();
