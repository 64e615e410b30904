// Small SVG drawing helpers for the dashboard: no library, nothing from outside this server.

const NS = "http://www.w3.org/2000/svg";

// Viridis (sequential, colour-blind safe), five stops interpolated linearly.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
// Okabe & Ito's categorical palette (colour-blind safe), for model versions.
export const CATEGORICAL = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
  "#f0e442", "#000000"];

export function viridis(t) {
  const x = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const c = VIRIDIS[i].map((v, k) => Math.round(v + f * (VIRIDIS[i + 1][k] - v)));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export function ramp() {
  return `linear-gradient(90deg, ${[0, 0.25, 0.5, 0.75, 1].map(viridis).join(", ")})`;
}

export function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (parent) parent.appendChild(node);
  return node;
}

export function clear(svg) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
}

export function size(svg) {
  const box = svg.getBoundingClientRect();
  const w = Math.max(Math.round(box.width), 200);
  const h = Math.max(Math.round(box.height), 80);
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  return [w, h];
}

export function scale(d0, d1, r0, r1) {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

export function fmt(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (Math.abs(v) >= 1000) return v.toLocaleString("en", { maximumFractionDigits: 0 });
  return Number(v.toPrecision(digits)).toString();
}

function path(points) {
  let d = "";
  let pen = false;
  for (const [x, y] of points) {
    if (x === null || y === null || !Number.isFinite(y)) { pen = false; continue; }
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  }
  return d;
}

function band(xs, lows, highs, y) {
  // one closed polygon per run of defined values
  const runs = [];
  let run = [];
  xs.forEach((x, i) => {
    if (lows[i] === null || highs[i] === null) { if (run.length) runs.push(run); run = []; }
    else run.push(i);
  });
  if (run.length) runs.push(run);
  return runs.map((r) => {
    const top = r.map((i) => [xs[i], y(highs[i])]);
    const bottom = r.slice().reverse().map((i) => [xs[i], y(lows[i])]);
    return path(top) + path(bottom).replace(/^M/, "L") + "Z";
  }).join("");
}

function axes(svg, w, h, pad, yMin, yMax, y) {
  el("line", { class: "axis", x1: pad.l, y1: h - pad.b, x2: w - pad.r, y2: h - pad.b }, svg);
  el("line", { class: "axis", x1: pad.l, y1: pad.t, x2: pad.l, y2: h - pad.b }, svg);
  for (const v of [yMin, yMax]) {
    el("text", { x: pad.l - 4, y: y(v) + 3, "text-anchor": "end" }, svg).textContent = fmt(v);
  }
}

// Objective against budget, with the current budget marked.
export function curveChart(svg, points, current) {
  clear(svg);
  if (!points.length) return;
  const [w, h] = size(svg);
  const pad = { l: 44, r: 10, t: 10, b: 22 };
  const xs = points.map((p) => p.budget);
  const ys = points.map((p) => p.objective);
  const yMin = Math.min(0, ...ys);
  const yMax = Math.max(...ys);
  const x = scale(Math.min(...xs), Math.max(...xs), pad.l, w - pad.r);
  const y = scale(yMin, yMax, h - pad.b, pad.t);
  axes(svg, w, h, pad, yMin, yMax, y);
  el("path", { class: "curve", d: path(points.map((p) => [x(p.budget), y(p.objective)])) }, svg);
  el("text", { x: w - pad.r, y: h - 6, "text-anchor": "end" }, svg).textContent = "budget";
  if (current) {
    el("line", { class: "now", x1: x(current.budget), x2: x(current.budget), y1: pad.t,
      y2: h - pad.b }, svg);
    el("circle", { cx: x(current.budget), cy: y(current.objective), r: 4, fill: "#e69f00" }, svg);
  }
}

// History (actual beside its usual band) then forecast (mean with its interval).
export function forecastChart(svg, history, forecast) {
  clear(svg);
  const [w, h] = size(svg);
  const pad = { l: 40, r: 8, t: 8, b: 20 };
  const n = history.times.length + forecast.times.length;
  const all = [...history.values, ...history.usual_low, ...history.usual_high, ...forecast.mean,
    ...forecast.low, ...forecast.high].filter((v) => v !== null && Number.isFinite(v));
  const yMin = Math.min(0, ...all);
  const yMax = Math.max(1e-9, ...all);
  const x = scale(0, Math.max(n - 1, 1), pad.l, w - pad.r);
  const y = scale(yMin, yMax, h - pad.b, pad.t);
  axes(svg, w, h, pad, yMin, yMax, y);
  const hx = history.times.map((_, i) => x(i));
  const fx = forecast.times.map((_, i) => x(history.times.length + i));
  el("path", { class: "band", d: band(hx, history.usual_low, history.usual_high, y) }, svg);
  el("path", { class: "fband", d: band(fx, forecast.low, forecast.high, y) }, svg);
  el("path", { class: "actual", d: path(history.values.map((v, i) => [hx[i], v === null ? null : y(v)])) }, svg);
  el("path", { class: "fmean", d: path(forecast.mean.map((v, i) => [fx[i], y(v)])) }, svg);
  const nowX = x(history.times.length - 0.5);
  el("line", { class: "now", x1: nowX, x2: nowX, y1: pad.t, y2: h - pad.b }, svg);
  el("text", { x: nowX - 4, y: h - 6, "text-anchor": "end" }, svg).textContent = "past";
  el("text", { x: nowX + 4, y: h - 6 }, svg).textContent = "forecast";
}

// Horizontal bars: [{label, value, own}] with values in 0..1.
export function barChart(svg, items, title) {
  clear(svg);
  const [w, h] = size(svg);
  el("text", { x: 0, y: 10 }, svg).textContent = title;
  if (!items.length) return;
  const row = Math.min(18, (h - 16) / items.length);
  const labelW = Math.min(110, w * 0.45);
  const max = Math.max(...items.map((d) => d.value), 1e-9);
  items.forEach((d, i) => {
    const top = 16 + i * row;
    el("text", { x: labelW - 4, y: top + row * 0.7, "text-anchor": "end" }, svg).textContent = d.label;
    el("rect", { class: d.own ? "bar own" : "bar", x: labelW, y: top + 1,
      width: Math.max(1, (w - labelW - 36) * (d.value / max)), height: Math.max(row - 3, 2) }, svg);
    el("text", { x: labelW + (w - labelW - 36) * (d.value / max) + 3, y: top + row * 0.7 },
      svg).textContent = `${(100 * d.value).toFixed(0)} %`;
  });
}

// Columns over time: [{label, value}] (values in 0..1), oldest first.
export function stepChart(svg, items, title) {
  clear(svg);
  const [w, h] = size(svg);
  el("text", { x: 0, y: 10 }, svg).textContent = title;
  if (!items.length) return;
  const pad = { l: 4, r: 4, t: 16, b: 16 };
  const max = Math.max(...items.map((d) => d.value), 1e-9);
  const colW = (w - pad.l - pad.r) / items.length;
  items.forEach((d, i) => {
    const hh = (h - pad.t - pad.b) * (d.value / max);
    el("rect", { class: "bar", x: pad.l + i * colW + 0.5, y: h - pad.b - hh,
      width: Math.max(colW - 1, 1), height: Math.max(hh, 0.5) }, svg);
  });
  el("text", { x: pad.l, y: h - 3 }, svg).textContent = items[0].label;
  el("text", { x: w - pad.r, y: h - 3, "text-anchor": "end" }, svg).textContent =
    items[items.length - 1].label;
}

// Points over time coloured by series: {series: [{name, color, points: [[i, v]]}]}.
export function seriesChart(svg, title, series, count) {
  clear(svg);
  const [w, h] = size(svg);
  const pad = { l: 40, r: 8, t: 14, b: 6 };
  el("text", { x: pad.l, y: 10 }, svg).textContent = title;
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  if (!values.length) {
    el("text", { x: pad.l, y: h / 2 + 4 }, svg).textContent = "no outcomes yet";
    return;
  }
  const yMin = Math.min(0, ...values);
  const yMax = Math.max(...values, 1e-9);
  const x = scale(0, Math.max(count - 1, 1), pad.l + 4, w - pad.r - 4);
  const y = scale(yMin, yMax, h - pad.b, pad.t);
  axes(svg, w, h, pad, yMin, yMax, y);
  for (const s of series) {
    for (const [i, v] of s.points) {
      el("circle", { class: "point", cx: x(i), cy: y(v), r: 3.5, fill: s.color }, svg);
    }
  }
}
