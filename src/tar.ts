// This module is browser compatible.
/**
 * A strict, pull-based tar reader for layer blobs. One pass, no copies of bodies, no
 * stream per entry unless asked for: a body that is not read is skipped in place. Every
 * byte of the input (including the padding after the end-of-archive marker) is passed to
 * an `onChunk` hook, so the diff_id is hashed in the same pass.
 *
 * Accepted: ustar, GNU (`L`/`K` long names, base-256 numbers), PAX (`path`, `linkpath`,
 * `size`, `uid`, `gid`, `uname`, `gname`, `mtime`, `SCHILY.xattr.*`, `SCHILY.devmajor` /
 * `SCHILY.devminor`), v7 headers. Refused with {@link InvalidInputError}: bad checksums,
 * truncation, sparse members (`S` and `GNU.sparse.*` PAX keys), unsupported type flags
 * (`D`, `M`, `N`, `V`, ...), names or link targets that are not valid UTF-8 or contain NUL,
 * malformed PAX records and numbers. As in Go's `archive/tar` (which containerd and umoci
 * use), a missing end-of-archive marker is accepted, global PAX headers are ignored, and
 * directories, links and devices have no body whatever their size field says.
 *
 * @example
 * ```ts
 * import { TarReader } from "@lading/oci/tar";
 * import { packTar } from "modern-tar";
 * const bytes = await packTar([{ header: { name: "a.txt", size: 2 }, body: "hi" }]);
 * const tar = new TarReader(new Blob([bytes]).stream());
 * for (let h = await tar.next(); h; h = await tar.next()) {
 *   let text = "";
 *   for await (const chunk of tar.body()) text += new TextDecoder().decode(chunk);
 *   console.log(h.name, h.type, text); // a.txt file hi
 * }
 * ```
 * @module
 */
import { InvalidInputError } from "./errors.ts";

/** The kind of a tar member. */
export type LayerEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "hardlink"
  | "character-device"
  | "block-device"
  | "fifo";

/** The header of one tar member, with PAX and GNU long names applied. */
export interface TarHeader {
  /** The name as stored (not normalized), valid UTF-8 without NUL. */
  readonly name: string;
  /** The member type. */
  readonly type: LayerEntryType;
  /** Body size in bytes (0 for everything but regular files). */
  readonly size: number;
  /** Permission bits with setuid, setgid and sticky (`mode & 0o7777`). */
  readonly mode: number;
  /** Owner user id. */
  readonly uid: number;
  /** Owner group id. */
  readonly gid: number;
  /** Owner user name (may be empty). */
  readonly uname: string;
  /** Owner group name (may be empty). */
  readonly gname: string;
  /** Modification time, seconds since the epoch (may be fractional from PAX). */
  readonly mtime: number;
  /** Target of a symlink or hardlink (empty otherwise); valid UTF-8 without NUL. */
  readonly linkname: string;
  /** Major device number of a device node. */
  readonly devmajor: number;
  /** Minor device number of a device node. */
  readonly devminor: number;
  /**
   * Extended attributes from `SCHILY.xattr.*` PAX records, when there are any: name →
   * raw value (binary: a `security.capability` is a struct, not text).
   */
  readonly xattrs?: Readonly<Record<string, Uint8Array>>;
  /** Offset of this member's (last) header block in the uncompressed stream. */
  readonly offset: number;
  /**
   * Offset of the member's first header block when extended headers (PAX, GNU long name
   * or link) come before the last one; absent when it is {@link offset}. A reader started
   * there reads this member first.
   */
  readonly start?: number;
}

/** Options for {@link TarReader}. */
export interface TarReaderOptions {
  /** Label for messages, e.g. `layer sha256:ab12…`. Default `tar archive`. */
  readonly what?: string;
  /** Sees every chunk of the input, in order, before it is parsed (hashing, counting, caps). */
  readonly onChunk?: (chunk: Uint8Array) => void;
  /** Receives non-fatal oddities (non-zero data after the end-of-archive marker). */
  readonly onWarning?: (message: string) => void;
}

