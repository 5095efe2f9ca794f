// lakeport web console: a small single-page app over the HTTP API (no framework, no CDN).
"use strict";
const app = document.getElementById("app");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const enc = encodeURIComponent;
const fmtBytes = (n) => { if (n == null) return ""; const u = ["B", "KiB", "MiB", "GiB"]; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; };

// Every value shown comes from the API and may come from anybody's files (cells, column and key
// names): it goes into the page only through esc() or textContent. The server's
// Content-Security-Policy (no inline script or style) backs this up.

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

async function api(method, path, body) {
  const res = await fetch("/api" + path, { method, headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { caller = null; renderLogin("The API token was refused."); throw new Error("unauthorized"); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok && res.status !== 422) throw new Error((data && data.error) || res.statusText);
  return data;
}

function renderLogin(message) {
  app.innerHTML = `<div class="card"><h1>Sign in</h1><p class="muted">${message ? esc(message) : "Paste an API token: the one lakeport printed when the server first started, or a new one from <code>lakeport token create [--read-only]</code>."}</p>
    <label for="token">API token</label><input id="token" type="password"><p><button id="signin">Sign in</button></p></div>`;
  document.getElementById("signin").onclick = () => { localStorage.setItem("lakeport.token", document.getElementById("token").value.trim()); caller = null; route(); };
}

// The schema-drift report of a job: per table, each column that was added, promoted, missing or
// loaded as text, with its old and new type and the first file that brought it.
function schemaChanges(job) {
  const tables = Array.isArray(job.details) ? job.details : [];
  return tables.flatMap((t) => (t.schema_changes || []).map((c) =>
    `<div>${esc(t.table)}.${esc(c.column)}: ${esc(c.change)} ${esc(c.old_type || "–")} → ${esc(c.new_type || "–")} <span class="muted">(${esc(c.file)})</span></div>`)).join("");
}
function showError(e) { if (e.message !== "unauthorized") app.insertAdjacentHTML("afterbegin", `<div class="card error" id="error">${esc(e.message)}</div>`); }

// ---- views ------------------------------------------------------------------------------------

async function viewPools() {
  const pools = await api("GET", "/pools");
  const admin = isAdmin();
  app.innerHTML = `<h1>Data Pools</h1>
    <div class="card"><table><tr><th>Data pool</th><th>Tables</th>${admin ? "<th>Data connections</th>" : ""}<th>Created</th></tr>
    ${pools.map((p) => `<tr><td><a href="#/pools/${enc(p.name)}">${esc(p.name)}</a></td><td>${esc(p.tables)}</td>${admin ? `<td>${esc(p.connections)}</td>` : ""}<td>${esc(p.created_at.slice(0, 16).replace("T", " "))}</td></tr>`).join("") || `<tr><td colspan="4" class="muted">No data pools yet.</td></tr>`}</table></div>
    ${admin ? `<div class="card"><h2>Create data pool</h2><div class="row"><input id="pool-name" type="text" placeholder="name (lowercase letters, digits, _)"><button id="create-pool">Create</button></div></div>` : `<p class="muted" id="read-only-note">Signed in with the read-only token ${esc(caller.name)}: tables, previews and SQL.</p>`}`;
  if (!admin) return;
  document.getElementById("create-pool").onclick = async () => {
    try { const name = document.getElementById("pool-name").value.trim(); await api("POST", "/pools", { name }); location.hash = `#/pools/${enc(name)}`; } catch (e) { showError(e); }
  };
}

function tablesCard(pool, tables) {
  return `<div class="card"><div class="row"><h2 class="grow">Tables</h2><a class="button secondary" href="#/pools/${enc(pool)}/sql">SQL</a></div>
    <table id="tables"><tr><th>Table</th><th>Rows</th><th>Files</th><th>Last load</th><th>Mode</th></tr>${tables.map((t) => `<tr><td><a href="#/pools/${enc(pool)}/tables/${enc(t.name)}">${esc(t.name)}</a></td><td class="rows">${esc(t.rows)}</td><td>${esc(t.data_files)}</td><td>${esc((t.last_load || "").slice(0, 19).replace("T", " "))}</td><td>${esc(t.last_mode || "")}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">No tables yet.</td></tr>`}</table></div>`;
}

async function viewPool(pool) {
  if (!isAdmin()) {
    const tables = await api("GET", `/pools/${enc(pool)}/tables`);
    app.innerHTML = `<h1>${esc(pool)}</h1>` + tablesCard(pool, tables);
    return;
  }
  const [conns, tables, jobs, saved] = await Promise.all([api("GET", `/pools/${enc(pool)}/connections`), api("GET", `/pools/${enc(pool)}/tables`), api("GET", `/pools/${enc(pool)}/jobs?limit=10`), api("GET", `/pools/${enc(pool)}/saved-extractions`)]);
  app.innerHTML = `<h1>Data Integration — ${esc(pool)}</h1>
    <div class="card"><div class="row"><h2 class="grow">Data Connections</h2><a class="button" id="add-connection" href="#/pools/${enc(pool)}/add">+ Add Data Connection</a></div>
    <table><tr><th>Name</th><th>Type</th><th>Details</th></tr>${conns.map((c) => `<tr><td><a href="#/pools/${enc(pool)}/connections/${enc(c.name)}">${esc(c.name)}</a></td><td>${c.config.type === "zero-copy" ? "Zero-copy (via Iceberg REST catalog)" : "Extractions (via APIs)"}</td><td>${esc(c.config.bucket || c.config.warehouse || "")}</td></tr>`).join("") || `<tr><td colspan="3" class="muted">No data connections yet.</td></tr>`}</table></div>
    ${tablesCard(pool, tables)}
    <div class="card"><h2>Saved extractions</h2><table id="saved"><tr><th>Extraction</th><th>Connection</th><th>Mode</th><th>Schedule</th><th>Next run (UTC)</th><th>Version</th></tr>${saved.map((x) => `<tr><td><a href="#/pools/${enc(pool)}/extractions/${enc(x.name)}">${esc(x.name)}</a></td><td>${esc(x.definition.connection)}</td><td>${esc(x.definition.request.mode)}</td><td>${esc(x.definition.schedule ? x.definition.schedule.cron : "–")}</td><td>${esc((x.next_run_at || "").slice(0, 16).replace("T", " "))}</td><td>${esc(x.version)}</td></tr>`).join("") || `<tr><td colspan="6" class="muted">None yet: pick files in a connection and "Save as extraction".</td></tr>`}</table></div>
    <div class="card"><h2>Job history</h2><table id="jobs"><tr><th>Started</th><th>Connection</th><th>Mode</th><th>Tables</th><th>Status</th><th>Files</th><th>Rows</th><th>Schema changes</th><th>Error</th></tr>${jobs.map((j) => `<tr><td>${esc(j.started_at.slice(0, 19).replace("T", " "))}</td><td>${esc(j.connection)}</td><td class="mode">${esc(j.mode)}</td><td>${esc(j.tables.join(", "))}</td><td class="status">${esc(j.status)}</td><td>${esc(j.files)}</td><td>${esc(j.rows)}</td><td class="drift">${schemaChanges(j)}</td><td class="error">${esc(j.error || "")}</td></tr>`).join("") || `<tr><td colspan="9" class="muted">No jobs yet.</td></tr>`}</table></div>`;
}

function viewCatalog(pool) {
  app.innerHTML = `<h1>Add Data Connection</h1><p class="muted">Connection catalog</p>
    <div class="tiles"><a class="tile" id="tile-s3" href="#/pools/${enc(pool)}/add/s3">Amazon S3<small>Extractions or Zero-copy</small></a></div>`;
}

const field = (id, label, type = "text", extra = "") => `<label for="${id}">${label}</label><input id="${id}" type="${type}" ${extra}>`;

function viewS3Form(pool) {
  app.innerHTML = `<h1>Amazon S3</h1><div class="card" id="s3-form">
    ${field("name", "Name")}
    <label>Connection type</label>
    <span class="radio"><input type="radio" name="ctype" id="type-extraction" value="extraction" checked><label for="type-extraction" class="inline">Extractions (via APIs)</label></span>
    <span class="radio"><input type="radio" name="ctype" id="type-zerocopy" value="zerocopy"><label for="type-zerocopy" class="inline">Zero-copy (via Iceberg REST catalog)</label></span>
    <div id="extraction-fields">${field("region", "AWS region", "text", 'value="us-east-1"')}${field("bucket", "Bucket")}${field("access-key", "Access key ID")}${field("secret", "Secret access key", "password", 'autocomplete="new-password"')}</div>
    <div id="zerocopy-fields" hidden>${field("zc-region", "AWS region", "text", 'value="us-east-1"')}${field("warehouse", "Warehouse (AWS account id)")}${field("catalog-url", "Catalog URL", "text", 'placeholder="https://glue.<region>.amazonaws.com/iceberg"')}
      <label>Authentication</label>
      <span class="radio"><input type="radio" name="auth" id="auth-role" value="role" checked><label for="auth-role" class="inline">Assumed IAM role (recommended)</label></span>
      <span class="radio"><input type="radio" name="auth" id="auth-key" value="key"><label for="auth-key" class="inline">Access key / secret key</label></span>
      <div id="role-fields">${field("role-arn", "Role ARN")}${field("external-id", "External ID")}</div>
      <div id="key-fields" hidden>${field("zc-access-key", "Access key ID")}${field("zc-secret", "Secret access key", "password", 'autocomplete="new-password"')}</div></div>
    <details id="advanced"><summary>Advanced settings</summary>
      ${field("endpoint", "Endpoint URL (S3-compatible stores)")}${field("sts-endpoint", "STS endpoint (zero-copy)")}
      <label><input type="checkbox" id="path-style"> Path-style addressing</label>
      <label><input type="checkbox" id="allow-http"> Allow plain HTTP (loopback only)</label>
      <label><input type="checkbox" id="vended"> Use vended credentials (zero-copy)</label>
      ${field("concurrency", "Request concurrency", "number", 'value="8" min="1"')}</details>
    <p class="row actions"><button id="test-connection" class="secondary">Test Connection</button><button id="save" disabled>Save</button></p>
    <div id="test-result"></div></div>`;
  const $ = (id) => document.getElementById(id);
  const zc = () => $("type-zerocopy").checked;
  let tested = false;
  const invalidate = () => { tested = false; $("save").disabled = true; };
  app.querySelectorAll("input").forEach((i) => i.addEventListener("input", invalidate));
  app.querySelectorAll("input[type=radio], input[type=checkbox]").forEach((i) => i.addEventListener("change", () => {
    $("extraction-fields").hidden = zc(); $("zerocopy-fields").hidden = !zc();
    $("role-fields").hidden = !$("auth-role").checked; $("key-fields").hidden = $("auth-role").checked; invalidate();
  }));
  const opt = (id) => $(id).value.trim() || null;
  const settings = () => {
    if (!zc()) return { config: { type: "s3-extraction", region: $("region").value.trim(), bucket: $("bucket").value.trim(), access_key_id: $("access-key").value.trim(), endpoint: opt("endpoint"), path_style: $("path-style").checked, allow_http: $("allow-http").checked, concurrency: Number($("concurrency").value) || 8 }, secret: $("secret").value };
    const role = $("auth-role").checked;
    return { config: { type: "zero-copy", region: $("zc-region").value.trim(), warehouse: $("warehouse").value.trim(), catalog_url: opt("catalog-url"),
      auth: role ? { method: "assume-role", role_arn: $("role-arn").value.trim(), external_id: $("external-id").value.trim() } : { method: "access-key", access_key_id: $("zc-access-key").value.trim() },
      s3_endpoint: opt("endpoint"), s3_path_style: $("path-style").checked, sts_endpoint: opt("sts-endpoint"), allow_http: $("allow-http").checked, vended_credentials: $("vended").checked }, secret: role ? null : $("zc-secret").value };
  };
  $("test-connection").onclick = async () => {
    $("test-result").innerHTML = `<p class="muted">Testing…</p>`;
    try {
      const report = await api("POST", `/pools/${enc(pool)}/connections/test`, settings());
      tested = report.checks.every((c) => c.verdict !== "failed");
      $("save").disabled = !tested;
      $("test-result").innerHTML = renderVerdicts(report);
    } catch (e) { $("test-result").innerHTML = `<p class="error" id="test-error">${esc(e.message)}</p>`; }
  };
  $("save").onclick = async () => {
    if (!tested) return;
    try {
      const out = await api("POST", `/pools/${enc(pool)}/connections`, { name: $("name").value.trim(), ...settings() });
      if (out.saved) location.hash = `#/pools/${enc(pool)}/connections/${enc($("name").value.trim())}`;
      else { $("save").disabled = true; $("test-result").innerHTML = renderVerdicts(out.test); }
    } catch (e) { $("test-result").innerHTML = `<p class="error" id="save-error">${esc(e.message)}</p>`; }
  };
}

function renderVerdicts(report) {
  const rows = report.checks.map((c) => `<li class="${esc(c.verdict)}" data-permission="${esc(c.permission)}"><b>${esc(c.permission)}</b> — ${esc(c.reason)}</li>`).join("");
  const ok = report.checks.every((c) => c.verdict !== "failed");
  return `<ul class="verdicts" id="verdicts">${rows}</ul>` + (ok ? `<p class="ok" id="test-ok">Connection OK — you can save it.</p>`
    : `<p class="failed" id="test-failed">Test Connection failed${report.policy_hint ? ": grant the missing permission with this policy" : ""}.</p>` + (report.policy_hint ? `<pre id="policy">${esc(report.policy_hint)}</pre>` : ""));
}

async function viewConnection(pool, name) {
  const conn = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}`);
  if (conn.config.type === "zero-copy") return viewZeroCopy(pool, conn);
  app.innerHTML = `<h1>${esc(name)} <small class="muted">s3://${esc(conn.config.bucket)}</small></h1>
    <div class="card"><h2>Pick files and folders</h2><div class="crumbs" id="crumbs"></div><table id="browser"></table>
    <p><span class="radio"><input type="radio" name="mode" id="mode-full" checked><label for="mode-full" class="inline">Full load (replace)</label></span>
    <span class="radio"><input type="radio" name="mode" id="mode-delta"><label for="mode-delta" class="inline">Delta load (new files only)</label></span></p>
    <p><button id="run-extraction" disabled>Run extraction</button> <button id="save-extraction" class="secondary" disabled>Save as extraction</button> <span id="picked" class="muted"></span></p></div>
    <div class="card" id="save-card" hidden><h2>Save as extraction</h2>
      <label for="x-name">Name</label><input id="x-name" type="text" placeholder="lowercase letters, digits, _">
      <label for="x-schedule">Schedule (cron: minute hour day-of-month month day-of-week; empty: by hand only)</label><input id="x-schedule" type="text" placeholder="0 * * * *">
      <label for="x-timezone">Time zone</label><input id="x-timezone" type="text" value="UTC">
      <div id="x-upcoming" class="muted"></div>
      <h3>Columns</h3><p class="muted">Untick a column to leave it out; tick "pseudonymise" to store its keyed hash instead of its value.</p><div id="x-columns"></div>
      <p><button id="x-save">Save extraction</button> <span id="x-status"></span></p></div>
    <div class="card" id="run" hidden><h2>Extraction</h2><progress id="progress" value="0" max="1"></progress><p id="run-status"></p><pre id="run-log"></pre></div>`;
  const picked = new Map();
  const $ = (id) => document.getElementById(id);
  const refreshPicked = () => { $("picked").textContent = picked.size ? `${picked.size} item(s): ${[...picked.keys()].join(", ")}` : ""; $("run-extraction").disabled = picked.size === 0; $("save-extraction").disabled = picked.size === 0; };
  const pickedItems = () => [...picked.entries()].map(([key, folder]) => folder ? { type: "folder", prefix: key } : { type: "file", key });
  const mode = () => $("mode-delta").checked ? "delta" : "full";
  // "Save as extraction": the columns come from the files (inferred like a load would), each
  // with "load" and "pseudonymise"; the schedule shows its next three run times as it is typed.
  $("save-extraction").onclick = async () => {
    $("save-card").hidden = false; $("x-columns").textContent = "Reading the files' columns…";
    try {
      const tables = await api("POST", `/pools/${enc(pool)}/connections/${enc(name)}/columns`, { items: pickedItems(), mode: mode() });
      $("x-columns").innerHTML = tables.map((t) => `<table class="x-table" data-table="${esc(t.table)}"><tr><th colspan="3">Table ${esc(t.table)}</th></tr><tr><th>Load</th><th>Column</th><th>Pseudonymise</th></tr>
        ${t.columns.map(([c, type]) => `<tr><td><input type="checkbox" data-load="${esc(c)}" checked></td><td>${esc(c)} <span class="muted">${esc(type)}</span></td><td><input type="checkbox" data-pseudo="${esc(c)}"></td></tr>`).join("")}</table>`).join("");
    } catch (e) { $("x-columns").innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  };
  let previewSeq = 0;
  const preview = async () => {
    const cron = $("x-schedule").value.trim(), seq = ++previewSeq;
    if (!cron) { $("x-upcoming").textContent = "No schedule: runs by hand only."; return; }
    try {
      const p = await api("POST", "/schedule-preview", { cron, timezone: $("x-timezone").value.trim() || undefined });
      if (seq === previewSeq) $("x-upcoming").innerHTML = `Next runs: <ol id="x-next">${p.upcoming_runs.map((t) => `<li>${esc(t.slice(0, 16).replace("T", " "))} UTC</li>`).join("")}</ol>`;
    } catch (e) { if (seq === previewSeq) $("x-upcoming").innerHTML = `<span class="error" id="x-schedule-error">${esc(e.message)}</span>`; }
  };
  $("x-schedule").oninput = preview; $("x-timezone").oninput = preview;
  $("x-save").onclick = async () => {
    const tables = [...app.querySelectorAll(".x-table")].map((t) => {
      const all = [...t.querySelectorAll("input[data-load]")];
      const load = all.filter((c) => c.checked).map((c) => c.dataset.load);
      return { table: t.dataset.table, columns: load.length === all.length ? [] : load, pseudonymise: [...t.querySelectorAll("input[data-pseudo]:checked")].map((c) => c.dataset.pseudo) };
    }).filter((t) => t.columns.length || t.pseudonymise.length);
    const cron = $("x-schedule").value.trim();
    const body = { name: $("x-name").value.trim(), connection: name, request: { items: pickedItems(), mode: mode(), tables } };
    if (cron) body.schedule = { cron, timezone: $("x-timezone").value.trim() || undefined };
    try { await api("POST", `/pools/${enc(pool)}/saved-extractions`, body); location.hash = `#/pools/${enc(pool)}/extractions/${enc(body.name)}`; }
    catch (e) { $("x-status").innerHTML = `<span class="error" id="x-save-error">${esc(e.message)}</span>`; }
  };
  async function open(prefix) {
    const entries = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}/browse?prefix=${enc(prefix)}`);
    const parts = prefix.split("/").filter(Boolean);
    $("crumbs").innerHTML = `<a href="#" data-prefix="">${esc(conn.config.bucket)}</a>` + parts.map((p, i) => ` / <a href="#" data-prefix="${esc(parts.slice(0, i + 1).join("/") + "/")}">${esc(p)}</a>`).join("");
    $("browser").innerHTML = `<tr><th></th><th>Name</th><th>Size</th><th>Modified</th></tr>` + entries.map((e) => `<tr><td><input type="checkbox" data-key="${esc(e.key)}" data-folder="${e.folder}" ${picked.has(e.key) ? "checked" : ""}></td>
      <td>${e.folder ? `<a href="#" data-prefix="${esc(e.key)}">📁 ${esc(e.name)}</a>` : esc(e.name)}</td><td>${fmtBytes(e.size)}</td><td>${esc((e.modified || "").slice(0, 19).replace("T", " "))}</td></tr>`).join("");
    app.querySelectorAll("a[data-prefix]").forEach((a) => a.onclick = (ev) => { ev.preventDefault(); open(a.dataset.prefix); });
    app.querySelectorAll("#browser input[type=checkbox]").forEach((c) => c.onchange = () => { if (c.checked) picked.set(c.dataset.key, c.dataset.folder === "true"); else picked.delete(c.dataset.key); refreshPicked(); });
  }
  $("run-extraction").onclick = async () => {
    const items = pickedItems();
    $("run").hidden = false; $("run-status").textContent = "Starting…"; $("run-extraction").disabled = true;
    try {
      const run = await api("POST", `/pools/${enc(pool)}/extractions`, { connection: name, items, mode: $("mode-delta").checked ? "delta" : "full" });
      poll(run.id);
    } catch (e) { $("run-status").innerHTML = `<span class="error">${esc(e.message)}</span>`; $("run-extraction").disabled = false; }
  };
  async function poll(id) {
    const r = await api("GET", `/runs/${enc(id)}`);
    $("progress").max = Math.max(r.bytes_total, 1); $("progress").value = r.bytes_done;
    $("run-log").textContent = r.log.join("\n");
    if (r.status === "running") { $("run-status").textContent = `Loading ${r.current_table || ""}: ${r.files_done}/${r.files_total} files, ${r.rows} rows, ${fmtBytes(r.bytes_done)} of ${fmtBytes(r.bytes_total)}`; setTimeout(() => poll(id), 300); return; }
    $("run-extraction").disabled = false;
    if (r.status === "succeeded") {
      $("progress").value = $("progress").max;
      $("run-status").innerHTML = `<span class="ok" id="run-done">Done: ${r.report.rows} rows from ${r.report.files} file(s) into ${r.report.tables.map((t) => `<a href="#/pools/${enc(pool)}/tables/${enc(t.table)}">${esc(t.table)}</a>`).join(", ")}.</span>`;
    } else $("run-status").innerHTML = `<span class="error" id="run-failed">Failed: ${esc(r.error)}</span>`;
  }
  open("");
}

// One saved extraction: its definition, schedule (next three runs), "Run now" and its history.
async function viewExtraction(pool, name) {
  const base = `/pools/${enc(pool)}/saved-extractions/${enc(name)}`;
  const [x, history] = await Promise.all([api("GET", base), api("GET", base + "/history")]);
  const d = x.definition, r = d.request;
  const items = r.items.map((i) => i.type === "file" ? esc(i.key) : `${esc(i.prefix)}${(i.include || []).length ? ` <span class="muted">(${esc(i.include.join(", "))})</span>` : ""}`).join(", ");
  const settings = (r.tables || []).map((t) => `<div>${esc(t.table)}: ${t.columns && t.columns.length ? `columns ${esc(t.columns.join(", "))}` : "all columns"}${t.pseudonymise && t.pseudonymise.length ? `; pseudonymised ${esc(t.pseudonymise.join(", "))}` : ""}</div>`).join("");
  app.innerHTML = `<h1>Extraction ${esc(name)} <small class="muted">version ${esc(x.version)}</small></h1>
    <div class="card"><p>Connection <b>${esc(d.connection)}</b>, ${esc(r.mode)} load of ${items}</p><div id="x-settings">${settings}</div>
    <p id="x-schedule-info">${d.schedule ? `Schedule <code>${esc(d.schedule.cron)}</code> (${esc(d.schedule.timezone || "UTC")}); next runs: ${(x.upcoming_runs || []).map((t) => esc(t.slice(0, 16).replace("T", " ")) + " UTC").join(", ")}` : "No schedule: runs by hand."}</p>
    <p><button id="x-run">Run now</button> <span id="x-run-status"></span></p></div>
    <div class="card"><h2>History</h2><table id="x-history"><tr><th>Started</th><th>Trigger</th><th>Version</th><th>Mode</th><th>Status</th><th>Files</th><th>Rows</th><th>Bytes</th><th>Seconds</th><th>Schema changes</th><th>Error</th></tr>
    ${history.map((h) => `<tr><td>${esc(h.started_at.slice(0, 19).replace("T", " "))}</td><td class="trigger">${esc(h.trigger)}</td><td>${esc(h.version)}</td><td>${esc(h.mode)}</td><td class="status">${esc(h.status)}</td><td>${esc(h.files)}</td><td class="rows">${esc(h.rows)}</td><td>${fmtBytes(h.bytes)}</td><td>${esc(h.seconds == null ? "" : h.seconds.toFixed(1))}</td>
      <td>${h.schema_changes.flatMap((t) => t.changes.map((c) => `<div>${esc(t.table)}.${esc(c.column)}: ${esc(c.change)}</div>`)).join("")}</td><td class="error">${esc(h.error || "")}</td></tr>`).join("") || `<tr><td colspan="11" class="muted">Not run yet.</td></tr>`}</table></div>`;
  document.getElementById("x-run").onclick = async () => {
    const status = document.getElementById("x-run-status");
    try {
      const run = await api("POST", base + "/run", {});
      status.textContent = "Running…";
      const poll = async () => { const s = await api("GET", `/runs/${enc(run.id)}`); if (s.status === "running") return setTimeout(poll, 300); viewExtraction(pool, name); };
      poll();
    } catch (e) { status.innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  };
}

async function viewZeroCopy(pool, conn) {
  const name = conn.name;
  const shares = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}/shares`);
  app.innerHTML = `<h1>${esc(name)} <small class="muted">zero-copy · warehouse ${esc(conn.config.warehouse)}</small></h1>
    <div class="card"><p><button id="load-namespaces">Authenticate and Load Namespaces</button></p><div id="namespaces"></div>
    <p><button id="save-shares" disabled>Save</button> <span id="shares-status" class="muted"></span></p></div>
    <div class="card"><h2>Selected shares</h2><ul id="shares">${shares.map((s) => `<li>${esc(s.share.namespace)}${s.share.table ? "." + esc(s.share.table) : ""} → ${s.tables.map((t) => `<code>${esc(name)}.${esc(s.share.namespace)}.${esc(t)}</code>`).join(", ")}${s.gone ? ` <span class="error">gone: removed from the source catalog</span>` : ""}${(s.gone_tables || []).length ? ` <span class="error">gone from the source: ${s.gone_tables.map(esc).join(", ")}</span>` : ""}${(s.new_tables || []).length ? ` <span class="muted">new in the source (queryable): ${s.new_tables.map(esc).join(", ")}</span>` : ""}</li>`).join("") || `<li class="muted">none</li>`}</ul></div>`;
  const $ = (id) => document.getElementById(id);
  const selected = new Set(shares.map((s) => s.share.table ? `${s.share.namespace}.${s.share.table}` : s.share.namespace));
  $("load-namespaces").onclick = async () => {
    try {
      const listing = await api("GET", `/pools/${enc(pool)}/connections/${enc(name)}/namespaces`);
      $("namespaces").innerHTML = listing.map((n) => `<div><label><input type="checkbox" data-share="${esc(n.namespace)}" ${selected.has(n.namespace) ? "checked" : ""}> ${esc(n.namespace)} (all ${n.tables.length} tables)</label>
        ${n.tables.map((t) => `<label class="nested"><input type="checkbox" data-share="${esc(n.namespace + "." + t)}" ${selected.has(n.namespace + "." + t) ? "checked" : ""}> ${esc(t)}</label>`).join("")}</div>`).join("") || `<p class="muted">The catalog has no namespaces.</p>`;
      $("save-shares").disabled = false;
    } catch (e) { $("namespaces").innerHTML = `<p class="error" id="namespaces-error">${esc(e.message)}</p>`; }
  };
  $("save-shares").onclick = async () => {
    const now = new Set([...app.querySelectorAll("input[data-share]:checked")].map((c) => c.dataset.share));
    const add = [...now].filter((s) => !selected.has(s)); const remove = [...selected].filter((s) => !now.has(s));
    try { await api("PUT", `/pools/${enc(pool)}/connections/${enc(name)}/shares`, { add, remove }); route(); } catch (e) { $("shares-status").innerHTML = `<span class="error">${esc(e.message)}</span>`; }
  };
}

