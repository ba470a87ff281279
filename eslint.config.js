// ESLint flat config: eslint's and typescript-eslint's recommended rules for
// the TypeScript sources and tests, and eslint's for the plain .mjs/.js scripts.
// Not type-aware (typescript-eslint's `recommendedTypeChecked` would build the
// whole program a second time; `tsc --noEmit` already checks types in npm test).
// No formatting rules: the linter never reformats the code.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** `_`-prefixed names are unused on purpose (callback arity, rest destructuring). */
const unused = ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }]

export default tseslint.config(
  { ignores: ['dist/**', 'dev-dist/**', 'coverage/**', '.tap/**', 'node_modules/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: { '@typescript-eslint/no-unused-vars': unused },
  },
  {
    files: ['**/*.{js,mjs}'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-unused-vars': unused },
  },
)