const FLAG_TYPES: Record<number, LayerEntryType> = {
  0x30: "file", // '0'
  0x00: "file", // '\0' (v7)
  0x37: "file", // '7' contiguous
  0x31: "hardlink",
  0x32: "symlink",
  0x33: "character-device",
  0x34: "block-device",
  0x35: "directory",
  0x36: "fifo",
};

/** Largest PAX / GNU long-name body accepted. */
const MAX_META = 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");
const XATTR_PREFIX = "SCHILY.xattr.";

function fieldBytes(block: Uint8Array, start: number, length: number): Uint8Array {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < block.byteLength; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Reads tar members from a byte stream, strictly. See the module documentation.
 *
 * @example
 * ```ts
 * import { TarReader } from "@lading/oci/tar";
 * import { packTar } from "modern-tar";
 * const bytes = await packTar([
 *   { header: { name: "etc/", type: "directory", size: 0 } },
 *   { header: { name: "etc/motd", size: 3 }, body: "hi\n" },
 * ]);
 * const tar = new TarReader(new Blob([bytes]).stream(), { what: "my.tar" });
 * for (let h = await tar.next(); h; h = await tar.next()) console.log(h.type, h.name, h.size);
 * // directory etc/ 0
 * // file etc/motd 3      (a body that is not read is skipped)
 * console.log(tar.ended); // true
 * ```
 */
export class TarReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #what: string;
  #onChunk?: (chunk: Uint8Array) => void;
  #onWarning?: (message: string) => void;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #eof = false;
  #offset = 0; // offset of #chunk[#pos] in the stream
  #bodyLeft = 0;
  #padLeft = 0;
  #ended = false;
  #released = false;
  #scratch = new Uint8Array(512);
  /** Name of the current member (messages). */
  #member = "";
  #entries = 0;

  /** Starts reading `stream` (it is locked until the reader ends or is cancelled). */
  constructor(stream: ReadableStream<Uint8Array>, options: TarReaderOptions = {}) {
    this.#reader = stream.getReader();
    this.#what = options.what ?? "tar archive";
    this.#onChunk = options.onChunk;
    this.#onWarning = options.onWarning;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  /** True once the end of the archive was reached (and the input drained). */
  get ended(): boolean {
    return this.#ended;
  }

  async #fill(): Promise<boolean> {
    while (!this.#eof) {
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#eof = true;
        return false;
      }
      if (value.byteLength === 0) continue;
      this.#onChunk?.(value);
      this.#chunk = value;
      this.#pos = 0;
      return true;
    }
    return false;
  }

  /** Exactly `n` bytes (n ≤ MAX_META + 512), or fewer at end of input. May copy. */
  async #read(n: number): Promise<Uint8Array> {
    const avail = this.#chunk.byteLength - this.#pos;
    if (avail >= n) {
      const out = this.#chunk.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      this.#offset += n;
      return out;
    }
    const out = n === 512 ? this.#scratch : new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (this.#pos >= this.#chunk.byteLength && !(await this.#fill())) break;
      const take = Math.min(n - got, this.#chunk.byteLength - this.#pos);
      out.set(this.#chunk.subarray(this.#pos, this.#pos + take), got);
      this.#pos += take;
      this.#offset += take;
      got += take;
    }
    return got === n ? out : out.subarray(0, got);
  }

  /** Skips `n` bytes; returns how many were skipped (fewer at end of input). */
  async #skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.#pos >= this.#chunk.byteLength && !(await this.#fill())) break;
      const take = Math.min(left, this.#chunk.byteLength - this.#pos);
      this.#pos += take;
      this.#offset += take;
      left -= take;
    }
    return n - left;
  }

  #fail(message: string): never {
    throw new InvalidInputError(`${this.#what}: ${message}`);
  }

  #text(bytes: Uint8Array, what: string): string {
    let s: string;
    try {
      s = utf8.decode(bytes);
    } catch {
      this.#fail(`${what} ${JSON.stringify(lossy.decode(bytes))} is not valid UTF-8`);
    }
    if (s.includes("\0")) this.#fail(`${what} ${JSON.stringify(s)} contains a NUL byte`);
    return s;
  }

  #checkNul(s: string, what: string): string {
    if (s.includes("\0")) this.#fail(`${what} ${JSON.stringify(s)} contains a NUL byte`);
    return s;
  }

  #numeric(block: Uint8Array, start: number, length: number, field: string): number {
    const f = block.subarray(start, start + length);
    if (f[0] & 0x80) {
      if (f[0] === 0xff) this.#fail(`negative ${field} in a header`);
      let v = f[0] & 0x7f;
      for (let i = 1; i < f.length; i++) v = v * 256 + f[i];
      if (!Number.isSafeInteger(v)) this.#fail(`${field} too large in a header`);
      return v;
    }
    let v = 0;
    let i = 0;
    while (i < f.length && f[i] === 0x20) i++; // leading spaces
    let digits = 0;
    for (; i < f.length; i++) {
      const c = f[i];
      if (c >= 0x30 && c <= 0x37) {
        v = v * 8 + (c - 0x30);
        digits++;
      } else break;
    }
    for (; i < f.length; i++) {
      if (f[i] !== 0 && f[i] !== 0x20) {
        this.#fail(
          `invalid ${field} ${JSON.stringify(lossy.decode(f).replace(/\0+$/, ""))} in a header`,
        );
      }
    }
    if (!Number.isSafeInteger(v)) this.#fail(`${field} too large in a header`);
    return digits === 0 ? 0 : v;
  }

  #checksumOk(block: Uint8Array): boolean {
    let stored: number;
    try {
      stored = this.#numeric(block, 148, 8, "checksum");
    } catch {
      return false; // a checksum field that is not a number: a bad checksum
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

  /**
   * PAX records: text values (valid UTF-8, or the archive is refused), and the raw bytes
   * of `SCHILY.xattr.*` values, which are binary (a `security.capability` is a struct).
   */
  #parsePax(
    data: Uint8Array,
  ): { text: Record<string, string>; xattrs: Record<string, Uint8Array> } {
    const out: Record<string, string> = {};
    const xattrs: Record<string, Uint8Array> = {};
    let at = 0;
    while (at < data.byteLength) {
      // Trailing NUL padding after the records is tolerated (some writers emit it).
      if (data[at] === 0 && isZero(data.subarray(at))) break;
      const space = data.indexOf(0x20, at);
      if (space < 0 || space - at > 20) this.#fail("malformed PAX record");
      let len = 0;
      for (let i = at; i < space; i++) {
        const c = data[i];
        if (c < 0x30 || c > 0x39) this.#fail("malformed PAX record length");
        len = len * 10 + (c - 0x30);
      }
      if (len <= space - at + 1 || at + len > data.byteLength || data[at + len - 1] !== 0x0a) {
        this.#fail("malformed PAX record length");
      }
      const record = data.subarray(space + 1, at + len - 1);
      const eq = record.indexOf(0x3d);
      if (eq <= 0) this.#fail("PAX record without a key");
      let key: string;
      try {
        key = utf8.decode(record.subarray(0, eq));
      } catch {
        this.#fail(`PAX record ${JSON.stringify(lossy.decode(record))} is not valid UTF-8`);
      }
      if (key.startsWith(XATTR_PREFIX)) {
        xattrs[key.slice(XATTR_PREFIX.length)] = record.slice(eq + 1);
      } else {
        try {
          out[key] = utf8.decode(record.subarray(eq + 1));
        } catch {
          this.#fail(`PAX record ${JSON.stringify(lossy.decode(record))} is not valid UTF-8`);
        }
      }
      at += len;
    }
    return { text: out, xattrs };
  }

  /** A decimal PAX number; `what` for the message. */
  #paxNumber(value: string, what: string, fractional = false): number {
    const ok = fractional ? /^-?\d+(\.\d+)?$/.test(value) : /^\d+$/.test(value);
    const n = Number(value);
    if (!ok || !Number.isFinite(n) || (!fractional && !Number.isSafeInteger(n))) {
      this.#fail(`invalid PAX ${what} ${JSON.stringify(value)}`);
    }
    return n;
  }

  /**
   * Moves to the next member, skipping what is left of the current body. Returns
   * `undefined` at the end of the archive, after the rest of the input was drained
   * (and seen by `onChunk`).
   *
   * @throws {InvalidInputError} on malformed or truncated input.
   */
  async next(): Promise<TarHeader | undefined> {
    if (this.#ended) return undefined;
    try {
      return await this.#next();
    } catch (e) {
      await this.cancel(e);
      throw e;
    }
  }

  async #next(): Promise<TarHeader | undefined> {
    const skip = this.#bodyLeft + this.#padLeft;
    if (skip > 0) {
      const skipped = await this.#skip(skip);
      if (skipped < this.#bodyLeft) {
        this.#fail(`truncated inside member ${JSON.stringify(this.#member)}`);
      }
      if (skipped === this.#bodyLeft && skipped < skip) {
        // Go's archive/tar (and so containerd and umoci): the input ending right after a
        // member's data, without padding or end-of-archive blocks, is the end. Go accepts
        // it silently, and so do we: Debian's umoci writes such layers, nothing is wrong.
        this.#bodyLeft = this.#padLeft = 0;
        await this.#finish();
        return undefined;
      }
      if (skipped < skip) {
        this.#fail(`truncated in the padding after member ${JSON.stringify(this.#member)}`);
      }
      this.#bodyLeft = this.#padLeft = 0;
    }
    let longName: Uint8Array | undefined;
    let longLink: Uint8Array | undefined;
    let pax: Record<string, string> | undefined;
    let paxXattrs: Record<string, Uint8Array> | undefined;
    let first = -1;
    while (true) {
      const offset = this.#offset;
      if (first < 0) first = offset;
      let block = await this.#read(512);
      if (block.byteLength === 0) {
        if (longName || longLink || pax) this.#fail("truncated after an extended header");
        // A missing end-of-archive marker is accepted silently, as Go's reader does.
        await this.#finish();
        return undefined;
      }
      if (block.byteLength < 512) {
        if (offset === 0) {
          throw new InvalidInputError(
            `${this.#what} is not a tar archive (${block.byteLength} bytes, shorter than one header)`,
          );
        }
        this.#fail(`truncated in a header at byte ${offset}`);
      }
      if (isZero(block)) {
        if (longName || longLink || pax) {
          this.#fail("end-of-archive marker after an extended header");
        }
        const second = await this.#read(512);
        if (second.byteLength > 0 && second.byteLength < 512) {
          this.#fail("truncated end-of-archive marker");
        }
        if (second.byteLength === 512 && !isZero(second)) {
          this.#fail(`a zero block followed by a header at byte ${offset + 512}`);
        }
        await this.#drain();
        return undefined;
      }
      if (!this.#checksumOk(block)) {
        this.#fail(`bad header checksum at byte ${offset} (corrupt, or not a tar)`);
      }
      const flag = block[156];
      const size = this.#numeric(block, 124, 12, "size");
      if (flag === 0x4c || flag === 0x4b || flag === 0x78 || flag === 0x67) { // L K x g
        if (size > MAX_META) this.#fail(`extended header of ${size} bytes is too large`);
        const padded = (size + 511) & ~511;
        // copy out of the scratch block before reading on
        const data = (await this.#read(padded)).slice(0, size);
        if (data.byteLength < size) this.#fail("truncated inside an extended header");
        if (flag === 0x4c || flag === 0x4b) {
          const nul = data.indexOf(0);
          if (nul >= 0 && !isZero(data.subarray(nul))) {
            this.#fail(`GNU long ${flag === 0x4c ? "name" : "link name"} contains a NUL byte`);
          }
          const value = nul < 0 ? data : data.subarray(0, nul);
          if (flag === 0x4c) longName = value;
          else longLink = value;
        } else {
          const { text: records, xattrs: recordXattrs } = this.#parsePax(data);
          if (Object.keys(records).some((k) => k.startsWith("GNU.sparse."))) {
            this.#fail(
              `sparse member ${
                JSON.stringify(records.path ?? records["GNU.sparse.name"] ?? "")
              } is not supported (GNU.sparse PAX records)`,
            );
          }
          if (flag === 0x78) {
            pax = { ...pax, ...records };
            if (Object.keys(recordXattrs).length) {
              paxXattrs = { ...paxXattrs, ...recordXattrs };
            }
          }
          // global headers ('g') are ignored, as Go's archive/tar and containerd do
        }
        continue;
      }
      if (block === this.#scratch) block = block.slice();
      this.#entries++;
      const rawName = fieldBytes(block, 0, 100);
      if (flag === 0x53) { // 'S'
        this.#fail(
          `sparse member ${JSON.stringify(lossy.decode(longName ?? rawName))} is not supported`,
        );
      }
      let type = FLAG_TYPES[flag];
      if (type === undefined) {
        this.#fail(
          `member ${JSON.stringify(lossy.decode(longName ?? rawName))} has unsupported type '${
            String.fromCharCode(flag)
          }'`,
        );
      }
      const magic = block.subarray(257, 263);
      const ustar = magic[0] === 0x75 && magic[1] === 0x73 && magic[2] === 0x74 &&
        magic[3] === 0x61 && magic[4] === 0x72; // "ustar"
      const posix = ustar && magic[5] === 0;
      let name: string;
      if (pax?.path !== undefined) name = this.#checkNul(pax.path, "name");
      else if (longName) name = this.#text(longName, "name");
      else {
        const prefix = posix ? fieldBytes(block, 345, 155) : new Uint8Array(0);
        name = prefix.byteLength
          ? `${this.#text(prefix, "name prefix")}/${this.#text(rawName, "name")}`
          : this.#text(rawName, "name");
      }
      if (name === "") this.#fail(`member at byte ${offset} has an empty name`);
      if (flag === 0 && name.endsWith("/")) type = "directory";
      let linkname = "";
      if (type === "symlink" || type === "hardlink") {
        if (pax?.linkpath !== undefined) linkname = this.#checkNul(pax.linkpath, "link target");
        else if (longLink) linkname = this.#text(longLink, "link target");
        else linkname = this.#text(fieldBytes(block, 157, 100), "link target");
        if (linkname === "") this.#fail(`${type} ${JSON.stringify(name)} has an empty target`);
      }
      let fullSize = size;
      if (pax?.size !== undefined) fullSize = this.#paxNumber(pax.size, "size");
      const num = (key: string, start: number, len: number) =>
        pax?.[key] !== undefined
          ? this.#paxNumber(pax[key], key)
          : this.#numeric(block, start, len, key);
      const xattrs = paxXattrs;
      let devmajor = ustar ? this.#numeric(block, 329, 8, "devmajor") : 0;
      let devminor = ustar ? this.#numeric(block, 337, 8, "devminor") : 0;
      if (pax) {
        if (pax["SCHILY.devmajor"] !== undefined) {
          devmajor = this.#paxNumber(pax["SCHILY.devmajor"], "devmajor");
        }
        if (pax["SCHILY.devminor"] !== undefined) {
          devminor = this.#paxNumber(pax["SCHILY.devminor"], "devminor");
        }
      }
      const bodySize = type === "file" ? fullSize : 0;
      this.#bodyLeft = bodySize;
      this.#member = name;
      this.#padLeft = (512 - (bodySize % 512)) % 512;
      return {
        name,
        type,
        size: bodySize,
        mode: this.#numeric(block, 100, 8, "mode") & 0o7777,
        uid: num("uid", 108, 8),
        gid: num("gid", 116, 8),
        uname: pax?.uname ?? (ustar ? lossy.decode(fieldBytes(block, 265, 32)) : ""),
        gname: pax?.gname ?? (ustar ? lossy.decode(fieldBytes(block, 297, 32)) : ""),
        mtime: pax?.mtime !== undefined
          ? this.#paxNumber(pax.mtime, "mtime", true)
          : this.#numeric(block, 136, 12, "mtime"),
        linkname,
        devmajor: type.endsWith("-device") ? devmajor : 0,
        devminor: type.endsWith("-device") ? devminor : 0,
        ...(xattrs ? { xattrs } : {}),
        offset,
        ...(first !== offset ? { start: first } : {}),
      };
    }
  }

  /** Reads the rest of the input after the end-of-archive marker (it is hashed too). */
  async #drain(): Promise<void> {
    let nonZero = false;
    const check = (c: Uint8Array) => {
      if (!nonZero && !isZero(c)) nonZero = true;
    };
    if (this.#pos < this.#chunk.byteLength) check(this.#chunk.subarray(this.#pos));
    this.#offset += this.#chunk.byteLength - this.#pos;
    this.#pos = this.#chunk.byteLength;
    while (await this.#fill()) {
      check(this.#chunk);
      this.#offset += this.#chunk.byteLength;
      this.#pos = this.#chunk.byteLength;
    }
    if (nonZero) this.#onWarning?.(`${this.#what}: non-zero data after the end-of-archive marker`);
    await this.#finish();
  }

  #finish(): Promise<void> {
    this.#ended = true;
    if (!this.#released) {
      this.#released = true;
      this.#reader.releaseLock();
    }
    return Promise.resolve();
  }

  /**
   * The body of the current member, as chunks that stay valid after the reader moves on.
   * Read it before calling {@link next} again (what is left is skipped).
   */
  async *body(): AsyncGenerator<Uint8Array> {
    while (this.#bodyLeft > 0) {
      yield await this.readBodyChunk();
    }
  }

  /** The next chunk of the current body (empty when the body is done). */
  async readBodyChunk(): Promise<Uint8Array> {
    if (this.#bodyLeft === 0) return new Uint8Array(0);
    if (this.#pos >= this.#chunk.byteLength && !(await this.#fill())) {
      const e = new InvalidInputError(
        `${this.#what}: truncated inside member ${JSON.stringify(this.#member)}`,
      );
      await this.cancel(e);
      throw e;
    }
    const take = Math.min(this.#bodyLeft, this.#chunk.byteLength - this.#pos);
    const out = this.#chunk.subarray(this.#pos, this.#pos + take);
    this.#pos += take;
    this.#offset += take;
    this.#bodyLeft -= take;
    return out;
  }

  /** Bytes of the current body not read yet. */
  get bodyLeft(): number {
    return this.#bodyLeft;
  }

  /** Stops reading and cancels the input. */
  async cancel(reason?: unknown): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#ended = true;
    await this.#reader.cancel(reason).catch(() => {});
  }
}

