// lakeport web console: a small single-page app over the HTTP API (embedded, no CDN).
//
// Why hand-written DOM code and not a UI library (issue 17 asks to decide): every view here is
// "fetch, then draw one page of markup from a template string", redrawn whole or per card; the
// few live parts (run progress, the pool page while runs go on) redraw one card on a timer. A
// library such as preact+htm would replace ~25 lines of helpers below (render(), every(), the
// route table) but not the views, would need a vendored build and its own escaping rules next to
// the CSP, and would split the console into two styles while it is migrated. What made the
// console hard to change was not the lack of components but missing plumbing: a navigation
// sequence (a late answer for an old view never draws), one error slot, focus and titles per
// view, the unsaved-form guard. Those are the helpers in "plumbing" below; views stay plain
// functions that return markup, so a change to a view is a change to one template.
"use strict";
const app = document.getElementById("app");
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const enc = encodeURIComponent;
const fmtBytes = (n) => { if (n == null) return ""; const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; while (n >= 1024 && i < 4) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; };
const fmtNum = (n) => n == null ? "" : Number(n).toLocaleString("en-US");
// Times come from the API in UTC and are shown in UTC, labelled, so two people (and the CLI)
// read the same time.
const fmtTime = (t) => t ? `<time datetime="${esc(t)}">${esc(String(t).slice(0, 19).replace("T", " "))} UTC</time>` : "";
const fmtSecs = (s) => s == null ? "" : s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
const secondsOf = (j) => j.seconds ?? (j.ended_at ? (Date.parse(j.ended_at) - Date.parse(j.started_at)) / 1000 : null);
const statusWords = { running: "running", succeeded: "succeeded", failed: "failed", cancelled: "cancelled", interrupted: "interrupted", skipped: "skipped" };

// Every value shown comes from the API and may come from anybody's files (cells, column and key
// names): it goes into the page only through esc() or textContent. The server's
// Content-Security-Policy (no inline script or style) backs this up.

// ---- plumbing: token, API, navigation, errors, focus ---------------------------------------

// The API token lives in this browser's storage and goes out only in a header (never a cookie).
// A link of the form /#token=… (printed by `lakeport serve`) signs this browser in.
function takeTokenFromHash() {
  if (!location.hash.startsWith("#token=")) return false;
  localStorage.setItem("lakeport.token", decodeURIComponent(location.hash.slice(7)));
  history.replaceState(null, "", location.pathname + "#/");
  return true;
}
const token = () => localStorage.getItem("lakeport.token") || "";
// The token's name and scope ("admin" or "read-only"), from /api/whoami.
let caller = null;
const isAdmin = () => caller && caller.scope === "admin";

// Navigation sequence: each new view bumps it; an answer that arrives for an older view is
// dropped (Stale) instead of drawing under the new view's URL. Timers of a view stop with it.
let navSeq = 0;
class Stale extends Error { constructor() { super("stale"); } }
class ApiFailure extends Error { constructor(message, status) { super(message); this.status = status; } }

async function api(method, path, body) {
  const seq = navSeq;
  const res = await fetch("/api" + path, { method, headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (seq !== navSeq) throw new Stale();
  if (res.status === 401) { caller = null; renderLogin("The API token was refused: sign in again."); throw new Stale(); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok && res.status !== 422) throw new ApiFailure((data && data.error) || `${res.status} ${res.statusText}`, res.status);
  if (res.status === 422 && data && data.error && data.saved === undefined) throw new ApiFailure(data.error, 422);
  return data;
}

// One error at a time, in one place, announced (role=alert); cleared on navigation.
function showError(e) {
  if (e instanceof Stale) return;
  $("error").innerHTML = `<div class="card error" id="error-text">${esc(e.message)} <button type="button" class="secondary small" id="error-close">Dismiss</button></div>`;
  $("error-close").onclick = () => { $("error").innerHTML = ""; };
}
const clearError = () => { $("error").innerHTML = ""; };
// A local error (beside the control it is about): the same slot rules, shown where it belongs.
const errorHtml = (id, message) => `<p class="error" role="alert" id="${id}">${esc(message)}</p>`;
// Polite announcements of results ("12 rows in 0.04 s", "Saved").
const announce = (text) => { $("announce").textContent = ""; setTimeout(() => { $("announce").textContent = text; }, 30); };

// Draws a view: title, breadcrumb, markup; moves focus to the view's heading (so keyboard and
// screen-reader users land on the new content). Returns false when the view is stale.
function setChrome({ title, trail = [] }) {
  document.title = `${title} — lakeport`;
  $("trail").innerHTML = trail.map((t, i) => i === trail.length - 1 ? ` <span class="sep" aria-hidden="true">›</span> <span aria-current="page">${esc(t[0])}</span>` : ` <span class="sep" aria-hidden="true">›</span> <a href="${esc(t[1])}">${esc(t[0])}</a>`).join("");
}
function render(seq, chrome, html) {
  if (seq !== navSeq) return false;
  setChrome(chrome);
  app.innerHTML = html;
  const h1 = app.querySelector("h1");
  if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: true }); }
  window.scrollTo(0, 0);
  return true;
}

// Redraws a part of a view that a timer refreshes: only when it changed, and the keyboard focus
// stays on the control it was on (found again by id or link target), so a keyboard user can
// reach "Cancel run" or a link while the numbers move.
const drawn = new WeakMap();
function patch(el, html) {
  if (drawn.get(el) === html) return false;
  const a = document.activeElement;
  const key = a && el.contains(a) ? (a.id ? `#${CSS.escape(a.id)}` : a.getAttribute("href") ? `[href="${CSS.escape(a.getAttribute("href"))}"]` : null) : null;
  el.innerHTML = html; drawn.set(el, html);
  if (key) { const again = el.querySelector(key); if (again) again.focus(); }
  return true;
}

// Repeats fn every ms while the view that started it is shown.
function every(seq, ms, fn) {
  const tick = async () => { if (seq !== navSeq) return; try { await fn(); } catch (e) { if (!(e instanceof Stale)) showError(e); return; } if (seq === navSeq) setTimeout(tick, ms); };
  setTimeout(tick, ms);
}

// The half-filled form of this view (a description), if any: leaving asks first.
let dirty = null;
const markDirty = (what) => { dirty = what; };
const clean = () => { dirty = null; };
window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

// Some views take URL changes in place (the bucket picker's folders: Back/Forward move through
// folders and the picks stay); `mounted` is that view and its key.
let mounted = { key: null, update: null };
let shownHash = location.hash;

function renderLogin(message) {
  navSeq++; mounted = { key: null, update: null };
  document.title = "Sign in — lakeport";
  $("trail").innerHTML = ""; $("who").innerHTML = "";
  app.innerHTML = `<div class="card"><h1>Sign in</h1><p class="muted">${message ? esc(message) : "Paste an API token: the one lakeport printed when the server first started, or a new one from <code>lakeport token create [--read-only]</code>."}</p>
    <form id="signin-form"><label for="token">API token</label><input id="token" type="password" autocomplete="current-password" required><p><button id="signin">Sign in</button></p></form></div>`;
  $("token").focus();
  $("signin-form").onsubmit = (ev) => { ev.preventDefault(); localStorage.setItem("lakeport.token", $("token").value.trim()); caller = null; route(); };
}

function signOut() {
  // The token is forgotten by this browser; it stays valid on the server (revoke it with
  // `lakeport token revoke`, or rotate it below before signing out).
  localStorage.removeItem("lakeport.token"); caller = null; clean();
  history.replaceState(null, "", location.pathname + "#/");
  renderLogin("Signed out. This browser no longer holds a token.");
}

// ---- small shared pieces ----------------------------------------------------------------------

