import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/util/logger.js';
import { RecentWarnings } from '../../src/web/recent-warnings.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { startGatewayUnderTest, type GatewayUnderTest } from '../helpers/gateway.js';
import { MOSQUITTO, startMosquitto, type MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
/** Screenshots kept as test artifacts (.tmp/ is gitignored; CI keeps it). */
const artifacts = path.join(repoRoot, '.tmp', 'web-page');
const LED_PIN = 27;

/** The device sections of config/demo.yaml (sensors, input, LED), read every 2 s (a DHT's fastest) so the test need not wait 5 s a value. */
async function demoDevices(): Promise<string> {
  const demo = await readFile(path.join(repoRoot, 'config', 'demo.yaml'), 'utf8');
  const devices = demo.slice(demo.indexOf('\nsensors:') + 1);
  if (!devices.startsWith('sensors:') || !/interval: 5s/.test(devices)) throw new Error('config/demo.yaml: no sensors with interval: 5s');
  return devices.replace(/interval: 5s/g, 'interval: 2s\n    retries: 0\n    offline_after: 2');
}

const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;
let gw: GatewayUnderTest;
let cloud: MosquittoBroker;
let url: string;

describe.skipIf(CHROMIUM === undefined || MOSQUITTO === undefined)('the live page in chromium, on the demo gateway', () => {
  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    cloud = await startMosquitto(['allow_anonymous true']);
    cleanups.push(() => cloud.remove());
    const state = await makeTempDir('pi-edge-web-');
    cleanups.push(state.remove);
    const warnings = new RecentWarnings();
    // Warnings only, into the page's list; nothing to the test's output.
    const logger = createLogger({ level: 'warn', warnings }, { write: () => undefined });
    gw = await startGatewayUnderTest(
      `${await demoDevices()}
http: { host: 127.0.0.1, port: 0, web: { update_interval: 500ms } }
bridges:
  - connection: cloud
    addresses: [127.0.0.1:${cloud.port}]
    restart_timeout: 0.5
    topics: ['test/# out 1']
`,
      { stateDir: state.dir, logger, warnings },
    );
    cleanups.push(() => gw.stop());
    url = `http://127.0.0.1:${gw.running.http!.port()}/`;
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  /** The text of every channel value of a sensor card, joined. */
  const readings = (page: Page, sensor: string) => page.locator(`[data-device="${sensor}"] [data-channel]`).allInnerTexts().then((t) => t.join(' '));

  it('shows the demo sensors with changing values, switches the LED through the command path, and shows a faulted sensor and a cloud outage', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(url);
    await expect.poll(() => page.locator('#link').innerText()).toBe('live');
    await expect.poll(() => page.locator('#title').innerText()).toBe('Test Pi');

    // Both demo sensors, with values and units from their state topics, and values that change as the room drifts.
    for (const sensor of ['climate', 'porch']) {
      await expect.poll(() => page.locator(`[data-device="${sensor}"]`).getAttribute('data-availability'), { timeout: 15_000 }).toBe('online');
      await expect.poll(() => page.locator(`[data-device="${sensor}"] [data-channel=temperature]`).innerText(), { timeout: 15_000 }).toMatch(/^-?\d+(\.\d+)?$/);
    }
    await expect(page.locator('[data-device="climate"] .unit').first().innerText()).resolves.toBe('°C');
    const first = await readings(page, 'climate');
    await expect.poll(() => readings(page, 'climate'), { timeout: 20_000 }).not.toBe(first);
    await expect(page.locator('[data-device="button"]').getAttribute('data-state')).resolves.toBe('OFF');

    // The LED: off, then one click. The page publishes on test/led/set like any client; the simulated pin goes high and
    // the state the gateway publishes comes back to the page.
    const led = page.locator('[data-device="led"]');
    await expect.poll(() => led.getAttribute('data-state')).toBe('OFF');
    expect(gw.gpio.level(LED_PIN)).toBe(0);
    await led.locator('[data-action=toggle]').click();
    await expect.poll(() => gw.gpio.level(LED_PIN)).toBe(1);
    await expect.poll(() => led.getAttribute('data-state')).toBe('ON');
    await expect.poll(() => led.locator('[data-role=answer]').innerText()).toBe('done');
    await expect(led.locator('[data-action=toggle]').innerText()).resolves.toBe('Turn off');

    // The bridge is up; the cloud goes away: down, and the readings the sensors keep publishing pile up in its queue.
    const bridge = page.locator('[data-bridge="cloud"]');
    await expect.poll(() => bridge.getAttribute('data-connected'), { timeout: 15_000 }).toBe('true');
    await cloud.stop();
    await expect.poll(() => bridge.getAttribute('data-connected'), { timeout: 15_000 }).toBe('false');
    await expect.poll(() => bridge.locator('[data-role=link]').innerText()).toBe('down');
    await expect.poll(async () => Number(await bridge.getAttribute('data-depth')), { timeout: 15_000 }).toBeGreaterThan(0);
    const depth = Number(await bridge.getAttribute('data-depth'));
    await expect.poll(async () => Number(await bridge.getAttribute('data-depth')), { timeout: 15_000 }).toBeGreaterThan(depth);

    // By now the plots of the last hour have points in more than one 10 s bucket: lines.
    await expect.poll(() => page.locator('[data-device="porch"] svg.plot polyline').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(() => bridge.locator('svg.plot polyline').count(), { timeout: 20_000 }).toBe(1);

    // A sensor stops answering on its bus: unavailable on the page, with its error; the other one keeps reading.
    gw.sim.chips.bme280.inject({ kind: 'nack', count: Infinity });
    const climate = page.locator('[data-device="climate"]');
    await expect.poll(() => climate.getAttribute('data-availability'), { timeout: 15_000 }).toBe('offline');
    await expect.poll(() => climate.locator('[data-role=availability]').innerText()).toBe('offline');
    await expect(page.locator('[data-device="porch"]').getAttribute('data-availability')).resolves.toBe('online');
    // The log's warnings reach the page too (the bridge's lost connection, at least).
    await expect.poll(() => page.locator('#warnings li:not(.empty)').count(), { timeout: 15_000 }).toBeGreaterThan(0);

    const shot = await page.screenshot({ fullPage: true });
    await writeFile(path.join(artifacts, 'desktop.png'), shot);
    if (process.env.UPDATE_DOCS_SCREENSHOT) await writeFile(path.join(repoRoot, 'docs', 'web-page.png'), shot);

    // A phone: one column, nothing wider than the screen.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await phone.goto(url);
    await expect.poll(() => phone.locator('#link').innerText()).toBe('live');
    // A string: the test's tsconfig has no DOM types, the expression runs in the page.
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await writeFile(path.join(artifacts, 'phone.png'), await phone.screenshot({ fullPage: true }));

    expect(pageErrors).toEqual([]);
    await phone.close();
    await page.close();
  }, 120_000);
});