async function viewTable(pool, table) {
  const data = await api("GET", `/pools/${enc(pool)}/tables/${enc(table)}/preview?limit=50`);
  app.innerHTML = `<h1>${esc(table)} <small class="muted">preview</small></h1><div class="card">${renderRows(data)}</div>` + (isAdmin() ? `<div class="card" id="drop-card"><h2>Drop table</h2>
    <p class="muted">Removes the table from the pool and deletes its data files; the job history records it. Type the table name to confirm.</p>
    <div class="row"><input id="drop-confirm" type="text" autocomplete="off"><button id="drop-table" disabled>Drop table</button></div><p id="drop-result"></p></div>` : "");
  if (!isAdmin()) return;
  const $ = (id) => document.getElementById(id);
  $("drop-confirm").addEventListener("input", () => { $("drop-table").disabled = $("drop-confirm").value !== table; });
  $("drop-table").onclick = async () => {
    $("drop-table").disabled = true;
    try { await api("DELETE", `/pools/${enc(pool)}/tables/${enc(table)}`); location.hash = `#/pools/${enc(pool)}`; }
    catch (e) { $("drop-result").innerHTML = `<span class="error" id="drop-error">${esc(e.message)}</span>`; }
  };
}

function renderRows(data) {
  const count = `${data.row_count} row(s)` + (data.truncated ? `; more were cut off at the server's row cap of ${esc(data.max_rows)}` : "");
  return `<p class="muted" id="row-count">${count}</p><table id="result"><tr>${data.columns.map((c) => `<th title="${esc(c.type)}">${esc(c.name)}</th>`).join("")}</tr>
    ${data.rows.map((r) => `<tr>${data.columns.map((c) => `<td>${esc(typeof r[c.name] === "object" && r[c.name] !== null ? JSON.stringify(r[c.name]) : r[c.name])}</td>`).join("")}</tr>`).join("")}</table>`;
}