// Arrow type names (as the API reports them) in words a user reads.
function typeWords(t) {
  const s = String(t || "");
  let m;
  if (/^U?Int(8|16|32|64)$/.test(s)) return "whole number";
  if (/^Float(16|32|64)$/.test(s)) return "number (floating point)";
  if ((m = /^Decimal(?:128|256)?\((\d+),\s*(-?\d+)\)$/.exec(s))) return `exact decimal (${m[1]} digits, ${m[2]} after the point)`;
  if (/^(Large)?Utf8(View)?$/.test(s)) return "text";
  if (s === "Boolean") return "true / false";
  if (/^Date(32|64)$/.test(s)) return "date";
  if (/^Timestamp/.test(s)) return /UTC|\+00:00|Some\(/.test(s) ? "date and time (UTC)" : "date and time (no time zone)";
  if (/^Time(32|64)/.test(s)) return "time of day";
  if (/Binary/.test(s)) return "binary data";
  if (/^(Large)?List|^FixedSizeList/.test(s)) return "list of values";
  if (/^Struct/.test(s)) return "record (nested fields)";
  if (/^Map/.test(s)) return "key–value map";
  if (s === "Null") return "empty (no values yet)";
  if (/^Duration|^Interval/.test(s)) return "duration";
  return s.toLowerCase();
}

const scroller = (label, inner) => `<div class="scroll" role="region" aria-label="${esc(label)}" tabindex="0">${inner}</div>`;

function renderRows(data, { total } = {}) {
  const count = total != null ? `Showing ${fmtNum(data.row_count)} of ${fmtNum(total)} rows` : `${fmtNum(data.row_count)} row(s)`;
  const cap = data.truncated ? `; more were cut off at the server's row cap of ${fmtNum(data.max_rows)} rows` : "";
  return `<p class="muted" id="row-count">${count}${cap}</p>` + scroller("Rows", `<table id="result"><tr>${data.columns.map((c) => `<th scope="col" title="${esc(typeWords(c.type))}">${esc(c.name)}</th>`).join("")}</tr>
    ${data.rows.map((r) => `<tr>${data.columns.map((c) => `<td>${esc(typeof r[c.name] === "object" && r[c.name] !== null ? JSON.stringify(r[c.name]) : r[c.name])}</td>`).join("")}</tr>`).join("")}</table>`);
}

// The schema-drift report of a job: per table, each column that was added, promoted, missing or
// loaded as text, with its old and new type and the first file that brought it.
function schemaChanges(job) {
  const tables = Array.isArray(job.details) ? job.details : [];
  return tables.flatMap((t) => (t.schema_changes || []).map((c) =>
    `<div>${esc(t.table)}.${esc(c.column)}: ${esc(c.change)} ${esc(c.old_type || "–")} → ${esc(c.new_type || "–")} <span class="muted">(${esc(c.file)})</span></div>`)).join("");
}

// What a table of a job did, in words: "nothing new" for a delta load that found no new file,
// never "committed (0 rows)".
function tableOutcome(job, t) {
  if (t.summary) return t.summary;
  if (t.outcome === "nothing_new" || (!t.committed && !t.error && job.mode === "delta" && (t.loaded || []).length === 0 && job.status === "succeeded")) return `nothing new (table holds ${fmtNum(t.total_rows)} rows)`;
  if (t.committed) return `committed ${fmtNum(t.rows)} rows from ${fmtNum((t.loaded || []).length)} file(s)`;
  return t.error ? "failed" : "not committed";
}
// A delta load that found nothing new says so (it succeeded, and loaded nothing).
function jobStatus(j) {
  if (j.status === "succeeded" && j.mode === "delta" && Array.isArray(j.details) && j.details.length && j.details.every((t) => t.outcome === "nothing_new" || (!t.committed && (t.loaded || []).length === 0))) return "succeeded: nothing new";
  return statusWords[j.status] || j.status;
}

const radio = (name, id, label, checked = false) => `<span class="radio"><input type="radio" name="${name}" id="${id}" value="${id}" ${checked ? "checked" : ""}><label for="${id}" class="inline">${label}</label></span>`;
const fieldset = (legend, inner, id = "") => `<fieldset ${id ? `id="${id}"` : ""}><legend>${legend}</legend>${inner}</fieldset>`;
const field = (id, label, type = "text", extra = "") => `<label for="${id}">${label}</label><input id="${id}" name="${id}" type="${type}" ${extra}>`;
const check = (id, label) => `<label class="check"><input type="checkbox" id="${id}"> ${label}</label>`;

// ---- views ------------------------------------------------------------------------------------

async function viewPools(seq) {
  const pools = await api("GET", "/pools");
  const admin = isAdmin();
  render(seq, { title: "Data Pools" }, `<h1>Data Pools</h1>
    <div class="card">${scroller("Data pools", `<table><tr><th scope="col">Data pool</th><th scope="col">Tables</th>${admin ? `<th scope="col">Data connections</th>` : ""}<th scope="col">Created</th><th scope="col">Catalog</th></tr>
    ${pools.map((p) => `<tr><td><a href="#/pools/${enc(p.name)}">${esc(p.name)}</a></td><td>${p.tables == null ? "?" : esc(p.tables)}</td>${admin ? `<td>${esc(p.connections)}</td>` : ""}<td>${fmtTime(p.created_at)}</td><td class="catalog">${p.kind === "rest" ? `Iceberg REST catalog${p.catalog_url ? ` ${esc(p.catalog_url)}` : ""}` : "Embedded"}${p.catalog_error ? `<div class="error catalog-error">Tables not counted: ${esc(p.catalog_error)}</div>` : ""}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">No data pools yet.</td></tr>`}</table>`)}</div>
    ${admin ? `<form class="card" id="create-pool-form"><h2>Create data pool</h2><label for="pool-name">Name</label><div class="row"><input id="pool-name" type="text" required aria-describedby="pool-name-hint"><button id="create-pool">Create</button></div><p class="muted" id="pool-name-hint">Lowercase letters, digits and _, starting with a letter.</p></form>`
      : `<p class="muted" id="read-only-note">Signed in with the read-only token ${esc(caller.name)}: tables, previews and SQL.</p>`}`);
  if (!admin) return;
  $("create-pool-form").onsubmit = async (ev) => {
    ev.preventDefault();
    try { const name = $("pool-name").value.trim(); await api("POST", "/pools", { name }); location.hash = `#/pools/${enc(name)}`; } catch (e) { showError(e); }
  };
}

function tablesCard(pool, tables) {
  return `<div class="card" id="tables-card"><div class="row"><h2 class="grow">Tables</h2><a class="button secondary" href="#/pools/${enc(pool)}/sql">SQL</a></div>
    ${scroller("Tables", `<table id="tables"><tr><th scope="col">Table</th><th scope="col">Rows</th><th scope="col">Files</th><th scope="col">Last load</th><th scope="col">Mode</th></tr>${tables.map((t) => `<tr><td><a href="#/pools/${enc(pool)}/tables/${enc(t.name)}">${esc(t.name)}</a></td><td class="rows">${esc(t.rows)}</td><td>${esc(t.data_files)}</td><td>${fmtTime(t.last_load)}</td><td>${esc(t.last_mode || "")}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">No tables yet.</td></tr>`}</table>`)}</div>`;
}

// Zero-copy shares, listed beside the extracted tables: from the table list's "shared" entries
// where the server gives them, else from each zero-copy connection's shares.
async function sharedTables(pool, tables, conns) {
  if (tables.some((t) => t.kind)) return tables.filter((t) => t.kind === "shared").map((t) => ({ connection: t.connection, namespace: t.namespace, table: t.table, sql: t.name }));
  const zc = (conns || []).filter((c) => c.config.type === "zero-copy");
  const lists = await Promise.all(zc.map((c) => api("GET", `/pools/${enc(pool)}/connections/${enc(c.name)}/shares`).then((s) => s.map((x) => ({ c: c.name, x })))));
  return lists.flat().flatMap(({ c, x }) => (x.tables || []).map((t) => ({ connection: c, namespace: x.share.namespace, table: t, sql: `${c}.${x.share.namespace}.${t}` })));
}
function sharesCard(pool, shared) {
  if (!shared.length) return "";
  return `<div class="card"><h2>Shared tables (zero-copy)</h2>${scroller("Shared tables", `<table id="shared-tables"><tr><th scope="col">Table</th><th scope="col">Connection</th><th scope="col">Namespace</th></tr>
    ${shared.map((s) => `<tr><td><a href="#/pools/${enc(pool)}/shares/${enc(s.connection)}/${enc(s.namespace)}/${enc(s.table)}">${esc(s.sql)}</a></td><td>${esc(s.connection)}</td><td>${esc(s.namespace)}</td></tr>`).join("")}</table>`)}</div>`;
}

function jobsTable(pool, jobs) {
  return `<table id="jobs"><tr><th scope="col">Started</th><th scope="col">Connection</th><th scope="col">Mode</th><th scope="col">Tables</th><th scope="col">Status</th><th scope="col">Files</th><th scope="col">Rows</th><th scope="col">Schema changes</th><th scope="col">Error</th></tr>${jobs.map((j) => `<tr><td><a href="#/pools/${enc(pool)}/jobs/${enc(j.id)}">${fmtTime(j.started_at)}</a></td><td>${esc(j.connection)}</td><td class="mode">${esc(j.mode)}</td><td>${esc(j.tables.join(", "))}</td><td class="status">${esc(jobStatus(j))}</td><td>${esc(j.files)}</td><td>${esc(j.rows)}</td><td class="drift">${schemaChanges(j)}</td><td class="error">${esc(j.error || "")}</td></tr>`).join("") || `<tr><td colspan="9" class="muted">No jobs yet.</td></tr>`}</table>`;
}

// A page of the job history: the paged route where the server has it, else the newest `limit`.
async function jobsPage(pool, limit, before) {
  try {
    return await api("GET", `/pools/${enc(pool)}/jobs/page?limit=${limit}${before ? `&before=${enc(before)}` : ""}`);
  } catch (e) {
    if (!(e instanceof ApiFailure) || (e.status !== 404 && e.status !== 405)) throw e;
    // Older servers: no paging route; ask for one more page's worth and cut.
    const all = await api("GET", `/pools/${enc(pool)}/jobs?limit=${(before ? Number(before.split(":")[1]) : 0) + limit + 1}`);
    const from = before ? Number(before.split(":")[1]) : 0;
    return { jobs: all.slice(from, from + limit), has_more: all.length > from + limit, next_before: `offset:${from + limit}` };
  }
}

async function viewPool(seq, pool) {
  if (!isAdmin()) {
    const tables = (await api("GET", `/pools/${enc(pool)}/tables`)).filter((t) => !t.kind || t.kind === "extracted");
    render(seq, { title: pool, trail: [[pool]] }, `<h1>${esc(pool)}</h1>` + tablesCard(pool, tables));
    return;
  }
  const [conns, allTables, page, saved, runs] = await Promise.all([api("GET", `/pools/${enc(pool)}/connections`), api("GET", `/pools/${enc(pool)}/tables`), jobsPage(pool, 10), api("GET", `/pools/${enc(pool)}/saved-extractions`), api("GET", `/pools/${enc(pool)}/runs?limit=20`)]);
  const tables = allTables.filter((t) => !t.kind || t.kind === "extracted");
  const shared = await sharedTables(pool, allTables, conns).catch(() => []);
  const running = runs.filter((r) => r.status === "running");
  if (!render(seq, { title: `Data Integration — ${pool}`, trail: [[pool]] }, `<h1>Data Integration — ${esc(pool)}</h1>
    <div id="running-card">${runningCard(pool, running)}</div>
    <div class="card"><div class="row"><h2 class="grow">Data Connections</h2><a class="button" id="add-connection" href="#/pools/${enc(pool)}/add">+ Add Data Connection</a></div>
    ${scroller("Data connections", `<table id="connections"><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Details</th></tr>${conns.map((c) => `<tr><td><a href="#/pools/${enc(pool)}/connections/${enc(c.name)}">${esc(c.name)}</a></td><td>${c.config.type === "zero-copy" ? "Zero-copy (via Iceberg REST catalog)" : "Extractions (via APIs)"}</td><td>${esc(c.config.bucket || c.config.warehouse || "")}</td></tr>`).join("") || `<tr><td colspan="3" class="muted">No data connections yet.</td></tr>`}</table>`)}</div>
    <div id="tables-slot">${tablesCard(pool, tables)}</div>
    ${sharesCard(pool, shared)}
    <div class="card"><h2>Saved extractions</h2>${scroller("Saved extractions", `<table id="saved"><tr><th scope="col">Extraction</th><th scope="col">Connection</th><th scope="col">Mode</th><th scope="col">Schedule</th><th scope="col">Next run</th><th scope="col">Version</th></tr>${saved.map((x) => `<tr><td><a href="#/pools/${enc(pool)}/extractions/${enc(x.name)}">${esc(x.name)}</a></td><td>${esc(x.definition.connection)}</td><td>${esc(x.definition.request.mode)}</td><td>${esc(x.definition.schedule ? x.definition.schedule.cron : "–")}</td><td>${fmtTime(x.next_run_at)}</td><td>${esc(x.version)}</td></tr>`).join("") || `<tr><td colspan="6" class="muted">None yet: pick files in a connection and "Save as extraction".</td></tr>`}</table>`)}</div>
    <div class="card"><div class="row"><h2 class="grow">Job history</h2><a class="button secondary" id="open-runs" href="#/pools/${enc(pool)}/runs">Runs</a></div><div id="jobs-slot">${scroller("Job history", jobsTable(pool, page.jobs))}</div>
      <p><button type="button" class="secondary" id="older-jobs" ${page.has_more ? "" : "hidden"}>Show older jobs</button></p></div>
    <div class="card" id="drop-pool-card"><h2>Delete data pool</h2>
      <p class="muted">Deletes the pool with its ${tables.length} table(s) and their data, ${conns.length} connection(s) with their stored secrets, ${saved.length} saved extraction(s) and its job history. Nothing in the source buckets is touched.</p>
      <form id="drop-pool-form"><label for="drop-pool-confirm">Type the pool name <b>${esc(pool)}</b> to confirm</label><div class="row"><input id="drop-pool-confirm" type="text" autocomplete="off"><button id="drop-pool" class="danger" disabled>Delete pool</button></div></form></div>`)) return;
  let jobs = page.jobs, next = page.next_before;
  $("older-jobs").onclick = async () => {
    const more = await jobsPage(pool, 10, next);
    jobs = jobs.concat(more.jobs); next = more.next_before;
    const shownBefore = jobs.length - more.jobs.length;
    patch($("jobs-slot"), scroller("Job history", jobsTable(pool, jobs)));
    $("older-jobs").hidden = !more.has_more;
    const firstNew = $("jobs-slot").querySelectorAll("tr")[shownBefore + 1];
    if (firstNew && firstNew.querySelector("a")) firstNew.querySelector("a").focus();
    announce(`${more.jobs.length} older job(s) shown`);
  };
  $("drop-pool-confirm").oninput = () => { $("drop-pool").disabled = $("drop-pool-confirm").value !== pool; };
  $("drop-pool-form").onsubmit = async (ev) => {
    ev.preventDefault();
    if ($("drop-pool-confirm").value !== pool) return;
    try { await api("DELETE", `/pools/${enc(pool)}`); location.hash = "#/"; } catch (e) { showError(e); }
  };
  // While runs go on, the page follows them: the running card, and tables and history whenever
  // the runs changed (also a run that started and ended between two looks).
  const signature = (rs) => rs.map((r) => `${r.id}:${r.status}:${r.rows}`).join(",");
  let seen = signature(runs);
  every(seq, 1500, async () => {
    const all = await api("GET", `/pools/${enc(pool)}/runs?limit=20`);
    const now = all.filter((r) => r.status === "running");
    patch($("running-card"), runningCard(pool, now));
    if (signature(all) !== seen) {
      seen = signature(all);
      const [t, p] = await Promise.all([api("GET", `/pools/${enc(pool)}/tables`), jobsPage(pool, Math.max(10, jobs.length))]);
      patch($("tables-slot"), tablesCard(pool, t.filter((x) => !x.kind || x.kind === "extracted")));
      jobs = p.jobs; patch($("jobs-slot"), scroller("Job history", jobsTable(pool, jobs)));
    }
  });
}

function runningCard(pool, running) {
  if (!running.length) return "";
  return `<div class="card" aria-live="polite"><h2>Running now</h2>${running.map((r) => `<p><a href="#/pools/${enc(pool)}/runs/${enc(r.id)}">${esc(r.connection)}: ${esc(r.mode)} load of ${esc((r.tables || []).join(", ") || "…")}</a> — ${progressText(r)}</p>`).join("")}</div>`;
}
const progressText = (r) => `${fmtNum(r.files_done)}/${fmtNum(r.files_total)} files, ${fmtNum(r.rows)} rows, ${fmtBytes(r.bytes_done)} of ${fmtBytes(r.bytes_total)}`;

function viewCatalog(seq, pool) {
  render(seq, { title: "Add Data Connection", trail: [[pool, `#/pools/${enc(pool)}`], ["Add Data Connection"]] }, `<h1>Add Data Connection</h1><p class="muted">Connection catalog</p>
    <div class="tiles"><a class="tile" id="tile-s3" href="#/pools/${enc(pool)}/add/s3">Amazon S3<small>Extractions or Zero-copy</small></a></div>`);
}

// The S3 connection form, for adding (conn undefined) and for editing a saved connection (its
// settings filled in, the secret left empty: empty keeps the stored one).
function s3FormHtml(conn) {
  const c = conn ? conn.config : {}; const editing = !!conn;
  const zc = c.type === "zero-copy"; const auth = c.auth || {};
  // An extraction connection's method: access key unless its config says otherwise.
  const xa = zc ? {} : auth; const xm = xa.method || "access-key";
  const v = (x) => x == null ? "" : `value="${esc(x)}"`;
  const keepNote = editing ? `<p class="muted" id="secret-note">A secret is stored (not shown). Leave empty to keep it.</p>` : "";
  return `<form class="card" id="s3-form" novalidate>
    ${field("name", "Name", "text", editing ? `${v(conn.name)} readonly aria-describedby="name-note"` : "required")}${editing ? `<p class="muted" id="name-note">The name cannot change.</p>` : ""}
    ${fieldset("Connection type", radio("ctype", "type-extraction", "Extractions (via APIs)", !zc) + radio("ctype", "type-zerocopy", "Zero-copy (via Iceberg REST catalog)", zc), "ctype-fields")}
    <div id="extraction-fields" ${zc ? "hidden" : ""}>${field("region", "AWS region", "text", v(zc ? "us-east-1" : c.region || "us-east-1"))}${field("bucket", "Bucket", "text", v(c.bucket))}
      ${fieldset("Authentication", radio("xauth", "xauth-key", "Access key / secret key", xm === "access-key") + radio("xauth", "xauth-role", "Assumed IAM role (External ID)", xm === "assume-role") + radio("xauth", "xauth-profile", "AWS profile (shared config file)", xm === "profile") + radio("xauth", "xauth-chain", "Default credential chain (environment, EKS, ECS, EC2)", xm === "default-chain"))}
      <div id="xkey-fields" ${xm === "access-key" ? "" : "hidden"}>${field("access-key", "Access key ID", "text", v(c.access_key_id))}${field("secret", "Secret access key", "password", 'autocomplete="new-password"')}${keepNote}</div>
      <div id="xrole-fields" ${xm === "assume-role" ? "" : "hidden"}>${field("x-role-arn", "Role ARN", "text", v(xa.role_arn))}${field("x-external-id", "External ID", "text", v(xa.external_id))}<p class="muted">Your role must trust the IAM principal lakeport runs as, with this External ID (<code>lakeport connection trust-policy</code> prints the policy).</p></div>
      <div id="xprofile-fields" ${xm === "profile" ? "" : "hidden"}>${field("x-profile", "Profile name", "text", v(xa.profile))}<p class="muted">From the shared AWS config and credentials files of the machine lakeport runs on; nothing secret is stored.</p></div>
      <p class="muted" id="xchain-note" ${xm === "default-chain" ? "" : "hidden"}>The credentials of the machine lakeport runs on; nothing secret is stored.</p></div>
    <div id="zerocopy-fields" ${zc ? "" : "hidden"}>${field("zc-region", "AWS region", "text", v(zc ? c.region : "us-east-1"))}${field("warehouse", "Warehouse (AWS account id)", "text", v(c.warehouse))}${field("catalog-url", "Catalog URL", "text", `placeholder="https://glue.<region>.amazonaws.com/iceberg" ${v(c.catalog_url)}`)}
      ${fieldset("Authentication", radio("auth", "auth-role", "Assumed IAM role (recommended)", !zc || auth.method !== "access-key") + radio("auth", "auth-key", "Access key / secret key", zc && auth.method === "access-key"))}
      <div id="role-fields" ${zc && auth.method === "access-key" ? "hidden" : ""}>${field("role-arn", "Role ARN", "text", v(auth.role_arn))}${field("external-id", "External ID", "text", v(auth.external_id))}
        <p class="muted" id="trust-hint">Your role must trust the IAM principal lakeport runs as, with this External ID as its <code>sts:ExternalId</code> condition. Leave the External ID empty to get a new one.</p>
        <p><button type="button" class="secondary" id="show-trust">Show lakeport's principal and the trust policy</button></p><div id="trust" aria-live="polite"></div></div>
      <div id="key-fields" ${zc && auth.method === "access-key" ? "" : "hidden"}>${field("zc-access-key", "Access key ID", "text", v(auth.access_key_id))}${field("zc-secret", "Secret access key", "password", 'autocomplete="new-password"')}${keepNote.replace('id="secret-note"', 'id="zc-secret-note"')}</div></div>
    <details id="advanced" ${editing && (c.endpoint || c.s3_endpoint) ? "open" : ""}><summary>Advanced settings</summary>
      ${field("endpoint", "Endpoint URL (S3-compatible stores)", "text", v(c.endpoint || c.s3_endpoint))}<div class="zc-only" ${zc ? "" : "hidden"}>${field("sts-endpoint", "STS endpoint", "text", v(c.sts_endpoint))}</div>
      <label class="check"><input type="checkbox" id="path-style" ${c.path_style || c.s3_path_style ? "checked" : ""}> Path-style addressing</label>
      <label class="check"><input type="checkbox" id="allow-http" ${c.allow_http ? "checked" : ""}> Allow plain HTTP (loopback only)</label>
      <div class="zc-only" ${zc ? "" : "hidden"}><label class="check"><input type="checkbox" id="vended" ${c.vended_credentials ? "checked" : ""}> Use the storage credentials the catalog vends</label></div>
      <div class="extraction-only" ${zc ? "hidden" : ""}>${field("concurrency", "Request concurrency", "number", `value="${esc(c.concurrency || 8)}" min="1"`)}</div></details>
    <p class="row actions">${editing ? `<button id="save" type="submit">Test Connection and save</button><a class="button secondary" href="#/pools/${enc(conn.pool)}/connections/${enc(conn.name)}" id="cancel-edit">Cancel</a>`
      : `<button id="test-connection" type="submit" class="secondary">Test Connection</button><button id="save" type="button" disabled>Save</button>`}</p>
    <div id="test-result" aria-live="polite"></div></form>`;
}

function wireS3Form(pool, conn) {
  const zc = () => $("type-zerocopy").checked;
  const editing = !!conn;
  let tested = false;
  const form = $("s3-form");
  const invalidate = () => { tested = false; if (!editing) $("save").disabled = true; markDirty("the connection form"); };
  form.querySelectorAll("input").forEach((i) => i.addEventListener("input", invalidate));
  form.querySelectorAll("input[type=radio], input[type=checkbox]").forEach((i) => i.addEventListener("change", () => {
    $("extraction-fields").hidden = zc(); $("zerocopy-fields").hidden = !zc();
    form.querySelectorAll(".zc-only").forEach((e) => { e.hidden = !zc(); }); form.querySelectorAll(".extraction-only").forEach((e) => { e.hidden = zc(); });
    $("role-fields").hidden = !$("auth-role").checked; $("key-fields").hidden = $("auth-role").checked;
    $("xkey-fields").hidden = !$("xauth-key").checked; $("xrole-fields").hidden = !$("xauth-role").checked; $("xprofile-fields").hidden = !$("xauth-profile").checked; $("xchain-note").hidden = !$("xauth-chain").checked; invalidate();
  }));
  if (editing) { $("type-extraction").disabled = true; $("type-zerocopy").disabled = true; }
  const opt = (id) => $(id).value.trim() || null;
  const settings = () => {
    if (!zc()) {
      const key = $("xauth-key").checked;
      const auth = $("xauth-role").checked ? { method: "assume-role", role_arn: $("x-role-arn").value.trim(), external_id: $("x-external-id").value.trim() }
        : $("xauth-profile").checked ? { method: "profile", profile: $("x-profile").value.trim() } : $("xauth-chain").checked ? { method: "default-chain" } : null;
      return { config: { type: "s3-extraction", region: $("region").value.trim(), bucket: $("bucket").value.trim(), access_key_id: key ? $("access-key").value.trim() : "", ...(auth ? { auth } : editing ? { auth: null } : {}), endpoint: opt("endpoint"), path_style: $("path-style").checked, allow_http: $("allow-http").checked, concurrency: Number($("concurrency").value) || 8 }, secret: key ? $("secret").value : null };
    }
    const role = $("auth-role").checked;
    return { config: { type: "zero-copy", region: $("zc-region").value.trim(), warehouse: $("warehouse").value.trim(), catalog_url: opt("catalog-url"),
      auth: role ? { method: "assume-role", role_arn: $("role-arn").value.trim(), external_id: $("external-id").value.trim() } : { method: "access-key", access_key_id: $("zc-access-key").value.trim() },
      s3_endpoint: opt("endpoint"), s3_path_style: $("path-style").checked, sts_endpoint: opt("sts-endpoint"), allow_http: $("allow-http").checked, vended_credentials: $("vended").checked }, secret: role ? null : $("zc-secret").value };
  };
  // The role path: lakeport's principal, the External ID (a new one when empty) and the trust
  // policy to give the role, as `lakeport connection trust-policy` prints them.
  $("show-trust").onclick = async () => {
    $("trust").innerHTML = `<p class="muted">Asking STS who lakeport is…</p>`;
    try {
      const t = await api("POST", "/trust-policy", { region: $("zc-region").value.trim(), sts_endpoint: opt("sts-endpoint"), allow_http: $("allow-http").checked, external_id: $("external-id").value.trim() || undefined });
      if (!$("external-id").value.trim()) { $("external-id").value = t.external_id; invalidate(); }
      $("trust").innerHTML = `<dl class="settings"><dt>lakeport runs as</dt><dd id="trust-principal"><code>${esc(t.principal)}</code></dd><dt>External ID</dt><dd id="trust-external-id"><code>${esc(t.external_id)}</code></dd></dl>
        <p>Give your IAM role this trust relationship, then Test Connection:</p><pre id="trust-policy" tabindex="0">${esc(JSON.stringify(t.trust_policy, null, 2))}</pre>`;
      announce("Trust policy shown");
    } catch (e) { if (!(e instanceof Stale)) $("trust").innerHTML = errorHtml("trust-error", consoleTerms(e.message)); }
  };
  const showVerdicts = (report) => { $("test-result").innerHTML = renderVerdicts(report); announce(report.checks.every((c) => c.verdict !== "failed") ? "Test Connection passed" : "Test Connection failed"); };
  if (editing) {
    // PUT runs Test Connection with the new settings and saves only when it passes
    // (/work/notes/connection-update-api.md): an empty secret keeps the stored one.
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const s = settings();
      const body = { config: s.config };
      if (s.secret) body.secret = s.secret;
      $("test-result").innerHTML = `<p class="muted">Testing…</p>`;
      try {
        const out = await api("PUT", `/pools/${enc(pool)}/connections/${enc(conn.name)}`, body);
        if (out.saved) { clean(); sessionStorage.setItem("lakeport.notice", `Saved ${conn.name}${out.changed && out.changed.length ? `: changed ${out.changed.join(", ")}` : ": nothing changed"}. Test Connection passed.`); location.hash = `#/pools/${enc(pool)}/connections/${enc(conn.name)}`; }
        else showVerdicts(out.test);
      } catch (e) { if (!(e instanceof Stale)) $("test-result").innerHTML = errorHtml("save-error", e.message); }
    };
    return;
  }
  // Enter in any field runs Test Connection (the form's submit button); Save needs a passing test.
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    $("test-result").innerHTML = `<p class="muted">Testing…</p>`;
    try {
      const report = await api("POST", `/pools/${enc(pool)}/connections/test`, settings());
      tested = report.checks.every((c) => c.verdict !== "failed");
      $("save").disabled = !tested;
      showVerdicts(report);
    } catch (e) { if (!(e instanceof Stale)) $("test-result").innerHTML = errorHtml("test-error", consoleTerms(e.message)); }
  };
  $("save").onclick = async () => {
    if (!tested) return;
    try {
      const out = await api("POST", `/pools/${enc(pool)}/connections`, { name: $("name").value.trim(), ...settings() });
      if (out.saved) { clean(); location.hash = `#/pools/${enc(pool)}/connections/${enc($("name").value.trim())}`; }
      else { $("save").disabled = true; showVerdicts(out.test); }
    } catch (e) { if (!(e instanceof Stale)) $("test-result").innerHTML = errorHtml("save-error", e.message); }
  };
}

function viewS3Form(seq, pool) {
  if (!render(seq, { title: "Amazon S3 — Add Data Connection", trail: [[pool, `#/pools/${enc(pool)}`], ["Add Data Connection", `#/pools/${enc(pool)}/add`], ["Amazon S3"]] }, `<h1>Amazon S3</h1>${s3FormHtml()}`)) return;
  wireS3Form(pool);
}

async function viewEditConnection(seq, pool, name) {
  const conn = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}`);
  if (!render(seq, { title: `Edit ${name}`, trail: [[pool, `#/pools/${enc(pool)}`], [name, `#/pools/${enc(pool)}/connections/${enc(name)}`], ["Edit"]] }, `<h1>Edit connection ${esc(name)}</h1>
    <p class="muted">Saving runs Test Connection with the new settings first; nothing changes unless it passes. Selected shares are kept.</p>${s3FormHtml({ ...conn, pool })}`)) return;
  wireS3Form(pool, { ...conn, pool });
}

function renderVerdicts(report) {
  // Who the checks ran as comes first (an ARN, never a key or secret).
  const who = report.identity ? `<p id="test-identity">Tested as <code>${esc(report.identity)}</code></p>` : report.identity_error ? `<p class="muted" id="test-identity">Identity unknown: ${esc(report.identity_error)}</p>` : "";
  const rows = report.checks.map((c) => `<li class="${esc(c.verdict)}" data-permission="${esc(c.permission)}"><span class="verdict">${esc(c.verdict)}:</span> <b>${esc(c.permission)}</b> — ${esc(c.reason)}</li>`).join("");
  const ok = report.checks.every((c) => c.verdict !== "failed");
  return who + `<ul class="verdicts" id="verdicts">${rows}</ul>` + (ok ? `<p class="ok" id="test-ok">Connection OK${$("test-connection") ? " — you can save it" : ""}.</p>`
    : `<p class="failed" role="alert" id="test-failed">Test Connection failed${report.policy_hint ? `: grant the missing permission${report.policy_principal ? ` to ${esc(report.policy_principal)}` : ""} with this policy` : ""}.</p>` + (report.policy_hint ? `<pre id="policy" tabindex="0">${esc(report.policy_hint)}</pre>` : ""));
}

// A saved connection's settings (the secret never: only whether one is stored), with Test
// Connection, Edit and Delete (the confirmation names what depends on it).
function settingsCard(pool, conn, saved, shares = []) {
  const c = conn.config;
  const rows = c.type === "zero-copy"
    ? [["Type", "Zero-copy (via Iceberg REST catalog)"], ["AWS region", c.region], ["Warehouse", c.warehouse], ["Catalog URL", c.catalog_url || "AWS Glue (default)"], ["Authentication", c.auth && c.auth.method === "assume-role" ? "Assumed IAM role" : c.auth && c.auth.method === "bearer" ? "Bearer token" : c.auth && c.auth.method === "oauth2" ? `OAuth2 client credentials (client ${c.auth.client_id})` : "Access key"],
      ...(c.auth && c.auth.role_arn ? [["Role ARN", c.auth.role_arn], ["External ID", c.auth.external_id]] : []), ...(c.auth && c.auth.access_key_id ? [["Access key ID", c.auth.access_key_id]] : []),
      ["S3 endpoint", c.s3_endpoint || "AWS (default)"], ["STS endpoint", c.sts_endpoint || "AWS (default)"], ["Plain HTTP allowed", c.allow_http ? "yes" : "no"], ["Vended credentials", c.vended_credentials ? "yes" : "no"]]
    : [["Type", "Extractions (via APIs)"], ["AWS region", c.region], ["Bucket", c.bucket],
      ...(!c.auth ? [["Authentication", "Access key"], ["Access key ID", c.access_key_id]] : c.auth.method === "assume-role" ? [["Authentication", "Assumed IAM role"], ["Role ARN", c.auth.role_arn], ["External ID", c.auth.external_id]]
        : c.auth.method === "profile" ? [["Authentication", "AWS profile"], ["Profile", c.auth.profile]] : [["Authentication", "Default credential chain"]]), ["Endpoint", c.endpoint || "AWS (default)"], ["Path-style addressing", c.path_style ? "yes" : "no"], ["Plain HTTP allowed", c.allow_http ? "yes" : "no"], ["Request concurrency", c.concurrency]];
  rows.push(["Secret", conn.has_secret ? "•••••••• (stored, never shown)" : "none stored"]);
  const deps = saved.filter((x) => x.definition.connection === conn.name).map((x) => x.name);
  return `<details class="card" id="settings-card"><summary>Settings</summary><dl class="settings" id="settings">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
    <p class="row"><button type="button" class="secondary" id="retest">Test Connection</button><a class="button secondary" id="edit-connection" href="#/pools/${enc(pool)}/connections/${enc(conn.name)}/edit">Edit</a><button type="button" class="danger" id="delete-connection">Delete…</button></p>
    <div id="retest-result" aria-live="polite"></div>
    <div id="delete-confirm" hidden><p id="delete-deps">${deps.length ? `These saved extractions use it and will fail until they get another connection: <b>${deps.map(esc).join(", ")}</b>. ` : "No saved extraction uses it. "}${c.type === "zero-copy" ? (shares.length ? `Its shared tables leave the pool: <b>${shares.flatMap((s) => s.tables.map((t) => esc(`${conn.name}.${s.share.namespace}.${t}`))).join(", ")}</b> (nothing in the source catalog is touched). ` : "It has no shared tables. ") : "Tables it loaded stay, with their history. "}The stored secret is deleted.</p>
      <p class="row"><button type="button" class="danger" id="delete-connection-confirm">Delete ${esc(conn.name)}</button><button type="button" class="secondary" id="delete-connection-cancel">Keep it</button></p></div></details>`;
}
function wireSettings(pool, conn) {
  $("retest").onclick = async () => {
    $("retest-result").innerHTML = `<p class="muted">Testing…</p>`;
    try { const r = await api("POST", `/pools/${enc(pool)}/connections/${enc(conn.name)}/test`); $("retest-result").innerHTML = renderVerdicts(r); announce(r.checks.every((c) => c.verdict !== "failed") ? "Test Connection passed" : "Test Connection failed"); }
    catch (e) { if (!(e instanceof Stale)) $("retest-result").innerHTML = errorHtml("retest-error", e.message); }
  };
  $("delete-connection").onclick = () => { $("delete-confirm").hidden = false; $("delete-connection-confirm").focus(); };
  $("delete-connection-cancel").onclick = () => { $("delete-confirm").hidden = true; $("delete-connection").focus(); };
  $("delete-connection-confirm").onclick = async () => {
    try { await api("DELETE", `/pools/${enc(pool)}/connections/${enc(conn.name)}`); location.hash = `#/pools/${enc(pool)}`; } catch (e) { showError(e); }
  };
}
function takeNotice() { const n = sessionStorage.getItem("lakeport.notice"); sessionStorage.removeItem("lakeport.notice"); return n ? `<p class="card ok" role="status" id="notice">${esc(n)}</p>` : ""; }

