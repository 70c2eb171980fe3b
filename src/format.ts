// This module is browser compatible.
/**
 * Human-readable sizes: one function and one unit system for the CLI, the page and the
 * OPFS store's quota messages — decimal (SI) units, powers of 1000, as docker, skopeo and
 * crane print them (`1 kB = 1000 B`). JSON output stays in bytes.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format.ts";
 * console.log(formatBytes(999), formatBytes(1_234_000), formatBytes(34_000_000)); // 999 B 1.2 MB 34 MB
 * ```
 * @module
 */

const UNITS = ["kB", "MB", "GB", "TB", "PB"];

/**
 * `999 B`, `1.2 kB`, `34 MB` (one decimal below 10, whole numbers above); `?` for a number
 * that is not finite.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  // A rate or an average is a fraction of a byte: bytes are whole.
  if (Math.abs(n) < 999.5) return `${Math.round(n)} B`;
  let v = n / 1000;
  let u = 0;
  while (Math.abs(v) >= 999.5 && u < UNITS.length - 1) {
    v /= 1000;
    u++;
  }
  const shown = Math.abs(v) < 9.95 ? v.toFixed(1) : String(Math.round(v));
  return `${shown} ${UNITS[u]}`;
}
