// The service page's behaviour (the page works without it; this only makes it nicer):
// * the rollback confirmation: a click on a deployment's "Rollback" button opens
//   <dialog id="rollback-dialog"> for that deployment instead of following the link to the
//   confirmation page. The dialog's "Roll back" submits its CSRF-protected POST form;
//   "Cancel" (a method=dialog button) and Escape close it without sending anything;
// * live parts (the domain list, the GitHub pushes): an element .live-part[data-src] with
//   data-poll > 0 is re-fetched after that many milliseconds and replaced by the server's
//   rendering (escaped HTML from our own templates); the answer's X-Kubidu-Poll header says
//   when to look again (0: settled, stop);
// * "Copy" buttons (button.copy[data-copy], hidden without JavaScript) copy their value;
// * forms with data-confirm ask before they are sent (Remove a domain, Deploy anyway).
"use strict";

(function () {
  const dialog = document.getElementById("rollback-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return; // no <dialog> support: the buttons stay links to the confirmation page
  }

  function open(button) {
    document.getElementById("rollback-target").textContent = button.dataset.target;
    const message = button.dataset.message;
    document.getElementById("rollback-message").textContent =
      (message ? "(" + message + ", " : "(") + "created " + button.dataset.created + ")";
    document.getElementById("rollback-target-input").value = button.dataset.target;
    dialog.showModal();
    document.getElementById("rollback-cancel").focus();
  }

  for (const button of document.querySelectorAll("a.rollback[data-target]")) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      open(button);
    });
  }
  dialog.addEventListener("close", () => {
    document.getElementById("rollback-target-input").value = "";
  });
})();

(function () {
  async function refresh(part) {
    let next = 0;
    try {
      const response = await fetch(part.dataset.src, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok || response.redirected) return; // session ended or access lost: stop
      part.innerHTML = await response.text();
      next = Number(response.headers.get("X-Kubidu-Poll") || "0");
      wire(part);
    } catch (_error) {
      next = 5000; // the server is restarting or the network blinked: try again later
    }
    part.dataset.poll = String(next);
    if (next > 0) setTimeout(() => refresh(part), next);
  }

  function copyButton(button) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch (_error) {
        button.textContent = "Select and copy";
      }
      setTimeout(() => (button.textContent = label), 1500);
    });
  }

  function confirmForm(form) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  function wire(root) {
    root.querySelectorAll("button.copy[data-copy]").forEach(copyButton);
    root.querySelectorAll("form[data-confirm]").forEach(confirmForm);
  }

  wire(document);
  for (const part of document.querySelectorAll(".live-part[data-src]")) {
    const wait = Number(part.dataset.poll || "0");
    if (wait > 0) setTimeout(() => refresh(part), wait);
  }
})();