// Picks of the bucket picker, per connection, kept while moving through folders (and across
// Back/Forward) until the page is left for another connection or a run starts.
const picks = new Map(); // key → { folder, table (edited name or "") }
let picksOf = null;
const SUPPORTED = /\.(csv|tsv|txt|json|ndjson|jsonl|parquet|pq|parq)(\.(gz|gzip|zst|zstd))?$/i;
// The table a pick loads into, as the server names it (lakeport_pool::table_name_from of the
// file's stem or the folder's name).
function tableNameOf(key) {
  let stem = key.replace(/\/+$/, "").split("/").pop();
  stem = stem.replace(/\.(gz|gzip|zst|zstd|GZ|ZST)$/, "");
  const dot = stem.lastIndexOf(".");
  if (dot > 0) stem = stem.slice(0, dot);
  let n = stem.replace(/[^A-Za-z0-9]+/g, "_").toLowerCase().replace(/^_+|_+$/g, "");
  if (/^[0-9]/.test(n)) n = "t_" + n;
  return n.slice(0, 128);
}

// File options in the console's own words (ExtractRequest.read and its neighbours).
function fileOptionsHtml() {
  const sel = (id, label, opts, hint = "") => `<label for="${id}">${label}</label><select id="${id}" ${hint ? `aria-describedby="${id}-hint"` : ""}>${opts.map(([v, t]) => `<option value="${esc(v)}">${esc(t)}</option>`).join("")}</select>${hint ? `<p class="muted" id="${id}-hint">${hint}</p>` : ""}`;
  return `<details id="file-options"><summary>File options</summary>
    ${fieldset("CSV files", fieldset("Header row", radio("header", "header-detect", "Detect", true) + radio("header", "header-yes", "First row is the header") + radio("header", "header-no", "No header (columns named column_1, column_2, …)"))
      + sel("opt-delimiter", "Delimiter", [["", "Detect (comma, tab, semicolon or pipe)"], [",", "Comma ,"], [";", "Semicolon ;"], ["tab", "Tab"], ["|", "Pipe |"], ["other", "Other…"]])
      + `<div id="opt-delimiter-other-box" hidden>${field("opt-delimiter-other", "Other delimiter (one character)", "text", 'maxlength="1"')}</div>`
      + field("opt-quote", "Quote character", "text", 'maxlength="1" placeholder="&quot;" aria-describedby="opt-quote-hint"') + `<p class="muted" id="opt-quote-hint">Empty: " (tab-separated files: none).</p>`
      + check("opt-no-quoting", "No quote character at all")
      + field("opt-escape", "Escape character", "text", 'maxlength="1" aria-describedby="opt-escape-hint"') + `<p class="muted" id="opt-escape-hint">Empty: a quote inside quotes is doubled ("").</p>`
      + sel("opt-encoding", "Text encoding (files without a byte order mark)", [["utf-8", "UTF-8"], ["windows-1252", "Windows-1252 (Western European, Latin-1)"], ["iso-8859-15", "ISO-8859-15 (Latin-9)"], ["utf-16le", "UTF-16 LE"], ["utf-16be", "UTF-16 BE"], ["shift_jis", "Shift JIS"], ["gbk", "GBK"], ["euc-kr", "EUC-KR"]])
      + field("opt-nulls", "Values read as empty (NULL)", "text", 'placeholder="NA, NULL, -" aria-describedby="opt-nulls-hint"') + `<p class="muted" id="opt-nulls-hint">Separated by commas. An empty value is always empty.</p>`)}
    ${fieldset("Column types", field("opt-infer-rows", "Rows read to infer types", "number", 'min="1" placeholder="1000"')
      + check("opt-type-fallback", "Load a column as text when a value does not fit its inferred type (instead of failing)")
      + field("opt-text-columns", "Text columns (always loaded as text)", "text", 'placeholder="zip_code, id" aria-describedby="opt-text-hint"') + `<p class="muted" id="opt-text-hint">Column names separated by commas.</p>`
      + check("opt-source-columns", "Add the source file's key and modification time (_source_key, _source_modified)"))}
    ${fieldset("Delta loads", sel("opt-schema-change", "When the schema changes", [["evolve", "Evolve the table (add columns, widen types)"], ["text", "Evolve, loading misfits into text columns as text"], ["fail", "Fail (keep the table's schema)"]])
      + sel("opt-deleted", "Objects deleted from the source", [["keep", "Keep their rows"], ["remove", "Remove their rows (the table mirrors the folder)"]]))}</details>`;
}
// The options as the API takes them. Errors name the control.
function fileOptions() {
  const one = (id, label) => { const v = $(id).value; if (!v) return undefined; if (v.length !== 1 || v.charCodeAt(0) > 127) throw new Error(`${label} (File options): give one ASCII character, not '${v}'`); return v.charCodeAt(0); };
  const list = (id) => $(id).value.split(",").map((x) => x.trim()).filter(Boolean);
  const csv = {};
  if ($("header-yes").checked) csv.has_header = true;
  if ($("header-no").checked) csv.has_header = false;
  const d = $("opt-delimiter").value;
  if (d === "tab") csv.delimiter = 9; else if (d === "other") csv.delimiter = one("opt-delimiter-other", "Other delimiter"); else if (d) csv.delimiter = d.charCodeAt(0);
  if ($("opt-no-quoting").checked) csv.no_quoting = true; else csv.quote = one("opt-quote", "Quote character");
  csv.escape = one("opt-escape", "Escape character");
  csv.encoding = $("opt-encoding").value;
  csv.null_values = list("opt-nulls");
  const read = { csv, text_columns: list("opt-text-columns") };
  if ($("opt-infer-rows").value) {
    const n = Number($("opt-infer-rows").value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`Rows read to infer types (File options): give a whole number of at least 1, not '${$("opt-infer-rows").value}'`);
    read.infer_rows = n;
  }
  return { read, type_fallback: $("opt-type-fallback").checked, source_columns: $("opt-source-columns").checked, on_schema_change: $("opt-schema-change").value, deleted: $("opt-deleted").value };
}
function wireFileOptions() {
  $("opt-delimiter").onchange = () => { $("opt-delimiter-other-box").hidden = $("opt-delimiter").value !== "other"; };
  $("opt-no-quoting").onchange = () => { $("opt-quote").disabled = $("opt-no-quoting").checked; };
}

// Errors from the server name the CLI's flags; the console names its own controls instead.
const CONSOLE_TERMS = [
  [/--infer-rows/g, '"Rows read to infer types" (File options)'],
  [/--type-fallback/g, '"Load a column as text when a value does not fit" (File options)'],
  [/--on-schema-change (evolve|text|fail)/g, (m, v) => `"When the schema changes: ${{ evolve: "Evolve the table", text: "Evolve, loading misfits as text", fail: "Fail" }[v]}" (File options)`],
  [/--on-schema-change/g, '"When the schema changes" (File options)'],
  [/--allow-http-anywhere/g, "allow_http_anywhere (API and CLI only)"],
  [/Pass --allow-http/g, 'Tick "Allow plain HTTP" (Advanced settings)'],
  [/--allow-http/g, '"Allow plain HTTP" (Advanced settings)'],
  [/\(--path-style\)/g, '("Path-style addressing", Advanced settings)'],
  [/with --table/g, 'in its "Loads into table" field (What will happen)'],
  [/--file or --folder/g, "file or folder (tick one)"],
  [/--text-column/g, '"Text columns" (File options)'],
  [/--null-value/g, '"Values read as empty" (File options)'],
  [/--delimiter/g, '"Delimiter" (File options)'],
  [/--encoding/g, '"Text encoding" (File options)'],
];
const consoleTerms = (message) => CONSOLE_TERMS.reduce((m, [re, to]) => m.replace(re, to), String(message ?? ""));

async function viewConnection(seq, pool, name, prefix) {
  const [conn, saved, runs] = await Promise.all([api("GET", `/pools/${enc(pool)}/connections/${enc(name)}`), api("GET", `/pools/${enc(pool)}/saved-extractions`), api("GET", `/pools/${enc(pool)}/runs?limit=20`)]);
  if (conn.config.type === "zero-copy") return viewZeroCopy(seq, pool, { ...conn, pool }, saved);
  if (picksOf !== `${pool}/${name}`) { picks.clear(); picksOf = `${pool}/${name}`; }
  const base = `#/pools/${enc(pool)}/connections/${enc(name)}`;
  const mine = runs.filter((r) => r.status === "running" && r.connection === name);
  if (!render(seq, { title: `${name} — pick files`, trail: [[pool, `#/pools/${enc(pool)}`], [name, base]] }, `<h1>${esc(name)} <small class="muted">s3://${esc(conn.config.bucket)}</small></h1>${takeNotice()}
    ${settingsCard(pool, { ...conn, pool }, saved)}
    ${mine.length ? `<div class="card" id="running-here"><h2>Running on this connection</h2>${mine.map((r) => `<p><a href="#/pools/${enc(pool)}/runs/${enc(r.id)}">${esc(r.mode)} load of ${esc((r.tables || []).join(", "))}</a> — ${progressText(r)}</p>`).join("")}</div>` : ""}
    <div class="card"><h2>Pick files and folders</h2><nav aria-label="Folder" class="crumbs" id="crumbs"></nav>
    <div class="row filter"><label for="filter" class="inline">Filter this folder</label><input id="filter" type="text" class="grow"><button type="button" class="secondary" id="select-all">Select all shown</button></div>
    <div id="browser-slot"></div><p id="pager" class="row"></p>
    <h3>What will happen</h3><div id="plan" aria-live="polite"><p class="muted">Nothing picked yet.</p></div>
    ${fieldset("Load mode", radio("mode", "mode-full", "Full load (replace)", true) + radio("mode", "mode-delta", "Delta load (new files only)"))}
    ${fileOptionsHtml()}
    <p class="row"><button type="button" id="run-extraction" disabled>Run extraction</button> <button type="button" id="save-extraction" class="secondary" disabled>Save as extraction</button> <span id="picked" class="muted"></span></p></div>
    <div class="card" id="save-card" hidden><h2>Save as extraction</h2>
      <label for="x-name">Name</label><input id="x-name" type="text" aria-describedby="x-name-hint"><p class="muted" id="x-name-hint">Lowercase letters, digits and _.</p>
      <label for="x-schedule">Schedule (cron: minute hour day-of-month month day-of-week; empty: by hand only)</label><input id="x-schedule" type="text" placeholder="0 * * * *">
      <label for="x-timezone">Time zone</label><input id="x-timezone" type="text" value="UTC">
      <div id="x-upcoming" class="muted" aria-live="polite"></div>
      <h3>Columns</h3><p class="muted">Untick a column to leave it out; tick "pseudonymise" to store its keyed hash instead of its value.</p><div id="x-columns"></div>
      <p><button type="button" id="x-save">Save extraction</button> <span id="x-status"></span></p></div>
    <div class="card" id="run" hidden><h2>Extraction</h2><progress id="progress" value="0" max="1" aria-label="Extraction progress"></progress><p id="run-status"></p><pre id="run-log" tabindex="0"></pre></div>`)) return;
  wireSettings(pool, conn);
  wireFileOptions();
  const pickedItems = () => [...picks.entries()].map(([key, p]) => {
    const item = p.folder ? { type: "folder", prefix: key } : { type: "file", key };
    if (p.table && p.table !== tableNameOf(key)) item.table = p.table;
    return item;
  });
  const mode = () => $("mode-delta").checked ? "delta" : "full";
  // The whole request: picks, load mode and the file options (checked first; a bad value is an
  // error naming its control).
  const request = () => ({ items: pickedItems(), mode: mode(), ...fileOptions() });
  // What will happen: a table per pick (its name editable), files inside a picked folder shown
  // as included, two picks into one table flagged.
  const refreshPicked = () => {
    const items = [...picks.entries()];
    const names = items.map(([k, p]) => p.table || tableNameOf(k));
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    $("plan").innerHTML = items.length ? `<table id="plan-table"><tr><th scope="col">Pick</th><th scope="col">Loads into table</th><th scope="col"><span class="sr-only">Actions</span></th></tr>${items.map(([k, p], i) => `<tr><td>${p.folder ? "folder" : "file"} <code>${esc(k)}</code>${p.folder ? " <span class=\"muted\">(every CSV, JSON and Parquet file in it, one schema)</span>" : ""}</td>
      <td><label class="sr-only" for="tn-${i}">Table name for ${esc(k)}</label><input id="tn-${i}" data-table-for="${esc(k)}" type="text" value="${esc(p.table || tableNameOf(k))}">${dup.includes(names[i]) ? `<span class="error" role="alert"> two picks load into this table: give one another name</span>` : ""}</td>
      <td><button type="button" class="secondary small" data-unpick="${esc(k)}" aria-label="Remove ${esc(k)}">Remove</button></td></tr>`).join("")}</table>` : `<p class="muted">Nothing picked yet.</p>`;
    $("plan").querySelectorAll("input[data-table-for]").forEach((inp) => inp.onchange = () => { picks.get(inp.dataset.tableFor).table = inp.value.trim(); refreshPicked(); });
    $("plan").querySelectorAll("button[data-unpick]").forEach((b) => b.onclick = () => { picks.delete(b.dataset.unpick); refreshPicked(); drawEntries(); });
    $("picked").textContent = picks.size ? `${picks.size} item(s) picked` : "";
    const blocked = picks.size === 0 || dup.length > 0;
    $("run-extraction").disabled = blocked; $("save-extraction").disabled = blocked;
  };
  // "Save as extraction": the columns come from the files (inferred like a load would), each
  // with "load" and "pseudonymise"; the schedule shows its next three run times as it is typed.
  $("save-extraction").onclick = async () => {
    $("save-card").hidden = false; $("x-columns").textContent = "Reading the files' columns…"; $("x-name").focus();
    try {
      const tables = await api("POST", `/pools/${enc(pool)}/connections/${enc(name)}/columns`, request());
      $("x-columns").innerHTML = tables.map((t) => `<table class="x-table" data-table="${esc(t.table)}"><tr><th colspan="3" scope="colgroup">Table ${esc(t.table)}</th></tr><tr><th scope="col">Load</th><th scope="col">Column</th><th scope="col">Pseudonymise</th></tr>
        ${t.columns.map(([c, type]) => `<tr><td><input type="checkbox" data-load="${esc(c)}" aria-label="Load ${esc(c)}" checked></td><td>${esc(c)} <span class="muted">${esc(typeWords(type))}</span></td><td><input type="checkbox" data-pseudo="${esc(c)}" aria-label="Pseudonymise ${esc(c)}"></td></tr>`).join("")}</table>`).join("");
    } catch (e) { if (!(e instanceof Stale)) $("x-columns").innerHTML = errorHtml("x-columns-error", consoleTerms(e.message)); }
  };
  $("save-card").addEventListener("input", () => markDirty("the new saved extraction"));
  let previewSeq = 0;
  const preview = async () => {
    const cron = $("x-schedule").value.trim(), mySeq = ++previewSeq;
    if (!cron) { $("x-upcoming").textContent = "No schedule: runs by hand only."; return; }
    try {
      const p = await api("POST", "/schedule-preview", { cron, timezone: $("x-timezone").value.trim() || undefined });
      if (mySeq === previewSeq) $("x-upcoming").innerHTML = `Next runs: <ol id="x-next">${p.upcoming_runs.map((t) => `<li>${esc(t.slice(0, 16).replace("T", " "))} UTC</li>`).join("")}</ol>`;
    } catch (e) { if (mySeq === previewSeq && !(e instanceof Stale)) $("x-upcoming").innerHTML = `<span class="error" role="alert" id="x-schedule-error">${esc(e.message)}</span>`; }
  };
  $("x-schedule").oninput = preview; $("x-timezone").oninput = preview;
  $("x-save").onclick = async () => {
    const tables = [...app.querySelectorAll(".x-table")].map((t) => {
      const all = [...t.querySelectorAll("input[data-load]")];
      const load = all.filter((c) => c.checked).map((c) => c.dataset.load);
      return { table: t.dataset.table, columns: load.length === all.length ? [] : load, pseudonymise: [...t.querySelectorAll("input[data-pseudo]:checked")].map((c) => c.dataset.pseudo) };
    }).filter((t) => t.columns.length || t.pseudonymise.length);
    const cron = $("x-schedule").value.trim();
    let body;
    try { body = { name: $("x-name").value.trim(), connection: name, request: { ...request(), tables } }; } catch (e) { $("x-status").innerHTML = `<span class="error" role="alert" id="x-save-error">${esc(e.message)}</span>`; return; }
    if (cron) body.schedule = { cron, timezone: $("x-timezone").value.trim() || undefined };
    try { await api("POST", `/pools/${enc(pool)}/saved-extractions`, body); clean(); location.hash = `#/pools/${enc(pool)}/extractions/${enc(body.name)}`; }
    catch (e) { if (!(e instanceof Stale)) $("x-status").innerHTML = `<span class="error" role="alert" id="x-save-error">${esc(consoleTerms(e.message))}</span>`; }
  };

  // The folder listing: paged (100 a page) and filtered in the page; a ticked folder's files show
  // as included; files lakeport cannot read are shown skipped and cannot be picked.
  let entries = [], current = "", pageNo = 0, openSeq = 0;
  const PAGE = 100;
  const inPickedFolder = (key) => [...picks.entries()].find(([k, p]) => p.folder && k !== key && key.startsWith(k));
  const shown = () => { const f = $("filter").value.trim().toLowerCase(); return entries.filter((e) => !f || e.name.toLowerCase().includes(f)); };
  function drawEntries() {
    const list = shown(); const pages = Math.max(1, Math.ceil(list.length / PAGE)); pageNo = Math.min(pageNo, pages - 1);
    const slice = list.slice(pageNo * PAGE, pageNo * PAGE + PAGE);
    $("browser-slot").innerHTML = scroller("Folder contents", `<table id="browser"><tr><th scope="col">Pick</th><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Modified</th><th scope="col">Will</th></tr>` + slice.map((e) => {
      const parent = inPickedFolder(e.key); const readable = e.folder || SUPPORTED.test(e.name);
      // As the server plans a folder: files that are not data are passed over, and so is a .txt
      // file (often prose, like README.txt) unless it is picked by name.
      const txt = !e.folder && /\.txt(\.(gz|gzip|zst|zstd))?$/i.test(e.name);
      const will = !readable ? "skipped: not CSV, JSON or Parquet" : parent && txt ? "skipped: a .txt file in a folder is loaded only when picked by name" : parent ? `included with folder ${esc(parent[0])}` : picks.has(e.key) ? `load into table ${esc(picks.get(e.key).table || tableNameOf(e.key))}` : "";
      return `<tr><td><input type="checkbox" data-key="${esc(e.key)}" data-folder="${e.folder}" aria-label="Pick ${esc(e.name)}" ${picks.has(e.key) || parent ? "checked" : ""} ${parent || !readable ? "disabled" : ""}></td>
      <td>${e.folder ? `<a href="${base}/at/${enc(e.key)}" data-prefix="${esc(e.key)}">${esc(e.name)}</a>` : esc(e.name)}</td><td>${fmtBytes(e.size)}</td><td>${fmtTime(e.modified)}</td><td class="will">${will}</td></tr>`;
    }).join("") + (slice.length ? "" : `<tr><td colspan="5" class="muted">${entries.length ? "Nothing matches the filter." : "This folder is empty."}</td></tr>`) + `</table>`);
    $("pager").innerHTML = pages > 1 ? `<button type="button" class="secondary" id="page-prev" ${pageNo ? "" : "disabled"}>Previous</button><span>Page ${pageNo + 1} of ${pages} (${fmtNum(list.length)} entries)</span><button type="button" class="secondary" id="page-next" ${pageNo < pages - 1 ? "" : "disabled"}>Next</button>` : "";
    if (pages > 1) { $("page-prev").onclick = () => { pageNo--; drawEntries(); }; $("page-next").onclick = () => { pageNo++; drawEntries(); }; }
    app.querySelectorAll("#browser input[type=checkbox]").forEach((c) => c.onchange = () => {
      if (c.checked) picks.set(c.dataset.key, { folder: c.dataset.folder === "true", table: "" }); else picks.delete(c.dataset.key);
      // A folder covers what is picked inside it: no file is loaded twice in one run.
      if (c.checked && c.dataset.folder === "true") for (const k of [...picks.keys()]) if (k !== c.dataset.key && k.startsWith(c.dataset.key)) picks.delete(k);
      refreshPicked(); drawEntries();
    });
  }
  $("filter").oninput = () => { pageNo = 0; drawEntries(); };
  $("select-all").onclick = () => {
    for (const e of shown()) if (!inPickedFolder(e.key) && (e.folder || SUPPORTED.test(e.name))) picks.set(e.key, picks.get(e.key) || { folder: e.folder, table: "" });
    refreshPicked(); drawEntries(); announce(`${picks.size} item(s) picked`);
  };
  async function open(p, moved) {
    const mySeq = ++openSeq;
    const list = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}/browse?prefix=${enc(p)}`);
    if (mySeq !== openSeq) return; // a later folder was opened meanwhile
    entries = list; current = p; pageNo = 0; $("filter").value = "";
    const parts = p.split("/").filter(Boolean);
    $("crumbs").innerHTML = `<a href="${base}" data-prefix="" ${parts.length ? "" : 'aria-current="page"'}>${esc(conn.config.bucket)}</a>` + parts.map((x, i) => ` / <a href="${base}/at/${enc(parts.slice(0, i + 1).join("/") + "/")}" data-prefix="${esc(parts.slice(0, i + 1).join("/") + "/")}" ${i === parts.length - 1 ? 'aria-current="page"' : ""}>${esc(x)}</a>`).join("");
    setChrome({ title: `${p || conn.config.bucket} — ${name}`, trail: [[pool, `#/pools/${enc(pool)}`], ...(parts.length ? [[name, base]] : [[name]]), ...parts.map((x, i) => [x, `${base}/at/${enc(parts.slice(0, i + 1).join("/") + "/")}`]).slice(0, -1), ...(parts.length ? [[parts[parts.length - 1]]] : [])] });
    drawEntries();
    // After a folder change (not the first listing), focus goes to the new listing.
    if (moved) app.querySelector("#browser-slot .scroll").focus();
  }
  // Folder changes come through the URL (#…/at/<prefix>): Back/Forward move through folders.
  mounted = { key: `conn:${pool}/${name}`, update: (p) => open(p || "", true).catch(showError) };
  $("run-extraction").onclick = async () => {
    $("run").hidden = false; $("run-status").textContent = "Starting…"; $("run-extraction").disabled = true;
    try {
      const run = await api("POST", `/pools/${enc(pool)}/extractions`, { connection: name, ...request() });
      $("run-status").innerHTML = `Started: <a href="#/pools/${enc(pool)}/runs/${enc(run.id)}" id="run-link">follow this run</a> (also after a reload, or in another tab).`;
      announce("Extraction started");
      poll(run.id);
    } catch (e) { if (!(e instanceof Stale)) { $("run-status").innerHTML = errorHtml("run-error", consoleTerms(e.message)); $("run-extraction").disabled = false; } }
  };
  async function poll(id) {
    let r;
    try { r = await api("GET", `/runs/${enc(id)}`); } catch (e) { if (!(e instanceof Stale)) showError(e); return; }
    $("progress").max = Math.max(r.bytes_total, 1); $("progress").value = r.bytes_done;
    $("run-log").textContent = consoleTerms((r.log || []).join("\n"));
    if (r.status === "running") { $("run-status").innerHTML = `Loading ${esc(r.current_table || "")}: ${progressText(r)} — <a href="#/pools/${enc(pool)}/runs/${enc(id)}" id="run-link">details</a>`; setTimeout(() => poll(id), 300); return; }
    $("run-extraction").disabled = false;
    if (r.status === "succeeded") {
      $("progress").value = $("progress").max;
      $("run-status").innerHTML = `<span class="ok" id="run-done">Done: ${fmtNum(r.report.rows)} rows from ${fmtNum(r.report.files)} file(s) into ${r.report.tables.map((t) => `<a href="#/pools/${enc(pool)}/tables/${enc(t.table)}">${esc(t.table)}</a>`).join(", ")}.</span> <a href="#/pools/${enc(pool)}/jobs/${enc(r.report.job_id || r.id)}">Job details</a>`;
      announce("Extraction done");
    } else { $("run-status").innerHTML = `<span class="error" role="alert" id="run-failed">${esc(statusWords[r.status] || r.status)}: ${esc(consoleTerms(r.error))}</span>`; }
  }
  refreshPicked();
  await open(prefix || "");
}

