// The service page's rollback confirmation: a click on a deployment's "Rollback" button
// opens <dialog id="rollback-dialog"> for that deployment instead of following the link to
// the confirmation page. The dialog's "Roll back" submits its CSRF-protected POST form;
// "Cancel" (a method=dialog button) and Escape close it without sending anything.
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
