// The supervision room, live: the figures arrive as Server-Sent Events from data-stream and are
// written in place (totals, per-area cells, alerts). No framework; the page works without it.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || !window.EventSource) { return; }
  var live = document.getElementById("room-live");
  var words = root.dataset.lang === "en" ? {on: "live", off: "reconnecting…"} : {on: "实时", off: "正在重连…"};

  function shown(kind, value) {
    if (kind === "rate") { return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%"; }
    return String(value || 0);
  }
  function put(el, text) {
    if (el && el.textContent !== text) {
      el.textContent = text;
      el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash");
    }
  }
  function stamp(iso) {
    var d = new Date(iso), p = function (n) { return (n < 10 ? "0" : "") + n; };
    // Asia/Shanghai, as the server writes times (UTC+8, no daylight saving)
    var s = new Date(d.getTime() + 8 * 3600 * 1000);
    return s.getUTCFullYear() + "-" + p(s.getUTCMonth() + 1) + "-" + p(s.getUTCDate()) + " " + p(s.getUTCHours()) + ":" + p(s.getUTCMinutes());
  }
  function apply(message) {
    var figures = message.figures, alerts = 0;
    Object.keys(figures).forEach(function (key) {
      var f = figures[key], card = document.getElementById("fig-" + key), kind = card ? card.dataset.kind : "count";
      if (card) {
        put(card.querySelector("[data-total]"), shown(kind, f.total));
        card.classList.toggle("alert", !!f.alert);
        var basis = card.querySelector("[data-basis]");
        if (basis) { put(basis, f.num + " / " + f.den); }
      }
      if (f.alert) { alerts += 1; }
      var name = document.querySelector('[data-alert-of="' + key + '"]');
      if (name) { name.classList.toggle("hidden", !f.alert); }
      var total = document.querySelector('[data-total-cell="' + key + '"] a');
      if (total) { put(total, shown(kind, f.total)); }
      Object.keys(f.areas).forEach(function (code) {
        var cell = document.querySelector('[data-cell="' + key + '"][data-area="' + code + '"]');
        if (cell) {
          put(cell.querySelector("a"), shown(kind, f.areas[code]));
          cell.classList.toggle("alert", f.alerts.indexOf(code) >= 0);
        }
      });
    });
    var box = document.getElementById("room-alerts");
    box.className = alerts ? "alerting" : "calm";
    document.getElementById("room-alert-count").textContent = String(alerts);
    box.querySelector(".none").classList.toggle("hidden", alerts > 0);
    document.getElementById("room-updated").textContent = stamp(message.at);
  }

  var source = new EventSource(root.dataset.stream);
  source.addEventListener("figures", function (e) { apply(JSON.parse(e.data)); });
  source.onopen = function () { live.textContent = words.on; live.className = "live-on"; };
  source.onerror = function () { live.textContent = words.off; live.className = "live-off"; };
}());
