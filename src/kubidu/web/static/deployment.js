// Follows a deployment's build log live: while the deployment is in flight, reads the
// Server-Sent Events of <pre id="build-log" data-url=…>, appends lines newer than
// data-after as text (never as HTML), updates the status badge on "status" events and
// shows the outcome on the final "end" event, after which the stream is closed.
"use strict";

(function () {
  const log = document.getElementById("build-log");
  if (!log || log.dataset.inFlight !== "true") {
    return;
  }
  const state = document.getElementById("log-state");
  let after = Number(log.dataset.after || "0");

  // Lines are added once per animation frame, so a burst of build output costs one layout.
  let pending = [];
  function flush() {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.append(...pending);
    pending = [];
    const empty = document.getElementById("log-empty");
    if (empty) empty.remove();
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function appendSpan(className, text) {
    const span = document.createElement("span");
    span.className = className;
    span.textContent = text + "\n";
    if (!pending.length) requestAnimationFrame(flush);
    pending.push(span);
    return span;
  }

  function onLine(entry) {
    if (entry.id <= after) return; // already on the page (rendered, or sent before a reconnect)
    after = entry.id;
    const span = appendSpan("log-line log-" + entry.stream, entry.line);
    span.dataset.id = String(entry.id);
  }

  function showStatus(body) {
    const badge = document.querySelector("#deployment-status .badge");
    if (badge) {
      badge.className = "badge badge-" + body.status_class;
      badge.dataset.status = body.status;
      badge.lastChild.textContent = body.status;
    }
    const reason = document.getElementById("failure-reason");
    if (reason && body.failure_reason) {
      reason.textContent = body.failure_reason;
      reason.hidden = false;
    }
    document.getElementById("deployment-live").hidden = body.status !== "active";
    document.getElementById("deployment-finished").textContent = body.finished;
    document.getElementById("deployment-duration").textContent = body.duration;
  }

  const source = new EventSource(log.dataset.url);
  source.addEventListener("line", (e) => onLine(JSON.parse(e.data)));
  source.addEventListener("dropped", (e) => {
    const skipped = JSON.parse(e.data).skipped;
    appendSpan("log-line log-dropped", "… " + skipped + " lines skipped (the page fell behind)");
  });
  source.addEventListener("status", (e) => showStatus(JSON.parse(e.data)));
  source.addEventListener("end", (e) => {
    source.close();
    showStatus(JSON.parse(e.data));
    state.textContent = "finished";
  });
  source.addEventListener("error", () => {
    // EventSource retries by itself after a dropped connection; CLOSED means it gave up
    // (the session ended, or the deployment is no longer visible to this user).
    if (source.readyState === EventSource.CLOSED) {
      state.textContent = "stopped following (reload the page)";
    }
  });
})();
