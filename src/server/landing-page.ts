import type { CollectorStatus } from '../scheduler/job.js'

/** What the landing page shows besides the collectors. Holds nothing secret. */
export interface LandingInfo {
  readonly version: string
  /** Pixie address (host:port); the API key is never passed here. */
  readonly pixieAddress: string
  readonly clusterId: string
  /** True when the exporter talks to the built-in simulator: the page says so plainly. */
  readonly simulated: boolean
  /** Every collector the exporter has (the collector list), and whether this configuration runs it. */
  readonly available?: readonly AvailableCollector[]
}

/** One module of the collector list, as the landing page shows it. */
export interface AvailableCollector {
  readonly name: string
  /** What it exports (one sentence). */
  readonly summary: string
  /** Whether the current configuration runs it. */
  readonly enabled: boolean
  /** True for library collectors, enabled by listing them in `collectors.library`. */
  readonly optIn: boolean
}

function availableSection(available: readonly AvailableCollector[] | undefined): string {
  if (available === undefined || available.length === 0) return ''
  const rows = available
    .map((c) => {
      const state = c.enabled ? 'running' : c.optIn ? `off (add ${escapeHtml(c.name)} to <code>collectors.library</code>)` : 'off'
      return `<tr><td>${escapeHtml(c.name)}</td><td>${state}</td><td>${escapeHtml(c.summary)}</td></tr>`
    })
    .join('\n')
  return `<h2>Available collectors</h2>
<table>
<tr><th>Collector</th><th>State</th><th>Exports</th></tr>
${rows}
</table>
`
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML (error messages may contain anything). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
}

function time(ms: number | undefined, now: number): string {
  if (ms === undefined) return 'never'
  return `${new Date(ms).toISOString()} (${Math.round((now - ms) / 1000)}s ago)`
}

/** Renders `/`: collectors, last run, last error, rows, links. */
export function renderLandingPage(info: LandingInfo, collectors: readonly CollectorStatus[], now: number): string {
  const banner = info.simulated
    ? '<p class="sim"><strong>SIMULATED DATA.</strong> This exporter is connected to the built-in Pixie API simulator, not to a real cluster. Every figure here is made up by a scenario file.</p>'
    : ''
  const rows = collectors
    .map(
      (c) => `<tr><td>${escapeHtml(c.name)}</td><td>${escapeHtml(c.schedule)}</td><td>${c.lastOutcome ?? 'pending'}${c.running ? ' (running)' : ''}</td>` +
        `<td>${time(c.lastRunAt, now)}</td><td>${time(c.lastSuccessAt, now)}</td><td>${c.lastRows ?? ''}</td>` +
        `<td>${c.lastDurationMs === undefined ? '' : `${(c.lastDurationMs / 1000).toFixed(3)}s`}</td><td>${escapeHtml(c.lastError ?? '')}</td></tr>`,
    )
    .join('\n')
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>pixie-exporter${info.simulated ? ' (simulated)' : ''}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.sim,.warn{background:#fff3cd;border:1px solid #e0a800;padding:8px}</style>
</head>
<body>
<h1>pixie-exporter</h1>
${banner}
<p>Prometheus exporter for Pixie HTTP metrics. Version ${escapeHtml(info.version)}.
Pixie: <code>${escapeHtml(info.pixieAddress)}</code>, cluster <code>${escapeHtml(info.clusterId)}</code>.</p>
<ul>
<li><a href="metrics">Metrics</a></li>
<li><a href="-/healthy">Health</a></li>
<li><a href="-/ready">Readiness</a></li>
</ul>
<h2>Scraping this exporter</h2>
<p class="warn"><strong>Scrape with <code>honor_labels: true</code></strong> (<code>honorLabels: true</code> on a ServiceMonitor or PodMonitor).
The per-pod series carry <code>namespace</code> and <code>pod</code> labels naming the <em>observed</em> pod. Without
honor_labels, Prometheus renames them <code>exported_namespace</code> and <code>exported_pod</code>, and every
Argo Rollouts analysis template then selects nothing: a bad canary reads NaN (Inconclusive), never Failed.
Check in Prometheus: <code>count({__name__=~"pixie_http_.+", exported_pod!=""})</code> must return nothing;
<code>pixie-exporter analyze</code> warns when it does.</p>
<h2>Collectors</h2>
<table>
<tr><th>Collector</th><th>Schedule</th><th>Last result</th><th>Last run</th><th>Last success</th><th>Rows</th><th>Duration</th><th>Last error</th></tr>
${rows}
</table>
${availableSection(info.available)}</body>
</html>
`
}
