/**
 * The gzip trailer cases shared by tests/runtime/gzip_trailer_test.ts (Deno's decoders) and
 * tests/e2e/gzip_trailer_test.ts (the page's decoders in Chromium): valid multi-member
 * gzip with file names and extra fields, and every way a trailer can be wrong or cut and
 * bytes can follow the last member. Go's `compress/gzip` refuses all of `INVALID`.
 * @module
 */
import * as zlib from "node:zlib";
import { concatBytes } from "../../src/streams.ts";
import { crc32 } from "../../src/runtime/crc32.ts";

const enc = new TextEncoder();

const le32 = (n: number) => new Uint8Array([n, n >>> 8, n >>> 16, n >>> 24]);

/** One gzip member, with an optional file name (FNAME) and extra field (FEXTRA). */
function member(data: Uint8Array, header: { name?: string; extra?: number } = {}): Uint8Array {
  const flags = (header.name !== undefined ? 8 : 0) | (header.extra !== undefined ? 4 : 0);
  const parts = [new Uint8Array([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3])];
  if (header.extra !== undefined) {
    parts.push(new Uint8Array([header.extra & 0xff, header.extra >>> 8]));
    parts.push(new Uint8Array(header.extra).fill(0x41));
  }
  if (header.name !== undefined) parts.push(enc.encode(header.name), new Uint8Array(1));
  parts.push(new Uint8Array(zlib.deflateRawSync(data)), le32(crc32(data)), le32(data.length));
  return concatBytes(parts);
}

/** `bytes` with the byte `back` places before the end XOR-ed with 0xff. */
export function flipFromEnd(bytes: Uint8Array, back: number): Uint8Array {
  const b = bytes.slice();
  b[b.length - back] ^= 0xff;
  return b;
}

const text = enc.encode("lading reads gzip as Go does. ".repeat(3000));
const noise = new Uint8Array(20000).map((_, i) => (i * 2654435761) >>> 24);
const a = member(text);
const b = member(noise, { name: "noise.bin" });
const c = member(text.subarray(0, 1000), { extra: 60000, name: "n".repeat(511) });

/** Valid input: what, bytes, the decoded bytes. */
export const VALID: [string, Uint8Array, Uint8Array][] = [
  ["one member", a, text],
  [
    "three members, with a file name and a 60 kB extra field",
    concatBytes([a, b, c]),
    concatBytes([text, noise, text.subarray(0, 1000)]),
  ],
  [
    "an empty member between two",
    concatBytes([a, member(new Uint8Array(0)), a]),
    concatBytes([text, text]),
  ],
  ["node:zlib's own output", new Uint8Array(zlib.gzipSync(noise)), noise],
];

// The trailer is CRC-32 (8 to 5 bytes before the end of a member), then ISIZE (4 to 1).
/** Input every decoder must refuse: what, bytes. */
export const INVALID: [string, Uint8Array][] = [
  ["a wrong CRC-32", flipFromEnd(a, 6)],
  ["a wrong ISIZE", flipFromEnd(a, 3)],
  ["a wrong CRC-32 in the first of two members", concatBytes([flipFromEnd(a, 6), b])],
  ["a wrong CRC-32 in the middle of three members", concatBytes([a, flipFromEnd(b, 8), c])],
  ["a wrong ISIZE in the first of two members", concatBytes([flipFromEnd(a, 1), b])],
  ["a trailer cut by 1 byte", a.subarray(0, a.length - 1)],
  ["a trailer cut by 4 bytes", a.subarray(0, a.length - 4)],
  ["a trailer cut by 7 bytes", a.subarray(0, a.length - 7)],
  ["no trailer", a.subarray(0, a.length - 8)],
  ["a second member cut in its trailer", concatBytes([a, b.subarray(0, b.length - 3)])],
  ["trailing garbage", concatBytes([a, enc.encode("garbage")])],
  ["one trailing zero byte", concatBytes([a, new Uint8Array(1)])],
  ["3000 bytes of trailing zero padding", concatBytes([a, new Uint8Array(3000)])],
  ["a zero byte, then a whole member", concatBytes([a, new Uint8Array(1), b])],
  ["a zero byte, then garbage", concatBytes([a, new Uint8Array([0, 1, 2, 3])])],
  [
    "the first 2 bytes of a header after the last member",
    concatBytes([a, new Uint8Array([0x1f, 0x8b])]),
  ],
  ["a whole header and nothing more after the last member", concatBytes([a, b.subarray(0, 20)])],
  ["empty input", new Uint8Array(0)],
];
