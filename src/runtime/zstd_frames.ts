// This module is browser compatible.
/**
 * Finds zstd frame boundaries in a byte stream (RFC 8878 frame and block headers), so a
 * decoder that stops after one frame can be given one frame at a time. Skippable frames
 * are dropped; everything else is passed through unchanged.
 *
 * @example
 * ```ts
 * import { ZstdFrameSplitter } from "./zstd_frames.ts";
 * const s = new ZstdFrameSplitter();
 * // An empty frame: magic, header (single segment, content size 0), one last raw block of 0 bytes.
 * const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00]);
 * console.log(s.push(frame).map((p) => p.end)); // [ true ]
 * s.finish();
 * ```
 * @module
 */
import type { IHasher } from "hash-wasm";
import { InvalidInputError } from "../errors.ts";

/** A run of bytes of the current frame; `end` when the frame finishes with it. */
export interface FramePiece {
  readonly data: Uint8Array;
  readonly end: boolean;
  /**
   * With `stripChecksum`: on the frame's last piece, the 4 checksum bytes the frame ended
   * with (the low 32 bits of the XXH64 of its content, little endian), if it had one.
   */
  readonly checksum?: Uint8Array;
}

/** Options of a {@link ZstdFrameSplitter}. */
export interface ZstdFrameSplitterOptions {
  /**
   * Hand frames over without their content checksum (the header's flag cleared, the 4
   * trailing bytes given apart in {@link FramePiece.checksum}), for a decoder that cannot
   * report a checksum mismatch itself.
   */
  readonly stripChecksum?: boolean;
}

type State =
  | "magic"
  | "skipSize"
  | "skip"
  | "fhd"
  | "header"
  | "blockHeader"
  | "blockBody"
  | "checksum";

const FCS_SIZE = [0, 2, 4, 8];
const DID_SIZE = [0, 1, 2, 4];

/** Splits a zstd stream into frames as bytes arrive. */
export class ZstdFrameSplitter {
  #state: State = "magic";
  #acc: number[] = [];
  #left = 0;
  #lastBlock = false;
  #checksum = false;
  #what: string;
  #strip: boolean;
  #sum: number[] = [];

  constructor(what = "zstd stream", options: ZstdFrameSplitterOptions = {}) {
    this.#what = what;
    this.#strip = options.stripChecksum ?? false;
  }

