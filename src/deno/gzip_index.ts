/**
 * Random access into gzip layers: access points recorded while a layer is read once, so
 * that one member can later be read by inflating from the nearest point before it instead
 * of from the start of the blob (the idea of zlib's `zran.c`, gztool and the eStargz TOC,
 * without changing the blob).
 *
 * An access point is a deflate block boundary: the byte where the next block starts in the
 * compressed blob, the uncompressed offset there, and the 32 KiB of output before it (the
 * window the next blocks may refer back to). node:zlib stops at block boundaries
 * (`Z_BLOCK`) but neither says at which bit of the last byte a block ended (`data_type`)
 * nor can start inside a byte (`inflatePrime`); so only boundaries that fall on a byte
 * are used (after every stored block, and about one in eight others), each checked by
 * decoding from it and comparing with what the real decoder gave. The window is handed
 * to the inflater as a stored block in front of the bytes (its output is dropped): Deno's
 * raw inflater ignores the `dictionary` option.
 *
 * Deno-only (node:zlib's low-level handle). Reading from a point is `layers/gzip_access.ts`
 * (the platform's DecompressionStream). Points are an optimization: a reader that cannot
 * use them falls back to reading the layer from its start.
 * @module
 */
import * as zlib from "node:zlib";
import { InvalidInputError } from "../errors.ts";
import type { Decoder } from "../runtime/types.ts";
import { decoderPair, type Outlet } from "../runtime/outlet.ts";
import { type AccessPoint, storedBlock } from "../layers/gzip_access.ts";

export type { AccessPoint };

/** Default distance between access points, in uncompressed bytes. */
export const DEFAULT_SPACING = 4 * 1000 * 1000;
const WINDOW = 32 * 1024;
const OUT_CHUNK = 64 * 1024;
const IN_SLICE = 64 * 1024;
/** Compressed bytes kept after a candidate boundary to find its bit. */
const PROBE_INPUT = 16 * 1024;
/** Output bytes the probe must reproduce. */
const PROBE_OUTPUT = 64;

// deno-lint-ignore no-explicit-any
type ZlibHandle = any;

/** A raw inflater on node:zlib's handle: stepwise, errors thrown, not emitted. */
class RawInflater {
  #stream: ZlibHandle;
  #handle: ZlibHandle;
  #state: Uint32Array;
  #error: string | undefined;
  constructor() {
    this.#stream = zlib.createInflateRaw();
    this.#handle = this.#stream._handle;
    this.#state = this.#stream._writeState;
    this.#handle.onerror = (message: string) => (this.#error = message);
  }
  /** Inflates from `input[offset..offset+length]` into `out`; returns [consumed, produced]. */
  step(
    flush: number,
    input: Uint8Array,
    offset: number,
    length: number,
    out: Uint8Array,
  ): [number, number] {
    this.#handle.writeSync(flush, input, offset, length, out, 0, out.byteLength);
    if (this.#error !== undefined) {
      throw new InvalidInputError(`the gzip data is corrupt: ${this.#error}`);
    }
    return [length - this.#state[1], out.byteLength - this.#state[0]];
  }
  close(): void {
    try {
      this.#handle.close();
    } catch {
      // closed already
    }
  }
}

/** The last `WINDOW` bytes of the pieces (most recent last). */
function windowOf(pieces: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of pieces) total += p.byteLength;
  const n = Math.min(total, WINDOW);
  const w = new Uint8Array(n);
  let at = n;
  for (let i = pieces.length - 1; i >= 0 && at > 0; i--) {
    const p = pieces[i];
    const take = Math.min(at, p.byteLength);
    w.set(p.subarray(p.byteLength - take), at - take);
    at -= take;
  }
  return w;
}

/** The length of a complete gzip member header at `buf[pos..]`, or 0 when more is needed. */
function gzipHeaderLength(buf: Uint8Array, pos: number): number {
  const left = buf.byteLength - pos;
  if (left < 10) return 0;
  if (buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b) {
    throw new InvalidInputError("the gzip data is corrupt: trailing data after the gzip stream");
  }
  if (buf[pos + 2] !== 8) {
    throw new InvalidInputError("the gzip data is corrupt: unknown compression method");
  }
  const flags = buf[pos + 3];
  let at = pos + 10;
  if (flags & 4) {
    if (buf.byteLength - at < 2) return 0;
    at += 2 + (buf[at] | (buf[at + 1] << 8));
  }
  for (const bit of [8, 16]) {
    if (flags & bit) {
      while (at < buf.byteLength && buf[at] !== 0) at++;
      if (at >= buf.byteLength) return 0;
      at++;
    }
  }
  if (flags & 2) at += 2;
  return at <= buf.byteLength ? at - pos : 0;
}

/** A candidate point whose bit is not known yet. */
interface Candidate {
  /** Blob offset of the first byte not consumed at the boundary. */
  readonly next: number;
  readonly out: number;
  readonly window: Uint8Array;
  /** The compressed bytes from `next` on (up to {@link PROBE_INPUT}). */
  readonly input: Uint8Array;
}

/**
 * Checks that a block starts on the byte at `c.next`: decoding from there (after the
 * window) must give the output the real decoder gave. Blocks that start inside a byte are
 * not used: starting there would need zlib's `inflatePrime`, which node:zlib does not
 * have, and shifting the bytes instead breaks the byte alignment stored blocks rely on.
 */
