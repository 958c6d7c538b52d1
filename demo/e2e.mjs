// The demo seen through a real browser (scripts/e2e runs this against a running
// demo): log in, look at the dashboard and the pending charger, add that charger
// through the integration's "Add charger" flow, then check that it is balanced;
// then watch the site: every group (the visitor panel of mixed ports too) within
// its limit on every phase at every look, the Modbus charger and the charger
// already in Home Assistant given current their cars draw, the outlets taking
// turns, no limit hunting; then each resident's energy and cost this month, and
// a statement exported (export_statements) and opened through its signed link.
//
//   node demo/e2e.mjs READY_FILE ARTIFACTS_DIR
//
// READY_FILE is what `python -m demo.run --ready-file` writes (URLs, login, token).
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM), driven by playwright-core:
// no browser is downloaded. Every wait is bounded; exits 1 on the first failure.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [readyFile, artifacts] = process.argv.slice(2);
if (!readyFile || !artifacts) {
  console.error('usage: node demo/e2e.mjs READY_FILE ARTIFACTS_DIR');
  process.exit(2);
}
const ready = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
const extra = ready.extra_charger;
const EXTRA_GROUP = 'Garage panel';
const BALANCE_TIMEOUT_MS = 120_000;
const STEADY_S = 45;
const EXTRA_WATCH_S = 60;
const LOOK_MS = 3000;
const MAX_STEADY_TURNS = 2;
const slug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
const GROUPS = [slug(ready.site_name || 'Maple Court'), ...(ready.groups || []).map((g) => slug(g.name))];
const OTHERS = ready.other_ports || [];
const OUTLETS = OTHERS.filter((p) => p.kind === 'outlet');
const FOLLOWERS = OTHERS.filter((p) => p.kind === 'modbus' || p.kind === 'ha');
fs.mkdirSync(artifacts, { recursive: true });

const started = Date.now();
let stepStarted = started;
const timings = [];
function step(name) {
  const now = Date.now();
  if (timings.length) timings[timings.length - 1].s = (now - stepStarted) / 1000;
  timings.push({ name, s: null });
  stepStarted = now;
  console.log(`[e2e] ${((now - started) / 1000).toFixed(1).padStart(5)} s  ${name}`);
}

async function api(pathname) {
  const resp = await fetch(ready.url + pathname, {
    headers: { Authorization: `Bearer ${ready.token}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!resp.ok) throw new Error(`GET ${pathname}: HTTP ${resp.status}`);
  return resp.json();
}

async function apiPost(pathname, body) {
  const resp = await fetch(ready.url + pathname, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ready.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!resp.ok) throw new Error(`POST ${pathname}: HTTP ${resp.status}: ${await resp.text()}`);
  return resp.json();
}

async function simulator() {
  const resp = await fetch(ready.status_url, { signal: AbortSignal.timeout(10_000) });
  return resp.json();
}

async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last && last.ok) return last;
    } catch (err) {
      last = { error: String(err) };
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s (last: ${JSON.stringify(last)})`);
}

async function shot(page, name, options = {}) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, ...options });
  console.log(`[e2e]          screenshot ${file}`);
}

// A field of a Home Assistant form, by its label: the form's ha-selector whose
// label property starts with it (labels are not tied to the inputs the same way in
// every frontend version).
async function field(dialog, label) {
  const selectors = dialog.locator('ha-selector');
  const labels = await selectors.evaluateAll((els) => els.map((e) => String(e.label || '')));
  const index = labels.findIndex((l) => l.startsWith(label));
  if (index < 0) throw new Error(`no field ${label} in the form (fields: ${labels.join(', ')})`);
  return selectors.nth(index);
}

async function fill(dialog, label, value) {
  await (await field(dialog, label)).locator('input').first().fill(String(value));
}

// A drop-down: open it, pick the option (2025.4: mwc-list-item, role option;
// 2026.10: ha-dropdown-item, role menuitem).
async function choose(dialog, page, label, option) {
  await (await field(dialog, label)).click();
  const item = page
    .getByRole('option', { name: option, exact: true })
    .or(page.getByRole('menuitem', { name: option, exact: true }));
  await item.filter({ visible: true }).first().click();
}

