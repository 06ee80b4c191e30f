// Browser tests of the AOI console, driven by server/tests/console_e2e.rs, which starts
// `aoi serve` on a fresh database, seeds a tenant (an admin, olga the operator, vera the viewer),
// opens an incident and starts a session whose mitigation write waits for approval.
//
// Environment: AOI_BASE (http://127.0.0.1:port), AOI_INCIDENT, AOI_ADMIN_PASSWORD,
// AOI_EXPIRED_TOKEN (a token of the server's key that has expired), AOI_SHOTS (the folder for
// the screenshots), AOI_CHROMIUM (default /usr/bin/chromium).
//
// Any message of type error in a page's console, or an uncaught page error, fails the run.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const base = need("AOI_BASE");
const incident = need("AOI_INCIDENT");
const adminPassword = need("AOI_ADMIN_PASSWORD");
const expiredToken = need("AOI_EXPIRED_TOKEN");
const shots = need("AOI_SHOTS");
const benchExpect = JSON.parse(need("AOI_BENCH_EXPECT"));
const apiKey = need("AOI_API_KEY");
const newAlert = need("AOI_NEW_ALERT");
const executablePath = process.env.AOI_CHROMIUM || "/usr/bin/chromium";
const incidentUrl = `${base}/console/incidents/${incident}`;
const TIMEOUT = 60_000;

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`console e2e: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

mkdirSync(shots, { recursive: true });
const consoleErrors = [];
let step = "start";

function check(condition, message) {
  if (!condition) throw new Error(`${step}: ${message}`);
}

async function newPage(browser, who, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(`[${who}] ${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => consoleErrors.push(`[${who}] ${page.url()}: uncaught ${err.message}`));
  return { context, page };
}

async function shot(page, name) {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

async function signIn(page, username, password) {
  await page.goto(`${base}/console/sign-in`);
  await page.fill("input[name=tenant]", "default");
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL("**/console/incidents**"), page.click("button[type=submit]")]);
}

const atSignIn = (url) => url.pathname === "/console/sign-in";

