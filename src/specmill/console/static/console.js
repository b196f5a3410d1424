// specmill console: live updates (Server-Sent Events) and actions (JSON POSTs with a CSRF token).
// Plain JavaScript, served by specmill itself; nothing here talks to another origin.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.text().then(function (text) {
        let data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: { message: text } }; }
        if (!response.ok) {
          const message = (data.error && data.error.message) || ("the server answered " + response.status);
          throw new Error(message);
        }
        return data;
      });
    });
  }

  function confirmAction(text) {
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-text").textContent = text;
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "ok");
      });
      dialog.returnValue = "";
      dialog.showModal();
      document.getElementById("confirm-ok").focus();
    });
  }

  function say(element, text, ok) {
    element.textContent = text;
    element.classList.toggle("bad", !ok);
    element.classList.toggle("ok", ok);
    element.focus();
  }

  // --- live regions ------------------------------------------------------------------------

  function showActionsFor(status) {
    document.querySelectorAll("form.action[data-when]").forEach(function (form) {
      form.hidden = form.dataset.when.split(" ").indexOf(status) < 0;
    });
  }

  function follow(region) {
    const source = new EventSource(region.dataset.live);
    source.addEventListener("update", function (event) {
      const open = Array.from(region.querySelectorAll("details[id]")).map(function (d) {
        return [d.id, d.open];
      });
      region.innerHTML = JSON.parse(event.data).html;
      open.forEach(function (pair) {
        const details = document.getElementById(pair[0]);
        if (details) { details.open = pair[1]; }
      });
      const root = region.querySelector(".live-root");
      if (root) { showActionsFor(root.dataset.status); }
      region.dispatchEvent(new CustomEvent("updated"));
    });
    return source;
  }

  document.querySelectorAll("[data-live]").forEach(follow);

  document.querySelectorAll("[data-load]").forEach(function (region) {
    fetch(region.dataset.load, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("the server answered " + response.status); }
        return response.text();
      })
      .then(function (html) { region.innerHTML = html; })
      .catch(function (error) { region.textContent = "Could not read the spec notes: " + error.message; })
      .finally(function () { region.removeAttribute("aria-busy"); });
  });

  // --- actions on a run --------------------------------------------------------------------

  function bodyOf(form, action) {
    const values = {};
    new FormData(form).forEach(function (value, key) {
      if (value !== "") { values[key] = value; }
    });
    if (action === "resume") {
      const body = {};
      if (values.budget_usd) { body.budget_usd = Number(values.budget_usd); }
      if (values.budget_tokens) { body.budget_tokens = Number(values.budget_tokens); }
      return body;
    }
    if (action === "fork") {
      const overrides = {};
      if (values.model) { overrides.model = values.model; }
      if (values.playbook) { overrides.playbook = values.playbook; }
      if (values.max_iterations) { overrides.max_iterations = Number(values.max_iterations); }
      return { from_phase: values.from_phase, overrides: overrides };
    }
    if (action === "approve" || action === "reject") { return { comment: values.comment || "" }; }
    return {};
  }

  function resultText(action, data) {
    if (action === "fork") { return "Forked as run " + data.run_id + "."; }
    if (action === "resume") { return "Resumed: the run continues from the step that stopped it."; }
    if (action === "cancel") { return "Cancelled: the run stops at its next step."; }
    if (action === "approve") { return "Approved: " + data.message; }
    if (action === "reject") { return "Rejected: " + data.message; }
    return "Done: " + action + ".";
  }

  document.querySelectorAll("form.action").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const submitter = event.submitter;
      const action = (submitter && submitter.dataset.decision) || form.dataset.action;
      const runId = form.closest("[data-run]").dataset.run;
      const result = document.getElementById("action-result");
      const text = action === "reject" ? "Reject the plan of run " + runId + "?" : form.dataset.confirm;
      confirmAction(text).then(function (ok) {
        if (!ok) { return; }
        const buttons = form.querySelectorAll("button");
        buttons.forEach(function (b) { b.disabled = true; });
        post("/console/runs/" + encodeURIComponent(runId) + "/" + action, bodyOf(form, action))
          .then(function (data) {
            say(result, resultText(action, data), true);
            if (action === "fork") {
              const link = document.createElement("a");
              link.href = "/console/runs/" + encodeURIComponent(data.run_id);
              link.textContent = " Open run " + data.run_id;
              result.appendChild(link);
            }
          })
          .catch(function (error) { say(result, "Not done: " + error.message, false); })
          .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
      });
    });
  });

  // --- sign in and out ---------------------------------------------------------------------

  const signIn = document.getElementById("sign-in");
  if (signIn) {
    signIn.addEventListener("submit", function (event) {
      event.preventDefault();
      const result = document.getElementById("sign-in-result");
      post("/console/sign-in", { token: signIn.elements.token.value })
        .then(function () { window.location.assign(signIn.dataset.next || "/"); })
        .catch(function (error) { say(result, error.message, false); });
    });
  }

  document.querySelectorAll("[data-sign-out]").forEach(function (button) {
    button.addEventListener("click", function () {
      post("/console/sign-out").then(function () { window.location.assign("/console/sign-in"); });
    });
  });

  // --- sweeps ------------------------------------------------------------------------------

  const preview = document.getElementById("sweep-preview");
  if (preview) {
    const out = document.getElementById("sweep-preview-out");
    const result = document.getElementById("sweep-result");
    preview.addEventListener("click", function () {
      preview.disabled = true;
      say(result, "Reading Basic Memory…", true);
      post("/console/sweeps/preview")
        .then(function (data) { out.innerHTML = data.html; say(result, "Preview ready: nothing was written.", true); })
        .catch(function (error) { say(result, "No preview: " + error.message, false); })
        .finally(function () { preview.disabled = false; });
    });
    const now = document.getElementById("sweep-now");
    now.addEventListener("click", function () {
      confirmAction(now.dataset.confirm).then(function (ok) {
        if (!ok) { return; }
        post("/console/sweeps")
          .then(function (data) { say(result, data.result, true); })
          .catch(function (error) { say(result, "Not started: " + error.message, false); });
      });
    });
  }
})();