function viewSql(pool) {
  app.innerHTML = `<h1>SQL — ${esc(pool)}</h1><div class="card"><textarea id="sql" rows="6">SELECT * FROM information_schema.tables WHERE table_schema = '${esc(pool)}'</textarea><p><button id="run-sql">Run</button></p><div id="sql-result"></div></div>`;
  document.getElementById("run-sql").onclick = async () => {
    try { document.getElementById("sql-result").innerHTML = renderRows(await api("POST", `/pools/${enc(pool)}/query`, { sql: document.getElementById("sql").value })); }
    catch (e) { document.getElementById("sql-result").innerHTML = `<p class="error" id="sql-error">${esc(e.message)}</p>`; }
  };
}

// ---- routing ----------------------------------------------------------------------------------

async function route() {
  if (takeTokenFromHash()) caller = null;
  if (!token()) return renderLogin();
  if (!caller) {
    try { caller = await api("GET", "/whoami"); } catch (e) { return showError(e); }
  }
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] !== "pools" || parts.length < 2) return await viewPools();
    const pool = parts[1];
    if (parts.length === 2) return await viewPool(pool);
    if (!isAdmin() && parts[2] !== "tables" && parts[2] !== "sql") return await viewPool(pool);
    if (parts[2] === "add") return parts[3] === "s3" ? viewS3Form(pool) : viewCatalog(pool);
    if (parts[2] === "connections") return await viewConnection(pool, parts[3]);
    if (parts[2] === "extractions") return await viewExtraction(pool, parts[3]);
    if (parts[2] === "tables") return await viewTable(pool, parts[3]);
    if (parts[2] === "sql") return viewSql(pool);
    return await viewPools();
  } catch (e) { showError(e); }
}
window.addEventListener("hashchange", route);
route();
