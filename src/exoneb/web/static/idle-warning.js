// Warns before the server ends an idle login session (no inline script: CSP allows only 'self').
// The server is the authority on timeouts; this only mirrors the idle timer so that a nurse
// is not surprised by a logout. Background polling does not count as activity on either side.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!idle) { return; }
  var warnAt = Math.max(idle - 120, Math.floor(idle * 0.8));
  var last = Date.now();
  var banner = null;

  function activity(event) {
    var headers = event && event.detail && event.detail.requestConfig &&
      event.detail.requestConfig.headers;
    if (headers && headers["X-Background-Poll"] === "1") { return; }
    last = Date.now();
    if (banner) { banner.hidden = true; }
  }

  function stay() {
    fetch("/api/v1/auth/me", { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { window.location.assign("/login"); } else { activity(); }
    });
  }

  function tick() {
    var elapsed = (Date.now() - last) / 1000;
    if (elapsed >= idle) { window.location.assign("/login"); return; }
    if (elapsed >= warnAt) {
      if (!banner) {
        banner = document.getElementById("idle-warning");
        banner.querySelector("button").addEventListener("click", stay);
      }
      var left = Math.max(0, Math.ceil((idle - elapsed) / 60));
      banner.querySelector("[data-minutes]").textContent = String(left);
      banner.hidden = false;
    }
  }

  document.addEventListener("htmx:afterRequest", activity);
  setInterval(tick, 5000);
})();
