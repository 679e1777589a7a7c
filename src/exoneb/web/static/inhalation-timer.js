// Keeps the inhalation timer counting on screen between server refreshes (no inline script:
// CSP allows only 'self'). The server is the authority: each page or panel it renders carries
// the elapsed, remaining and paused seconds computed from the stored run events; this only
// adds the seconds since that render, while the run is running (or paused, for the pause).
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function mmss(seconds) {
    var s = Math.floor(Math.abs(seconds));
    return (seconds < 0 ? "-" : "") + pad(Math.floor(s / 60)) + ":" + pad(s % 60);
  }
  function tick() {
    var timers = document.querySelectorAll("[data-timer]");
    for (var i = 0; i < timers.length; i++) {
      var el = timers[i];
      if (!el.dataset.shownAt) { el.dataset.shownAt = String(Date.now()); }
      var since = (Date.now() - Number(el.dataset.shownAt)) / 1000;
      var running = el.dataset.running === "true";
      var paused = el.dataset.paused === "true";
      var elapsed = Number(el.dataset.elapsedS) + (running ? since : 0);
      var out = el.querySelector("[data-timer-elapsed]");
      if (out) { out.textContent = mmss(elapsed); }
      var rem = el.querySelector("[data-timer-remaining]");
      if (rem && el.dataset.remainingS !== "") {
        rem.textContent = mmss(Number(el.dataset.remainingS) - (running ? since : 0));
      }
      var pausedOut = el.querySelector("[data-timer-paused]");
      if (pausedOut) {
        pausedOut.textContent = mmss(Number(el.dataset.interruptionS) + (paused ? since : 0));
      }
    }
  }
  window.setInterval(tick, 1000);
})();
