/**
 * `import --verify-diff-ids`: decompress every layer of the imported images and compare
 * with the configs. Delegates to the layers module.
 * @module
 */
import type { Store } from "../store/types.ts";
import type { Platform } from "../types.ts";
import { UsageError } from "./common.ts";

/** Verifies diff_ids of the named images (every platform present, or the given ones). */
export async function verifyImportedDiffIds(
  store: Store,
  names: string[],
  platforms: Platform[],
): Promise<void> {
  let mod: Record<string, unknown>;
  try {
    mod = await import("../layers/verify.ts");
  } catch {
    throw new UsageError("--verify-diff-ids needs the layers module, which is not available");
  }
  const fn = mod.verifyImagesDiffIds as (
    s: Store,
    n: string[],
    o: { platforms: Platform[] },
  ) => Promise<void>;
  await fn(store, names, { platforms });
}
