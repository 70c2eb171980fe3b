// This module is browser compatible.
/**
 * The browser runtime adapter: hash-wasm for incremental hashing, the native
 * `DecompressionStream` for gzip (with member boundaries found by lading itself, so
 * multi-member gzip works and no byte is lost or repeated), fflate's streaming `Gunzip`
 * where `DecompressionStream` is missing, fzstd for zstd, and `CompressionStream` or
 * fflate for gzip writing.
 *
 * ## How multi-member gzip works with `DecompressionStream`
 *
 * `DecompressionStream("gzip")` decodes one member and then errors with "junk after end of
 * compressed data" on any further byte; when it errors, output it had queued but not yet
 * handed out is dropped. So lading never lets it see a byte past a member's end:
 *
 * 1. every input chunk is cut at each position where a gzip header could start
 *    (`1f 8b 08`), and the pieces are written one at a time;
 * 2. a piece is written only after everything decoded from the previous ones was read
 *    (the readable side has no buffer, so a write waits for the reads);
 * 3. when a write starting exactly at such a position fails, and the four bytes before it
 *    (the member's ISIZE) equal the byte count decoded so far, that position is a member
 *    boundary: a new `DecompressionStream` continues from it, and nothing decoded was
 *    dropped because the failing piece decoded nothing.
 *
 * 4. where the engine checks a member's CRC-32 only when the stream is closed (Deno's;
 *    Chromium's checks it at the trailer), lading checks each member it ends itself.
 *
 * Any other failure is an {@link InvalidInputError}. As with Go's `compress/gzip`
 * (containerd, skopeo, crane), the input is members up to its end: any other byte after
 * the last member — zero padding too — is an error, and so is empty input.
 *
 * @example
 * ```ts
 * import { webRuntime } from "@lading/oci";
 * const h = await webRuntime.createHasher("sha256");
 * h.update(new Uint8Array(0));
 * console.log(h.digest().slice(0, 8)); // e3b0c442
 * ```
 * @module
 */
import { createSHA256, createSHA512 } from "hash-wasm";
import { Gunzip, Gzip } from "fflate";
import { Decompress as ZstdDecompress } from "fzstd";
import { InvalidInputError } from "../errors.ts";
import type { Decoder, Hasher, Runtime } from "./types.ts";
import { decoderPair, type Outlet } from "./outlet.ts";
import { crc32 } from "./crc32.ts";
import { checkFrame, type FrameHasher, frameHasher, ZstdFrameSplitter } from "./zstd_frames.ts";
import { oneShotDigest } from "./one_shot.ts";

/** Something fflate or fzstd style: push chunks, get data through a callback. */
interface PushCoder {
  push(chunk: Uint8Array, final?: boolean): void;
}

