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
 * Any other failure is an {@link InvalidInputError}. Zero bytes after the last member are
 * padding and ignored, as zlib in Node (the Deno adapter) does; any other bytes after the
 * last member are an error, as in Node and Go's `compress/gzip`. Empty input is an error.
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
import { checkFrame, type FrameHasher, frameHasher, ZstdFrameSplitter } from "./zstd_frames.ts";

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

/** fflate's streaming Gunzip: reads every member of a multi-member gzip. */
export function fflateGunzip(): Decoder {
  return pushDecoder("cannot decompress gzip", 16 * 1024, (emit) => {
    const g = new Gunzip();
    g.ondata = (data) => emit(data);
    return g;
  });
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

/**
 * gzip decompression with the native `DecompressionStream`, one per member (see the
 * module documentation for how members are found).
 */
export function nativeGunzip(): Decoder {
  return decoderPair((outlet) => nativeGunzipSink(outlet));
}

/** Input bytes given to `DecompressionStream` at once (it expands each piece whole). */
const NATIVE_SLICE = 4 * 1024;

function nativeGunzipSink(outlet: Outlet) {
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let pump: Promise<void> = Promise.resolve();
  /** Bytes decoded from the current member (its ISIZE is this mod 2^32). */
  let memberOut = 0;
  /** Input bytes the current member received. */
  let memberIn = 0;
  /** Input bytes held back because they could begin a header that the next chunk ends. */
  let held = new Uint8Array(0);
  /** A run of zero bytes at the end of the input so far, held back (maybe padding). */
  let heldZeros = 0;
  /** Set when the input ended with zero padding after a complete member. */
  let padded = false;
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
        outlet.push(value);
      }
    })();
    pump.catch(() => {});
  };

  /** True when the input so far ends with a trailer whose ISIZE matches the output. */
  const endsWithTrailer = () => {
    if (memberIn < 18 || last8Length < 8) return false;
    const isize = (last8[4] | (last8[5] << 8) | (last8[6] << 16) | (last8[7] << 24)) >>> 0;
    return isize === memberOut % 2 ** 32;
  };

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

  const feed = async (piece: Uint8Array, atHeader: boolean, padding = false) => {
    if (piece.length === 0) return;
    if (!writer) startMember();
    try {
      await writer!.write(piece);
    } catch (e) {
      await pump.catch(() => {});
      if (padding && endsWithTrailer()) {
        padded = true;
        return;
      }
      // Only a piece that starts a header after a complete member may begin a new one.
      if (!atHeader || !endsWithTrailer()) throw invalid(e);
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
      if (held.length || heldZeros) {
        if (!held.length && chunk.every((b) => b === 0)) {
          heldZeros += chunk.length;
          return;
        }
        bytes = new Uint8Array(heldZeros + held.length + chunk.length);
        bytes.set(held, heldZeros);
        bytes.set(chunk, heldZeros + held.length);
        heldZeros = 0;
      }
      // Hold back what could be trailing zero padding or a header the next chunk ends.
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end--;
      if (end < bytes.length) {
        heldZeros = bytes.length - end;
        held = new Uint8Array(0);
      } else {
        end -= partialHeaderLength(bytes);
        held = bytes.slice(end);
      }
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
      if (heldZeros) {
        // Zero bytes after the last member are padding, ignored as zlib in Node does. The
        // run may begin inside the member (its trailer or last block can end in zeros),
        // so it goes in one byte at a time: the first byte refused right after a
        // complete member starts the padding.
        const one = new Uint8Array(1);
        let fed = 0;
        while (fed < heldZeros && fed < 64 && !padded) {
          await feed(one, false, true);
          fed++;
        }
        if (!padded && fed < heldZeros) await feed(new Uint8Array(heldZeros - fed), false);
      }
      if (!writer) throw invalid(new Error("the input is empty"));
      if (padded) return;
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
