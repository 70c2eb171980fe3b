// This module is browser compatible.
/**
 * Wasted space, as dive reports it: bytes that lower layers carry but a later layer
 * overwrote or deleted, an efficiency score, and the paths that waste the most.
 *
 * The score is dive's: for every path, the smallest version over the sum of all its
 * versions (a whiteout counts the bytes it deletes), summed over paths; 1 means no path
 * appears twice. `wastedBytes` is exact: the bytes of file versions that are not visible
 * in the final filesystem (including duplicates within one layer).
 *
 * @example
 * ```ts
 * import { MergedFilesystem } from "@lading/oci/layers";
 * import { analyzeWaste } from "@lading/oci";
 * const fs = new MergedFilesystem();
 * const e = { mode: 0o644, uid: 0, gid: 0, uname: "", gname: "", mtime: 0, linkname: "",
 *   devmajor: 0, devminor: 0, offset: 0, type: "file" as const, name: "big", path: "big" };
 * fs.apply(0, { ...e, index: 0, size: 1000 });
 * fs.endLayer(0);
 * fs.apply(1, { ...e, index: 0, size: 10 });
 * fs.endLayer(1);
 * const report = analyzeWaste(fs);
 * console.log(report.wastedBytes, report.efficiency.toFixed(3)); // 1000 0.010
 * ```
 * @module
 */
import type { MergedFilesystem } from "./merged_fs.ts";

/** One path that wastes bytes. */
export interface WastedPath {
  /** The path. */
  readonly path: string;
  /** How many layer entries touched it (versions and whiteouts). */
  readonly count: number;
  /** Bytes of all its versions (dive's "total space"). */
  readonly cumulative: number;
  /** Bytes of versions not visible at the end. */
  readonly wasted: number;
}

/** The waste report. */
export interface WasteReport {
  /** dive's efficiency score, 0..1. */
  readonly efficiency: number;
  /** Bytes of every file entry in every layer. */
  readonly totalBytes: number;
  /** Bytes of files visible in the merged filesystem. */
  readonly finalBytes: number;
  /** Bytes in layers that the final filesystem does not show. */
  readonly wastedBytes: number;
  /** `wastedBytes / totalBytes` (0 for an empty image). */
  readonly wastedRatio: number;
  /** Paths with wasted bytes, largest first. */
  readonly paths: WastedPath[];
}

/**
 * Computes the waste report of a merged filesystem; `limit` caps the path list.
 *
 * @example
 * ```ts
 * import { analyzeWaste, appendLayer, mergeImage, resolveImage, emptyImage, MemoryStore, writeImage } from "@lading/oci";
 * const store = new MemoryStore();
 * await writeImage(store, await appendLayer(store, emptyImage(), { files: [{ path: "etc/motd", content: "hi" }] }), { name: "example.com/a:1" });
 * const image = await resolveImage(store, "example.com/a:1");
 * const { fs } = await mergeImage(store, image);
 * console.log(analyzeWaste(fs).efficiency); // 1
 * ```
 */
export function analyzeWaste(
  fs: MergedFilesystem,
  options: { limit?: number } = {},
): WasteReport {
  let minimum = 0;
  let cumulative = 0;
  let wasted = 0;
  const paths: WastedPath[] = [];
  for (const [path, v] of fs.versions) {
    minimum += v.minimum;
    cumulative += v.cumulative;
    wasted += v.wasted;
    if (v.wasted > 0) {
      paths.push({ path, count: v.count, cumulative: v.cumulative, wasted: v.wasted });
    }
  }
  paths.sort((a, b) => b.wasted - a.wasted || (a.path < b.path ? -1 : 1));
  const totalBytes = fs.fileBytes;
  return {
    efficiency: cumulative === 0 ? 1 : minimum / cumulative,
    totalBytes,
    finalBytes: totalBytes - wasted,
    wastedBytes: wasted,
    wastedRatio: totalBytes === 0 ? 0 : wasted / totalBytes,
    paths: options.limit === undefined ? paths : paths.slice(0, options.limit),
  };
}
