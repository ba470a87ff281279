/**
 * A protobuf wire-format writer into one growing buffer: varints, zigzag,
 * doubles, strings and length-delimited fields, with no object per field.
 *
 * It exists for the protobuf exposition at scale. A general encoder
 * (protobufjs) first builds a message object per series and then an
 * operation list per field, about a kilobyte of short-lived heap per series:
 * at 10,000 pods with native histograms that exceeded a 256 MiB heap. This
 * writer holds only the output, so the protobuf forms cost what their bytes
 * cost. The output is byte for byte what protobufjs writes for the same
 * fields in field-number order (test/metrics/protobuf-writer.ts checks it).
 */

/** Wire types. */
const VARINT = 0
const FIXED64 = 1
const LENGTH_DELIMITED = 2

/** Bytes of `n` (a non-negative integer up to 2^53) as a varint. */
export function varintSize(n: number): number {
  let size = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    size++
  }
  return size
}

/** Writes protobuf fields into a buffer that grows as needed; {@link finish} gives the bytes. */
export class ProtoWriter {
  #buf: Buffer
  #pos = 0

  constructor(initialBytes = 1 << 16) {
    this.#buf = Buffer.allocUnsafeSlow(Math.max(16, initialBytes))
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos
  }

  /** Forgets everything written after `length` bytes (e.g. a family that turned out empty). */
  truncate(length: number): void {
    if (length < 0 || length > this.#pos) throw new RangeError(`cannot truncate ${this.#pos} bytes to ${length}`)
    this.#pos = length
  }

  #reserve(bytes: number): void {
    const need = this.#pos + bytes
    if (need <= this.#buf.length) return
    let size = this.#buf.length * 2
    while (size < need) size *= 2
    const grown = Buffer.allocUnsafeSlow(size)
    this.#buf.copy(grown, 0, 0, this.#pos)
    this.#buf = grown
  }

  /** A varint of a non-negative integer up to 2^53 (uint32, uint64, enum, int64 >= 0). */
  varint(n: number): void {
    if (!(n >= 0) || !Number.isSafeInteger(n)) throw new RangeError(`varint out of range: ${n}`)
    this.#varint(n)
  }

  /** A varint of a non-negative integer that a double holds exactly (up to 2^64). */
  #varint(n: number): void {
    this.#reserve(10)
    const buf = this.#buf
    let pos = this.#pos
    while (n >= 128) {
      buf[pos++] = (n % 128) | 128
      n = Math.floor(n / 128)
    }
    buf[pos++] = n
    this.#pos = pos
  }

  #tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType)
  }

  /** A uint32, uint64, enum or non-negative int64 field. */
  uint(field: number, n: number): void {
    if (!(n >= 0) || !Number.isSafeInteger(n)) throw new RangeError(`varint out of range: ${n}`)
    this.#tag(field, VARINT)
    this.#varint(n)
  }

  /** A sint32 or sint64 field (zigzag). */
  sint(field: number, n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`sint out of range: ${n}`)
    this.#tag(field, VARINT)
    this.#zigzag(n)
  }

  #zigzag(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`sint out of range: ${n}`)
    // 2n and -2n-1; above 2^53 only the first is exact in a double.
    if (n >= 0) this.#varint(n * 2)
    else if (n > -(2 ** 52)) this.#varint(-n * 2 - 1)
    else {
      let z = -BigInt(n) * 2n - 1n
      const bytes: number[] = []
      while (z >= 128n) {
        bytes.push(Number(z & 127n) | 128)
        z >>= 7n
      }
      bytes.push(Number(z))
      this.#reserve(bytes.length)
      for (const b of bytes) this.#buf[this.#pos++] = b
    }
  }

  /** A double field (any number, NaN and infinities included). */
  double(field: number, value: number): void {
    this.#tag(field, FIXED64)
    this.#reserve(8)
    this.#buf.writeDoubleLE(value, this.#pos)
    this.#pos += 8
  }

  /** A string field, UTF-8 (a lone surrogate becomes U+FFFD: always valid UTF-8, which protobufjs does not guarantee). */
  string(field: number, s: string): void {
    this.#tag(field, LENGTH_DELIMITED)
    const n = s.length
    // Most label names and values are short ASCII: copy them byte by byte.
    if (n < 128) {
      this.#reserve(1 + n)
      const buf = this.#buf
      const start = this.#pos + 1
      let i = 0
      for (; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 128) break
        buf[start + i] = c
      }
      if (i === n) {
        buf[this.#pos] = n
        this.#pos = start + n
        return
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8')
    this.varint(bytes)
    this.#reserve(bytes)
    this.#buf.write(s, this.#pos, bytes, 'utf8')
    this.#pos += bytes
  }

  /**
   * Starts a length-delimited field (`field`), or with no field a
   * length-delimited message of a stream. Returns the mark to pass to
   * {@link end} once the content is written.
   */
  begin(field?: number): number {
    if (field !== undefined) this.#tag(field, LENGTH_DELIMITED)
    this.#reserve(1)
    const mark = this.#pos
    this.#pos += 1
    return mark
  }

  /** Ends what {@link begin} started: writes its length in front of it. */
  end(mark: number): void {
    const length = this.#pos - mark - 1
    const size = varintSize(length)
    if (size > 1) {
      // One byte was kept for the length; make room for the rest.
      this.#reserve(size - 1)
      this.#buf.copyWithin(mark + size, mark + 1, this.#pos)
      this.#pos += size - 1
    }
    const end = this.#pos
    this.#pos = mark
    this.varint(length)
    this.#pos = end
  }

  /** A packed repeated sint64 field. */
  packedSint(field: number, values: readonly number[]): void {
    if (values.length === 0) return
    const mark = this.begin(field)
    for (const n of values) this.#zigzag(n)
    this.end(mark)
  }

  /** The bytes written, in a buffer of their own (its ArrayBuffer is exactly theirs, so it can be transferred). */
  finish(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.#pos)
    this.#buf.copy(out, 0, 0, this.#pos)
    return out
  }
}
