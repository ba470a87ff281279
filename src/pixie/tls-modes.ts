/**
 * How the exporter secures its connection to Pixie, declared once: the
 * client (src/pixie/client.ts) implements the modes, the configuration
 * (`pixie.tls`, `--pixie.tls`, `PIXIE_EXPORTER_TLS`) and the help text list
 * them from here.
 *
 * - `verify`: TLS, the server's certificate checked against the system CAs
 *   or the configured CA (the default);
 * - `skip-verify`: TLS without checking the certificate (testing only);
 * - `plaintext`: no TLS (an in-cluster proxy or the simulator on loopback).
 */
export const TLS_MODES = ['verify', 'skip-verify', 'plaintext'] as const

/** One of {@link TLS_MODES}. */
export type TlsMode = (typeof TLS_MODES)[number]
