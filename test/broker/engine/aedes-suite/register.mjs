// Loaded with `node --import tsx --import ./register.mjs --test ...`: puts resolve-aedes.mjs in front of Node's
// resolver so aedes' own test files get the engine adapter (aedes-adapter.ts) as their `../aedes.js`.
import { register } from 'node:module';

register('./resolve-aedes.mjs', import.meta.url);
