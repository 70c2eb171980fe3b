// This module is browser compatible.
/**
 * Deterministic tar headers for archives lading writes: POSIX ustar with a PAX extended
 * header only when a name or size does not fit, every member owned by 0:0 with mtime 0
 * and fixed modes, so the same members always give the same bytes.
 *
 * @example
 * ```ts
 * import { TAR_END, tarHeader, tarPadding } from "./tar_writer.ts";
 * const body = new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}');
 * const parts = [tarHeader({ path: "oci-layout", size: body.byteLength }), body,
 *   tarPadding(body.byteLength), TAR_END];
 * console.log(parts.reduce((n, p) => n + p.byteLength, 0)); // 2048
 * ```
 * @module
 */

/** One member header. */
export interface TarMember {
  /** Path inside the archive, `/`-separated, without a leading `/`; directories end in `/`. */
  readonly path: string;
  /** Body size in bytes (0 for everything but files). */
  readonly size: number;
  /** `file` (default), `directory`, `symlink` or `hardlink`. */
  readonly type?: "file" | "directory" | "symlink" | "hardlink";
  /** Target of a symlink or hardlink. */
  readonly linkname?: string;
  /** Permission bits (default 0o644 for files, 0o755 for directories, 0o777 for symlinks). */
  readonly mode?: number;
  /** Owner (default 0). */
  readonly uid?: number;
  /** Group (default 0). */
  readonly gid?: number;
  /** Modification time in seconds since the epoch (default 0). */
  readonly mtime?: number;
}

const TYPEFLAG = { file: "0", hardlink: "1", symlink: "2", directory: "5" } as const;
const DEFAULT_MODE = { file: 0o644, hardlink: 0o644, symlink: 0o777, directory: 0o755 } as const;
/** Largest value of an 8-byte octal field (uid, gid, mode). */
const MAX_OCTAL_ID = 0o7777777;

/** The two zero blocks that end an archive. */
export const TAR_END: Uint8Array = new Uint8Array(1024);

const BLOCK = 512;
/** Largest size the 11 octal digits of a ustar header hold (8 GiB - 1). */
const MAX_OCTAL_SIZE = 0o77777777777;
const enc = new TextEncoder();

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function tarPadding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return new Uint8Array(rest === 0 ? 0 : BLOCK - rest);
}

/** Bytes a member takes in the archive: headers, body and padding. */
export function tarMemberSize(member: TarMember): number {
  const body = (member.type ?? "file") === "file" ? member.size : 0;
  const header = tarHeader({ ...member, size: body });
  return header.byteLength + body + tarPadding(body).byteLength;
}

/** Bytes a whole archive of these members takes (including the end blocks). */
export function tarArchiveSize(members: readonly TarMember[]): number {
  return members.reduce((n, m) => n + tarMemberSize(m), TAR_END.byteLength);
}

function octal(block: Uint8Array, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, "0");
  block.set(enc.encode(digits), offset);
  block[offset + width - 1] = 0;
}

function field(block: Uint8Array, offset: number, width: number, text: Uint8Array): void {
  block.set(text.subarray(0, width), offset);
}

/** Splits a long path into ustar prefix (≤155) and name (≤100) at a `/`, if possible. */
function splitPath(path: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (path.byteLength <= 100) return { prefix: new Uint8Array(0), name: path };
  if (path.byteLength > 256) return undefined;
  for (let i = path.byteLength - 1; i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    const prefix = path.subarray(0, i);
    const name = path.subarray(i + 1);
    if (prefix.byteLength <= 155 && name.byteLength <= 100 && name.byteLength > 0) {
      return { prefix, name };
    }
    if (prefix.byteLength < path.byteLength - 101) break;
  }
  return undefined;
}

interface UstarFields {
  readonly mode: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: number;
  readonly linkname?: Uint8Array;
}

