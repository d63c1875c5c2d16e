// ESLint flat config: the recommended rules of ESLint and typescript-eslint,
// without type information (fast, no project service), plus what this
// codebase relies on. Formatting is Prettier's job (npm run lint runs both).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config({ ignores: ['dist/', 'node_modules/', 'coverage/'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  languageOptions: {
    ecmaVersion: 2022,
    sourceType: 'module',
    globals: {
      process: 'readonly',
      console: 'readonly',
      Buffer: 'readonly',
      URL: 'readonly',
      URLSearchParams: 'readonly',
      setTimeout: 'readonly',
      clearTimeout: 'readonly',
      setInterval: 'readonly',
      clearInterval: 'readonly',
      fetch: 'readonly',
      AbortController: 'readonly',
      performance: 'readonly',
      structuredClone: 'readonly',
      TextDecoder: 'readonly',
      TextEncoder: 'readonly',
      queueMicrotask: 'readonly',
      setImmediate: 'readonly',
    },
  },
  rules: {
    // `_name` marks a value left unused on purpose (destructuring to drop a field).
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    // `catch {}` with a comment saying why is how this codebase ignores an expected failure.
    'no-empty': ['error', { allowEmptyCatch: true }],
  },
});
