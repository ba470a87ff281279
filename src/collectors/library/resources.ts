/**
 * Library collector `resources`: CPU time and resident memory per pod, from
 * Pixie's `process_stats` table (sampled by Stirling about once a second per
 * process, with cumulative CPU counters).
 *
 * How cumulative samples become a count over the range: for each process
 * (`upid`), the increase is `max − min` of `cpu_utime_ns` and of
 * `cpu_ktime_ns` among its samples in the range; the pod's CPU time is the sum
 * over its processes. A new process (restart) is a new `upid`, so counter
 * resets do not produce negative values. This is an approximation: the
 * increase between the last sample of the previous range and the first sample
 * of this one (at most one sampling period, about 1 s, per process and run)
 * is not counted, and neither is the CPU time of a process with a single
 * sample in the range, so the counter slightly UNDER-counts.
 *
 * Memory is the sum over the pod's processes of each process's largest
 * `rss_bytes` in the range: an upper bound of the pod's resident memory in the
 * range (processes' peaks need not coincide).
 */
import { libraryModule, type LibraryModule } from '../module.js'
import type { PxlCollectorSpec } from '../pxl-spec.js'
import {
  commonSpecFields,
  namespaceFilter,
  projectLine,
  resolveLibraryOptions,
  libraryExecFuncs,
  libraryScript,
  sourceLine,
  type LibraryColumn,
  type LibraryOptions,
} from './options.js'

/** Name of the collector (its query_name is `pixie-exporter/<name>`). */
export const RESOURCES = 'resources'
/** `px.display` name of its table. */
export const RESOURCES_TABLE = 'pod_resources'
/** Columns of {@link RESOURCES_TABLE}, in order. `pod` is `<namespace>/<pod>`. */
export const RESOURCES_COLUMNS = [
  { name: 'namespace', type: 'STRING' },
  { name: 'pod', type: 'STRING' },
  { name: 'cpu_ns', type: 'INT64' },
  { name: 'rss_bytes', type: 'INT64' },
] as const satisfies readonly LibraryColumn[]

/** The PxL of the collector. */
export function resourcesScript(options: LibraryOptions): string {
  const r = resolveLibraryOptions(options)
  return libraryScript(RESOURCES, r, [
    '# Per process: CPU time used in the range (max - min of the cumulative counters) and peak RSS.',
    sourceLine('df', 'process_stats'),
    "df.namespace = df.ctx['namespace']",
    ...namespaceFilter('df'),
    "df.pod = df.ctx['pod']",
    "df = df[df.pod != '']",
    "df = df.groupby(['namespace', 'pod', 'upid']).agg(",
    "    utime_max=('cpu_utime_ns', px.max),",
    "    utime_min=('cpu_utime_ns', px.min),",
    "    ktime_max=('cpu_ktime_ns', px.max),",
    "    ktime_min=('cpu_ktime_ns', px.min),",
    "    rss_max=('rss_bytes', px.max),",
    ')',
    'df.process_cpu_ns = df.utime_max - df.utime_min + df.ktime_max - df.ktime_min',
    '# Per pod: the sum over its processes.',
    "df = df.groupby(['namespace', 'pod']).agg(",
    "    cpu_ns=('process_cpu_ns', px.sum),",
    "    rss_bytes=('rss_max', px.sum),",
    ')',
    projectLine('df', RESOURCES_COLUMNS),
  ], 'df')
}

/** Builds the `resources` collector. @throws TypeError on invalid options. */
export function resourcesCollector(options: LibraryOptions): PxlCollectorSpec {
  return {
    name: RESOURCES,
    script: resourcesScript(options),
    table: RESOURCES_TABLE,
    execFuncs: libraryExecFuncs(RESOURCES, RESOURCES_TABLE, resolveLibraryOptions(options)),
    ...commonSpecFields(options),
    labels: [
      { column: 'namespace', label: 'namespace' },
      { column: 'pod', label: 'pod', transform: 'strip-namespace' },
    ],
    metrics: [
      {
        column: 'cpu_ns',
        name: 'pixie_pod_cpu_seconds_total',
        help: 'CPU time (user + kernel) used by the processes of the pod, in seconds, from Pixie process_stats (slightly under-counted: see the docs).',
        type: 'counter',
        scale: 1e-9,
      },
      {
        column: 'rss_bytes',
        name: 'pixie_pod_memory_rss_bytes',
        help: 'Resident memory of the pod: the sum over its processes of their peak RSS over the collector range, in bytes.',
        type: 'gauge',
      },
    ],
  }
}

/** This collector as a module of the collector list (src/collectors/index.ts). */
export const resources: LibraryModule = libraryModule({
  name: RESOURCES,
  summary: 'CPU seconds (counter) and resident memory (gauge) per namespace and pod.',
  spec: resourcesCollector,
})
