// The cityfocus operator's dashboard: the city's zones, today's allocation, why, what-if,
// and history. Plain browser APIs only; every request goes to the server that served it.
import {
  CATEGORICAL, barChart, clear, curveChart, el, fmt, forecastChart, ramp, scale,
  seriesChart, size, stepChart, viridis,
} from "./svg.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "cityfocus-token";
const CURVE_POINTS = 40;

// Exposed on window for operators' scripts and the browser tests (timings of the slider).
const state = {
  token: sessionStorage.getItem(TOKEN_KEY), me: null, city: null, info: null, task: null,
  horizon: null, whatif: null, curve: null, selected: null, pending: null, inflight: false,
  timings: [], positions: null, jobsTimer: null, ready: false,
};
window.cityfocus = state;

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function detailText(data, status) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg).join("; ");
  return `the server answered ${status}`;
}

async function api(path, { method = "GET", body = undefined, headers = {} } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${state.token}`, ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const answer = await fetch(path, init);
  let data = null;
  try { data = await answer.json(); } catch (_) { data = null; }
  if (answer.status === 401) {
    signOut("The token was refused: unknown, malformed or revoked.");
    throw new ApiError(401, detailText(data, 401));
  }
  if (!answer.ok) throw new ApiError(answer.status, detailText(data, answer.status));
  return data;
}

function say(text) { $("status").textContent = text || ""; }
function enc(s) { return encodeURIComponent(s); }
// "2024-02-26T09:00:00" (or with seconds' fractions and a Z) as "2024-02-26 09:00"
function clock(t) { return t ? t.slice(0, 16).replace("T", " ") : ""; }

// -- signing in ------------------------------------------------------------------------------

function showSignIn(message) {
  $("main").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
  $("token").focus();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.me = null;
  $("whoami").textContent = "";
  $("sign-out").hidden = true;
  clearTimeout(state.jobsTimer);
  showSignIn(message);
}

async function signIn(token) {
  state.token = token;
  try {
    state.me = await api("/me");
  } catch (err) {
    if (err.status !== 401) showSignIn(err.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("sign-in").hidden = true;
  $("main").hidden = false;
  $("sign-out").hidden = false;
  const where = state.me.cities ? ` for ${state.me.cities.join(", ")}` : "";
  $("whoami").textContent = `${state.me.name || "token " + state.me.id}: ${state.me.scope}${where}`;
  const readOnly = state.me.scope === "read";
  $("store-decision").disabled = readOnly;
  $("store-decision").title = readOnly ? "A read token can look and ask what-ifs; storing a decision needs a write token" : "";
  $("store-note").textContent = readOnly ? "Read-only token: decisions cannot be stored from here." : "";
  await loadCities();
}

// -- the city --------------------------------------------------------------------------------

async function loadCities() {
  const cities = await api("/cities");
  const pick = $("city");
  pick.replaceChildren(...cities.map((c) => new Option(`${c.name} (${c.zones} zones)`, c.name)));
  if (!cities.length) { say("No city is stored yet."); return; }
  const wanted = new URLSearchParams(location.hash.slice(1)).get("city");
  const name = cities.some((c) => c.name === wanted) ? wanted : cities[0].name;
  pick.value = name;
  await openCity(name);
}

function taskOf(info) {
  const decision = info.card && info.card.decision;
  const task = decision && decision.task ? { ...decision.task } : {};
  const n = info.zones.length;
  return {
    task: {
      family: task.family || "coverage",
      budget: Number(task.budget) || Math.max(1, Math.round(n / 4)),
      units: task.units === undefined ? true : Boolean(task.units),
      params: task.params || {},
    },
    horizon: decision && decision.horizon ? decision.horizon : null,
    text: decision && decision.text ? decision.text : "",
  };
}

async function openCity(name) {
  state.ready = false;
  state.city = name;
  state.selected = null;
  closeDetail(false);
  history.replaceState(null, "", `#city=${enc(name)}`);
  say(`Loading ${name}…`);
  state.info = await api(`/cities/${enc(name)}`);
  const { task, horizon, text } = taskOf(state.info);
  state.task = task;
  state.horizon = horizon;
  const units = task.units ? "whole units" : "shares";
  $("task").textContent = `${text ? text + " " : ""}Family ${task.family}, ${units}` +
    (horizon ? `, over the next ${horizon} steps (${state.info.frequency} each).` : ".");
  setupBudget(task);
  state.positions = layout(state.info);
  drawMap();
  await whatIf(task.budget, performance.now());
  say("");
  state.ready = true;
  await Promise.all([loadCurve(), loadHistory()]);
}