  /** Feeds bytes; returns the pieces to give the current frame's decoder, in order. */
  push(chunk: Uint8Array): FramePiece[] {
    const out: FramePiece[] = [];
    let start = 0; // start of the run to emit
    let i = 0;
    const emitTo = (end: number, frameEnd: boolean) => {
      if (end > start || frameEnd) {
        const checksum = frameEnd && this.#sum.length ? new Uint8Array(this.#sum) : undefined;
        if (frameEnd) this.#sum = [];
        out.push({ data: chunk.subarray(start, end), end: frameEnd, checksum });
      }
      start = end;
    };
    while (i < chunk.byteLength) {
      switch (this.#state) {
        case "magic":
        case "skipSize":
        case "fhd":
        case "blockHeader": {
          const need = this.#state === "fhd" ? 1 : this.#state === "blockHeader" ? 3 : 4;
          while (this.#acc.length < need && i < chunk.byteLength) this.#acc.push(chunk[i++]);
          if (this.#acc.length < need) break;
          const a = this.#acc;
          this.#acc = [];
          if (this.#state === "magic") {
            // The magic bytes may have come in the previous chunk: emit them from `a`.
            const magic = (a[0] | a[1] << 8 | a[2] << 16 | a[3] << 24) >>> 0;
            start = i;
            if (magic === 0xfd2fb528) {
              out.push({ data: new Uint8Array(a), end: false });
              this.#state = "fhd";
            } else if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
              this.#state = "skipSize";
            } else {
              throw new InvalidInputError(`${this.#what}: not a zstd frame (bad magic number)`);
            }
          } else if (this.#state === "skipSize") {
            this.#left = (a[0] | a[1] << 8 | a[2] << 16 | a[3] << 24) >>> 0;
            this.#state = this.#left ? "skip" : "magic";
            start = i;
          } else if (this.#state === "fhd") {
            const fhd = a[0];
            const single = (fhd & 0x20) !== 0;
            if (fhd & 0x08) throw new InvalidInputError(`${this.#what}: reserved bit set`);
            this.#checksum = (fhd & 0x04) !== 0;
            if (this.#strip) {
              // Emit the header byte with the checksum flag cleared.
              emitTo(i - 1, false);
              out.push({ data: new Uint8Array([fhd & ~0x04]), end: false });
              start = i;
            }
            const fcsFlag = fhd >> 6;
            this.#left = (single ? 0 : 1) + DID_SIZE[fhd & 3] +
              (fcsFlag === 0 ? (single ? 1 : 0) : FCS_SIZE[fcsFlag]);
            this.#state = this.#left ? "header" : "blockHeader";
          } else {
            const value = a[0] | a[1] << 8 | a[2] << 16;
            this.#lastBlock = (value & 1) === 1;
            const type = (value >> 1) & 3;
            if (type === 3) throw new InvalidInputError(`${this.#what}: reserved block type`);
            this.#left = type === 1 ? 1 : value >>> 3;
            this.#state = "blockBody";
            if (this.#left === 0) this.#endBlock();
            if ((this.#state as State) === "magic") emitTo(i, true);
          }
          break;
        }
        case "skip": {
          const take = Math.min(this.#left, chunk.byteLength - i);
          i += take;
          this.#left -= take;
          start = i;
          if (this.#left === 0) this.#state = "magic";
          break;
        }
        case "header":
        case "blockBody":
        case "checksum": {
          const take = Math.min(this.#left, chunk.byteLength - i);
          if (this.#state === "checksum" && this.#strip) {
            emitTo(i, false);
            for (let k = 0; k < take; k++) this.#sum.push(chunk[i + k]);
            start = i + take;
          }
          i += take;
          this.#left -= take;
          if (this.#left > 0) break;
          if (this.#state === "header") this.#state = "blockHeader";
          else if (this.#state === "blockBody") this.#endBlock();
          else this.#state = "magic";
          if ((this.#state as State) === "magic") emitTo(i, true);
          break;
        }
      }
    }
    const inFrame = this.#state !== "magic" && this.#state !== "skip" && this.#state !== "skipSize";
    if (inFrame) emitTo(i, false);
    return out;
  }

  #endBlock(): void {
    if (!this.#lastBlock) this.#state = "blockHeader";
    else if (this.#checksum) {
      this.#state = "checksum";
      this.#left = 4;
    } else this.#state = "magic";
  }

  /** Call at the end of input: refuses a stream cut inside a frame. */
  finish(): void {
    if (this.#state !== "magic" || this.#acc.length) {
      throw new InvalidInputError(`${this.#what} is truncated inside a frame`);
    }
  }
}

/** The XXH64 of a frame's content, as its checksum covers it. */
export type FrameHasher = IHasher;

let xxh64Loaded: Promise<IHasher> | undefined;
/**
 * A fresh XXH64 hasher (seed 0) for one frame's content. hash-wasm is loaded here, on the
 * first zstd frame, not at start-up: its module pulls in Node compatibility layers that
 * cost a CLI process ~60 ms before it does anything.
 */
export async function frameHasher(): Promise<FrameHasher> {
  const { createXXHash64 } = await import("./xxhash64.ts");
  xxh64Loaded ??= createXXHash64();
  await xxh64Loaded;
  const h = await createXXHash64();
  h.init();
  return h;
}

/**
 * Compares a frame's content hash with the checksum it ended with (the low 32 bits of its
 * XXH64, little endian). Used where the decoder cannot report a mismatch itself: Deno's
 * zstd decoder throws it out of its event loop, fzstd does not check it.
 */
export function checkFrame(hash: FrameHasher, checksum: Uint8Array): void {
  const low = hash.digest("hex").slice(8); // big-endian hex: the last 8 digits
  const want = [...checksum].reverse().map((b) => b.toString(16).padStart(2, "0")).join("");
  if (low !== want) {
    throw new InvalidInputError(
      `the zstd data is corrupt: a frame's content checksum is ${want}, its content hashes to ${low}`,
    );
  }
}