// One saved extraction: its definition, schedule (next three runs), "Run now" and its history.
async function viewExtraction(seq, pool, name) {
  const base = `/pools/${enc(pool)}/saved-extractions/${enc(name)}`;
  const [x, history] = await Promise.all([api("GET", base), api("GET", base + "/history")]);
  const d = x.definition, r = d.request;
  const items = r.items.map((i) => i.type === "file" ? esc(i.key) : `${esc(i.prefix)}${(i.include || []).length ? ` <span class="muted">(${esc(i.include.join(", "))})</span>` : ""}`).join(", ");
  const settings = (r.tables || []).map((t) => `<div>${esc(t.table)}: ${t.columns && t.columns.length ? `columns ${esc(t.columns.join(", "))}` : "all columns"}${t.pseudonymise && t.pseudonymise.length ? `; pseudonymised ${esc(t.pseudonymise.join(", "))}` : ""}</div>`).join("");
  if (!render(seq, { title: `Extraction ${name}`, trail: [[pool, `#/pools/${enc(pool)}`], [d.connection, `#/pools/${enc(pool)}/connections/${enc(d.connection)}`], [name]] }, `<h1>Extraction ${esc(name)} <small class="muted">version ${esc(x.version)}</small></h1>
    <div class="card"><p>Connection <b>${esc(d.connection)}</b>, ${esc(r.mode)} load of ${items}</p><div id="x-settings">${settings}</div>
    <p id="x-schedule-info">${d.schedule ? `Schedule <code>${esc(d.schedule.cron)}</code> (${esc(d.schedule.timezone || "UTC")}); next runs: ${(x.upcoming_runs || []).map((t) => esc(t.slice(0, 16).replace("T", " ")) + " UTC").join(", ")}` : "No schedule: runs by hand."}</p>
    <p><button type="button" id="x-run">Run now</button> <span id="x-run-status" aria-live="polite"></span></p></div>
    <div class="card"><h2>History</h2>${scroller("History", `<table id="x-history"><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Version</th><th scope="col">Mode</th><th scope="col">Status</th><th scope="col">Files</th><th scope="col">Rows</th><th scope="col">Bytes</th><th scope="col">Duration</th><th scope="col">Schema changes</th><th scope="col">Error</th></tr>
    ${history.map((h) => `<tr><td>${h.id ? `<a href="#/pools/${enc(pool)}/jobs/${enc(h.id)}">${fmtTime(h.started_at)}</a>` : fmtTime(h.started_at)}</td><td class="trigger">${esc(h.trigger)}</td><td>${esc(h.version)}</td><td>${esc(h.mode)}</td><td class="status">${esc(h.status)}</td><td>${esc(h.files)}</td><td class="rows">${esc(h.rows)}</td><td>${fmtBytes(h.bytes)}</td><td>${esc(fmtSecs(h.seconds))}</td>
      <td>${h.schema_changes.flatMap((t) => t.changes.map((c) => `<div>${esc(t.table)}.${esc(c.column)}: ${esc(c.change)}</div>`)).join("")}</td><td class="error">${esc(h.error || "")}</td></tr>`).join("") || `<tr><td colspan="11" class="muted">Not run yet.</td></tr>`}</table>`)}</div>`)) return;
  $("x-run").onclick = async () => {
    const status = $("x-run-status");
    try {
      const run = await api("POST", base + "/run", {});
      status.innerHTML = `Running… <a href="#/pools/${enc(pool)}/runs/${enc(run.id)}">follow it</a>`;
      every(seq, 300, async () => { const s = await api("GET", `/runs/${enc(run.id)}`); if (s.status !== "running") { navSeq++; route(true); } });
    } catch (e) { if (!(e instanceof Stale)) status.innerHTML = errorHtml("x-run-error", e.message); }
  };
}