function setupBudget(task) {
  const slider = $("budget-slider");
  const number = $("budget-number");
  const n = state.info.zones.length;
  const step = task.units ? 1 : Number((task.budget / 50).toPrecision(2));
  const max = task.units ? Math.max(3 * task.budget, Math.min(n, 10 * task.budget)) : 3 * task.budget;
  for (const input of [slider, number]) {
    input.min = String(step);
    input.max = String(max);
    input.step = String(step);
    input.value = String(task.budget);
  }
}

function budgetFrom(input) {
  const v = Number(input.value);
  const min = Number(input.min);
  return Number.isFinite(v) && v >= min ? v : null;
}

// -- what-if: the latest budget wins, one request in flight ------------------------------------

function whatIf(budget, t0) {
  state.pending = { budget, t0 };
  if (state.inflight) return state.pump;
  state.pump = pump();
  return state.pump;
}

async function pump() {
  state.inflight = true;
  try {
    while (state.pending) {
      const job = state.pending;
      state.pending = null;
      const body = { ...state.task, budget: job.budget };
      if (state.horizon) body.horizon = state.horizon;
      try {
        const answer = await api(`/cities/${enc(state.city)}/whatif`, { method: "POST", body });
        render(answer);
        state.timings.push(performance.now() - job.t0);
      } catch (err) {
        if (err.status !== 401) say(`What-if failed: ${err.message}`);
      }
    }
  } finally {
    state.inflight = false;
  }
}

function render(answer) {
  state.whatif = answer;
  const zones = answer.zones;
  const total = zones.reduce((s, z) => s + z.w, 0);
  const attended = zones.filter((z) => z.w > 0).length;
  $("allocated").textContent = `${fmt(total, 4)} of ${fmt(answer.budget, 4)}`;
  $("allocated").dataset.total = String(total);
  $("allocated").dataset.budget = String(answer.budget);
  $("objective").textContent = fmt(answer.objective, 4);
  $("shadow-price").textContent = fmt(answer.shadow_price, 3);
  $("attended").textContent = `${attended} of ${zones.length}`;
  const f = answer.forecast;
  $("forecast-info").textContent = `Forecast ${f.forecaster}` +
    (f.model_version ? ` v${f.model_version}` : "") + `, ${clock(f.start)} → ${clock(f.end)}`;
  paintMap(answer);
  fillTable(answer);
  if (state.curve) curveChart($("curve"), state.curve.points, answer);
  if (state.selected) detailFromWhatif();
}

async function loadCurve() {
  const { task } = state;
  const max = Number($("budget-slider").max);
  const min = Number($("budget-slider").min);
  const budgets = [];
  for (let k = 0; k < CURVE_POINTS; k += 1) {
    let b = min + ((max - min) * k) / (CURVE_POINTS - 1);
    if (task.units) b = Math.round(b);
    if (!budgets.includes(b)) budgets.push(b);
  }
  const body = { family: task.family, units: task.units, params: task.params, budgets };
  if (state.horizon) body.horizon = state.horizon;
  try {
    state.curve = await api(`/cities/${enc(state.city)}/whatif/curve`, { method: "POST", body });
    curveChart($("curve"), state.curve.points, state.whatif);
  } catch (err) {
    if (err.status !== 401) say(`The objective curve failed: ${err.message}`);
  }
}

// -- the map ---------------------------------------------------------------------------------

function layout(info) {
  const zones = info.zones;
  const geo = zones.every((z) => Number.isFinite(z.lat) && Number.isFinite(z.lon));
  if (geo) {
    const lat0 = zones.reduce((s, z) => s + z.lat, 0) / zones.length;
    const k = Math.cos((lat0 * Math.PI) / 180);
    return { geographic: true, xy: zones.map((z) => [z.lon * k, -z.lat]) };
  }
  return { geographic: false, xy: forceLayout(zones.map((z) => z.id), info.adjacency) };
}