function probe(c: Candidate, expected: Uint8Array): AccessPoint | undefined {
  const bytes = c.input;
  const primed = new Uint8Array(5 + c.window.byteLength + bytes.byteLength);
  primed.set(storedBlock(c.window));
  primed.set(bytes, 5 + c.window.byteLength);
  let got: Uint8Array;
  try {
    got = (zlib.inflateRawSync(primed, {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    }) as Uint8Array).subarray(c.window.byteLength);
  } catch {
    return undefined; // the block starts inside the byte before
  }
  const n = Math.min(got.byteLength, expected.byteLength);
  if (n < PROBE_OUTPUT) return undefined;
  for (let i = 0; i < n; i++) if (got[i] !== expected[i]) return undefined;
  return { start: c.next, out: c.out, window: c.window };
}

/**
 * A gzip decoder (multi-member, CRC and length checked like any gunzip) that records an
 * access point about every `spacing` uncompressed bytes; `points()` has them (and
 * `members()` the number of gzip members) once the stream ended. Output is produced only as fast as it is read.
 */
export function indexingGunzip(
  options: { spacing?: number } = {},
): Decoder & { points(): AccessPoint[]; members(): number } {
  const spacing = options.spacing ?? DEFAULT_SPACING;
  const points: AccessPoint[] = [];
  let members = 0;
  const pair = decoderPair((outlet: Outlet) => {
    let pending = new Uint8Array(0);
    let base = 0; // blob offset of pending[0]
    let state: "header" | "body" | "trailer" = "header";
    let inflater: RawInflater | undefined;
    let crc = 0;
    let memberOut = 0;
    let outPos = 0;
    let nextTarget = spacing;
    let recent: Uint8Array[] = [];
    let recentBytes = 0;
    let candidate: Candidate | undefined;
    const out = new Uint8Array(OUT_CHUNK);
    const emit = async (bytes: Uint8Array) => {
      const piece = bytes.slice();
      crc = zlib.crc32(piece, crc);
      memberOut += piece.byteLength;
      outPos += piece.byteLength;
      recent.push(piece);
      recentBytes += piece.byteLength;
      while (recent.length > 1 && recentBytes - recent[0].byteLength >= WINDOW) {
        recentBytes -= recent[0].byteLength;
        recent.shift();
      }
      outlet.push(piece);
      if (outlet.full) await outlet.room();
    };
    const run = async () => {
      let pos = 0;
      while (true) {
        if (outlet.finished) return;
        if (state === "header") {
          if (pos >= pending.byteLength) break;
          const n = gzipHeaderLength(pending, pos);
          if (n === 0) break;
          pos += n;
          inflater = new RawInflater();
          members++;
          crc = 0;
          memberOut = 0;
          state = "body";
          continue;
        }
        if (state === "trailer") {
          if (pending.byteLength - pos < 8) break;
          const dv = new DataView(pending.buffer, pending.byteOffset + pos, 8);
          if (dv.getUint32(0, true) !== crc >>> 0) {
            throw new InvalidInputError("the gzip data is corrupt: CRC mismatch");
          }
          if (dv.getUint32(4, true) !== memberOut % 2 ** 32) {
            throw new InvalidInputError("the gzip data is corrupt: length mismatch");
          }
          pos += 8;
          state = "header";
          continue;
        }
        const len = Math.min(IN_SLICE, pending.byteLength - pos);
        if (len === 0) break;
        let [consumed, produced] = inflater!.step(zlib.constants.Z_BLOCK, pending, pos, len, out);
        if (consumed === 0 && produced === 0) {
          // A stop at a block boundary whose end code was already in zlib's bit buffer,
          // or the end of the deflate stream: only the end makes no progress twice.
          candidate = undefined;
          [consumed, produced] = inflater!.step(zlib.constants.Z_BLOCK, pending, pos, len, out);
        }
        if (consumed === 0 && produced === 0) {
          // Nothing moves with input and room: the deflate stream ended.
          inflater!.close();
          inflater = undefined;
          candidate = undefined;
          state = "trailer";
          continue;
        }
        if (candidate && produced > 0) {
          const p = probe(candidate, out.subarray(0, produced));
          if (p) {
            points.push(p);
            nextTarget = p.out + spacing;
          }
          candidate = undefined;
        }
        pos += consumed;
        if (produced > 0) await emit(out.subarray(0, produced));
        const stopped = produced < out.byteLength && consumed < len;
        if (stopped && outPos >= nextTarget && !candidate) {
          // Stopped with input and room left: a block boundary (or the stream's end).
          candidate = {
            next: base + pos,
            out: outPos,
            window: windowOf(recent),
            input: pending.slice(pos, pos + PROBE_INPUT),
          };
        }
      }
      base += pos;
      pending = pending.slice(pos);
    };
    return {
      async write(chunk: Uint8Array) {
        if (pending.byteLength === 0) pending = chunk.slice();
        else {
          const joined = new Uint8Array(pending.byteLength + chunk.byteLength);
          joined.set(pending);
          joined.set(chunk, pending.byteLength);
          pending = joined;
        }
        await run();
      },
      async close() {
        await run();
        if (state === "header" && pending.byteLength > 0 && base > 0) {
          const magic = pending[0] === 0x1f && (pending.byteLength < 2 || pending[1] === 0x8b);
          if (!magic) {
            throw new InvalidInputError(
              "the gzip data is corrupt: trailing data after the gzip stream",
            );
          }
        }
        if (state !== "header" || pending.byteLength > 0) {
          throw new InvalidInputError("the gzip data is corrupt: unexpected end of file");
        }
        if (base === 0) {
          throw new InvalidInputError("the gzip data is corrupt: unexpected end of file");
        }
      },
      abort() {
        inflater?.close();
        inflater = undefined;
        recent = [];
      },
    };
  });
  return {
    writable: pair.writable,
    readable: pair.readable,
    points: () => points,
    members: () => members,
  };
}