async function viewZeroCopy(seq, pool, conn, saved) {
  const name = conn.name;
  const shares = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}/shares`);
  if (!render(seq, { title: `${name} — shares`, trail: [[pool, `#/pools/${enc(pool)}`], [name]] }, `<h1>${esc(name)} <small class="muted">zero-copy · warehouse ${esc(conn.config.warehouse)}</small></h1>${takeNotice()}
    ${settingsCard(pool, conn, saved, shares)}
    <div class="card"><p><button type="button" id="load-namespaces">Authenticate and Load Namespaces</button></p><div id="namespaces" aria-live="polite"></div>
    <p><button type="button" id="save-shares" disabled>Save</button> <span id="shares-status" class="muted"></span></p></div>
    <div class="card"><h2>Selected shares</h2><ul id="shares">${shares.map((s) => `<li>${esc(s.share.namespace)}${s.share.table ? "." + esc(s.share.table) : ""} → ${s.tables.map((t) => `<a href="#/pools/${enc(pool)}/shares/${enc(name)}/${enc(s.share.namespace)}/${enc(t)}"><code>${esc(name)}.${esc(s.share.namespace)}.${esc(t)}</code></a>`).join(", ")}${s.gone ? ` <span class="error">gone: removed from the source catalog</span>` : ""}${(s.gone_tables || []).length ? ` <span class="error">gone from the source: ${s.gone_tables.map(esc).join(", ")}</span>` : ""}${(s.new_tables || []).length ? ` <span class="muted">new in the source (queryable): ${s.new_tables.map(esc).join(", ")}</span>` : ""}</li>`).join("") || `<li class="muted">none</li>`}</ul></div>`)) return;
  wireSettings(pool, conn);
  const selected = new Set(shares.map((s) => s.share.table ? `${s.share.namespace}.${s.share.table}` : s.share.namespace));
  $("load-namespaces").onclick = async () => {
    $("namespaces").innerHTML = `<p class="muted">Loading namespaces…</p>`;
    try {
      const listing = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}/namespaces`);
      $("namespaces").innerHTML = listing.map((n) => fieldset(`Namespace ${esc(n.namespace)}`, `<label class="check"><input type="checkbox" data-share="${esc(n.namespace)}" ${selected.has(n.namespace) ? "checked" : ""}> all ${n.tables.length} tables of ${esc(n.namespace)}</label>
        ${n.tables.map((t) => `<label class="check nested"><input type="checkbox" data-share="${esc(n.namespace + "." + t)}" ${selected.has(n.namespace + "." + t) ? "checked" : ""}> ${esc(t)}</label>`).join("")}`)).join("") || `<p class="muted">The catalog has no namespaces.</p>`;
      $("save-shares").disabled = false; announce(`${listing.length} namespace(s) loaded`);
      const firstBox = $("namespaces").querySelector("input"); if (firstBox) firstBox.focus();
    } catch (e) { if (!(e instanceof Stale)) $("namespaces").innerHTML = errorHtml("namespaces-error", e.message); }
  };
  $("save-shares").onclick = async () => {
    const now = new Set([...app.querySelectorAll("input[data-share]:checked")].map((c) => c.dataset.share));
    const add = [...now].filter((s) => !selected.has(s)); const remove = [...selected].filter((s) => !now.has(s));
    try { await api("PUT", `/pools/${enc(pool)}/connections/${enc(name)}/shares`, { add, remove }); sessionStorage.setItem("lakeport.notice", "Shares saved."); navSeq++; route(true); } catch (e) { if (!(e instanceof Stale)) $("shares-status").innerHTML = errorHtml("shares-error", e.message); }
  };
}

