// This module is browser compatible.
/**
 * A strict streaming tar reader: one pass, bodies streamed, never the whole archive in
 * memory. ustar, GNU long names (`L`/`K`), PAX headers (path, linkpath, size, ids,
 * mtime), base-256 numbers. Refused with {@link InvalidInputError}: bad header
 * checksums, truncation, sparse entries (`S` and GNU.sparse PAX), and a negative or
 * non-numeric size.
 *
 * @example
 * ```ts
 * import { readTar } from "./tar.ts";
 * import { packTar } from "modern-tar";
 * const bytes = await packTar([{ header: { name: "a.txt", size: 2 }, body: "hi" }]);
 * for await (const entry of readTar(new Blob([bytes]).stream())) {
 *   console.log(entry.name, await new Response(entry.body).text()); // a.txt hi
 * }
 * ```
 * @module
 */
import { InvalidInputError } from "./errors.ts";

/** The kind of a tar member. */
export type TarEntryType =
  | "file"
  | "link"
  | "symlink"
  | "character-device"
  | "block-device"
  | "directory"
  | "fifo";

/** One member of a tar archive. */
export interface TarEntry {
  /** The name as stored (PAX/GNU long names applied), not normalized. */
  readonly name: string;
  /** The member type. */
  readonly type: TarEntryType;
  /** Body size in bytes (0 for everything but files). */
  readonly size: number;
  /** Permission bits and setuid/setgid/sticky (`mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  /** Modification time, seconds since the epoch. */
  readonly mtime: number;
  /** Link target for symlinks and hardlinks. */
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** PAX records of this entry (xattrs among them). */
  readonly pax: Readonly<Record<string, string>>;
  /** Byte offset of this member's header in the archive (after the long-name headers). */
  readonly headerOffset: number;
  /** Byte offset of the body in the archive. */
  readonly dataOffset: number;
  /**
   * The body. Read it or leave it: the reader skips whatever is left when the next entry
   * is requested.
   */
  readonly body: ReadableStream<Uint8Array>;
}

/** Options for {@link readTar}. */
export interface ReadTarOptions {
  /** Label for messages (`archive image.tar`). */
  readonly what?: string;
}

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "link",
  "2": "symlink",
  "3": "character-device",
  "4": "block-device",
  "5": "directory",
  "6": "fifo",
};

/** Pulls exact byte counts out of a chunk stream. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;
  offset = 0;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const { done, value } = await this.#reader.read();
    if (done) {
      this.#eof = true;
      return false;
    }
    if (this.#buf.byteLength === 0) this.#buf = value;
    else {
      const b = new Uint8Array(this.#buf.byteLength + value.byteLength);
      b.set(this.#buf);
      b.set(value, this.#buf.byteLength);
      this.#buf = b;
    }
    return true;
  }
  /** Exactly n bytes, or fewer at end of input. */
  async read(n: number): Promise<Uint8Array> {
    while (this.#buf.byteLength < n) if (!(await this.#fill())) break;
    const out = this.#buf.subarray(0, Math.min(n, this.#buf.byteLength));
    this.#buf = this.#buf.subarray(out.byteLength);
    this.offset += out.byteLength;
    return out;
  }
  /** Up to n bytes (at least 1 unless at end). */
  async chunk(n: number): Promise<Uint8Array> {
    if (this.#buf.byteLength === 0 && !(await this.#fill())) return new Uint8Array(0);
    const out = this.#buf.subarray(0, Math.min(n, this.#buf.byteLength));
    this.#buf = this.#buf.subarray(out.byteLength);
    this.offset += out.byteLength;
    return out;
  }
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.chunk(left);
      if (c.byteLength === 0) break;
      left -= c.byteLength;
    }
    return n - left;
  }
  cancel(reason?: unknown): Promise<void> {
    return this.#reader.cancel(reason);
  }
  release(): void {
    this.#reader.releaseLock();
  }
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8", { fatal: true });

