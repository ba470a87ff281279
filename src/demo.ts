/**
 * What the two demos share: `pixie-exporter demo` (one process) and
 * `npm run demo` (scripts/demo.mjs, the simulator and the exporter as two
 * processes) poll on the same schedule and print the same URL block.
 */

/** The simulator accepts any cluster id; both demos use this one. */
export const DEMO_CLUSTER_ID = '00000000-0000-0000-0000-000000000001'

/**
 * The demos' configuration file: the HTTP collector on the shipped defaults
 * (every 5s over a 10s window, what the analysis templates are tuned for),
 * written out so the demo shows what a config file looks like.
 */
export const DEMO_CONFIG_YAML = ['pixie:', '  simulated: true', 'collectors:', '  http:', '    interval: 5s', '    window: 10s', ''].join('\n')

/** The URL block's facts. */
export interface DemoBannerInfo {
  readonly scenario: string
  readonly simulator: string
  /** `http://host:port` of the exporter. */
  readonly base: string
  /** Extra lines (how to stop the simulator to watch an outage…). */
  readonly notes?: readonly string[]
}

/** The block of URLs the demos print at start and again once the first poll succeeded. */
export function demoBanner(info: DemoBannerInfo): string {
  return [
    '',
    '*** pixie-exporter demo: SIMULATED DATA (the Pixie API simulator, not a Pixie cluster) ***',
    `  scenario:          ${info.scenario}`,
    `  Pixie simulator:   ${info.simulator} (gRPC, plaintext; cluster id ${DEMO_CLUSTER_ID})`,
    `  landing page:      ${info.base}/`,
    `  metrics:           ${info.base}/metrics`,
    `  readiness:         ${info.base}/-/ready`,
    ...(info.notes ?? []),
    'Press Ctrl-C to stop.',
    '',
  ].join('\n')
}

/** `http://host:port` to browse a listen address (`0.0.0.0`, `::` and `:port` become loopback). */
export function browseBase(host: string, port: number): string {
  if (host === '' || host === '0.0.0.0') return `http://127.0.0.1:${port}`
  if (host === '::') return `http://[::1]:${port}`
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`
}