// Fruchterman-Reingold on the zone graph from a circle (deterministic: no random start).
function forceLayout(ids, edges) {
  const n = ids.length;
  const index = new Map(ids.map((id, i) => [id, i]));
  const xy = ids.map((_, i) => [Math.cos((2 * Math.PI * i) / n), Math.sin((2 * Math.PI * i) / n)]);
  const links = edges.map(([a, b]) => [index.get(a), index.get(b)]).filter(([a, b]) => a !== b);
  const k = Math.sqrt(4 / Math.max(n, 1));
  for (let it = 0, t = 0.2; it < 200; it += 1, t *= 0.98) {
    const d = xy.map(() => [0, 0]);
    for (let i = 0; i < n; i += 1) {
      for (let j = i + 1; j < n; j += 1) {
        const dx = xy[i][0] - xy[j][0]; const dy = xy[i][1] - xy[j][1];
        const r2 = Math.max(dx * dx + dy * dy, 1e-6); const f = (k * k) / r2;
        d[i][0] += dx * f; d[i][1] += dy * f; d[j][0] -= dx * f; d[j][1] -= dy * f;
      }
    }
    for (const [a, b] of links) {
      const dx = xy[a][0] - xy[b][0]; const dy = xy[a][1] - xy[b][1];
      const r = Math.max(Math.hypot(dx, dy), 1e-6); const f = r / k;
      d[a][0] -= dx * f; d[a][1] -= dy * f; d[b][0] += dx * f; d[b][1] += dy * f;
    }
    for (let i = 0; i < n; i += 1) {
      const m = Math.max(Math.hypot(d[i][0], d[i][1]), 1e-9);
      xy[i][0] += (d[i][0] / m) * Math.min(m, t); xy[i][1] += (d[i][1] / m) * Math.min(m, t);
    }
  }
  return xy;
}

function drawMap() {
  const svg = $("map");
  clear(svg);
  const [w, h] = size(svg);
  const { xy, geographic } = state.positions;
  const xs = xy.map((p) => p[0]); const ys = xy.map((p) => p[1]);
  const pad = 22;
  const spanX = Math.max(...xs) - Math.min(...xs) || 1;
  const spanY = Math.max(...ys) - Math.min(...ys) || 1;
  const k = Math.min((w - 2 * pad) / spanX, (h - 2 * pad) / spanY);
  const ox = (w - k * spanX) / 2; const oy = (h - k * spanY) / 2;
  const at = xy.map(([x, y]) => [ox + (x - Math.min(...xs)) * k, oy + (y - Math.min(...ys)) * k]);
  state.screen = at;
  const ids = state.info.zones.map((z) => z.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  const seen = new Set();
  const links = el("g", { "aria-hidden": "true" }, svg);
  for (const [a, b] of strongest(state.info.adjacency, ids.length)) {
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    if (seen.has(key) || a === b) continue;
    seen.add(key);
    const [p, q] = [at[index.get(a)], at[index.get(b)]];
    el("line", { class: "link", x1: p[0], y1: p[1], x2: q[0], y2: q[1] }, links);
  }
  const zones = el("g", {}, svg);
  state.circles = state.info.zones.map((z, i) => {
    const c = el("circle", { class: "zone", cx: at[i][0], cy: at[i][1], r: 5, tabindex: 0,
      role: "button", "data-zone": z.id }, zones);
    c.addEventListener("click", () => selectZone(z.id));
    c.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectZone(z.id); }
    });
    return c;
  });
  if (ids.length <= 40) {
    const labels = el("g", { "aria-hidden": "true" }, svg);
    state.info.zones.forEach((z, i) => {
      el("text", { class: "label", x: at[i][0] + 8, y: at[i][1] - 6 }, labels).textContent = z.id;
    });
  }
  $("map-note").textContent = geographic ? "(at their coordinates)" :
    "(a layout of the zone graph: this city has no coordinates)";
  $("legend").innerHTML = "";
  const legend = $("legend");
  const need = document.createElement("span");
  need.append("forecast need: low ");
  const bar = document.createElement("span");
  bar.className = "ramp";
  bar.style.backgroundImage = ramp();
  need.append(bar, " high");
  const sized = document.createElement("span");
  sized.textContent = "size: allocation (dashed ring: none)";
  legend.append(need, sized);
}

