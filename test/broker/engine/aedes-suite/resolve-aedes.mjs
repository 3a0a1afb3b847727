// A module-resolution hook (node:module register): when a file of aedes' test suite (node_modules/aedes/test/)
// imports `../aedes.js`, it gets aedes-adapter.ts, which builds every broker through our DeliveryEngine, and its
// `node:test` is timed-test.mjs (a default timeout per test). Every other
// import, aedes' lib/ modules included, resolves as usual, so the suite's unit tests of those run against the real
// ones, which are also the ones the engine patches.
import { URL } from 'node:url';

const ADAPTER = new URL('./aedes-adapter.ts', import.meta.url).href;
const TIMED_TEST = new URL('./timed-test.mjs', import.meta.url).href;
const SUITE_DIR = /\/node_modules\/aedes\/test\/[^/]+$/;

export async function resolve(specifier, context, nextResolve) {
  if (context.parentURL && SUITE_DIR.test(new URL(context.parentURL).pathname)) {
    // Resolved by the next hook (tsx's), which then also loads it as TypeScript.
    if (specifier === '../aedes.js') return nextResolve(ADAPTER, context);
    if (specifier === 'node:test') return { url: TIMED_TEST, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
