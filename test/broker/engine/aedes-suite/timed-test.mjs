// What aedes' test files get as `node:test` (resolve-aedes.mjs): node:test itself, but each top-level test() without
// a timeout of its own gets one. A test that waits for something the engine deliberately never does (an event, a
// disconnect) then fails alone; with only --test-timeout, that flag's timeout also applies to the whole file, which
// would be killed with every test after the one waiting.
import process from 'node:process';
import * as nodeTest from 'node:test';

export * from 'node:test';

const TIMEOUT_MS = Number(process.env.AEDES_SUITE_TEST_TIMEOUT_MS ?? 10_000);

export function test(...args) {
  const fn = typeof args.at(-1) === 'function' ? args.pop() : undefined;
  const name = typeof args[0] === 'string' ? args.shift() : undefined;
  const options = { timeout: TIMEOUT_MS, ...(args[0] ?? {}) };
  return nodeTest.test(...(name === undefined ? [] : [name]), options, ...(fn ? [fn] : []));
}

export default test;
