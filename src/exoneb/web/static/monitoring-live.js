// Live chart of a monitored session: SpO2 and heart rate (and FEV1 as % of baseline)
// drawn from the server-sent-event stream of *stored* observations. When an alert is
// stored or changes, the alert panel is reloaded from the server (htmx), so the page
// always shows the stored alert with its acknowledge/resolve forms.
// Loaded with the layout (htmx-boosted pages do not run body scripts); it starts a
// chart whenever a page with #live-chart is shown and closes the stream when it goes.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 600, H = 220, PAD = 30;
  var current = null;

  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function y(value, low, high) {
    var v = Math.max(low, Math.min(high, value));
    return H - PAD - (v - low) / (high - low) * (H - 2 * PAD);
  }

  function start(box) {
    var svg = box.querySelector("svg");
    var latest = box.querySelector("[data-latest]");
    var points = [], baseline = {}, seenAlerts = {};

    function series(key, low, high, t0, span, cls) {
      var pts = points.filter(function (p) { return p[key] !== null && p[key] !== undefined; });
      if (!pts.length) { return; }
      var d = pts.map(function (p) {
        var x = PAD + (p.t - t0) / span * (W - 2 * PAD);
        return x.toFixed(1) + "," + y(p[key], low, high).toFixed(1);
      }).join(" ");
      svg.appendChild(el("polyline", {points: d, "class": "line " + cls, fill: "none"}));
    }

    function hline(value, low, high, cls, label) {
      if (value === null || value === undefined) { return; }
      var yy = y(value, low, high).toFixed(1);
      svg.appendChild(el("line", {x1: PAD, x2: W - PAD, y1: yy, y2: yy, "class": "baseline " + cls}));
      var t = el("text", {x: PAD + 2, y: yy - 2, "class": "label " + cls});
      t.textContent = label;
      svg.appendChild(t);
    }

    function show(value, unit) {
      return value === null || value === undefined ? "—" : value + unit;
    }

    function draw() {
      while (svg.childNodes.length > 1) { svg.removeChild(svg.lastChild); }
      if (!points.length) { return; }
      var t0 = points[0].t, t1 = points[points.length - 1].t;
      var span = Math.max(60000, t1 - t0);
      hline(baseline.spo2_pct, 70, 100, "spo2", "SpO2 baseline");
      hline(baseline.heart_rate_per_min, 40, 180, "hr", "HR baseline");
      series("spo2_pct", 70, 100, t0, span, "spo2");
      series("heart_rate_per_min", 40, 180, t0, span, "hr");
      if (baseline.fev1_l) {
        points.forEach(function (p) {
          if (p.fev1_l === null || p.fev1_l === undefined) { return; }
          var x = PAD + (p.t - t0) / span * (W - 2 * PAD);
          var pct = p.fev1_l / baseline.fev1_l * 100;
          svg.appendChild(el("circle", {cx: x.toFixed(1), cy: y(pct, 60, 120).toFixed(1), r: 4, "class": "fev1"}));
        });
      }
      var last = points[points.length - 1];
      latest.textContent = "Latest (" + new Date(last.t).toISOString().slice(11, 19) + " UTC): SpO2 " +
        show(last.spo2_pct, " %") + ", HR " + show(last.heart_rate_per_min, "/min") +
        (last.fev1_l === null || last.fev1_l === undefined ? "" : ", FEV1 " + last.fev1_l + " L");
    }

    var source = new EventSource(box.getAttribute("data-stream"));
    source.addEventListener("baseline", function (e) { baseline = JSON.parse(e.data); draw(); });
    source.addEventListener("observations", function (e) {
      JSON.parse(e.data).forEach(function (o) { o.t = Date.parse(o.at); points.push(o); });
      points.sort(function (a, b) { return a.t - b.t; });
      if (points.length > 5000) { points = points.slice(points.length - 5000); }
      draw();
    });
    source.addEventListener("alerts", function (e) {
      var changed = false;
      JSON.parse(e.data).forEach(function (a) {
        var key = [a.status, a.ongoing, a.acknowledged_by || "", a.resolved_by || ""].join("/");
        if (seenAlerts[a.id] !== key) { seenAlerts[a.id] = key; changed = true; }
      });
      box.setAttribute("data-alert-count", String(Object.keys(seenAlerts).length));
      var panel = document.getElementById("alerts");
      if (changed && panel && window.htmx) {
        window.htmx.ajax("GET", box.getAttribute("data-alerts"), {target: "#alerts", swap: "innerHTML"});
      }
    });
    return {box: box, source: source};
  }

  function scan() {
    var box = document.getElementById("live-chart");
    if (current && current.box !== box) { current.source.close(); current = null; }
    if (box && !current && window.EventSource) { current = start(box); }
  }

  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:load", scan);
  window.addEventListener("pagehide", function () { if (current) { current.source.close(); } });
})();