async function waitForDashboard(page) {
  await page.goto(ready.dashboard);
  await page.locator('hui-history-graph-card').first().waitFor({ timeout: 60_000 });
  // The graphs fetch history over the websocket: wait for their charts.
  await until('history graphs drawn', 60_000, async () => {
    const charts = await page
      .locator('hui-history-graph-card')
      .evaluateAll((cards) =>
        cards.filter((c) => c.shadowRoot?.querySelector('state-history-charts')).length,
      );
    return { ok: charts >= 5, charts };
  });
  await page.waitForTimeout(2000);
}

// Every group's load on every phase within its limit, as Home Assistant counts it
// (what it allocated; a port that has not confirmed a lowered limit still at the
// higher one). Returns the states.
async function withinLimits(log) {
  const states = Object.fromEntries((await api('/api/states')).map((s) => [s.entity_id, s]));
  for (const group of GROUPS) {
    const limit = Number(states[`sensor.${group}_limit_per_phase`]?.state);
    const loads = [1, 2, 3].map((n) => Number(states[`sensor.${group}_load_l${n}`]?.state));
    const line = `${group}: load ${loads.join(' / ')} A, limit ${limit} A`;
    if (log) console.log(`[e2e]          ${line}`);
    if (!(limit > 0) || loads.some((a) => Number.isNaN(a) || a > limit + 0.5)) {
      throw new Error(`over its limit or missing: ${line}`);
    }
  }
  return states;
}

function mixedDone(seen) {
  return (!OUTLETS.length || seen.outletOn.size > 0) && FOLLOWERS.every((p) => seen.served.has(p.id));
}

// One look at the mixed ports: the outlets that are on (never two that do not
// fit their circuit together), and whether the Modbus charger and the charger
// already in Home Assistant are allocated current their cars draw.
function lookAtMixed(states, sim, seen) {
  const on = OUTLETS.filter((p) => sim.ports[p.id]?.on);
  for (const p of on) seen.outletOn.add(p.name);
  if (on.length > 1) {
    const group = (ready.groups || []).find((g) => g.id === on[0].group);
    const limit = Number(states[`sensor.${slug(group?.name || '')}_limit_per_phase`]?.state);
    const total = on.reduce((sum, p) => sum + p.max_current_a, 0);
    if (!(total <= limit + 0.01)) {
      throw new Error(`outlets ${on.map((p) => p.name).join(' and ')} on together: ${total} A > ${limit} A`);
    }
  }
  for (const p of FOLLOWERS) {
    const allocated = Number(states[`sensor.${slug(p.name)}_allocated_current`]?.state);
    const drawn = Math.max(0, ...(sim.ports[p.id]?.currents_a || []));
    // Given at least the minimum, and the car draws it (not more, and at least
    // the minimum: a car follows a new limit within seconds).
    if (allocated >= 6 && drawn >= 5 && drawn <= allocated + 1) seen.served.add(p.id);
  }
}