/** One member of a tar archive, as {@link readTar} yields it. */
export interface TarEntry extends TarHeader {
  /** Byte offset of the member's (last) header block. */
  readonly headerOffset: number;
  /** Byte offset of the body. */
  readonly dataOffset: number;
  /**
   * The body. Read it or leave it: what is left is skipped when the next entry is
   * requested.
   */
  readonly body: ReadableStream<Uint8Array>;
}

/**
 * The members of a tar stream as an async iterator of entries with body streams — the
 * shape the importer and the browser's tar index use over {@link TarReader}.
 *
 * @example
 * ```ts
 * import { readTar } from "@lading/oci/tar";
 * import { packTar } from "modern-tar";
 * const bytes = await packTar([{ header: { name: "a.txt", size: 2 }, body: "hi" }]);
 * for await (const entry of readTar(new Blob([bytes]).stream())) {
 *   console.log(entry.name, await new Response(entry.body).text()); // a.txt hi
 * }
 * ```
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
  options: TarReaderOptions = {},
): AsyncGenerator<TarEntry> {
  const reader = new TarReader(stream, options);
  try {
    while (true) {
      const header = await reader.next();
      if (!header) return;
      let current = true;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!current) {
            controller.error(new TypeError("tar entry body read after moving to the next entry"));
            return;
          }
          const chunk = await reader.readBodyChunk();
          if (chunk.byteLength > 0) controller.enqueue(chunk);
          if (reader.bodyLeft === 0) controller.close();
        },
      }, { highWaterMark: 0 });
      yield { ...header, headerOffset: header.offset, dataOffset: header.offset + 512, body };
      current = false;
    }
  } finally {
    if (!reader.ended) await reader.cancel();
  }
}
