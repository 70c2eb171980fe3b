// This module is browser compatible.
/**
 * Small formatting helpers for the page.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format.ts";
 * console.log(formatBytes(1536)); // 1.5 KiB
 * ```
 * @module
 */

/** `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** `sha256:ab12cd34ef56` */
export function shortDigestText(digest: string): string {
  const colon = digest.indexOf(":");
  return colon < 0 ? digest : digest.slice(0, colon + 13);
}
