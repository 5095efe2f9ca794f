// The web console's click path, in real Chromium against a running `lakeport serve` and the real
// S3 test server. Started by scripts/browser-test.sh, which provides the environment below.
// Screenshots of each step go to $SCREENSHOT_DIR.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const env = (name) => { const v = process.env[name]; if (!v) throw new Error(`${name} is not set: run scripts/browser-test.sh`); return v; };
const URL = env("LAKEPORT_URL"), TOKEN = env("LAKEPORT_API_TOKEN"), BUCKET = env("BROWSER_BUCKET"), S3 = env("LAKEPORT_TEST_S3_ENDPOINT");
const SHOTS = env("SCREENSHOT_DIR");
mkdirSync(SHOTS, { recursive: true });
const PAYLOADS = JSON.parse(readFileSync(new globalThis.URL("./fixtures/hostile_payloads.json", import.meta.url), "utf8"));

let browser, page, step = 0;
// Dialogs (alert/confirm/prompt) the page opened: the console opens none, so any is a payload.
const dialogs = [];
const shot = async (name) => page.screenshot({ path: `${SHOTS}/${String(++step).padStart(2, "0")}-${name}.png`, fullPage: true });

before(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(20000);
  page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  // Before any of the console's own code: record every Content-Security-Policy violation.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
});
after(async () => { await browser?.close(); });

async function fillS3Form({ name, key, secret }) {
  await page.fill("#name", name);
  await page.fill("#region", "us-east-1");
  await page.fill("#bucket", BUCKET);
  await page.fill("#access-key", key);
  await page.fill("#secret", secret);
  await page.click("#advanced summary"); // the Advanced settings toggle
  await page.fill("#endpoint", S3);
  await page.check("#path-style");
  await page.check("#allow-http");
}

test("without the token the console asks for it", async () => {
  await page.goto(URL + "/");
  await page.waitForSelector("#signin");
  await shot("sign-in");
});

test("Data → Data Integration → pool → Add Data Connection → Amazon S3 → Test → Save → extract → table", async () => {
  await page.goto(`${URL}/#token=${encodeURIComponent(TOKEN)}`);
  await page.click("#nav-data");
  await page.click("#nav-integration");
  await page.waitForSelector("text=Data Pools");
  await page.fill("#pool-name", "browser");
  await shot("data-pools");
  await page.click("#create-pool");
  await page.waitForSelector("text=Data Integration — browser");
  await shot("pool");
  await page.click("#add-connection");
  await page.waitForSelector("#tile-s3");
  await shot("connection-catalog");
  await page.click("#tile-s3");
  await page.waitForSelector("#s3-form");
  assert.equal(await page.isChecked("#type-extraction"), true, "Extractions (via APIs) is the default");
  assert.equal(await page.isDisabled("#save"), true, "Save is disabled before a test passed");

  // A key without s3:GetBucketAcl: the failing permission is named and Save stays disabled.
  await fillS3Form({ name: "s3-events", key: env("LAKEPORT_TEST_NOACL_KEY"), secret: env("LAKEPORT_TEST_NOACL_SECRET") });
  await page.click("#test-connection");
  await page.waitForSelector("#test-failed");
  const failed = await page.$$eval("#verdicts li.failed", (els) => els.map((e) => e.dataset.permission));
  assert.deepEqual(failed, ["s3:GetBucketAcl"]);
  assert.match(await page.textContent("#policy"), /s3:GetBucketAcl/);
  assert.equal(await page.isDisabled("#save"), true, "Save stays disabled after a failed test");
  await shot("test-connection-failed");

  // The least-privilege key: the test passes and Save is enabled.
  await page.fill("#access-key", env("LAKEPORT_TEST_READER_KEY"));
  await page.fill("#secret", env("LAKEPORT_TEST_READER_SECRET"));
  assert.equal(await page.isDisabled("#save"), true, "changing a field asks for a new test");
  await page.click("#test-connection");
  await page.waitForSelector("#test-ok");
  assert.equal(await page.isDisabled("#save"), false);
  await shot("test-connection-passed");
  await page.click("#save");

  // Browse the bucket, pick a folder and a file, run a full load, watch it finish.
  await page.waitForSelector("#browser");
  await page.click("a[data-prefix='events/']");
  await page.waitForSelector("input[data-key='events/daily/']");
  await shot("browse-bucket");
  await page.check("input[data-key='events/daily/']");
  await page.check("input[data-key='events/p2p_events.csv']");
  await page.check("#mode-full");
  await page.click("#run-extraction");
  await page.waitForSelector("#run-done", { timeout: 60000 });
  await shot("extraction-done");

  // The tables and their row counts, as the source files hold them.
  await page.click("#nav-integration");
  await page.click("a[href='#/pools/browser']");
  await page.waitForSelector("#tables");
  const rows = await page.$$eval("#tables tr", (trs) => Object.fromEntries(trs.slice(1).map((tr) => [tr.cells[0].textContent, Number(tr.cells[1].textContent)])));
  assert.deepEqual(rows, { daily: Number(env("EXPECTED_DAILY_ROWS")), p2p_events: Number(env("EXPECTED_P2P_ROWS")) });
  await shot("tables");
  await page.click("a[href='#/pools/browser/tables/daily']");
  await page.waitForSelector("#result");
  assert.equal(await page.$$eval("#result tr", (trs) => trs.length - 1), 50);
  await shot("table-preview");

  // SQL over the pool.
  await page.goto(`${URL}/#/pools/browser/sql`);
  await page.fill("#sql", "SELECT count(DISTINCT case_id) AS cases FROM daily");
  await page.click("#run-sql");
  await page.waitForSelector("#result");
  assert.equal(Number(await page.textContent("#result tr:nth-child(2) td")), Number(env("EXPECTED_DAILY_CASES")));
  await shot("sql");
});

