// This module is browser compatible.
/**
 * Human-readable sizes, one function for the CLI (decimal units, as docker and skopeo
 * print them), the page and the OPFS store's quota messages (binary units).
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format.ts";
 * console.log(formatBytes(1_234_000), formatBytes(1536, { binary: true })); // 1.2 MB 1.5 KiB
 * ```
 * @module
 */

/** Options of {@link formatBytes}. */
export interface FormatBytesOptions {
  /** Powers of 1024 with one decimal (`1.5 KiB`) instead of powers of 1000 (`1.2 MB`). */
  readonly binary?: boolean;
}

const DECIMAL = { base: 1000, units: ["kB", "MB", "GB", "TB"] };
const BINARY = { base: 1024, units: ["KiB", "MiB", "GiB", "TiB"] };

/**
 * `1.2 MB` / `34 MB` (decimal: one decimal below 10) or `1.5 KiB` / `12.0 MiB` (binary);
 * `?` for a number that is not finite.
 */
export function formatBytes(n: number, options: FormatBytesOptions = {}): string {
  if (!Number.isFinite(n)) return "?";
  const { base, units } = options.binary ? BINARY : DECIMAL;
  if (n < base) return `${n} B`;
  let v = n / base;
  let u = 0;
  while (v >= base && u < units.length - 1) {
    v /= base;
    u++;
  }
  const shown = options.binary || v < 10 ? v.toFixed(1) : String(Math.round(v));
  return `${shown} ${units[u]}`;
}