// Every edge for small graphs; the strongest few per zone for big, dense ones.
function strongest(edges, n) {
  if (edges.length <= 4 * n || edges.length <= 3000) return edges;
  const by = new Map();
  for (const e of edges) {
    if (!by.has(e[0])) by.set(e[0], []);
    by.get(e[0]).push(e);
  }
  return [...by.values()].flatMap((list) => list.sort((a, b) => b[2] - a[2]).slice(0, 3));
}

function paintMap(answer) {
  if (!state.circles) return;
  const demands = answer.zones.map((z) => z.demand);
  const lo = Math.min(...demands); const hi = Math.max(...demands);
  const wMax = Math.max(...answer.zones.map((z) => z.w), 1e-9);
  const radius = scale(0, Math.sqrt(wMax), 4, 16);
  answer.zones.forEach((z, i) => {
    const c = state.circles[i];
    c.setAttribute("fill", viridis((z.demand - lo) / (hi - lo || 1)));
    c.setAttribute("r", String(z.w > 0 ? radius(Math.sqrt(z.w)) : 4));
    c.setAttribute("class", `zone${z.w > 0 ? "" : " unattended"}${z.zone === state.selected ? " selected" : ""}`);
    c.setAttribute("data-w", String(z.w));
    c.setAttribute("aria-label", `${z.name}: forecast ${fmt(z.demand)}, allocated ${fmt(z.w, 4)}`);
  });
}

// -- the allocation table --------------------------------------------------------------------

function fillTable(answer) {
  const body = $("alloc-table").tBodies[0];
  const rows = [...answer.zones].sort((a, b) => b.w - a.w || a.rank - b.rank);
  body.replaceChildren(...rows.map((z) => {
    const tr = document.createElement("tr");
    tr.tabIndex = 0;
    tr.dataset.zone = z.zone;
    if (z.zone === state.selected) tr.className = "selected";
    for (const [text, cls] of [[z.name, ""], [fmt(z.demand), "num"], [fmt(z.w, 4), "num"],
      [fmt(z.marginal), "num"], [z.why, ""]]) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => selectZone(z.zone));
    tr.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectZone(z.zone); }
    });
    return tr;
  }));
}

// -- zone detail -----------------------------------------------------------------------------

async function selectZone(id) {
  state.selected = id;
  const panel = $("detail");
  panel.hidden = false;
  $("main").classList.add("has-detail");
  if (state.whatif) { paintMap(state.whatif); fillTable(state.whatif); }
  detailFromWhatif();
  panel.focus();
  try {
    const q = state.horizon ? `?horizon=${state.horizon}` : "";
    const detail = await api(`/cities/${enc(state.city)}/zones/${enc(id)}${q}`);
    if (state.selected !== id) return;
    state.detail = detail;
    forecastChart($("detail-chart"), detail.history, detail.forecast);
    $("detail-chart").setAttribute("aria-label", `${detail.target} of ${detail.zone.name}: ` +
      `the last ${detail.history.times.length} steps and the ${detail.forecast.times.length} forecast`);
    $("detail-interval").textContent = `Black: observed ${detail.target} (${detail.units}); ` +
      `grey band: its usual range; blue: the forecast (${detail.forecast.forecaster}) with ` +
      `its interval, ${detail.forecast.interval}.`;
    const d = detail.drivers;
    $("detail-drivers-text").textContent = d.text;
    barChart($("detail-zones"), d.zones.map((z) => ({ label: z.name, value: z.share, own: z.zone === id })),
      "source zones");
    stepChart($("detail-steps"), d.steps.map((s) => ({ label: clock(s.time), value: s.share })),
      "past steps");
    const past = detail.past;
    seriesChart($("detail-past"), "forecast (blue) and realized (black) demand", [
      { name: "forecast", color: "#0072b2", points: past.map((p, i) => [i, p.forecast]) },
      { name: "realized", color: "#000000", points: past.map((p, i) => [i, p.realized]) }],
    past.length);
    $("detail-past-text").textContent = past.length ?
      `The last ${past.length} decisions with an outcome, oldest first; mean absolute error ` +
      `${fmt(past.reduce((s, p) => s + Math.abs(p.forecast - p.realized), 0) / past.length)}.` :
      "No decision with an outcome yet.";
    $("detail-neighbours").textContent = detail.neighbours.length ?
      `Neighbours in the graph: ${detail.neighbours.slice(0, 8).map((z) => z.name).join(", ")}` +
      (detail.neighbours.length > 8 ? ` and ${detail.neighbours.length - 8} more` : "") :
      "No neighbours in the graph.";
  } catch (err) {
    if (err.status !== 401) say(`Zone detail failed: ${err.message}`);
  }
}

