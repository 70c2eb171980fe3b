// This module is browser compatible.
/**
 * CRC-32 (IEEE 802.3, the gzip trailer's checksum), incremental, slicing by 8 bytes: the
 * gzip decoders that cannot rely on their engine to check every member's trailer
 * (fflate's, and `DecompressionStream` between members) check it with this.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // cbf43926
 * ```
 * @module
 */

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8 tables). */
const TABLES: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0][n];
    for (let k = 1; k < 8; k++) {
      c = t[0][c & 0xff] ^ (c >>> 8);
      t[k][n] = c >>> 0;
    }
  }
  return t;
})();

/**
 * The CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before; 0 to start).
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * const all = new TextEncoder().encode("123456789");
 * console.log(crc32(all.subarray(4), crc32(all.subarray(0, 4))) === crc32(all)); // true
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let c = ~crc;
  let i = 0;
  const n = bytes.length;
  for (const end = n - 8; i <= end; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = t7[a & 0xff] ^ t6[(a >>> 8) & 0xff] ^ t5[(a >>> 16) & 0xff] ^ t4[a >>> 24] ^
      t3[bytes[i + 4]] ^ t2[bytes[i + 5]] ^ t1[bytes[i + 6]] ^ t0[bytes[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
