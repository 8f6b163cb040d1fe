/* The visit map on a tile server (PAICHA_MAP_TILES), drawn with the vendored Leaflet. The data
 * (already in the tile server's coordinate system) is in <script type="application/json" id="map-data">.
 * The server-drawn SVG map (#visit-map) stays visible until a tile has actually loaded, so with the
 * tile server unreachable the page still shows every point over the village boundaries. */
(function () {
  "use strict";
  function start() {
    var holder = document.getElementById("tile-map");
    var source = document.getElementById("map-data");
    if (!holder || !source || typeof L === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var status = document.getElementById("tile-status");
    var fallback = document.getElementById("visit-map");
    var map = L.map(holder, {preferCanvas: false});
    var loaded = false;
    var layer = L.tileLayer(data.tiles, {maxZoom: 18, attribution: data.attribution || ""});
    layer.on("tileload", function () {
      if (!loaded) {
        loaded = true;
        holder.classList.remove("tiles-failed");
        if (fallback) { fallback.hidden = true; }
      }
    });
    layer.on("tileerror", function () {
      if (!loaded) {
        holder.classList.add("tiles-failed");
        if (status) { status.textContent = status.getAttribute("data-failed"); }
      }
    });
    layer.addTo(map);
    var bounds = [];
    data.villages.forEach(function (v) {
      if (v.rings.length) {
        L.polygon(v.rings, {color: "#7a8f5a", weight: 1, fillColor: "#e3edd5", fillOpacity: 0.4, className: "village"})
          .bindTooltip(v.name).addTo(map);
        v.rings.forEach(function (ring) { bounds = bounds.concat(ring); });
      }
      if (v.centre) {
        L.circleMarker(v.centre, {radius: 5, color: "#555", fill: false, weight: 1, className: "village-centre"})
          .bindTooltip(v.name).addTo(map);
        bounds.push(v.centre);
      }
    });
    data.visits.forEach(function (p) {
      var colour = p.flagged ? data.colours.flagged : data.colours.ok;
      L.circleMarker(p.at, {radius: 5, color: colour, fillColor: colour, fillOpacity: 0.8, weight: 1,
                            className: p.flagged ? "visit flagged" : "visit"})
        .bindTooltip(p.tip).addTo(map);
      bounds.push(p.at);
    });
    if (bounds.length) {
      map.fitBounds(L.latLngBounds(bounds), {padding: [20, 20], maxZoom: 16});
    } else {
      map.setView([35, 105], 4);
    }
    holder.setAttribute("data-ready", String(data.visits.length));
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