function detailFromWhatif() {
  const z = state.whatif && state.whatif.zones.find((x) => x.zone === state.selected);
  if (!z) return;
  $("detail-title").textContent = `${z.name} (${z.zone})`;
  $("detail-why").textContent = z.why;
  const price = state.whatif.shadow_price;
  const top = Math.max(z.marginal, price, 1e-9);
  const box = $("detail-marginal");
  box.replaceChildren();
  for (const [label, value, cls] of [["one more unit here", z.marginal, "meter"],
    ["city-wide price (the last unit's value)", price, "meter price"]]) {
    const row = document.createElement("div");
    row.textContent = `${label}: ${fmt(value)}`;
    const meter = document.createElement("div");
    meter.className = cls;
    meter.style.width = `${Math.max(1, (100 * value) / top)}%`;
    row.appendChild(meter);
    box.appendChild(row);
  }
}

function closeDetail(refocus = true) {
  const was = state.selected;
  state.selected = null;
  $("detail").hidden = true;
  $("main").classList.remove("has-detail");
  if (state.whatif) { paintMap(state.whatif); fillTable(state.whatif); }
  if (refocus && was) {
    const c = state.circles && state.circles.find((x) => x.dataset.zone === was);
    if (c) c.focus();
  }
}

// -- storing a decision ----------------------------------------------------------------------

async function storeDecision() {
  const budget = budgetFrom($("budget-number"));
  if (budget === null) return;
  const body = { ...state.task, budget };
  if (state.horizon) body.horizon = state.horizon;
  const key = (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random()}`;
  $("store-decision").disabled = true;
  try {
    const stored = await api(`/cities/${enc(state.city)}/decisions`,
      { method: "POST", body, headers: { "Idempotency-Key": `dashboard-${key}` } });
    $("store-note").textContent = `Stored as decision #${stored.id} (inputs ${stored.inputs_sha256.slice(0, 12)}…).`;
    await loadHistory();
  } catch (err) {
    $("store-note").textContent = err.status === 403 ?
      "This token may not store decisions (it needs the write scope)." : `Not stored: ${err.message}`;
  } finally {
    $("store-decision").disabled = state.me && state.me.scope === "read";
  }
}

// -- history ---------------------------------------------------------------------------------

async function loadHistory() {
  const city = enc(state.city);
  try {
    const [decisions, outcomes, perf, versions] = await Promise.all([
      api(`/cities/${city}/decisions?limit=50`), api(`/cities/${city}/outcomes?limit=200`),
      api(`/cities/${city}/performance?window=20`), api(`/cities/${city}/models`)]);
    fillDecisions(decisions.items, outcomes);
    drawOutcomes(outcomes);
    const o = perf.overall;
    $("performance").textContent = o ? `Last ${o.outcomes} outcomes: normalized regret ` +
      `${fmt(o.normalized_regret)}, hit rate ${fmt(o.mean_hit_rate)}, PAI ${fmt(o.mean_pai)}.` :
      "No outcomes stored yet: report what happened with POST …/decisions/{id}/outcome.";
    $("versions").replaceChildren(...(versions.length ? versions.map((v) => {
      const li = document.createElement("li");
      li.textContent = `v${v.version} ${v.forecaster} (${v.source})${v.active ? " — active" : ""}`;
      return li;
    }) : [Object.assign(document.createElement("li"), {
      textContent: "None registered: decisions use the historical average." })]));
  } catch (err) {
    if (err.status !== 401) say(`History failed: ${err.message}`);
  }
  await loadJobs();
}

