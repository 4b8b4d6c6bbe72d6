// Follows a deployment's build log: polls <pre id="build-log" data-url=…> for lines newer
// than data-after while the deployment is in flight, appends them as text (never as HTML)
// and updates the status badge. Stops when the deployment settles or the session ends.
"use strict";

(function () {
  const POLL_MS = 1000;
  const log = document.getElementById("build-log");
  if (!log || log.dataset.inFlight !== "true") {
    return;
  }

  function appendLines(lines) {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    for (const entry of lines) {
      const span = document.createElement("span");
      span.className = "log-line log-" + entry.stream;
      span.dataset.id = String(entry.id);
      span.textContent = entry.line + "\n";
      log.appendChild(span);
      log.dataset.after = String(entry.id);
    }
    if (lines.length) {
      const empty = document.getElementById("log-empty");
      if (empty) empty.remove();
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
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
  }

  function stop(text) {
    document.getElementById("log-state").textContent = text;
  }

  async function poll() {
    let body;
    try {
      const url = log.dataset.url + "?after=" + encodeURIComponent(log.dataset.after);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok || !(response.headers.get("content-type") || "").includes("json")) {
        stop("stopped following (reload the page)");
        return;
      }
      body = await response.json();
    } catch (err) {
      setTimeout(poll, POLL_MS * 3);
      return;
    }
    appendLines(body.lines);
    showStatus(body);
    if (body.in_flight || body.lines.length) {
      setTimeout(poll, POLL_MS);
    } else {
      stop("finished");
    }
  }

  setTimeout(poll, POLL_MS);
})();
