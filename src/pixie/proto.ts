import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import protobuf from 'protobufjs'
import { join } from 'node:path'

/** Path of our own trimmed Vizier API description (copied next to the compiled code by the build). */
export const VIZIER_PROTO_PATH = join(import.meta.dirname, 'proto', 'vizierapi.proto')

/** Full gRPC method paths, as Pixie serves them. */
export const EXECUTE_SCRIPT_PATH = '/px.api.vizierpb.VizierService/ExecuteScript'
export const HEALTH_CHECK_PATH = '/px.api.vizierpb.VizierService/HealthCheck'

/**
 * Loader options of the simulator: int64/uint64 as decimal strings (exact),
 * enums as numbers,
 * bytes as Buffers, oneof case names present (so a column's actual type can be
 * checked against the relation), and scalar defaults filled in.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  oneofs: true,
}

/**
 * Loader options of the client: as {@link LOADER_OPTIONS}, but int64/uint64
 * fields stay Long objects (`{low, high, unsigned}`), which the decoder turns
 * into bigints directly (decode.ts `int64ToBigInt`). The decimal strings cost
 * a division loop per value: at 10,000 pods with native histograms (~450,000
 * rows a poll) they were a tenth of the worker's CPU, and their garbage more.
 */
export const CLIENT_LOADER_OPTIONS: protoLoader.Options = (({ longs: _strings, ...rest }) => rest)(LOADER_OPTIONS)

const cached = new Map<'client' | 'server', grpc.ServiceDefinition>()

/**
 * The VizierService definition (ExecuteScript, HealthCheck), loaded once per
 * process and side: the client reads int64 fields as Long objects, the
 * simulator (server) as decimal strings.
 */
export function vizierServiceDefinition(side: 'client' | 'server' = 'server'): grpc.ServiceDefinition {
  let service = cached.get(side)
  if (service === undefined) {
    const definition = protoLoader.loadSync(VIZIER_PROTO_PATH, side === 'client' ? CLIENT_LOADER_OPTIONS : LOADER_OPTIONS)
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      px: { api: { vizierpb: { VizierService: grpc.ServiceClientConstructor } } }
    }
    service = pkg.px.api.vizierpb.VizierService.service
    cached.set(side, service)
  }
  return service
}

let rowBatchType: protobuf.Type | undefined

function rowBatch(): protobuf.Type {
  rowBatchType ??= new protobuf.Root().loadSync(VIZIER_PROTO_PATH, { keepCase: true }).lookupType('px.api.vizierpb.RowBatchData')
  return rowBatchType
}

/** Decodes a serialized RowBatchData (a decrypted `encrypted_batch`) into the same shape gRPC gives the client (int64 as Long objects). */
export function decodeRowBatch(bytes: Buffer): Wire.RowBatchData {
  const type = rowBatch()
  return type.toObject(type.decode(bytes), { enums: Number, bytes: Buffer, defaults: true, arrays: true, oneofs: true }) as Wire.RowBatchData
}

/** Serializes a RowBatchData plain object (int64 as decimal strings); the simulator encrypts the result. */
export function encodeRowBatch(batch: unknown): Buffer {
  const type = rowBatch()
  return Buffer.from(type.encode(type.fromObject(batch as Record<string, unknown>)).finish())
}

/**
 * An int64/uint64 field as received: a Long object with the client's loader
 * options, a decimal string with the simulator's (when sending, numbers,
 * strings or bigints converted with String() are accepted).
 */
export type WireInt64 = string | number | bigint | { readonly low: number; readonly high: number; readonly unsigned: boolean }

/**
 * Plain-object shapes of the messages as produced by the loader options above
 * (int64 fields: see {@link WireInt64}).
 */
// eslint-disable-next-line @typescript-eslint/no-namespace -- types only, read as Wire.Status etc.
export namespace Wire {
  export interface Status {
    code: number
    message: string
    error_details: { error?: 'compiler_error'; compiler_error?: { line: WireInt64; column: WireInt64; message: string } | null }[]
  }
  export interface ColumnInfo {
    column_name: string
    column_type: number
    column_desc: string
    column_semantic_type: number
  }
  export interface Column {
    col_data?: 'boolean_data' | 'int64_data' | 'uint128_data' | 'time64ns_data' | 'float64_data' | 'string_data'
    boolean_data?: { data: boolean[] } | null
    int64_data?: { data: WireInt64[] } | null
    uint128_data?: { data: { low: WireInt64; high: WireInt64 }[] } | null
    time64ns_data?: { data: WireInt64[] } | null
    float64_data?: { data: number[] } | null
    string_data?: { data: Buffer[] } | null
  }
  export interface RowBatchData {
    cols: Column[]
    num_rows: WireInt64
    eow: boolean
    eos: boolean
    table_id: string
  }
  export interface QueryExecutionStats {
    timing: { execution_time_ns: WireInt64; compilation_time_ns: WireInt64 } | null
    bytes_processed: WireInt64
    records_processed: WireInt64
  }
  export interface ExecuteScriptResponse {
    status: Status | null
    query_id: string
    result?: 'data' | 'meta_data'
    data?: { batch: RowBatchData | null; execution_stats: QueryExecutionStats | null; encrypted_batch: Buffer } | null
    meta_data?: { relation: { columns: ColumnInfo[] } | null; name: string; id: string } | null
    mutation_info: unknown
  }
  export interface ExecuteScriptRequest {
    encryption_options: { jwk_key: string; key_alg: string; content_alg: string; compression_alg: string } | null
    query_str: string
    cluster_id: string
    query_id: string
    query_name: string
    exec_funcs: { func_name: string; arg_values: { name: string; value: string }[]; output_table_prefix: string }[]
    mutation: boolean
    configs: { plugin_config: { start_time_ns: string; end_time_ns: string } | null } | null
  }
  export interface HealthCheckRequest {
    cluster_id: string
  }
  export interface HealthCheckResponse {
    status: Status | null
  }
}
