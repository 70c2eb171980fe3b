// This module is browser compatible.
/**
 * diff_id verification for whole images by name, as `import --verify-diff-ids` needs it:
 * every platform present (or those asked for), every layer decompressed and hashed, the
 * first mismatch thrown.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "@lading/oci";
 * import { verifyImagesDiffIds } from "./verify.ts";
 * await verifyImagesDiffIds(new MemoryStore(), []); // nothing to check
 * ```
 * @module
 */
import { DigestMismatchError } from "../errors.ts";
import type { ImageSource } from "../store/types.ts";
import type { Platform } from "../types.ts";
import { checkDiffIds, type DiffIdReport } from "./diff_ids.ts";
import type { ReadLayersOptions } from "./image_layers.ts";

/**
 * Checks the diff_ids of every named image (every platform present, or only `platforms`).
 *
 * @returns one report per name.
 * @throws {DigestMismatchError} at the first layer whose uncompressed bytes do not match
 * the config, naming the image, platform, layer, expected and actual diff_id.
 */
export async function verifyImagesDiffIds(
  store: ImageSource,
  names: readonly string[],
  options: Omit<ReadLayersOptions, "verifyDiffIds"> & { platforms?: readonly Platform[] } = {},
): Promise<DiffIdReport[]> {
  const reports: DiffIdReport[] = [];
  for (const name of names) {
    const report = await checkDiffIds(store, name, options);
    for (const m of report.manifests) {
      for (const l of m.layers) {
        if (l.verified === false) {
          throw new DigestMismatchError(
            `image ${name}${
              m.platform ? ` (${m.platform})` : ""
            }: layer ${l.index} ${l.descriptor.digest} decompresses to ${l.diffId}, the config's diff_id is ${l.expectedDiffId}`,
            l.expectedDiffId!,
            l.diffId!,
          );
        }
      }
    }
    reports.push(report);
  }
  return reports;
}