function fillDecisions(items, outcomes) {
  const byDecision = new Map(outcomes.map((o) => [o.decision_id, o]));
  $("decisions-table").tBodies[0].replaceChildren(...items.map((d) => {
    const o = byDecision.get(d.id);
    const tr = document.createElement("tr");
    for (const [text, cls] of [[`#${d.id}`, ""], [clock(d.created_at), ""], [fmt(d.budget), "num"],
      [fmt(d.objective, 4), "num"], [o ? fmt(o.regret) : "–", "num"],
      [o ? fmt(o.hit_rate) : "–", "num"], [o ? fmt(o.pai) : "–", "num"]]) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    return tr;
  }));
}

function drawOutcomes(outcomes) {
  const box = $("outcome-charts");
  box.replaceChildren();
  const ordered = [...outcomes].reverse();
  const names = [...new Set(ordered.map((o) => o.model_version))];
  const label = (v) => (v === null ? "default (historical average)" : `v${v}`);
  for (const [key, title] of [["normalized_regret", "normalized regret (lower is better)"],
    ["hit_rate", "hit rate"], ["pai", "PAI (1 = chance)"]]) {
    const svg = el("svg", { class: "chart", role: "img", "aria-label": title }, box);
    const series = names.map((v, k) => ({
      name: label(v), color: CATEGORICAL[k % CATEGORICAL.length],
      points: ordered.map((o, i) => [i, o[key]]).filter(([i, val]) =>
        val !== null && ordered[i].model_version === v),
    }));
    seriesChart(svg, title, series, ordered.length);
  }
  const legend = document.createElement("p");
  legend.className = "small muted";
  legend.textContent = names.length ? "Colours: " + names.map((v, k) =>
    `${label(v)} ${["blue", "orange", "green", "pink", "sky", "vermilion", "yellow", "black"][k % 8]}`).join(", ") : "";
  box.appendChild(legend);
}

async function loadJobs() {
  clearTimeout(state.jobsTimer);
  if (!state.token || !state.city) return;
  let active = false;
  try {
    const jobs = await api(`/cities/${enc(state.city)}/jobs`);
    active = jobs.some((j) => j.status === "queued" || j.status === "running");
    $("jobs").replaceChildren(...(jobs.length ? jobs.slice(0, 10).map((j) => {
      const li = document.createElement("li");
      const last = (j.log || "").trim().split("\n").pop();
      li.textContent = `#${j.id} ${j.kind} ${j.params.forecaster || ""}: ${j.status}` +
        (j.model_version ? ` → v${j.model_version}` : "") + (last ? ` — ${last}` : "");
      if (j.status === "running" || j.status === "queued") {
        const bar = document.createElement("progress");
        bar.max = 1;
        bar.value = j.progress || 0;
        bar.setAttribute("aria-label", `job ${j.id} progress`);
        li.appendChild(bar);
      }
      return li;
    }) : [Object.assign(document.createElement("li"), { textContent: "No training jobs yet." })]));
  } catch (err) {
    if (err.status === 401) return;
  }
  state.jobsTimer = setTimeout(loadJobs, active ? 2000 : 15000);
}

// -- wiring ----------------------------------------------------------------------------------

function wire() {
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("token").value.trim());
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("city").addEventListener("change", (e) => openCity(e.target.value));
  $("budget-slider").addEventListener("input", (e) => {
    const b = budgetFrom(e.target);
    if (b === null) return;
    $("budget-number").value = String(b);
    whatIf(b, performance.now());
  });
  $("budget-number").addEventListener("input", (e) => {
    const b = budgetFrom(e.target);
    if (b === null) return;
    $("budget-slider").value = String(b);
    whatIf(b, performance.now());
  });
  $("store-decision").addEventListener("click", storeDecision);
  $("detail-close").addEventListener("click", () => closeDetail(true));
  $("detail").addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(true); });
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => {
      if (!state.positions) return;
      drawMap();
      if (state.whatif) render(state.whatif);
    }, 150);
  });
}

wire();
if (state.token) signIn(state.token); else showSignIn("");
