// What aedes' test files get as `node:test` (resolve-aedes.mjs): node:test itself, but each top-level test() without
// a timeout of its own gets one. A test that waits for something the engine deliberately never does (an event, a
// disconnect) then fails alone; with only --test-timeout, that flag's timeout also applies to the whole file, which
// would be killed with every test after the one waiting.
import process from 'node:process';
import * as nodeTest from 'node:test';

export * from 'node:test';

// The slowest passing test takes 3.1 s by its own timers (drain-timeout.js, a 3 s deadlock watch); under load the
// others stay below 2.5 s (not-blocking.js, 500 connections). 5 s fails a test waiting for what never comes without
// spending 10 s on each of the deviations that wait (docs/aedes-suite-deviations.md).
const TIMEOUT_MS = Number(process.env.AEDES_SUITE_TEST_TIMEOUT_MS ?? 5_000);

export function test(...args) {
  const fn = typeof args.at(-1) === 'function' ? args.pop() : undefined;
  const name = typeof args[0] === 'string' ? args.shift() : undefined;
  const options = { timeout: TIMEOUT_MS, ...(args[0] ?? {}) };
  return nodeTest.test(...(name === undefined ? [] : [name]), options, ...(fn ? [fn] : []));
}

export default test;