async function watch(seconds, seen, done) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline && !done()) {
    const states = await withinLimits(false);
    lookAtMixed(states, await simulator(), seen);
    seen.looks += 1;
    await new Promise((r) => setTimeout(r, LOOK_MS));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let failed = null;
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
page.setDefaultTimeout(30_000);
try {
  step('log in');
  await page.goto(ready.url + '/');
  await page.locator('input[name="username"]').fill(ready.username);
  await page.locator('input[name="password"]').fill(ready.password);
  await page.locator('input[name="password"]').press('Enter');
  await page.waitForURL((u) => !u.pathname.startsWith('/auth/'), { timeout: 30_000 });
  // Logged in once the frontend has exchanged the code and kept its tokens.
  await page.waitForFunction(() => window.localStorage.getItem('hassTokens'), null, {
    timeout: 30_000,
  });
  await page.locator('ha-sidebar').waitFor({ timeout: 30_000 });

  step('open the dashboard');
  await waitForDashboard(page);
  await shot(page, '01-dashboard', { fullPage: true });

  if (extra) {
    step(`the unknown charger ${extra.id} is pending (Repairs)`);
    await page.goto(ready.url + '/config/repairs');
    await page.getByText(extra.id).first().waitFor({ timeout: 60_000 });
    await shot(page, '02-repairs-pending-charger');

    step('Add charger on the integration page');
    await page.goto(ready.url + '/config/integrations/integration/ev_power_share');
    let add = page.getByText('Add charger', { exact: true }).first();
    await page.getByText(ready.site_name || 'Maple Court').first().waitFor();
    if (!(await add.isVisible())) {
      // Home Assistant 2025.4: in the site entry's ⋮ menu.
      await page.getByRole('button', { name: 'Menu' }).first().click();
      add = page.getByText('Add charger', { exact: true }).first();
    }
    await add.click();
    const dialog = page.locator('dialog-data-entry-flow');
    await dialog.locator('input[name="charge_point_id"]').waitFor();
    await fill(dialog, 'Name', extra.name);
    await fill(dialog, 'Charge point id', extra.id);
    await choose(dialog, page, 'Power group', EXTRA_GROUP);
    await fill(dialog, 'Maximum current', extra.max_current_a);
    await fill(dialog, 'Failsafe current', extra.failsafe_a);
    // The form offers a generated password; this charger has its own already.
    await fill(dialog, 'Password', extra.password);
    await shot(page, '03-add-charger-form');
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await dialog.getByText(/created|success/i).first().waitFor({ timeout: 30_000 });
    await shot(page, '04-add-charger-done');
    await dialog.getByRole('button', { name: 'Finish' }).click();

    step(`${extra.id} is online and balanced`);
    const entity = `sensor.${extra.name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_allocated_current`;
    const result = await until(`${extra.id} balanced`, BALANCE_TIMEOUT_MS, async () => {
      const port = (await simulator()).ports[`${extra.id}/1`];
      const state = await api(`/api/states/${entity}`).catch(() => null);
      const allocated = state ? Number(state.state) : NaN;
      const drawn = Math.max(...port.currents_a);
      const online = await api(`/api/states/${entity.replace('sensor.', 'binary_sensor.').replace('_allocated_current', '_online')}`).catch(() => null);
      // Controlled (its failsafe accepted), given at least the minimum, holding
      // what it was given (sent in whole amperes; rises under 1 A are not sent),
      // and the car draws.
      return {
        ok:
          online?.state === 'on' &&
          allocated >= 6 &&
          port.limit_a <= allocated + 0.1 &&
          allocated - port.limit_a < 2 &&
          drawn > 1,
        online: online?.state,
        allocated,
        held: port.limit_a,
        drawn,
        vehicle: port.vehicle,
      };
    });
    console.log(
      `[e2e]          ${extra.id}: Home Assistant allocates ${result.allocated} A, ` +
        `the charger holds ${result.held} A, ${result.vehicle} draws ${result.drawn} A`,
    );
  }

  step('every group within its limit');
  const states = await withinLimits(true);
  const sim = await simulator();
  const charging = Object.values(sim.ports).filter((p) => p.transaction && p.limit_a >= 6);
  console.log(
    `[e2e]          simulator at ${sim.time}: ${charging.length} ports charging, ` +
      `main ${sim.legs.net_a.join(' / ')} A`,
  );
  if (charging.length < 2) throw new Error('fewer than two cars are sharing power');

  step(`watch ${STEADY_S} s: groups within limits, mixed ports served, no limit hunts`);
  // The limits the chargers are sent may rise (the site meter's estimate of the
  // apartments settles after the start) or step down for a new car, but must not
  // swing back and forth while the cars draw steadily: count the turns. An
  // outlet turns by design (on, off: it takes turns), so it is not counted.
  const before = await simulator();
  const seen = { outletOn: new Set(), served: new Set(), looks: 0 };
  await watch(STEADY_S, seen, () => false);
  const after = await simulator();
  if (OUTLETS.length || FOLLOWERS.length) {
    step(`the mixed ports (up to ${EXTRA_WATCH_S} s more)`);
    await watch(EXTRA_WATCH_S, seen, () => mixedDone(seen));
    for (const port of FOLLOWERS) {
      if (!seen.served.has(port.id)) {
        throw new Error(`${port.name} (${port.kind}) was never given current its car drew`);
      }
    }
    if (OUTLETS.length && !seen.outletOn.size) throw new Error('no outlet was ever switched on');
    console.log(
      `[e2e]          ${seen.looks} looks; outlets on at some point: ` +
        `${[...seen.outletOn].join(', ') || 'none'}; served: ${[...seen.served].join(', ')}`,
    );
  }
  const hunting = [];
  for (const [id, port] of Object.entries(after.ports)) {
    if (port.kind === 'outlet') continue;
    const turns = port.limit_reversals - (before.ports[id]?.limit_reversals ?? 0);
    console.log(`[e2e]          ${id}: limit turned ${turns} time(s), now ${port.limit_a} A`);
    if (turns > MAX_STEADY_TURNS) hunting.push(`${id} (${turns})`);
  }
  if (hunting.length) {
    throw new Error(
      `limits turned more than ${MAX_STEADY_TURNS} times in ${STEADY_S} s: ${hunting.join(', ')}`,
    );
  }

  step('dashboard and the new charger afterwards');
  await waitForDashboard(page);
  await shot(page, '05-dashboard-after', { fullPage: true });
  if (extra) {
    const slug = extra.name.toLowerCase().replace(/[^a-z0-9]+/g, '_');
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    await page.goto(
      `${ready.url}/history?entity_id=sensor.${slug}_allocated_current,sensor.${slug}_current_l1` +
        `&start_date=${encodeURIComponent(since)}`,
    );
    await page.locator('state-history-charts').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(2000);
    await shot(page, '06-new-charger-history');
  }
  step('residents this month: energy and cost per resident');
  const USERS = ready.users || [];
  let energyKwh = 0;
  for (const name of USERS) {
    const energy = await api(`/api/states/sensor.${slug(name)}_energy_this_month`);
    const cost = await api(`/api/states/sensor.${slug(name)}_cost_this_month`);
    if (!Number.isFinite(Number(energy.state))) {
      throw new Error(`${name}: energy this month is ${energy.state}`);
    }
    energyKwh += Number(energy.state);
    console.log(
      `[e2e]          ${name}: ${energy.state} kWh, ` +
        `${cost.state} ${cost.attributes.unit_of_measurement ?? ''}`,
    );
  }
  if (USERS.length && !(energyKwh > 0)) throw new Error('no resident has charged any energy');

  if (USERS.length) {
    step("export this month's statements and open one in the browser");
    const config = await api('/api/config');
    const month = new Intl.DateTimeFormat('en-CA', {
      timeZone: config.time_zone,
      year: 'numeric',
      month: '2-digit',
    }).format(new Date());
    const answer = await apiPost('/api/services/ev_power_share/export_statements?return_response', {
      config_entry_id: ready.entry_id,
      month,
    });
    const exported = answer.service_response;
    const account = exported.accounts.find((a) => a.kind === 'user' && a.sessions > 0);
    if (!account) throw new Error(`no resident's statement has a session: ${JSON.stringify(exported)}`);
    const html = account.files.find((f) => f.name.endsWith('.html'));
    console.log(
      `[e2e]          ${month}: ${exported.accounts.length} statements, ${account.name}: ` +
        `${account.sessions} session(s), ${account.energy_kwh} kWh, ${account.gross} ${account.currency}`,
    );
    await page.goto(ready.url + html.url);
    await page.getByText(account.name).first().waitFor({ timeout: 30_000 });
    await page.getByText(account.gross).first().waitFor({ timeout: 30_000 });
    await shot(page, '07-statement', { fullPage: true });
  }
  step('done');
} catch (err) {
  failed = err;
  console.error(`[e2e] FAILED: ${err.message}`);
  await shot(page, '99-failure').catch(() => {});
} finally {
  await browser.close();
}
console.log('[e2e] timings:');
for (const t of timings.filter((t) => t.s !== null)) {
  console.log(`[e2e]   ${t.s.toFixed(1).padStart(6)} s  ${t.name}`);
}
console.log(`[e2e]   ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  in all (browser)`);
process.exit(failed ? 1 : 0);
