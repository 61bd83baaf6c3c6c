// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * Flat config: ESLint's recommended rules plus typescript-eslint's recommended set. The syntactic set,
 * not the type-checked one: `npm run typecheck` already runs the compiler, and type-aware linting
 * would multiply the lint time for little gain.
 */

/** Node's globals, listed here rather than taken from the `globals` package, which is not a declared dependency. */
const nodeGlobals = Object.fromEntries(
  [
    'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'fetch', 'Response', 'Request', 'Headers',
    'AbortController', 'AbortSignal', 'TextEncoder', 'TextDecoder', 'structuredClone', 'performance', 'queueMicrotask',
    'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
  ].map((name) => [name, /** @type {const} */ ('readonly')]),
);

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'data/', 'node_modules/', 'bench-results/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: nodeGlobals,
    },
    rules: {
      // `_`-prefixed names are deliberately unused (Express handler signatures, destructuring to omit a field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['tests/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      // Tests and dev scripts poke at untyped JSON bodies (supertest's `body` is already `any`); casting
      // through `unknown` there adds noise without catching bugs. src/ keeps the rule.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
