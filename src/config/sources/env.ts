/**
 * The environment source: the variables of ENV_VARS (schema.ts); any other
 * `PIXIE_EXPORTER_*` variable is an error, except those Kubernetes injects
 * for a Service. An empty value counts as unset.
 */
import { ENV_PREFIX, ENV_VARS } from '../schema.js'
import type { Source } from '../values.js'

export interface Environment {
  get(name: string): Source | undefined
}

export function readEnvironment(env: Readonly<Record<string, string | undefined>>, errors: string[]): Environment {
  const known = new Set<string>(Object.values(ENV_VARS))
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || known.has(name) || isServiceLink(name, env[name])) continue
    errors.push(`${name}: unknown environment variable`)
  }
  return {
    get(name) {
      const value = env[name]
      // Kubernetes manifests often set a variable to "" to mean "not set".
      return value === undefined || value === '' ? undefined : { label: name, value }
    },
  }
}

// Kubernetes injects variables for every Service in the namespace
// (enableServiceLinks, on by default), so a Service named `pixie-exporter`
// gives its pods PIXIE_EXPORTER_SERVICE_HOST, PIXIE_EXPORTER_PORT=tcp://...
// and more. They must not stop the exporter from starting. See
// https://kubernetes.io/docs/concepts/services-networking/service/#environment-variables
const SERVICE_LINK_PATTERN = /_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$/
const SERVICE_LINK_URL = /^(tcp|udp|sctp):\/\//

function isServiceLink(name: string, value: string | undefined): boolean {
  // A bare `_PORT` could be a typo of ours (PIXIE_EXPORTER_LISTEN_PORT), so
  // it is only ignored when it holds the URL Kubernetes puts there.
  return SERVICE_LINK_PATTERN.test(name) || (name.endsWith('_PORT') && SERVICE_LINK_URL.test(value ?? ''))
}