// A snapshot list's summary column, whatever shape the JSON of a map column has.
const summaryOf = (s) => Array.isArray(s) ? Object.fromEntries(s.map((e) => [e.key ?? e[0], e.value ?? e[1]])) : (s || {});

async function viewTable(seq, pool, table) {
  const admin = isAdmin();
  const quoted = `"${table.replace(/"/g, '""')}"`;
  const [data, tables, details, snaps, jobs] = await Promise.all([
    api("GET", `/pools/${enc(pool)}/tables/${enc(table)}/preview?limit=50`),
    api("GET", `/pools/${enc(pool)}/tables`),
    admin ? api("GET", `/pools/${enc(pool)}/tables/${enc(table)}`).catch((e) => { if (e instanceof Stale) throw e; return null; }) : null,
    api("POST", `/pools/${enc(pool)}/query`, { sql: `SELECT * FROM "${table.replace(/"/g, '""')}$snapshots"` }).catch((e) => { if (e instanceof Stale) throw e; return null; }),
    admin ? api("GET", `/pools/${enc(pool)}/jobs?limit=200`).catch(() => []) : [],
  ]);
  const info = tables.find((t) => t.name === table && (!t.kind || t.kind === "extracted")) || {};
  const columns = details && details.columns ? details.columns : data.columns.map((c) => ({ name: c.name, type: c.type }));
  const jobById = new Map(jobs.map((j) => [j.id, j]));
  const snapRows = snaps ? [...snaps.rows].sort((a, b) => String(b.committed_at).localeCompare(String(a.committed_at))) : [];
  if (!render(seq, { title: `Table ${table}`, trail: [[pool, `#/pools/${enc(pool)}`], [table]] }, `<h1>${esc(table)} <small class="muted">table</small></h1>
    <div class="card"><dl class="settings" id="table-facts"><dt>Rows</dt><dd id="total-rows">${fmtNum(info.rows)}</dd><dt>Data files</dt><dd>${fmtNum(info.data_files)}</dd><dt>Snapshots</dt><dd>${fmtNum(info.snapshots)}</dd><dt>Last load</dt><dd>${fmtTime(info.last_load)} ${esc(info.last_mode || "")}</dd></dl>
      <p><a class="button secondary" href="#/pools/${enc(pool)}/sql" id="query-table" data-sql="SELECT * FROM ${esc(quoted)} LIMIT 100">Query in SQL</a></p></div>
    <div class="card"><h2>Columns</h2>${scroller("Columns", `<table id="columns"><tr><th scope="col">#</th><th scope="col">Column</th><th scope="col">Type</th>${columns.some((c) => c.nullable !== undefined) ? `<th scope="col">Empty values</th>` : ""}</tr>${columns.map((c, i) => `<tr><td>${i + 1}</td><td>${esc(c.name)}</td><td class="type" title="${esc(c.type)}">${esc(typeWords(c.type))}</td>${c.nullable !== undefined ? `<td>${c.nullable ? "allowed" : "never"}</td>` : ""}</tr>`).join("")}</table>`)}</div>
    <div class="card"><h2>Preview</h2>${renderRows(data, { total: info.rows })}</div>
    ${snaps ? `<div class="card"><h2>Snapshots</h2><p class="muted">Each load commits one snapshot; readers see one snapshot or the next, never a mix.</p>${scroller("Snapshots", `<table id="snapshots"><tr><th scope="col">Committed</th><th scope="col">Snapshot</th><th scope="col">Operation</th><th scope="col">Load</th><th scope="col">Rows added</th><th scope="col">Rows in table</th></tr>${snapRows.map((s) => {
      const sum = summaryOf(s.summary); const job = jobById.get(sum["lakeport.job"]);
      return `<tr><td>${fmtTime(s.committed_at)}</td><td><code>${esc(s.snapshot_id)}</code></td><td>${esc(s.operation)}</td><td>${job ? `<a href="#/pools/${enc(pool)}/jobs/${enc(job.id)}">${esc(job.mode)} load (${esc(job.connection)})</a>` : esc(sum["lakeport.load"] || "")}</td><td>${fmtNum(sum["added-records"])}</td><td>${fmtNum(sum["total-records"])}</td></tr>`;
    }).join("")}</table>`)}</div>` : ""}
    ${details && details.files ? `<div class="card"><h2>Source files</h2><p class="muted">The objects the current snapshot holds rows of.</p>${scroller("Source files", `<table id="source-files"><tr><th scope="col">Key</th><th scope="col">Size</th><th scope="col">Modified</th><th scope="col">Rows</th></tr>${details.files.map((f) => `<tr><td>${esc(f.key)}</td><td>${fmtBytes(f.size)}</td><td>${fmtTime(f.modified)}</td><td>${fmtNum(f.rows)}</td></tr>`).join("") || `<tr><td colspan="4" class="muted">None recorded.</td></tr>`}</table>`)}${details.files_note ? `<p class="muted">${esc(details.files_note)}</p>` : ""}</div>` : ""}
    ${admin ? `<div class="card" id="drop-card"><h2>Drop table</h2>
    <p class="muted">Removes the table from the pool and deletes its data files; the job history records it.</p>
    <form id="drop-form"><label for="drop-confirm">Type the table name <b>${esc(table)}</b> to confirm</label><div class="row"><input id="drop-confirm" type="text" autocomplete="off"><button id="drop-table" class="danger" disabled>Drop table</button></div></form><p id="drop-result"></p></div>` : ""}`)) return;
  $("query-table").onclick = () => sessionStorage.setItem(`lakeport.sql.${pool}`, $("query-table").dataset.sql);
  if (!admin) return;
  $("drop-confirm").addEventListener("input", () => { $("drop-table").disabled = $("drop-confirm").value !== table; });
  $("drop-form").onsubmit = async (ev) => {
    ev.preventDefault();
    if ($("drop-confirm").value !== table) return;
    $("drop-table").disabled = true;
    try { await api("DELETE", `/pools/${enc(pool)}/tables/${enc(table)}`); location.hash = `#/pools/${enc(pool)}`; }
    catch (e) { if (!(e instanceof Stale)) $("drop-result").innerHTML = errorHtml("drop-error", e.message); }
  };
}

// A shared (zero-copy) table: its snapshots from the source catalog and a preview.
async function viewShare(seq, pool, connection, namespace, table) {
  const sqlName = [connection, namespace, table].map((p) => /^[a-z_][a-z0-9_]*$/.test(p) ? p : `"${p.replace(/"/g, '""')}"`).join(".");
  const nsTable = [namespace, table].map((p) => /^[a-z_][a-z0-9_]*$/.test(p) ? p : `"${p.replace(/"/g, '""')}"`).join(".");
  const [data, snaps] = await Promise.all([api("POST", `/pools/${enc(pool)}/query`, { sql: `SELECT * FROM ${sqlName} LIMIT 50` }),
    api("GET", `/pools/${enc(pool)}/connections/${enc(connection)}/snapshots?table=${enc(nsTable)}`).catch((e) => { if (e instanceof Stale) throw e; return null; })]);
  const current = snaps && (snaps.find((s) => s.current) || snaps[snaps.length - 1]);
  render(seq, { title: `Shared table ${sqlName}`, trail: [[pool, `#/pools/${enc(pool)}`], [connection, `#/pools/${enc(pool)}/connections/${enc(connection)}`], [`${namespace}.${table}`]] }, `<h1>${esc(sqlName)} <small class="muted">shared table (zero-copy)</small></h1>
    <div class="card"><p>Read in place through the connection's Iceberg REST catalog; a new snapshot in the source is visible on the next query. SQL name: <code>${esc(sqlName)}</code>.</p></div>
    <div class="card"><h2>Columns</h2>${scroller("Columns", `<table id="columns"><tr><th scope="col">#</th><th scope="col">Column</th><th scope="col">Type</th></tr>${data.columns.map((c, i) => `<tr><td>${i + 1}</td><td>${esc(c.name)}</td><td class="type" title="${esc(c.type)}">${esc(typeWords(c.type))}</td></tr>`).join("")}</table>`)}</div>
    <div class="card"><h2>Preview</h2>${renderRows(data, { total: current ? current.total_rows : undefined })}</div>
    ${snaps ? `<div class="card"><h2>Snapshots</h2>${scroller("Snapshots", `<table id="snapshots"><tr><th scope="col">Committed</th><th scope="col">Snapshot</th><th scope="col">Operation</th><th scope="col">Rows added</th><th scope="col">Rows deleted</th><th scope="col">Rows in table</th><th scope="col"></th></tr>${[...snaps].reverse().map((s) => `<tr><td>${fmtTime(s.committed_at)}</td><td><code>${esc(s.snapshot_id)}</code></td><td>${esc(s.operation)}</td><td>${fmtNum(s.added_rows)}</td><td>${fmtNum(s.deleted_rows)}</td><td>${fmtNum(s.total_rows)}</td><td>${s.current ? "current" : ""}</td></tr>`).join("")}</table>`)}
      <p class="muted">Query an older one with <code>${esc(sqlName.replace(/("?)([^".]+)\1$/, (m) => m.endsWith('"') ? m.slice(0, -1) + "@SNAPSHOT-ID\"" : `"${m}@SNAPSHOT-ID"`))}</code>.</p></div>` : ""}`);
}

// Runs: live ones first (progress moves while the server runs them), then the history. State
// lives in the server, so a reload, a second tab or coming back later shows the same.
async function viewRuns(seq, pool) {
  const draw = async () => {
    const [runs, page] = await Promise.all([api("GET", `/pools/${enc(pool)}/runs?limit=20`), jobsPage(pool, 10)]);
    const sorted = [...runs].sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    return { html: `${scroller("Runs", `<table id="runs"><tr><th scope="col">Started</th><th scope="col">Connection</th><th scope="col">Mode</th><th scope="col">Tables</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Rows</th></tr>${sorted.map((r) => `<tr data-run="${esc(r.id)}"><td><a href="#/pools/${enc(pool)}/runs/${enc(r.id)}">${fmtTime(r.started_at)}</a></td><td>${esc(r.connection)}</td><td>${esc(r.mode)}</td><td>${esc((r.tables || []).join(", "))}</td><td class="status">${esc(r.status === "succeeded" && r.mode === "delta" && r.report && r.report.files === 0 ? "succeeded: nothing new" : statusWords[r.status] || r.status)}</td><td>${r.status === "running" ? `<progress max="${Math.max(r.bytes_total, 1)}" value="${r.bytes_done}" aria-label="Progress of the run started ${esc(r.started_at)}"></progress> ${fmtNum(r.files_done)}/${fmtNum(r.files_total)} files` : `${fmtNum(r.files_done ?? r.files)} files`}</td><td>${fmtNum(r.rows)}</td></tr>`).join("") || `<tr><td colspan="7" class="muted">No runs since the server started.</td></tr>`}</table>`)}`, running: runs.some((r) => r.status === "running"), page };
  };
  const first = await draw();
  if (!render(seq, { title: `Runs — ${pool}`, trail: [[pool, `#/pools/${enc(pool)}`], ["Runs"]] }, `<h1>Runs — ${esc(pool)}</h1>
    <div class="card"><h2>Extraction runs</h2><div id="runs-slot">${first.html}</div></div>
    <div class="card"><h2>Job history</h2><div id="jobs-slot">${scroller("Job history", jobsTable(pool, first.page.jobs))}</div><p><button type="button" class="secondary" id="older-jobs" ${first.page.has_more ? "" : "hidden"}>Show older jobs</button></p></div>`)) return;
  let jobs = first.page.jobs, next = first.page.next_before;
  $("older-jobs").onclick = async () => {
    const more = await jobsPage(pool, 10, next); jobs = jobs.concat(more.jobs); next = more.next_before;
    const shownBefore = jobs.length - more.jobs.length;
    patch($("jobs-slot"), scroller("Job history", jobsTable(pool, jobs))); $("older-jobs").hidden = !more.has_more;
    const firstNew = $("jobs-slot").querySelectorAll("tr")[shownBefore + 1];
    if (firstNew && firstNew.querySelector("a")) firstNew.querySelector("a").focus();
  };
  let wasRunning = first.running;
  every(seq, 1000, async () => {
    if (!wasRunning && document.hidden) return;
    const now = await draw();
    patch($("runs-slot"), now.html);
    if (wasRunning && !now.running) { jobs = now.page.jobs; patch($("jobs-slot"), scroller("Job history", jobsTable(pool, jobs))); announce("A run ended"); }
    wasRunning = now.running;
  });
}

// One run, live: progress that only moves forward, the log, Cancel; when it ends, its job.
async function viewRun(seq, pool, id) {
  const r0 = await api("GET", `/runs/${enc(id)}`);
  if (!render(seq, { title: `Run ${r0.connection} — ${pool}`, trail: [[pool, `#/pools/${enc(pool)}`], ["Runs", `#/pools/${enc(pool)}/runs`], [fmtTime(r0.started_at).replace(/<[^>]+>/g, "")]] }, `<h1>Run of ${esc(r0.connection)} <small class="muted">${esc(r0.mode)} load</small></h1>
    <div class="card" id="run-card"></div>`)) return;
  const draw = (r) => {
    const running = r.status === "running";
    patch($("run-card"), `<dl class="settings"><dt>Status</dt><dd id="run-state" aria-live="polite">${esc(statusWords[r.status] || r.status)}${r.cancel_requested && running ? " (cancelling…)" : ""}</dd><dt>Started</dt><dd>${fmtTime(r.started_at)}</dd><dt>Tables</dt><dd>${esc((r.tables || []).join(", "))}</dd><dt>Progress</dt><dd>${progressText(r)}</dd></dl>
      <progress id="run-progress" max="${Math.max(r.bytes_total, 1)}" value="${running ? r.bytes_done : Math.max(r.bytes_total, 1)}" aria-label="Run progress"></progress>
      ${r.error ? errorHtml("run-error", consoleTerms(r.error)) : ""}
      <p class="row">${running && r.live !== false ? `<button type="button" class="danger" id="cancel-run" ${r.cancel_requested ? "disabled" : ""}>Cancel run</button>` : ""}${!running ? `<a class="button secondary" id="run-job" href="#/pools/${enc(pool)}/jobs/${enc((r.report && r.report.job_id) || r.id)}">Job details</a>` : ""}</p>
      <h2>Log</h2><pre id="run-log" tabindex="0">${esc(consoleTerms((r.log || []).join("\n")))}</pre>`);
    if ($("cancel-run")) $("cancel-run").onclick = async () => {
      try { await api("POST", `/runs/${enc(id)}/cancel`); announce("Cancelling: the run stops at its next checkpoint; each table keeps its old or its new snapshot"); } catch (e) { showError(e); }
    };
    return running;
  };
  if (draw(r0)) every(seq, 500, async () => { const r = await api("GET", `/runs/${enc(id)}`); if (!draw(r)) { announce(`Run ${statusWords[r.status] || r.status}`); throw new Stale(); } });
}

// One job: per table what it loaded, skipped and left unchanged, rows, bytes, duration, the full
// error, and Re-run.
async function viewJob(seq, pool, id) {
  let job;
  try { job = await api("GET", `/pools/${enc(pool)}/jobs/${enc(id)}`); }
  catch (e) {
    if (!(e instanceof ApiFailure) || (e.status !== 404 && e.status !== 405)) throw e;
    job = (await api("GET", `/pools/${enc(pool)}/jobs?limit=100000`)).find((j) => j.id === id);
    if (!job) throw new ApiFailure(`no job ${id} in pool ${pool}`, 404);
  }
  const tables = Array.isArray(job.details) ? job.details : [];
  const skippedOf = (t) => [...(t.skipped || []).map((s) => `${s.key} (${s.detail || s.reason})`), ...(t.skipped_empty || []).map((k) => `${k} (empty)`)];
  if (!render(seq, { title: `Job ${job.mode} ${job.tables.join(", ")} — ${pool}`, trail: [[pool, `#/pools/${enc(pool)}`], ["Runs", `#/pools/${enc(pool)}/runs`], ["Job"]] }, `<h1>Job: ${esc(job.mode)} ${job.mode === "drop" ? "of" : "load of"} ${esc(job.tables.join(", "))}</h1>
    <div class="card"><dl class="settings" id="job-facts"><dt>Status</dt><dd id="job-status">${esc(jobStatus(job))}</dd><dt>Connection</dt><dd>${esc(job.connection)}</dd>${job.origin ? `<dt>Saved extraction</dt><dd><a href="#/pools/${enc(pool)}/extractions/${enc(job.origin.extraction)}">${esc(job.origin.extraction)}</a> (version ${esc(job.origin.version)}, ${esc(job.origin.trigger)})</dd>` : ""}
      <dt>Started</dt><dd>${fmtTime(job.started_at)}</dd><dt>Ended</dt><dd>${fmtTime(job.ended_at)}</dd><dt>Duration</dt><dd>${esc(fmtSecs(secondsOf(job)))}</dd><dt>Files loaded</dt><dd>${fmtNum(job.files)}</dd><dt>Rows loaded</dt><dd>${fmtNum(job.rows)}</dd><dt>Bytes read</dt><dd>${fmtBytes(job.bytes)}</dd></dl>
      ${job.error ? `<h2>Error</h2><pre class="error" id="job-error" tabindex="0">${esc(consoleTerms(job.error))}</pre>` : ""}
      ${job.mode !== "drop" && job.status !== "running" ? `<p><button type="button" id="rerun">Re-run</button> <span id="rerun-status" aria-live="polite"></span></p>` : ""}</div>
    ${tables.map((t) => `<div class="card job-table"><h2>Table <a href="#/pools/${enc(pool)}/tables/${enc(t.table)}">${esc(t.table)}</a>: <span class="outcome">${esc(tableOutcome(job, t))}</span></h2>
      <dl class="settings"><dt>Files loaded</dt><dd>${fmtNum(t.files_loaded ?? (t.loaded || []).length)}</dd><dt>Files unchanged</dt><dd>${fmtNum(t.unchanged)}</dd><dt>Files skipped</dt><dd>${fmtNum(skippedOf(t).length)}</dd><dt>Rows loaded</dt><dd>${fmtNum(t.rows)}</dd><dt>Rows in table after</dt><dd>${fmtNum(t.total_rows)}</dd><dt>Bytes</dt><dd>${fmtBytes(t.bytes)}</dd>${t.seconds != null ? `<dt>Duration</dt><dd>${esc(fmtSecs(t.seconds))}</dd>` : ""}</dl>
      ${t.error ? `<pre class="error" tabindex="0">${esc(consoleTerms(t.error))}</pre>` : ""}
      ${(t.loaded || []).length ? `<details><summary>Loaded files (${(t.loaded || []).length})</summary><ul>${t.loaded.map((k) => `<li><code>${esc(k)}</code></li>`).join("")}</ul></details>` : ""}
      ${skippedOf(t).length ? `<details><summary>Skipped files (${skippedOf(t).length})</summary><ul>${skippedOf(t).map((k) => `<li><code>${esc(k)}</code></li>`).join("")}</ul></details>` : ""}
      ${(t.schema_changes || []).length ? `<details open><summary>Schema changes</summary>${schemaChanges({ details: [t] })}</details>` : ""}</div>`).join("")}`)) return;
  if ($("rerun")) $("rerun").onclick = async () => {
    try {
      let run;
      try { run = await api("POST", `/runs/${enc(job.id)}/rerun`); }
      catch (e) {
        // Servers without the re-run route: a saved extraction's job re-runs the extraction.
        if (!(e instanceof ApiFailure) || (e.status !== 404 && e.status !== 405) || !job.origin) throw e;
        run = await api("POST", `/pools/${enc(pool)}/saved-extractions/${enc(job.origin.extraction)}/run`, { mode: job.mode });
      }
      location.hash = `#/pools/${enc(pool)}/runs/${enc(run.id)}`;
    } catch (e) { if (!(e instanceof Stale)) $("rerun-status").innerHTML = errorHtml("rerun-error", e.message); }
  };
}