function coderError(what: string, e: unknown): InvalidInputError {
  if (e instanceof InvalidInputError) return e;
  return new InvalidInputError(`${what}: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  });
}

/** Wraps a push-style fflate/fzstd coder as a TransformStream (compression: small output). */
function fromPushCoder(
  what: string,
  make: (emit: (data: Uint8Array) => void) => PushCoder,
): TransformStream<Uint8Array, Uint8Array> {
  let coder: PushCoder;
  return new TransformStream({
    start(controller) {
      coder = make((data) => {
        if (data.byteLength > 0) controller.enqueue(data);
      });
    },
    transform(chunk) {
      try {
        coder.push(chunk, false);
      } catch (e) {
        throw coderError(what, e);
      }
    },
    flush() {
      try {
        coder.push(new Uint8Array(0), true);
      } catch (e) {
        throw coderError(what, e);
      }
    },
  });
}

/**
 * Wraps a push-style decompressor with backpressure: the input goes in `slice`-byte pieces
 * and the next piece only after the reader took what the last one produced, so memory is
 * bounded by `slice` times the worst ratio (deflate 1:1032, a zstd block 4:131072).
 */
function pushDecoder(
  what: string,
  slice: number,
  make: (emit: (data: Uint8Array) => void) => PushCoder,
): Decoder {
  return decoderPair((outlet) => {
    const coder = make((data) => outlet.push(data));
    return {
      async write(chunk) {
        for (let at = 0; at < chunk.byteLength; at += slice) {
          await outlet.room();
          if (outlet.finished) return;
          try {
            coder.push(chunk.subarray(at, at + slice), false);
          } catch (e) {
            throw coderError(what, e);
          }
        }
      },
      close() {
        try {
          coder.push(new Uint8Array(0), true);
        } catch (e) {
          throw coderError(what, e);
        }
      },
      abort() {},
    };
  });
}

/**
 * An empty gzip member (header, an empty final stored-type block, CRC-32 0, ISIZE 0),
 * pushed after the input so that fflate reports where the last real member ended.
 */
const END_MEMBER = new Uint8Array([
  0x1f,
  0x8b,
  8,
  0,
  0,
  0,
  0,
  0,
  0,
  3,
  3,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);

/** Input kept for trailer look-ups: a member header (Go: names ≤ 512 bytes) fits. */
const TRAILER_WINDOW = 256 * 1024;

/**
 * fflate's streaming `Gunzip` with the trailer checks it leaves out: fflate reads every
 * member but checks neither CRC-32 nor ISIZE, accepts a cut trailer and ignores a few
 * bytes after the last member. Here each member's output is summed (CRC-32, size) and
 * compared with its trailer, which fflate's `onmember` locates: the 8 bytes before the
 * next member's header. After the input, {@link END_MEMBER} is pushed: fflate must find
 * its header exactly where the input ended, so the last member is complete, its trailer
 * checked, and nothing follows it — as Go's `compress/gzip` reads (members to the end,
 * anything else is an error).
 */
class CheckedGunzip implements PushCoder {
  #g = new Gunzip();
  #crc = 0;
  #size = 0;
  #member = 1;
  /** The input so far, the last {@link TRAILER_WINDOW} bytes of it (a ring). */
  #ring = new Uint8Array(TRAILER_WINDOW);
  #total = 0;
  /** Input length once the input ended (END_MEMBER follows it); -1 before. */
  #end = -1;
  #closed = false;

  constructor(emit: (data: Uint8Array) => void) {
    this.#g.ondata = (data) => {
      this.#crc = crc32(data, this.#crc);
      this.#size += data.byteLength;
      emit(data);
    };
    this.#g.onmember = (offset) => this.#memberEnded(offset);
  }

  #byteAt(at: number): number {
    return this.#ring[at % TRAILER_WINDOW];
  }

  /** A member ended where the next header starts (`offset`): check its trailer. */
  #memberEnded(offset: number): void {
    if (this.#end >= 0 && offset > this.#end) {
      throw new InvalidInputError(
        `cannot decompress gzip: member ${this.#member} is cut short (no complete trailer)`,
      );
    }
    if (offset - 8 < this.#total - TRAILER_WINDOW) {
      throw new InvalidInputError(
        `cannot decompress gzip: the header of member ${this.#member + 1} is too long`,
      );
    }
    const le32 = (at: number) =>
      (this.#byteAt(at) | (this.#byteAt(at + 1) << 8) | (this.#byteAt(at + 2) << 16) |
        (this.#byteAt(at + 3) << 24)) >>> 0;
    const crc = le32(offset - 8);
    const isize = le32(offset - 4);
    if (crc !== this.#crc) {
      throw new InvalidInputError(
        `cannot decompress gzip: member ${this.#member}'s data has CRC-32 ${
          hex32(this.#crc)
        }, its trailer says ${hex32(crc)}`,
      );
    }
    if (isize !== this.#size % 2 ** 32) {
      throw new InvalidInputError(
        `cannot decompress gzip: member ${this.#member} has ${this.#size} bytes, its trailer says ${isize} (mod 2^32)`,
      );
    }
    if (offset === this.#end) this.#closed = true;
    this.#member++;
    this.#crc = 0;
    this.#size = 0;
  }

  #keep(chunk: Uint8Array): void {
    let from = Math.max(0, chunk.length - TRAILER_WINDOW);
    while (from < chunk.length) {
      const at = (this.#total + from) % TRAILER_WINDOW;
      const n = Math.min(chunk.length - from, TRAILER_WINDOW - at);
      this.#ring.set(chunk.subarray(from, from + n), at);
      from += n;
    }
    this.#total += chunk.length;
  }

  push(chunk: Uint8Array, final?: boolean): void {
    if (chunk.length) {
      this.#keep(chunk);
      this.#g.push(chunk, false);
    }
    if (!final) return;
    if (this.#total === 0) {
      throw new InvalidInputError("cannot decompress gzip: the input is empty");
    }
    this.#end = this.#total;
    this.#g.push(END_MEMBER, true);
    if (!this.#closed) {
      throw new InvalidInputError(
        `cannot decompress gzip: member ${this.#member} is cut short, or bytes that are not a gzip member follow it`,
      );
    }
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** fflate's streaming Gunzip, every member's trailer checked ({@link CheckedGunzip}). */
export function fflateGunzip(): Decoder {
  return pushDecoder("cannot decompress gzip", 16 * 1024, (emit) => new CheckedGunzip(emit));
}

/**
 * fzstd's streaming decompressor, one per frame (frames found by {@link ZstdFrameSplitter},
 * which also hands over each frame's checksum: fzstd does not verify it, so it is checked
 * here). Input goes in 1 KiB pieces, each after the reader took the last one's output.
 */
export function fzstdDecompress(): Decoder {
  const what = "cannot decompress zstd";
  return decoderPair((outlet) => {
    const frames = new ZstdFrameSplitter("zstd stream", { stripChecksum: true });
    let coder: ZstdDecompress | undefined;
    let hash: FrameHasher | undefined;
    const push = (data: Uint8Array, final: boolean) => {
      try {
        coder!.push(data, final);
      } catch (e) {
        throw coderError(what, e);
      }
    };
    return {
      async write(chunk) {
        for (let at = 0; at < chunk.byteLength; at += ZSTD_SLICE) {
          for (const piece of frames.push(chunk.subarray(at, at + ZSTD_SLICE))) {
            if (!coder) {
              const h = hash = await frameHasher();
              coder = new ZstdDecompress((data) => {
                h.update(data);
                outlet.push(data);
              });
            }
            await outlet.room();
            if (outlet.finished) return;
            push(piece.data, piece.end);
            if (piece.end) {
              if (piece.checksum) checkFrame(hash!, piece.checksum);
              coder = undefined;
            }
          }
        }
      },
      close() {
        frames.finish();
      },
      abort() {},
    };
  });
}

/** Input bytes given to fzstd at once: a zstd block expands 4 bytes to 128 KiB. */
const ZSTD_SLICE = 1024;

/**
 * fflate's streaming gzip compressor, deterministic: the header's mtime is 0 (fflate would
 * write the current time) and fflate is plain JavaScript, so the same bytes and level give
 * the same output in every runtime.
 */
export function fflateGzip(level = 6): TransformStream<Uint8Array, Uint8Array> {
  return fromPushCoder("cannot compress gzip", (emit) => {
    const g = new Gzip({ level: level as 6, mtime: 0 });
    g.ondata = (data) => emit(data);
    return g;
  });
}

/** Offsets in `bytes` where a gzip member header starts (`1f 8b 08`), ascending. */
function headerCandidates(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let at = bytes.indexOf(0x1f);
  while (at >= 0 && at + 2 < bytes.length) {
    if (bytes[at + 1] === 0x8b && bytes[at + 2] === 0x08) out.push(at);
    at = bytes.indexOf(0x1f, at + 1);
  }
  return out;
}

/** How many trailing bytes of `bytes` could be the start of a header split across chunks. */
function partialHeaderLength(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n >= 2 && bytes[n - 2] === 0x1f && bytes[n - 1] === 0x8b) return 2;
  if (n >= 1 && bytes[n - 1] === 0x1f) return 1;
  return 0;
}

/** A one-member gzip of "x" whose CRC-32 is wrong (for {@link engineChecksEachMember}). */
const BAD_CRC_MEMBER = new Uint8Array([
  0x1f,
  0x8b,
  8,
  0,
  0,
  0,
  0,
  0,
  0,
  3,
  0xab,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  0,
  0,
  0,
]);

let eagerCheck: Promise<boolean> | undefined;

/**
 * Whether this host's `DecompressionStream` checks a member's CRC-32 when it reaches the
 * trailer (Chromium: zlib does), or only when the stream is closed (Deno): then a member
 * that lading ends itself (at the next member's header) has its CRC-32 checked here.
 * Found once, on a member with a wrong CRC-32.
 */
function engineChecksEachMember(): Promise<boolean> {
  eagerCheck ??= (async () => {
    const ds = new DecompressionStream("gzip");
    const writer = ds.writable.getWriter();
    const drained = ds.readable.pipeTo(new WritableStream()).catch(() => {});
    try {
      await writer.write(BAD_CRC_MEMBER);
      return false;
    } catch {
      return true;
    } finally {
      writer.abort().catch(() => {});
      await drained;
    }
  })();
  return eagerCheck;
}

/**
 * gzip decompression with the native `DecompressionStream`, one per member (see the
 * module documentation for how members are found).
 */
export function nativeGunzip(): Decoder {
  return decoderPair((outlet) => nativeGunzipSink(outlet));
}

/**
 * Input bytes given to `DecompressionStream` at once (it expands each piece whole: at most
 * ~64 MiB from a 64 KiB piece of a bomb; tests/runtime/bounded_decoding_test.ts keeps a
 * 300 MiB bomb under 256 MiB RSS). Measured in headless Chromium on a 25 MB layer (55 MB
 * out): 4 KiB pieces took 1.3–2× the time of a bare `DecompressionStream`, 64 KiB about
 * the same as it — each piece is a write, a read and their promise hops.
 */
const NATIVE_SLICE = 64 * 1024;

function nativeGunzipSink(outlet: Outlet) {
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let pump: Promise<void> = Promise.resolve();
  /** Check each member's CRC-32 here (the engine checks only the last one's). */
  let checkCrc: boolean | undefined;
  /** CRC-32 of the current member's output so far (when `checkCrc`). */
  let memberCrc = 0;
  /** Bytes decoded from the current member (its ISIZE is this mod 2^32). */
  let memberOut = 0;
  /** Input bytes the current member received. */
  let memberIn = 0;
  let member = 1;
  /** Input bytes held back because they could begin a header that the next chunk ends. */
  let held = new Uint8Array(0);
  /** The last 8 input bytes handed over: a member trailer is CRC32 then ISIZE. */
  const last8 = new Uint8Array(8);
  let last8Length = 0;
  let totalIn = 0;

  const invalid = (e: unknown) =>
    new InvalidInputError(
      `cannot decompress gzip near input byte ${totalIn}: ${
        e instanceof Error ? e.message : String(e)
      }`,
      { cause: e },
    );

  const startMember = () => {
    const ds = new DecompressionStream("gzip");
    writer = ds.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    memberOut = 0;
    memberIn = 0;
    memberCrc = 0;
    const reader = ds.readable.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    pump = (async () => {
      for (;;) {
        // Read on only when our reader wants more: DecompressionStream then stops taking
        // input, and the writes below wait (backpressure end to end).
        await outlet.room();
        if (outlet.finished) return;
        const { value, done } = await reader.read();
        if (done) return;
        memberOut += value.byteLength;
        if (checkCrc) memberCrc = crc32(value, memberCrc);
        outlet.push(value);
      }
    })();
    pump.catch(() => {});
  };

  const le32 = (at: number) =>
    (last8[at] | (last8[at + 1] << 8) | (last8[at + 2] << 16) | (last8[at + 3] << 24)) >>> 0;

  /** True when the input so far ends with a trailer whose ISIZE matches the output. */
  const endsWithTrailer = () =>
    memberIn >= 18 && last8Length === 8 && le32(4) === memberOut % 2 ** 32;

  const remember = (piece: Uint8Array) => {
    if (piece.length >= 8) {
      last8.set(piece.subarray(piece.length - 8));
      last8Length = 8;
      return;
    }
    const keep = Math.min(last8Length, 8 - piece.length);
    last8.copyWithin(0, last8Length - keep, last8Length);
    last8.set(piece, keep);
    last8Length = keep + piece.length;
  };

  const feed = async (piece: Uint8Array, atHeader: boolean) => {
    if (piece.length === 0) return;
    checkCrc ??= !(await engineChecksEachMember());
    if (!writer) startMember();
    try {
      await writer!.write(piece);
    } catch (e) {
      await pump.catch(() => {});
      // Only a piece that starts a header after a complete member may begin a new one.
      if (!atHeader || !endsWithTrailer()) throw invalid(e);
      if (checkCrc && le32(0) !== memberCrc) {
        throw new InvalidInputError(
          `cannot decompress gzip: member ${member}'s data has CRC-32 ${hex32(memberCrc)}, ` +
            `its trailer says ${hex32(le32(0))}`,
        );
      }
      member++;
      startMember();
      try {
        await writer!.write(piece);
      } catch (e2) {
        await pump.catch(() => {});
        throw invalid(e2);
      }
    }
    memberIn += piece.length;
    totalIn += piece.length;
    remember(piece);
  };

  return {
    abort() {
      writer?.abort().catch(() => {});
    },
    async write(chunk: Uint8Array) {
      if (chunk.length === 0) return;
      let bytes = chunk;
      if (held.length) {
        bytes = new Uint8Array(held.length + chunk.length);
        bytes.set(held);
        bytes.set(chunk, held.length);
      }
      // Hold back what could be a header the next chunk ends.
      const end = bytes.length - partialHeaderLength(bytes);
      held = bytes.slice(end);
      const body = bytes.subarray(0, end);
      let from = 0;
      let fromHeader = false;
      const feedSliced = async (piece: Uint8Array, atHeader: boolean) => {
        for (let at = 0; at < piece.length; at += NATIVE_SLICE) {
          await feed(piece.subarray(at, at + NATIVE_SLICE), at === 0 && atHeader);
        }
      };
      for (const p of headerCandidates(body)) {
        if (p > from) await feedSliced(body.subarray(from, p), fromHeader);
        from = p;
        fromHeader = true;
      }
      await feedSliced(body.subarray(from), fromHeader);
    },
    async close() {
      await feed(held, false);
      if (!writer) throw invalid(new Error("the input is empty"));
      try {
        await writer.close();
        await pump;
      } catch (e) {
        await pump.catch(() => {});
        throw invalid(e);
      }
    },
  };
}

/**
 * The browser runtime adapter: hash-wasm for hashing, `DecompressionStream` (fflate for
 * multi-member gzip) and fzstd for decompression, fflate for gzip. It works wherever
 * WebAssembly and web streams do; `getRuntime()` picks it where Node's built-in
 * modules are missing.
 *
 * @example
 * ```ts
 * import { webRuntime } from "@lading/oci";
 * const hasher = await webRuntime.createHasher("sha256");
 * hasher.update(new TextEncoder().encode("abc"));
 * console.log(hasher.digest().slice(0, 8)); // ba7816bf
 * const gzipped = new Blob(["hi\n"]).stream().pipeThrough(webRuntime.gzip(9));
 * console.log(await new Response(gzipped.pipeThrough(webRuntime.gunzip())).text()); // hi
 * ```
 */
export const webRuntime: Runtime = {
  name: "web",
  async createHasher(algorithm): Promise<Hasher> {
    const h = algorithm === "sha256" ? await createSHA256() : await createSHA512();
    h.init();
    return {
      update(chunk: Uint8Array) {
        h.update(chunk);
      },
      digest() {
        return h.digest("hex");
      },
    };
  },
  digest(algorithm, bytes) {
    return oneShotDigest(webRuntime.createHasher, algorithm, bytes);
  },
  gunzip() {
    return typeof DecompressionStream === "function" ? nativeGunzip() : fflateGunzip();
  },
  zstdDecompress() {
    return fzstdDecompress();
  },
  gzip(level) {
    if ((level === undefined || level === 6) && typeof CompressionStream === "function") {
      return new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
    }
    return fflateGzip(level);
  },
};
