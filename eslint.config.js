import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'schema/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // The engine's fence: only src/broker/engine/ touches aedes and the packages whose internals it patches, and the
    // rest of the code reaches the engine through its face alone (docs/architecture.md).
    files: ['src/**/*.ts'],
    ignores: ['src/broker/engine/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['aedes', 'aedes-packet', 'aedes-persistence', 'mqemitter', 'mqtt-packet', 'qlobber'].map((name) => ({
            name,
            message: 'aedes and its parts are the engine\'s: use src/broker/engine/engine.ts',
          })),
          patterns: [
            { group: ['**/engine/*', '!**/engine/engine.js'], message: 'outside the engine, import only its face: engine/engine.js' },
            { group: ['**/mocks/**'], message: 'simulated hardware is chosen by the composition root (src/app) only' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/mocks\\//]', message: 'simulated hardware is chosen by the composition root (src/app) only' },
      ],
    },
  },
  {
    files: ['src/app/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // The live page's script runs in the browser, as it is (no build step): only the browser globals it uses.
    files: ['web/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { document: 'readonly', EventSource: 'readonly', fetch: 'readonly', CSS: 'readonly' } },
  },
  {
    files: ['src/cli/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
