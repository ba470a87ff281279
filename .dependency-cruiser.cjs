/**
 * The import rules of docs/architecture.md, checked by `npm run depcheck`
 * (dependency-cruiser), which `npm test` runs before tap.
 *
 * Layers, from the outside in:
 *   composition  src/cli.ts, src/commands.ts (the CLI's vocabulary), src/exporter.ts, src/demo.ts
 *   config       src/config/**: reads flags, environment and file; knows the domain
 *   domain       src/collectors, src/scheduler, src/pixie, src/metrics, src/server, src/app.ts, ...
 *   leaves       src/duration.ts, src/clock.ts, src/errors.ts, src/pixie/tls-modes.ts: import nothing of ours
 * The simulator (src/simulator/**) stands beside the exporter and speaks only
 * Pixie's protocol (src/pixie/proto.ts) plus the leaves.
 *
 * Every rule is at severity `error`: npm test fails on any violation.
 */

/** Composition roots: the only modules outside src/config that may import it. */
const COMPOSITION = '^src/(cli|commands|exporter|demo)\\.ts$'

/** Leaf utilities: any layer (the simulator included) may import them, they import no module of ours. */
const LEAVES = '^src/(duration|clock|turns|errors|pixie/tls-modes)\\.ts$'

/** The simulator's and the tools' entry points: only the composition roots start them. */
const SIMULATOR = '^src/simulator/'

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles (type-only imports included): a cycle makes the load order, and so the layers, ambiguous.',
      severity: 'error',
      from: { path: '^src/', pathNot: SIMULATOR },
      to: { circular: true },
    },
    {
      name: 'no-circular-in-simulator',
      comment:
        'The same rule inside the simulator (the scenario types shared by the parser and its generators live in ' +
        'scenario-input.ts).',
      severity: 'error',
      from: { path: SIMULATOR },
      to: { circular: true },
    },
    {
      name: 'config-only-from-composition',
      comment:
        'Imports flow config → domain only: nothing under src/ except src/config itself and the composition roots ' +
        '(cli.ts, commands.ts, exporter.ts, demo.ts) imports src/config. A collector owns its options\' ' +
        'schema and types (e.g. src/collectors/http-options.ts); src/config assembles them.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/config/', COMPOSITION] },
      to: { path: '^src/config/' },
    },
    {
      name: 'leaves-are-leaves',
      comment: 'The leaf utilities import no module of ours, so that every layer, the simulator included, can use them.',
      severity: 'error',
      from: { path: LEAVES },
      to: { path: '^src/' },
    },
    {
      name: 'simulator-speaks-only-pixie-protocol',
      comment:
        'The simulator depends only on Pixie\'s protocol (src/pixie/proto.ts and the .proto files, src/pixie/jwe.ts ' +
        'for Pixie\'s result encryption) and the leaf utilities, so that it cannot share (and hide) the exporter\'s mistakes.',
      severity: 'error',
      from: { path: SIMULATOR },
      to: { path: '^src/', pathNot: [SIMULATOR, '^src/pixie/proto', '^src/pixie/jwe\\.ts$', LEAVES] },
    },
    {
      name: 'production-never-imports-simulator',
      comment:
        'Production modules never import the simulator; only the composition roots that start it ' +
        '(cli.ts for `simulate`, demo.ts for `npm run demo`) do.',
      severity: 'error',
      from: { path: '^src/', pathNot: [SIMULATOR, COMPOSITION] },
      to: { path: SIMULATOR },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    // Type-only imports count: a type cycle is still a cycle in the design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