/// Waits until the page's live region is hydrated and follows the event stream.
async function live(page) {
  await page.waitForSelector('.live-region[data-live="connected"]');
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

try {
  // Sign in: a wrong password is refused with a message, the right one lands on the list.
  step = "sign in";
  const vera = await newPage(browser, "vera");
  await vera.page.goto(`${base}/console/sign-in`);
  await shot(vera.page, "01-sign-in");
  await vera.page.fill("input[name=tenant]", "default");
  await vera.page.fill("input[name=username]", "vera");
  await vera.page.fill("input[name=password]", "not-her-password");
  await vera.page.click("button[type=submit]");
  await vera.page.waitForSelector("#sign-in-problem");
  check((await vera.page.textContent("#sign-in-problem")).includes("not right"), "a wrong password says so");
  await signIn(vera.page, "vera", "viewer-password");
  await live(vera.page);
  const row = vera.page.locator(`tr[data-incident="${incident}"]`);
  await row.waitFor();
  await shot(vera.page, "02-incidents");

  // A new alert opens an incident: it appears in the open list without a reload.
  step = "live list";
  await vera.page.evaluate(() => { window.__samePage = "yes"; });
  const openBefore = Number(await vera.page.locator("[data-testid=count-open] .count").textContent());
  const rows = await vera.page.locator("tr[data-incident]").count();
  const alerted = await fetch(`${base}/api/v1/alerts/alertmanager`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: newAlert,
  });
  check(alerted.status === 200, `the alert was accepted (${alerted.status})`);
  const opened = (await alerted.json()).alerts[0].incident_id;
  await vera.page.locator(`tr[data-incident="${opened}"]`).waitFor();
  check((await vera.page.locator("tr[data-incident]").count()) === rows + 1, "one more row");
  const openAfter = Number(await vera.page.locator("[data-testid=count-open] .count").textContent());
  check(openAfter === openBefore + 1, `the open count went from ${openBefore} to ${openAfter}`);
  check((await vera.page.evaluate(() => window.__samePage)) === "yes", "the list was not reloaded");

  // A viewer sees the pending write but no approve control, and a forged approve is refused.
  step = "viewer";
  await vera.page.goto(incidentUrl);
  await live(vera.page);
  const card = vera.page.locator("article.approval");
  await card.waitFor({ timeout: 120_000 });
  check((await vera.page.locator("[data-testid=approve-form]").count()) === 0, "a viewer has no approve form");
  check((await vera.page.locator("[data-testid=no-decide]").count()) === 1, "a viewer is told they cannot decide");
  const approvalId = await card.getAttribute("data-approval");
  await shot(vera.page, "03-incident-viewer");
  const forged = await vera.context.request.post(`${base}/console/approvals/${approvalId}/approve`, {
    form: { reason: "forged by a viewer" },
    headers: { Origin: base },
    maxRedirects: 0,
  });
  check(forged.status() === 403, `a forged approve by a viewer answers 403, got ${forged.status()}`);
  await vera.page.reload();
  await vera.page.locator(`article.approval[data-approval="${approvalId}"]`).waitFor();

  // An operator approves; the timeline follows without a reload.
  step = "operator approves";
  const olga = await newPage(browser, "olga");
  await signIn(olga.page, "olga", "operator-password");
  await olga.page.goto(incidentUrl);
  await live(olga.page);
  await olga.page.evaluate(() => { window.__samePage = "yes"; });
  const form = olga.page.locator(`article.approval[data-approval="${approvalId}"] [data-testid=approve-form]`);
  await form.waitFor();
  await shot(olga.page, "04-incident-approval");
  // The reason is required: an empty one does not submit.
  await form.locator("button").click();
  check((await olga.page.locator(`article.approval[data-approval="${approvalId}"]`).count()) === 1, "an empty reason does not approve");
  await form.locator("textarea").fill("Restoring the target port is the documented fix.");
  await form.locator("button").click();
  await olga.page.locator(`article.approval[data-approval="${approvalId}"]`).waitFor({ state: "detached" });
  await olga.page.locator('[data-testid=gate-outcome]:has-text("approved")').first().waitFor({ timeout: 120_000 });
  check((await olga.page.evaluate(() => window.__samePage)) === "yes", "the page was not reloaded");
  await shot(olga.page, "05-incident-after-approval");

  // The session ends; olga says it was wrong (failure pattern F), which sends it to the evolver.
  step = "verdict";
  const verdict = olga.page.locator("form.verdict").first();
  await verdict.waitFor({ timeout: 120_000 });
  await verdict.locator('input[value="wrong"]').check();
  await verdict.locator("select[name=category]").selectOption("F");
  await verdict.locator("button").click();
  await olga.page.locator('[data-testid=verdict]:has-text("wrong (F)")').waitFor();
  check((await olga.page.evaluate(() => window.__samePage)) === "yes", "the verdict did not reload the page");

  // The same approval on a phone.
  step = "phone";
  const phone = await newPage(browser, "olga-phone", { width: 390, height: 844 });
  await signIn(phone.page, "olga", "operator-password");
  await phone.page.goto(incidentUrl);
  await live(phone.page);
  await shot(phone.page, "06-incident-phone");

  // An admin installs a plugin; its tools appear among the agent's tools.
  step = "plugin";
  const admin = await newPage(browser, "admin", { width: 1920, height: 1080 });
  await signIn(admin.page, "admin", adminPassword);
  await admin.page.goto(`${base}/console/plugins`);
  await live(admin.page);
  await shot(admin.page, "07-plugins");
  const plugin = admin.page.locator('article.plugin[data-plugin="prometheus"]');
  await plugin.waitFor();
  const tools = await plugin.locator("ul.tools li code").allTextContents();
  check(tools.length > 0, "the prometheus card lists its tools");
  await plugin.locator('input[name="config.base_url"]').fill("http://127.0.0.1:9090");
  await plugin.locator('button:has-text("Install")').click();
  for (const tool of tools) {
    await admin.page.locator(`[data-testid=active-tools] li[data-tool="${tool}"]`).waitFor();
  }
  await shot(admin.page, "08-plugins-installed");

  // The admin reviews the corrective signal drafted from olga's verdict and approves it.
  step = "review";
  await admin.page.goto(`${base}/console/review`);
  const signalRow = admin.page.locator("tr[data-signal]").first();
  for (let i = 0; i < 120 && (await signalRow.count()) === 0; i++) {
    await admin.page.waitForTimeout(1000);
    await admin.page.reload();
  }
  await signalRow.waitFor();
  await shot(admin.page, "09-review-queue");
  await Promise.all([admin.page.waitForURL("**/console/review/*"), signalRow.locator("a").click()]);
  check((await admin.page.locator("[data-testid=patterns]").textContent()).trim().length > 0, "the signal names its failure patterns");
  check((await admin.page.locator("section.phase").count()) === 4, "the repaired plan is shown by phase");
  check((await admin.page.locator("ol.timeline li").count()) > 0, "the failed trajectory is beside the signal");
  await shot(admin.page, "10-review-signal");
  await Promise.all([admin.page.waitForURL((url) => url.pathname === "/console/review"), admin.page.click("[data-testid=approve-signal]")]);
  await admin.page.locator('tr[data-signal] :text("approved")').first().waitFor();
  await shot(admin.page, "11-review-approved");

  // Recorded benchmark runs: each chart shows the expected numbers; drill down to a trajectory.
  step = "benchmarks";
  await admin.page.goto(`${base}/console/benchmarks`);
  check((await admin.page.locator("tr[data-run]").count()) === benchExpect.length, "every recorded run is listed");
  await shot(admin.page, "12-benchmarks");
  for (const run of benchExpect) {
    await admin.page.goto(`${base}/console/benchmarks`);
    await Promise.all([
      admin.page.waitForURL("**/console/benchmarks/*"),
      admin.page.locator(`tr[data-run] a:text-is("${run.name}")`).click(),
    ]);
    const k = run.k;
    let checked = 0;
    for (const [type, rates] of Object.entries(run.by_task_type)) {
      if (rates.tasks === 0) continue;
      for (const [series, expected] of [[`avg@${k}`, rates.avg_at_k], [`best@${k}`, rates.best_at_k]]) {
        const bar = admin.page.locator(`#by-task-type rect[data-series="${series}"][data-group="${type}"]`);
        check((await bar.count()) === 1, `${run.name}: one ${series} bar for ${type}`);
        const shown = Number(await bar.getAttribute("data-value"));
        check(Math.abs(shown - expected) < 0.001, `${run.name}: ${series} of ${type} is ${shown} on the chart, ${expected} expected`);
        const numbers = await admin.page.locator("#by-task-type details table").textContent();
        check(numbers.includes(`${(expected * 100).toFixed(1)}%`), `${run.name}: the numbers table shows ${series} of ${type}`);
        checked += 1;
      }
    }
    check(checked >= 2, `${run.name}: the chart has bars to check`);
    const overallAvg = (await admin.page.textContent("[data-testid=avg-at-k]")).trim();
    check(overallAvg === `${(run.overall.avg_at_k * 100).toFixed(1)}%`, `${run.name}: overall avg@k ${overallAvg}`);
    const overallBest = (await admin.page.textContent("[data-testid=best-at-k]")).trim();
    check(overallBest === `${(run.overall.best_at_k * 100).toFixed(1)}%`, `${run.name}: overall best@k ${overallBest}`);
    for (const [type, [before, after]] of Object.entries(run.evolve ?? {})) {
      const b = Number(await admin.page.locator(`#evolve rect[data-series="before"][data-group="${type}"]`).getAttribute("data-value"));
      const a = Number(await admin.page.locator(`#evolve rect[data-series="after (own lessons)"][data-group="${type}"]`).getAttribute("data-value"));
      check(Math.abs(b - before) < 0.001 && Math.abs(a - after) < 0.001, `${run.name}: evolve ${type} ${b} -> ${a}, expected ${before} -> ${after}`);
    }
    await shot(admin.page, `13-benchmark-${run.name.replaceAll(" ", "-")}`);
  }
  // The `aoi bench` run kept its trajectories: task -> runs -> one run's steps.
  await admin.page.goto(`${base}/console/benchmarks`);
  await Promise.all([admin.page.waitForURL("**/console/benchmarks/*"), admin.page.locator(`tr[data-run] a:text-is("${benchExpect[0].name}")`).click()]);
  await Promise.all([admin.page.waitForURL("**/tasks/*"), admin.page.locator("tr[data-task] a").first().click()]);
  await shot(admin.page, "14-benchmark-task");
  await Promise.all([admin.page.waitForURL("**/runs/*"), admin.page.locator("a:has-text('Trajectory')").first().click()]);
  check((await admin.page.locator("ol.timeline li").count()) > 0, "the run's trajectory is shown");
  await shot(admin.page, "15-benchmark-trajectory");

  // Models: the candidate goes to a 10% canary, then active.
  step = "models";
  await admin.page.goto(`${base}/console/models`);
  const adapter = admin.page.locator('article[data-adapter="sre-lora"]');
  await adapter.waitFor();
  await Promise.all([admin.page.waitForURL((u) => u.pathname === "/console/models"), adapter.locator("text=Start canary").click()]);
  await adapter.locator('tr[data-version="1"] :text("canary")').first().waitFor();
  check((await adapter.locator('tr[data-version="1"]').textContent()).includes("10%"), "the canary takes 10%");
  await Promise.all([admin.page.waitForURL((u) => u.pathname === "/console/models"), adapter.locator("text=Promote canary to active").click()]);
  await adapter.locator('tr[data-version="1"] :text("active")').first().waitFor();
  await shot(admin.page, "20-models");

  // Administration: a user, an API key shown once, a guardrail, the audit log and its export.
  step = "admin";
  await admin.page.goto(`${base}/console/admin`);
  await admin.page.fill("#new-username", "otto");
  await admin.page.fill("#new-password", "otto-password-1");
  await admin.page.selectOption("#new-role", "operator");
  await Promise.all([admin.page.waitForURL((u) => u.pathname === "/console/admin"), admin.page.click("text=Add user")]);
  await admin.page.locator('tr[data-user="otto"]').waitFor();
  await admin.page.fill("#key-name", "ci-deploy");
  await Promise.all([admin.page.waitForLoadState("load"), admin.page.click("text=Create key")]);
  const secret = (await admin.page.textContent("[data-testid=new-key-secret]")).trim();
  check(secret.length > 20, "the new key is shown");
  await shot(admin.page, "17-admin-new-key");
  await admin.page.goto(`${base}/console/admin`);
  check(!(await admin.page.content()).includes(secret), "the key is shown only once");
  await admin.page.fill("#g-action", "kubectl delete*");
  await admin.page.selectOption("#g-decision", "deny");
  await Promise.all([admin.page.waitForURL((u) => u.pathname === "/console/admin"), admin.page.click("text=Save rule")]);
  await admin.page.locator('td code:text-is("kubectl delete*")').waitFor();
  await shot(admin.page, "18-admin");
  await admin.page.goto(`${base}/console/admin/audit?action=user.create`);
  await admin.page.locator('tr[data-action="user.create"]').first().waitFor();
  await shot(admin.page, "19-audit");
  const exported = await admin.context.request.get(`${base}/console/admin/audit.jsonl?action=user.create`);
  check(exported.status() === 200, `the audit export answers ${exported.status()}`);
  const lines = (await exported.text()).trim().split("\n").map((l) => JSON.parse(l));
  check(lines.length >= 1 && lines.every((l) => l.action === "user.create"), "the export holds the searched records as JSON Lines");
  check(lines.some((l) => JSON.stringify(l.details).includes("otto")), "otto's creation is in the export");
  // A viewer has no administration.
  const veraAdmin = await vera.context.request.get(`${base}/console/admin`, { maxRedirects: 0 });
  check(veraAdmin.status() === 403, `a viewer's administration page answers ${veraAdmin.status()}`);

  // An expired session is sent to sign in with a clear message.
  step = "expiry";
  const late = await newPage(browser, "late");
  await late.context.addCookies([{ name: "aoi_console", value: expiredToken, url: `${base}/console/` }]);
  await late.page.goto(`${base}/console/incidents`);
  check(late.page.url().includes("/console/sign-in"), `an expired session leads to sign-in, not ${late.page.url()}`);
  check((await late.page.textContent("main")).includes("expired"), "the sign-in page says the session expired");
  await shot(late.page, "16-session-expired");

  // Sign out.
  step = "sign out";
  await Promise.all([vera.page.waitForURL(atSignIn), vera.page.getByRole("button", { name: "Sign out" }).click()]);
  check((await vera.page.textContent("main")).includes("signed out"), "the sign-in page says so");
  await vera.page.goto(`${base}/console/incidents`);
  check(atSignIn(new URL(vera.page.url())), "signed out, the console leads to sign-in");

  step = "browser console";
  check(consoleErrors.length === 0, `errors in the browser console:\n${consoleErrors.join("\n")}`);
  console.log(`console e2e: passed; screenshots in ${shots}`);
} catch (e) {
  console.error(`console e2e: FAILED at ${e.message ?? e}`);
  if (consoleErrors.length) console.error(`browser console errors:\n${consoleErrors.join("\n")}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
