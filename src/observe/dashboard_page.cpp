// The dashboard page, embedded so the binary needs no asset directory and the page works
// on hosts without internet access (no external scripts, fonts or styles).
#include "observe/dashboard.hpp"

namespace pgwarden::observe {

const std::string_view kDashboardPage = R"PGWARDEN(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pgwarden</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d232b; }
header { background: #1d3557; color: #fff; padding: 10px 20px; display: flex; gap: 20px;
         align-items: baseline; }
header h1 { font-size: 20px; margin: 0; }
#status { font-size: 13px; opacity: .8; }
main { padding: 16px 20px; display: grid; gap: 16px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 16px; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; }
th { color: #5a6573; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.leak td { background: #fde2e1; }
tr.leak td:first-child { border-left: 4px solid #d62828; }
.stmt { font-family: ui-monospace, monospace; max-width: 520px; overflow: hidden;
        text-overflow: ellipsis; white-space: nowrap; }
#chart { width: 100%; height: 260px; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 12px; height: 3px; margin-right: 4px;
            vertical-align: middle; }
.alert { padding: 6px 10px; border-radius: 4px; margin: 4px 0; font-size: 13px; }
.alert.warning { background: #fff3cd; } .alert.critical { background: #f8d7da; }
.alert.pending { opacity: .55; }
.empty { color: #8a94a1; font-size: 13px; }
</style>
</head>
<body>
<header><h1>pgwarden</h1><span id="status">loading&hellip;</span></header>
<main>
<section><h2>Alerts (firing; pending ones dimmed)</h2><div id="alerts"><p class="empty">none</p></div></section>
<section>
<h2>Pool utilization per class (last 15 minutes; dashed line: 70%)</h2>
<svg id="chart" viewBox="0 0 1000 260" preserveAspectRatio="none" role="img"
     aria-label="utilization chart"></svg>
<div class="legend" id="legend"></div>
</section>
<section><h2>Pools</h2>
<table id="pools"><thead><tr><th>database</th><th>user</th><th>class</th><th>held</th>
<th>cap</th><th>utilization</th><th>waiting clients</th><th>oldest wait</th>
<th>pool: active / idle / size</th></tr></thead><tbody></tbody></table></section>
<section><h2>Current checkouts (oldest first; suspected leaks highlighted)</h2>
<table id="checkouts"><thead><tr><th>age</th><th>client</th><th>application_name</th>
<th>database</th><th>user</th><th>class</th><th>last statement</th></tr></thead>
<tbody></tbody></table></section>
</main>
<script>
"use strict";
const COLORS = ["#1d3557", "#2a9d8f", "#e76f51", "#8338ec", "#fb8500", "#3a86ff", "#6a994e"];
const SVG = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
                                   : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmtAge(s) {
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
  return (s / 3600).toFixed(1) + " h";
}
function drawChart(state) {
  const svg = document.getElementById("chart");
  svg.replaceChildren();
  const W = 1000, H = 260, L = 40, B = 20, T = 10;
  const end = state.now, start = end - state.history_ms;
  const x = t => L + (W - L - 10) * (t - start) / (end - start);
  const y = u => T + (H - T - B) * (1 - Math.min(u, 1.05) / 1.05);
  for (const g of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("svg:line", {x1: L, x2: W - 10, y1: y(g), y2: y(g), stroke: "#eef0f3"}));
    svg.append(el("svg:text", {x: 4, y: y(g) + 4, "font-size": 11, fill: "#5a6573"},
                  Math.round(g * 100) + "%"));
  }
  svg.append(el("svg:line", {id: "threshold-line", x1: L, x2: W - 10, y1: y(state.threshold),
                             y2: y(state.threshold), stroke: "#d62828",
                             "stroke-dasharray": "6 4", "stroke-width": 1.5}));
  svg.append(el("svg:text", {x: W - 60, y: y(state.threshold) - 4, "font-size": 11,
                             fill: "#d62828"}, "70%"));
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  state.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.map(p => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
    svg.append(el("svg:polyline", {class: "series", "data-key": s.key, points: pts,
                                   fill: "none", stroke: color, "stroke-width": 2}));
    const item = el("span", {});
    item.append(el("i", {style: "background:" + color}), document.createTextNode(s.key));
    legend.append(item);
  });
}
function fillPools(state) {
  const body = document.querySelector("#pools tbody");
  body.replaceChildren();
  for (const p of state.pools) {
    const tr = el("tr", {class: "pool"});
    for (const [v, num] of [[p.database], [p.user], [p.class], [p.held, 1], [p.cap, 1],
                            [Math.round(p.utilization * 100) + "%", 1], [p.clients_waiting, 1],
                            [fmtAge(p.oldest_wait_seconds), 1],
                            [p.pool_active + " / " + p.pool_idle + " / " + p.pool_size, 1]]) {
      tr.append(el("td", num ? {class: "num"} : {}, String(v)));
    }
    body.append(tr);
  }
}
function fillCheckouts(state) {
  const body = document.querySelector("#checkouts tbody");
  body.replaceChildren();
  for (const c of state.checkouts) {
    const tr = el("tr", {class: c.suspected_leak ? "checkout leak" : "checkout"});
    tr.append(el("td", {class: "num"}, fmtAge(c.age_seconds)));
    for (const v of [c.client, c.application_name, c.database, c.user, c.class]) {
      tr.append(el("td", {}, v));
    }
    tr.append(el("td", {class: "stmt", title: c.last_statement}, c.last_statement));
    body.append(tr);
  }
  if (!state.checkouts.length) {
    const tr = el("tr", {});
    tr.append(el("td", {colspan: 7, class: "empty"}, "no server connection checked out"));
    body.append(tr);
  }
}
function fillAlerts(state) {
  const box = document.getElementById("alerts");
  box.replaceChildren();
  for (const a of state.alerts) {
    box.append(el("div", {class: "alert " + a.severity + (a.firing ? " firing" : " pending")},
                  a.name + " [" + a.severity + ", " + a.state + "] " + a.database + "/" +
                  a.user + (a.class ? "/" + a.class : "") + (a.summary ? ": " + a.summary : "")));
  }
  if (!state.alerts.length) box.append(el("p", {class: "empty"}, "none"));
}
async function refresh() {
  try {
    const r = await fetch("api/state", {cache: "no-store"});
    const state = await r.json();
    drawChart(state);
    fillPools(state);
    fillCheckouts(state);
    fillAlerts(state);
    document.getElementById("status").textContent =
      "updated " + new Date(state.now).toLocaleTimeString() + " - " +
      state.checkouts.length + " checkout(s), " + state.alerts.length + " alert(s)";
  } catch (e) {
    document.getElementById("status").textContent = "cannot reach pgwarden: " + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)PGWARDEN";

}  // namespace pgwarden::observe
