/**
 * Nasty tars built byte by byte: any type flag, invalid UTF-8 names, PAX and GNU
 * records, bad checksums, missing end-of-archive markers, trailing data. For tests of the
 * strict layer reader and the safe unpack.
 * @module
 */

const enc = new TextEncoder();

/** One raw tar member. Strings are UTF-8 encoded; byte arrays are written as they are. */
export interface RawMember {
  name: string | Uint8Array;
  /** Type flag character (default `0`). */
  type?: string;
  /** Body (files, PAX, long names). */
  body?: string | Uint8Array;
  /** Size field; defaults to the body length. */
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string | Uint8Array;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  /** ustar prefix field. */
  prefix?: string | Uint8Array;
  /** Header format: POSIX ustar (default), old GNU, or v7 (no magic). */
  format?: "ustar" | "gnu" | "v7";
  /** Replaces the computed checksum. */
  checksum?: number;
  /** Raw bytes for the size field (e.g. base-256). */
  sizeField?: Uint8Array;
}

function bytesOf(v: string | Uint8Array | undefined): Uint8Array {
  return v === undefined ? new Uint8Array(0) : typeof v === "string" ? enc.encode(v) : v;
}

function octal(block: Uint8Array, at: number, len: number, value: number) {
  const s = value.toString(8).padStart(len - 1, "0");
  block.set(enc.encode(s.slice(-(len - 1))), at);
  block[at + len - 1] = 0;
}

/** The header block(s) and padded body of one member. */
export function rawMember(m: RawMember): Uint8Array {
  const body = bytesOf(m.body);
  const block = new Uint8Array(512);
  block.set(bytesOf(m.name).subarray(0, 100), 0);
  octal(block, 100, 8, m.mode ?? 0o644);
  octal(block, 108, 8, m.uid ?? 0);
  octal(block, 116, 8, m.gid ?? 0);
  if (m.sizeField) block.set(m.sizeField, 124);
  else octal(block, 124, 12, m.size ?? body.byteLength);
  octal(block, 136, 12, m.mtime ?? 0);
  block[156] = (m.type ?? "0").charCodeAt(0);
  block.set(bytesOf(m.linkname).subarray(0, 100), 157);
  const format = m.format ?? "ustar";
  if (format === "ustar") block.set(enc.encode("ustar\x0000"), 257);
  else if (format === "gnu") block.set(enc.encode("ustar  \x00"), 257);
  if (format !== "v7") {
    block.set(enc.encode(m.uname ?? "root").subarray(0, 32), 265);
    block.set(enc.encode(m.gname ?? "root").subarray(0, 32), 297);
    octal(block, 329, 8, m.devmajor ?? 0);
    octal(block, 337, 8, m.devminor ?? 0);
  }
  if (m.prefix !== undefined) block.set(bytesOf(m.prefix).subarray(0, 155), 345);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  octal(block, 148, 7, m.checksum ?? sum);
  block[155] = 0x20;
  const padded = new Uint8Array(512 + Math.ceil(body.byteLength / 512) * 512);
  padded.set(block);
  padded.set(body, 512);
  return padded;
}

/** A PAX extended header member (`x`, or `g` when global) with these records. */
export function paxMember(
  records: Record<string, string | Uint8Array>,
  options: { global?: boolean } = {},
) {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(records)) {
    const value = bytesOf(v);
    let len = enc.encode(` ${k}=\n`).byteLength + value.byteLength;
    len += String(len + String(len).length).length;
    parts.push(enc.encode(`${len} ${k}=`), value, enc.encode("\n"));
  }
  const body = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.byteLength;
  }
  return rawMember({ name: "PaxHeader", type: options.global ? "g" : "x", body });
}

/** A GNU long name (`L`) or long link name (`K`) member. */
export function gnuLongMember(kind: "L" | "K", value: string | Uint8Array): Uint8Array {
  const v = bytesOf(value);
  const body = new Uint8Array(v.byteLength + 1);
  body.set(v);
  return rawMember({ name: "././@LongLink", type: kind, body });
}

/** Concatenates members and ends the archive (two zero blocks by default). */
export function rawTar(
  members: Uint8Array[],
  options: { end?: "marker" | "none" | "one-block"; trailing?: Uint8Array } = {},
): Uint8Array {
  const end = options.end ?? "marker";
  const endBytes = end === "marker" ? 1024 : end === "one-block" ? 512 : 0;
  const trailing = options.trailing ?? new Uint8Array(0);
  const total = members.reduce((n, m) => n + m.byteLength, 0) + endBytes + trailing.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const m of members) {
    out.set(m, at);
    at += m.byteLength;
  }
  at += endBytes;
  out.set(trailing, at);
  return out;
}

/** Shorthand: a raw tar of plain members. */
export function tarOfRaw(members: RawMember[], options: Parameters<typeof rawTar>[1] = {}) {
  return rawTar(members.map(rawMember), options);
}