function cString(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  const bytes = nul < 0 ? field : field.subarray(0, nul);
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

function numeric(block: Uint8Array, start: number, length: number, field: string): number {
  const f = block.subarray(start, start + length);
  if (f[0] & 0x80) {
    // base-256, big endian, first byte's high bit is the marker
    if (f[0] === 0xff) throw new InvalidInputError(`negative ${field} in tar header`);
    let v = f[0] & 0x7f;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i];
    if (!Number.isSafeInteger(v)) throw new InvalidInputError(`${field} too large in tar header`);
    return v;
  }
  const s = latin1.decode(f).replace(/\0.*$/s, "").trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) {
    throw new InvalidInputError(`invalid ${field} ${JSON.stringify(s)} in tar header`);
  }
  return parseInt(s, 8);
}

function checksumOk(block: Uint8Array): boolean {
  let stored: number;
  try {
    stored = numeric(block, 148, 8, "checksum");
  } catch {
    return false; // not even a number: not a tar header (the caller names the archive)
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function parsePax(data: Uint8Array, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.byteLength) {
    const space = data.indexOf(0x20, at);
    if (space < 0) throw new InvalidInputError(`${what}: malformed PAX record`);
    const len = parseInt(latin1.decode(data.subarray(at, space)), 10);
    if (!Number.isSafeInteger(len) || len <= space - at || at + len > data.byteLength) {
      throw new InvalidInputError(`${what}: malformed PAX record length`);
    }
    const record = data.subarray(space + 1, at + len - 1); // drop trailing \n
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new InvalidInputError(`${what}: PAX record without '='`);
    let key: string, value: string;
    try {
      key = utf8.decode(record.subarray(0, eq));
      value = utf8.decode(record.subarray(eq + 1));
    } catch {
      throw new InvalidInputError(`${what}: PAX record is not valid UTF-8`);
    }
    out[key] = value;
    at += len;
  }
  return out;
}

const MAX_META = 1024 * 1024;

/**
 * Reads a tar stream entry by entry. The returned iterator must be driven to the end (or
 * `return()`ed) so the source is released.
 *
 * @throws {InvalidInputError} on any malformed or truncated archive.
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry> {
  const what = options.what ?? "tar archive";
  const r = new ByteReader(stream);
  let pending: { left: number; done: Promise<void> | undefined } | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  let finished = false;
  try {
    while (true) {
      if (pending) {
        const left = pending.left;
        if (left > 0) {
          const skipped = await r.skip(left);
          if (skipped < left) throw new InvalidInputError(`${what} is truncated inside a member`);
        }
        pending = undefined;
      }
      const headerOffset = r.offset;
      const block = await r.read(512);
      if (block.byteLength === 0) {
        finished = true;
        return; // EOF at a header boundary: accept (as Go's archive/tar does)
      }
      if (block.byteLength < 512) {
        throw new InvalidInputError(
          headerOffset === 0
            ? `${what} is not a tar archive (${block.byteLength} bytes, shorter than one header)`
            : `${what} is truncated in a header`,
        );
      }
      if (block.every((b) => b === 0)) {
        const second = await r.read(512);
        if (second.byteLength > 0 && !second.every((b) => b === 0)) {
          throw new InvalidInputError(`${what} has data after an end-of-archive block`);
        }
        finished = true;
        await r.cancel().catch(() => {});
        return;
      }
      if (!checksumOk(block)) {
        throw new InvalidInputError(
          `${what}: bad header checksum at byte ${headerOffset} (corrupt or not a tar)`,
        );
      }
      const flag = String.fromCharCode(block[156]);
      let size = numeric(block, 124, 12, "size");
      const padded = (n: number) => Math.ceil(n / 512) * 512;
      if (flag === "L" || flag === "K" || flag === "x" || flag === "g") {
        if (size > MAX_META) throw new InvalidInputError(`${what}: metadata header too large`);
        const data = await r.read(padded(size));
        if (data.byteLength < padded(size)) throw new InvalidInputError(`${what} is truncated`);
        const body = data.subarray(0, size);
        if (flag === "L" || flag === "K") {
          const nul = body.indexOf(0);
          const s = cString(body, 0, nul < 0 ? size : nul);
          if (flag === "L") longName = s;
          else longLink = s;
        } else if (flag === "x") {
          pax = { ...pax, ...parsePax(body, what) };
        }
        continue;
      }
      if (flag === "S" || Object.keys(pax).some((k) => k.startsWith("GNU.sparse."))) {
        throw new InvalidInputError(
          `${what}: sparse member ${
            JSON.stringify(longName ?? pax.path ?? cString(block, 0, 100))
          } is not supported`,
        );
      }
      const type = TYPES[flag];
      if (!type) {
        throw new InvalidInputError(
          `${what}: member ${
            JSON.stringify(cString(block, 0, 100))
          } has unsupported type '${flag}'`,
        );
      }
      const magic = latin1.decode(block.subarray(257, 263));
      let name = cString(block, 0, 100);
      if (magic.startsWith("ustar")) {
        const prefix = cString(block, 345, 155);
        if (prefix && magic === "ustar\0") name = `${prefix}/${name}`;
      }
      if (longName !== undefined) name = longName;
      if (pax.path !== undefined) name = pax.path;
      let linkname = cString(block, 157, 100);
      if (longLink !== undefined) linkname = longLink;
      if (pax.linkpath !== undefined) linkname = pax.linkpath;
      if (pax.size !== undefined) {
        if (!/^\d+$/.test(pax.size)) throw new InvalidInputError(`${what}: bad PAX size`);
        size = Number(pax.size);
      }
      const num = (key: string, start: number, len: number, field: string) =>
        pax[key] !== undefined && /^\d+$/.test(pax[key])
          ? Number(pax[key])
          : numeric(block, start, len, field);
      const entryPax = pax;
      longName = longLink = undefined;
      pax = {};
      const bodySize = type === "file" ? size : (type === "directory" || type === "symlink" ||
          type === "link" || type === "fifo" || type.endsWith("device"))
        ? size
        : 0;
      const dataOffset = r.offset;
      const state = { left: padded(bodySize), done: undefined };
      pending = state;
      let bodyLeft = bodySize;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (pending !== state) {
            controller.error(new TypeError("tar entry body read after moving to the next entry"));
            return;
          }
          if (bodyLeft === 0) {
            controller.close();
            return;
          }
          const c = await r.chunk(Math.min(bodyLeft, 1 << 20));
          if (c.byteLength === 0) {
            controller.error(new InvalidInputError(`${what} is truncated inside member ${name}`));
            return;
          }
          bodyLeft -= c.byteLength;
          state.left -= c.byteLength;
          controller.enqueue(c);
          if (bodyLeft === 0) controller.close();
        },
      }, { highWaterMark: 0 });
      yield {
        name,
        type,
        size: type === "file" ? size : 0,
        mode: num("mode", 100, 8, "mode") & 0o7777,
        uid: num("uid", 108, 8, "uid"),
        gid: num("gid", 116, 8, "gid"),
        uname: entryPax.uname ?? cString(block, 265, 32),
        gname: entryPax.gname ?? cString(block, 297, 32),
        mtime: entryPax.mtime !== undefined
          ? Math.floor(Number(entryPax.mtime))
          : numeric(block, 136, 12, "mtime"),
        linkname,
        devmajor: magic.startsWith("ustar") ? numeric(block, 329, 8, "devmajor") : 0,
        devminor: magic.startsWith("ustar") ? numeric(block, 337, 8, "devminor") : 0,
        pax: entryPax,
        headerOffset,
        dataOffset,
        body,
      };
    }
  } finally {
    if (!finished) await r.cancel().catch(() => {});
    else r.release();
  }
}