// The schema-drift report in the job view: a delta load (started through the API) into a table
// whose new file has a new column; the job history names the column, its type and the file.
test("the job history shows what a delta load did to the schema", async () => {
  const call = async (path, body) => {
    const r = await fetch(`${URL}/api${path}`, { method: body ? "POST" : "GET", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
    const text = await r.text();
    assert.ok(r.ok, `${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  const wait = async (id) => { for (;;) { const run = await call(`/runs/${id}`); if (run.status !== "running") return run; await new Promise((r) => setTimeout(r, 100)); } };
  const load = async (mode, prefix) => wait((await call("/pools/browser/extractions", { connection: "s3-events", mode, items: [{ type: "folder", prefix, table: "drift" }] })).id);
  assert.equal((await load("full", "drift/v1/")).status, "succeeded");
  assert.equal((await load("delta", "drift/v2/")).status, "succeeded");
  await page.goto(`${URL}/#/pools/browser`);
  await page.waitForSelector("td.drift div");
  const drift = await page.textContent("td.drift");
  assert.match(drift, /drift\.priority: added – → Int64/);
  assert.match(drift, /drift\/v2\/b\.csv/);
  await shot("schema-drift-report");
});

test("zero-copy: Test Connection, Save, Authenticate and Load Namespaces, pick shares", async () => {
  await page.goto(`${URL}/#/pools/browser/add/s3`);
  await page.waitForSelector("#s3-form");
  await page.check("#type-zerocopy");
  await page.fill("#name", "lake");
  await page.fill("#zc-region", "us-east-1");
  await page.fill("#warehouse", "123456789012");
  await page.fill("#catalog-url", S3 + "/iceberg");
  await page.check("#auth-key");
  await page.fill("#zc-access-key", env("LAKEPORT_TEST_GLUE_KEY"));
  await page.fill("#zc-secret", env("LAKEPORT_TEST_GLUE_SECRET"));
  await page.click("#advanced summary");
  await page.fill("#endpoint", S3);
  await page.check("#path-style");
  await page.check("#allow-http");
  await page.click("#test-connection");
  await page.waitForSelector("#test-ok");
  await shot("zero-copy-test-passed");
  await page.click("#save");
  await page.waitForSelector("#load-namespaces");
  await page.click("#load-namespaces");
  const ns = env("BROWSER_NAMESPACE");
  await page.waitForSelector(`input[data-share='${ns}']`);
  await page.check(`input[data-share='${ns}.events']`);
  await shot("zero-copy-namespaces");
  await page.click("#save-shares");
  await page.waitForSelector(`#shares code:has-text('lake.${ns}.events')`);
  await shot("zero-copy-shares");
  await page.goto(`${URL}/#/pools/browser/sql`);
  await page.fill("#sql", `SELECT count(*) AS n FROM lake.${ns}.events`);
  await page.click("#run-sql");
  await page.waitForSelector("#result");
  assert.equal(Number(await page.textContent("#result tr:nth-child(2) td")), 400);
  await shot("zero-copy-sql");
});

// The values a table preview shows come from anybody's files: every payload must appear as text,
// and none may run — not by escaping alone (no CSP violation is even attempted), and not even when
// markup does get in (then the Content-Security-Policy blocks it).
test("hostile values in a file are shown as text and nothing runs", async () => {
  const nothingRan = async (where) => {
    assert.equal(await page.evaluate(() => window.__xss), undefined, `${where}: a payload ran`);
    assert.deepEqual(dialogs, [], `${where}: a dialog opened`);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], `${where}: markup got in and was blocked by the CSP`);
    assert.equal(await page.$("#xss-link"), null, `${where}: a payload became an element`);
    assert.notEqual(await page.evaluate(() => getComputedStyle(document.body).display), "none", `${where}: a payload styled the page`);
  };
  await page.goto(`${URL}/#/pools/browser/connections/s3-events`);
  await page.waitForSelector("#browser");
  await page.click("a[data-prefix='hostile/']");
  await page.waitForSelector("input[data-key='hostile/payloads.csv']");
  // The key that is itself a payload is listed by name.
  const names = await page.$$eval("#browser tr td:nth-child(2)", (tds) => tds.map((td) => td.textContent));
  assert.ok(names.includes(PAYLOADS.key.slice("hostile/".length)), JSON.stringify(names));
  await nothingRan("bucket browser");
  await page.check("input[data-key='hostile/payloads.csv']");
  await page.click("#run-extraction");
  await page.waitForSelector("#run-done", { timeout: 60000 });
  await shot("hostile-extracted");

  const cells = async () => page.$$eval("#result tr", (trs) => trs.slice(1).map((tr) => [...tr.cells].map((c) => c.textContent)));
  await page.goto(`${URL}/#/pools/browser/tables/payloads`);
  await page.waitForSelector("#result");
  const headers = await page.$$eval("#result th", (ths) => ths.map((th) => th.textContent));
  assert.ok(headers.includes(PAYLOADS.column), JSON.stringify(headers));
  const previewed = (await cells()).map((r) => r[headers.indexOf("payload")]);
  assert.deepEqual([...previewed].sort(), [...PAYLOADS.values].sort(), "every value is shown exactly as the file holds it");
  await shot("hostile-preview");
  await nothingRan("table preview");

  await page.goto(`${URL}/#/pools/browser/sql`);
  await page.fill("#sql", "SELECT * FROM payloads ORDER BY id");
  await page.click("#run-sql");
  await page.waitForSelector("#result");
  const rows = await cells();
  assert.deepEqual(rows.map((r) => r[1]), PAYLOADS.values);
  assert.deepEqual(rows.map((r) => r[2]), PAYLOADS.values, "the column whose name is a payload");
  await nothingRan("SQL result");
  await page.goto(`${URL}/#/pools/browser`);
  await page.waitForSelector("#tables");
  await nothingRan("pool page");

  // Were markup ever to get in, the policy stops it: an inline handler does not run.
  await page.evaluate(() => document.getElementById("app").insertAdjacentHTML("beforeend", `<img src="/no-such-image" onerror="window.__xss='csp'">`));
  await page.waitForFunction(() => window.__csp.length > 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined, "the CSP let an inline handler run");
  assert.match((await page.evaluate(() => window.__csp)).join("\n"), /script-src/);
});

test("a read-only token sees tables, previews and SQL, and nothing else", async () => {
  await page.goto(`${URL}/#token=${encodeURIComponent(env("LAKEPORT_READONLY_TOKEN"))}`);
  await page.waitForSelector("#read-only-note");
  assert.equal(await page.$("#create-pool"), null);
  await shot("read-only-pools");
  await page.click("a[href='#/pools/browser']");
  await page.waitForSelector("#tables");
  assert.equal(await page.$("#add-connection"), null, "no connections for read-only tokens");
  assert.equal(await page.$("#jobs"), null, "no job history for read-only tokens");
  await shot("read-only-pool");
  await page.click("a[href='#/pools/browser/tables/daily']");
  await page.waitForSelector("#result");
  assert.equal(await page.$("#drop-card"), null, "no drop for read-only tokens");
  await page.goto(`${URL}/#/pools/browser/sql`);
  await page.fill("#sql", "SELECT count(*) AS n FROM daily");
  await page.click("#run-sql");
  await page.waitForSelector("#result");
  assert.equal(Number(await page.textContent("#result tr:nth-child(2) td")), Number(env("EXPECTED_DAILY_ROWS")));
  // SQL only reads, for every token.
  await page.fill("#sql", "DROP TABLE daily");
  await page.click("#run-sql");
  await page.waitForSelector("#sql-error");
  assert.match(await page.textContent("#sql-error"), /DROP TABLE is not allowed.*lakeport table drop/);
  await shot("read-only-sql-refused");
  // The API refuses what the console does not offer.
  const status = await page.evaluate(() => fetch("/api/pools/browser/connections", { headers: { Authorization: "Bearer " + localStorage.getItem("lakeport.token") } }).then((r) => r.status));
  assert.equal(status, 403);
});

test("an admin drops a table from its page; the job history records it", async () => {
  await page.goto(`${URL}/#token=${encodeURIComponent(TOKEN)}`);
  await page.waitForSelector("#create-pool");
  await page.goto(`${URL}/#/pools/browser/tables/payloads`);
  await page.waitForSelector("#drop-card");
  assert.equal(await page.isDisabled("#drop-table"), true, "the name must be typed first");
  await page.fill("#drop-confirm", "payloads");
  await shot("drop-table");
  await page.click("#drop-table");
  await page.waitForSelector("#jobs");
  const tables = await page.$$eval("#tables tr", (trs) => trs.slice(1).map((tr) => tr.cells[0].textContent));
  assert.ok(!tables.includes("payloads") && tables.includes("daily"), JSON.stringify(tables));
  const job = await page.$$eval("#jobs tr:nth-child(2) td", (tds) => tds.map((td) => td.textContent));
  assert.equal(job[2], "drop");
  assert.equal(job[3], "payloads");
  assert.equal(job[4], "succeeded");
  await shot("table-dropped");
});

// Saved extractions: from the bucket picker "Save as extraction" with column settings (from the
// files' inferred columns) and a schedule whose next three run times show as it is typed; the
// extraction's page runs it now and shows its history; the pool lists it with its next run.
test("save as extraction with column settings and a schedule, run now, history", async () => {
  const call = async (method, path, body) => {
    const r = await fetch(`${URL}/api${path}`, { method, headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    return [r.status, await r.json().catch(() => null)];
  };
  assert.equal((await call("POST", "/pools", { name: "saved" }))[0], 201);
  const config = { type: "s3-extraction", region: "us-east-1", bucket: BUCKET, access_key_id: env("LAKEPORT_TEST_READER_KEY"), endpoint: S3, path_style: true, allow_http: true };
  assert.equal((await call("POST", "/pools/saved/connections", { name: "src", config, secret: env("LAKEPORT_TEST_READER_SECRET") }))[0], 201);

  await page.goto(`${URL}/#token=${encodeURIComponent(TOKEN)}`);
  // The pools view of the sign-in renders first (a later view can still be overtaken by an
  // earlier one's late render: issue 17, "a view never renders under another view's URL").
  await page.waitForSelector("#create-pool");
  await page.goto(`${URL}/#/pools/saved/connections/src`);
  await page.click("a[data-prefix='events/']");
  await page.waitForSelector("input[data-key='events/daily/']");
  await page.check("input[data-key='events/daily/']");
  await page.check("#mode-delta");
  await page.click("#save-extraction");
  await page.waitForSelector("input[data-load='vendor']");
  await page.fill("#x-name", "daily_hourly");
  await page.fill("#x-schedule", "15 * * *");
  await page.waitForSelector("#x-schedule-error");
  assert.match(await page.textContent("#x-schedule-error"), /4 fields/);
  await page.fill("#x-schedule", "15 * * * *");
  await page.waitForSelector("#x-next li:nth-child(3)");
  const next = await page.$$eval("#x-next li", (lis) => lis.map((l) => l.textContent));
  assert.equal(next.length, 3);
  assert.ok(next.every((t) => /:15 UTC$/.test(t)), next.join(", "));
  await page.uncheck("input[data-load='resource']");
  await page.uncheck("input[data-load='timestamp']");
  await page.check("input[data-pseudo='vendor']");
  await shot("save-as-extraction");
  await page.click("#x-save");

  await page.waitForSelector("#x-run");
  assert.match(await page.textContent("#x-settings"), /pseudonymised vendor/);
  assert.match(await page.textContent("#x-schedule-info"), /15 \* \* \* \*/);
  await shot("extraction-page");
  await page.click("#x-run");
  await page.waitForSelector("#x-history td.status:text('succeeded')", { timeout: 60000 });
  assert.equal(await page.textContent("#x-history td.trigger"), "manual");
  assert.equal(Number(await page.textContent("#x-history td.rows")), Number(env("EXPECTED_DAILY_ROWS")));
  await shot("extraction-history");

  // The table has the chosen columns; the vendor is a 64-hex-digit pseudonym.
  const [, q] = await call("POST", "/pools/saved/query", { sql: "SELECT * FROM daily LIMIT 1" });
  assert.deepEqual(q.columns.map((c) => c.name), ["case_id", "activity", "cost", "vendor", "step"]);
  assert.match(q.rows[0].vendor, /^[0-9a-f]{64}$/);

  await page.goto(`${URL}/#/pools/saved`);
  await page.waitForSelector("#saved a[href='#/pools/saved/extractions/daily_hourly']");
  assert.match(await page.textContent("#saved"), /:15/);
  await shot("pool-saved-extractions");
});
