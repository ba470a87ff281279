/**
 * Frees the memory of replaced exposition buffers as soon as no response is
 * still sending them, instead of when the serving thread's garbage collector
 * gets round to it. The serving thread's heap is small and rarely collected,
 * so without this the buffers of two or three past runs (hundreds of MiB at
 * 50,000 pods) stay allocated beside the current one.
 *
 * A buffer's memory is freed by transferring its ArrayBuffer into a message
 * on a closed channel: the transfer detaches it (the Buffer now has length
 * 0) and closing the ports destroys the message with its memory, without a
 * garbage collection. So only buffers that own their whole ArrayBuffer and
 * that nothing reads any more may be released: those a worker thread handed
 * over, once every response that started before the release has ended.
 */
import { MessageChannel } from 'node:worker_threads'

/** See the file comment. */
export class BufferReleaser {
  #generation = 0
  /** Responses in flight, by the generation they started in. */
  readonly #readers = new Map<number, number>()
  /** Buffers to free once every reader of a generation up to `generation` has ended. */
  readonly #waiting: { readonly generation: number; readonly buffers: readonly Buffer[] }[] = []
  /** Bytes freed so far (benchmarks, tests). */
  freedBytes = 0

  /** A reader (a response sending exposition buffers) starts; call the result when it has ended. Calling it again does nothing. */
  acquire(): () => void {
    const generation = this.#generation
    this.#readers.set(generation, (this.#readers.get(generation) ?? 0) + 1)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      const left = (this.#readers.get(generation) ?? 1) - 1
      if (left === 0) this.#readers.delete(generation)
      else this.#readers.set(generation, left)
      this.#drain()
    }
  }

  /**
   * Frees `buffers` once every reader that started before this call has
   * ended (now, when there is none). Each must own its whole ArrayBuffer
   * (never a slice of Node's shared pool) and must not be read afterwards.
   */
  release(buffers: readonly Buffer[]): void {
    this.#waiting.push({ generation: this.#generation, buffers })
    this.#generation++
    this.#drain()
  }

  #drain(): void {
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0]
      if (next === undefined) return
      for (const [generation, count] of this.#readers) if (generation <= next.generation && count > 0) return
      this.#waiting.shift()
      this.#free(next.buffers)
    }
  }

  #free(buffers: readonly Buffer[]): void {
    const arrays = new Set<ArrayBuffer>()
    for (const b of buffers) {
      const array = b.buffer
      // Only whole, non-shared, not yet detached ArrayBuffers.
      if (!(array instanceof ArrayBuffer) || array.byteLength === 0 || b.byteOffset !== 0 || b.byteLength !== array.byteLength) continue
      arrays.add(array)
    }
    if (arrays.size === 0) return
    for (const a of arrays) this.freedBytes += a.byteLength
    const { port1, port2 } = new MessageChannel()
    port1.postMessage(null, [...arrays])
    port1.close()
    port2.close()
  }
}