// SQL: a table/column sidebar, Ctrl+Enter runs, elapsed time, the row cap, CSV download; the
// query stays when you leave and come back (this tab's session storage).
async function viewSql(seq, pool) {
  const key = `lakeport.sql.${pool}`;
  const initial = sessionStorage.getItem(key) || `SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema = '${pool}' AND table_name NOT LIKE '%$%'`;
  const cols = await api("POST", `/pools/${enc(pool)}/query`, { sql: `SELECT table_catalog, table_schema, table_name, column_name, data_type FROM information_schema.columns WHERE table_name NOT LIKE '%$%' AND table_schema <> 'information_schema' ORDER BY table_catalog, table_schema, table_name, ordinal_position` }).catch((e) => { if (e instanceof Stale) throw e; return { rows: [] }; });
  const byTable = new Map();
  for (const r of cols.rows) {
    const name = r.table_schema === pool ? r.table_name : `${r.table_catalog === "datafusion" || r.table_catalog === pool ? "" : r.table_catalog + "."}${r.table_schema}.${r.table_name}`;
    if (!byTable.has(name)) byTable.set(name, []);
    byTable.get(name).push(r);
  }
  if (!render(seq, { title: `SQL — ${pool}`, trail: [[pool, `#/pools/${enc(pool)}`], ["SQL"]] }, `<h1>SQL — ${esc(pool)}</h1><div class="sql-layout">
    <aside class="card sidebar" aria-label="Tables and columns"><h2>Tables</h2>${[...byTable.entries()].map(([t, cs]) => `<details><summary>${esc(t)}</summary><ul><li><button type="button" class="link" data-insert="${esc(t)}">Insert table name</button></li>${cs.map((c) => `<li><button type="button" class="link" data-insert="${esc(c.column_name)}" aria-label="Insert column ${esc(c.column_name)}">${esc(c.column_name)}</button> <span class="muted">${esc(typeWords(c.data_type))}</span></li>`).join("")}</ul></details>`).join("") || `<p class="muted">No tables yet.</p>`}</aside>
    <form class="card grow" id="sql-form"><label for="sql">Query (read-only SQL; Ctrl+Enter runs it)</label><textarea id="sql" rows="6" spellcheck="false"></textarea>
    <p class="row"><button id="run-sql">Run</button><button type="button" class="secondary" id="download-csv" disabled>Download CSV</button><span id="sql-status" class="muted" role="status"></span></p><div id="sql-result"></div></form></div>`)) return;
  $("sql").value = initial;
  $("sql").oninput = () => sessionStorage.setItem(key, $("sql").value);
  app.querySelectorAll("button[data-insert]").forEach((b) => b.onclick = (ev) => {
    ev.preventDefault();
    const ta = $("sql"), s = ta.selectionStart, ins = /^[a-z_][a-z0-9_.]*$/.test(b.dataset.insert) ? b.dataset.insert : `"${b.dataset.insert.replace(/"/g, '""')}"`;
    ta.value = ta.value.slice(0, s) + ins + ta.value.slice(ta.selectionEnd); ta.focus(); ta.selectionStart = ta.selectionEnd = s + ins.length;
    sessionStorage.setItem(key, ta.value);
  });
  let last = null;
  const run = async () => {
    const t0 = performance.now();
    $("sql-status").textContent = "Running…"; $("download-csv").disabled = true;
    try {
      const data = await api("POST", `/pools/${enc(pool)}/query`, { sql: $("sql").value });
      const secs = ((performance.now() - t0) / 1000).toFixed(2);
      last = data;
      $("sql-result").innerHTML = renderRows(data);
      $("download-csv").disabled = false;
      $("sql-status").textContent = `${fmtNum(data.row_count)} row(s) in ${secs} s${data.truncated ? `, cut off at the row cap of ${fmtNum(data.max_rows)}` : ""}`;
    } catch (e) {
      if (e instanceof Stale) return;
      $("sql-status").textContent = `Failed after ${((performance.now() - t0) / 1000).toFixed(2)} s`;
      $("sql-result").innerHTML = errorHtml("sql-error", e.message);
    }
  };
  $("sql-form").onsubmit = (ev) => { ev.preventDefault(); run(); };
  $("sql").onkeydown = (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); } };
  $("download-csv").onclick = () => {
    if (!last) return;
    const cell = (v) => { const s = v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v); return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
    const csv = [last.columns.map((c) => cell(c.name)).join(","), ...last.rows.map((r) => last.columns.map((c) => cell(r[c.name])).join(","))].join("\r\n") + "\r\n";
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" })); a.download = `${pool}-query.csv`;
    document.body.appendChild(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
}

// This browser's sign-in: the token's name and scope, Sign out, and rotating a stored token (a
// new secret under the same name; the old one stops working at once).
function viewAccount(seq) {
  const stored = caller.name !== "--token";
  if (!render(seq, { title: "Your API token", trail: [["API token"]] }, `<h1>Your API token</h1>
    <div class="card"><dl class="settings"><dt>Name</dt><dd id="token-name">${esc(caller.name)}</dd><dt>Scope</dt><dd>${esc(caller.scope)}</dd></dl>
    <h2>Rotate</h2>${isAdmin() && stored ? `<p class="muted">Makes a new token under the same name and scope and signs this browser in with it. The old token stops working at once, everywhere it is used.</p>
      <p><button type="button" id="rotate-token">Rotate token</button></p><div id="rotated" aria-live="polite"></div>`
      : `<p class="muted" id="no-rotate">${stored ? "Read-only tokens are rotated by an admin (<code>lakeport token revoke</code>, then <code>lakeport token create --read-only</code>)." : "This is the server's <code>--token</code>, kept in its memory only: restart <code>lakeport serve</code> with another one, or sign in with a stored token (<code>lakeport token create</code>) to rotate it here."}</p>`}
    <h2>Sign out</h2><p class="muted">This browser forgets the token; the token itself stays valid.</p><p><button type="button" class="secondary" id="sign-out-here">Sign out</button></p></div>`)) return;
  $("sign-out-here").onclick = signOut;
  if ($("rotate-token")) $("rotate-token").onclick = async () => {
    try {
      const t = await api("POST", "/token/rotate");
      localStorage.setItem("lakeport.token", t.token);
      $("rotated").innerHTML = `<p class="ok">Rotated. This browser now uses the new token. Copy it for other places that used the old one — it is shown only now:</p><label for="new-token">New token</label><input id="new-token" type="text" readonly value="${esc(t.token)}">`;
      $("new-token").focus(); $("new-token").select();
    } catch (e) { if (!(e instanceof Stale)) $("rotated").innerHTML = errorHtml("rotate-error", e.message); }
  };
}

// ---- routing ----------------------------------------------------------------------------------

function viewKey(parts) {
  if (parts[0] === "pools" && parts[2] === "connections" && parts[3] && (parts.length === 4 || parts[4] === "at")) return `conn:${parts[1]}/${parts[3]}`;
  return "page:" + parts.join("/");
}

async function route(force) {
  if (takeTokenFromHash()) caller = null;
  if (!token()) return renderLogin();
  if (!caller) {
    try { caller = await api("GET", "/whoami"); } catch (e) { return showError(e); }
    $("who").innerHTML = `<a href="#/account" id="account-link">${esc(caller.name)} (${esc(caller.scope)})</a> <button type="button" class="secondary small" id="sign-out">Sign out</button>`;
    $("sign-out").onclick = signOut;
  }
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const key = viewKey(parts);
  if (!force && mounted.key === key && mounted.update) { shownHash = location.hash; clearError(); return mounted.update(parts[4] === "at" ? parts[5] : ""); }
  const seq = ++navSeq;
  mounted = { key: null, update: null };
  shownHash = location.hash;
  clearError();
  try {
    if (parts[0] === "account") return viewAccount(seq);
    if (parts[0] !== "pools" || parts.length < 2) return await viewPools(seq);
    const pool = parts[1];
    if (parts.length === 2) return await viewPool(seq, pool);
    if (!isAdmin() && parts[2] !== "tables" && parts[2] !== "sql" && parts[2] !== "shares") return await viewPool(seq, pool);
    if (parts[2] === "add") return parts[3] === "s3" ? viewS3Form(seq, pool) : viewCatalog(seq, pool);
    if (parts[2] === "connections" && parts[4] === "edit") return await viewEditConnection(seq, pool, parts[3]);
    if (parts[2] === "connections") return await viewConnection(seq, pool, parts[3], parts[4] === "at" ? parts[5] : "");
    if (parts[2] === "extractions") return await viewExtraction(seq, pool, parts[3]);
    if (parts[2] === "tables") return await viewTable(seq, pool, parts[3]);
    if (parts[2] === "shares") return await viewShare(seq, pool, parts[3], parts[4], parts[5]);
    if (parts[2] === "runs" && parts[3]) return await viewRun(seq, pool, parts[3]);
    if (parts[2] === "runs") return await viewRuns(seq, pool);
    if (parts[2] === "jobs") return await viewJob(seq, pool, parts[3]);
    if (parts[2] === "sql") return await viewSql(seq, pool);
    return await viewPools(seq);
  } catch (e) { if (seq === navSeq) showError(e); }
}

// Leaving a half-filled form asks first (in the page, not a browser dialog): the URL goes back to
// the form until "Leave" is chosen.
window.addEventListener("hashchange", () => {
  const target = location.hash;
  if (dirty && viewKey(target.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent)) !== viewKey(shownHash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent)) && !target.startsWith("#token=")) {
    history.replaceState(null, "", shownHash || "#/");
    $("error").innerHTML = `<div class="card warning-box" role="alertdialog" aria-labelledby="leave-text" id="leave-warning"><p id="leave-text">You have unsaved changes in ${esc(dirty)}. Leave this page and lose them?</p>
      <p class="row"><button type="button" class="danger" id="leave-anyway">Leave without saving</button><button type="button" class="secondary" id="stay">Stay</button></p></div>`;
    $("stay").focus();
    $("stay").onclick = clearError;
    $("leave-anyway").onclick = () => { clean(); clearError(); location.hash = target; };
    return;
  }
  route();
});
route();
