// The console's only script: posts [data-fetch] forms with the session's CSRF token and
// shows the answer in place, and keeps the live-calls table current over SSE.
"use strict";

(function () {
  const token = () => document.querySelector('meta[name="csrf-token"]').content;
  const status = (text, ok) => {
    const line = document.getElementById("status");
    if (!line) return;
    line.textContent = text;
    line.className = "status " + (ok ? "ok" : "bad");
  };

  const kept = window.sessionStorage.getItem("console-status");
  if (kept !== null) {
    window.sessionStorage.removeItem("console-status");
    document.addEventListener("DOMContentLoaded", () => status(kept, true));
  }

  // Forms post urlencoded with the token in a header; the page stays (and its stream).
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-fetch")) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token(), Accept: "application/json" },
        body: new URLSearchParams(new FormData(form)),
      });
      const answer = await response.json();
      status(answer.message, answer.ok);
      if (response.status === 401) window.location.assign("/");
      else if (answer.ok && !document.getElementById("live-rows")) {
        // a page without a stream shows the change by loading again, and the answer after
        window.sessionStorage.setItem("console-status", answer.message);
        window.location.reload();
      }
    } catch (error) {
      status("request failed: " + error, false);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });

  // Live calls: the server sends the table body whenever it changes.
  const table = document.getElementById("live-calls");
  if (table && window.EventSource) {
    const rows = document.getElementById("live-rows");
    const count = document.getElementById("live-count");
    const state = document.getElementById("live-state");
    const events = new EventSource(table.dataset.events);
    // a transfer number being typed is not wiped out: the newest table waits for the
    // input to lose focus
    let pending = null;
    const editing = () =>
      rows.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
    const apply = (data) => {
      pending = null;
      rows.innerHTML = data.html;
      count.textContent = data.count;
      table.dataset.updated = String(Date.now());
    };
    events.addEventListener("calls", (event) => {
      const data = JSON.parse(event.data);
      if (editing()) pending = data;
      else apply(data);
    });
    rows.addEventListener("focusout", () =>
      window.setTimeout(() => {
        if (pending !== null && !editing()) apply(pending);
      }, 0),
    );
    events.addEventListener("expired", () => {
      events.close();
      window.location.assign("/");
    });
    events.onopen = () => (state.textContent = "Live: updates as calls change.");
    events.onerror = () => (state.textContent = "Reconnecting…");
  }
})();