function ustarBlock(
  name: Uint8Array,
  prefix: Uint8Array,
  size: number,
  typeflag: string,
  fields: UstarFields,
): Uint8Array {
  const b = new Uint8Array(BLOCK);
  field(b, 0, 100, name);
  octal(b, 100, 8, fields.mode);
  octal(b, 108, 8, fields.uid ?? 0);
  octal(b, 116, 8, fields.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, fields.mtime ?? 0);
  b.fill(0x20, 148, 156); // checksum placeholder: spaces
  b[156] = typeflag.charCodeAt(0);
  if (fields.linkname) field(b, 157, 100, fields.linkname);
  field(b, 257, 6, enc.encode("ustar\0"));
  field(b, 263, 2, enc.encode("00"));
  octal(b, 329, 8, 0); // devmajor
  octal(b, 337, 8, 0); // devminor
  field(b, 345, 155, prefix);
  let sum = 0;
  for (const x of b) sum += x;
  const chk = sum.toString(8).padStart(6, "0");
  b.set(enc.encode(chk), 148);
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

/** One PAX record: `<length> <key>=<value>\n`, the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = enc.encode(body).byteLength;
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length !== String(bodyLength).length) {
    length = bodyLength + String(length).length;
  }
  return `${length}${body}`;
}

/**
 * The header block(s) of a member: one ustar block, preceded by a PAX extended header
 * when the path is longer than ustar can split or the size is 8 GiB or more.
 *
 * @throws {TypeError} for an empty or absolute path, or a negative or fractional size.
 */
export function tarHeader(member: TarMember): Uint8Array {
  const type = member.type ?? "file";
  const size = type === "file" ? member.size : 0;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new TypeError(`tar member ${member.path}: size must be a non-negative integer`);
  }
  if (member.path === "" || member.path.startsWith("/") || member.path.includes("\0")) {
    throw new TypeError(`tar member path ${JSON.stringify(member.path)} is not allowed`);
  }
  const path = enc.encode(member.path);
  const split = splitPath(path);
  const records: string[] = [];
  if (!split) records.push(paxRecord("path", member.path));
  if (size > MAX_OCTAL_SIZE) records.push(paxRecord("size", String(size)));
  let linkname: Uint8Array | undefined;
  if (type === "symlink" || type === "hardlink") {
    if (!member.linkname || member.linkname.includes("\0")) {
      throw new TypeError(`tar member ${member.path}: a ${type} needs a link target`);
    }
    linkname = enc.encode(member.linkname);
    if (linkname.byteLength > 100) records.push(paxRecord("linkpath", member.linkname));
  }
  const ids = { uid: member.uid ?? 0, gid: member.gid ?? 0 };
  for (const [key, value] of Object.entries(ids)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`tar member ${member.path}: ${key} must be a non-negative integer`);
    }
    if (value > MAX_OCTAL_ID) records.push(paxRecord(key, String(value)));
  }
  const mtime = member.mtime ?? 0;
  if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > MAX_OCTAL_SIZE) {
    throw new TypeError(`tar member ${member.path}: mtime must be whole seconds since 1970`);
  }
  const shortName = split ? split.name : path.subarray(Math.max(0, path.byteLength - 100));
  const main = ustarBlock(
    shortName,
    split ? split.prefix : new Uint8Array(0),
    size > MAX_OCTAL_SIZE ? 0 : size,
    TYPEFLAG[type],
    {
      mode: (member.mode ?? DEFAULT_MODE[type]) & 0o7777,
      uid: ids.uid > MAX_OCTAL_ID ? 0 : ids.uid,
      gid: ids.gid > MAX_OCTAL_ID ? 0 : ids.gid,
      mtime,
      linkname: linkname && linkname.byteLength <= 100 ? linkname : undefined,
    },
  );
  if (records.length === 0) return main;
  const pax = enc.encode(records.join(""));
  const paxName = enc.encode("PaxHeaders/" + member.path.replace(/\/$/, "").split("/").pop());
  const paxHeader = ustarBlock(
    paxName.subarray(0, 100),
    new Uint8Array(0),
    pax.byteLength,
    "x",
    { mode: 0o644 },
  );
  const out = new Uint8Array(
    BLOCK + pax.byteLength + tarPadding(pax.byteLength).byteLength + BLOCK,
  );
  out.set(paxHeader, 0);
  out.set(pax, BLOCK);
  out.set(main, out.byteLength - BLOCK);
  return out;
}
