/**
 * `lading waste <name>`: dive's wasted-space report — the efficiency score, the bytes
 * lower layers carry that later layers overwrote or deleted, the largest such paths —
 * and `--fail-below SCORE` for CI (exit 1 below it, as dive's `--ci` does).
 * @module
 */
import { mergeImage } from "../layers/image_layers.ts";
import { analyzeWaste } from "../layers/waste.ts";
import {
  type CliIO,
  type Command,
  formatBytes,
  json,
  parseFlags,
  table,
  UsageError,
} from "./common.ts";
import { LAYER_FLAGS, readOptions, withImage } from "./layers_common.ts";

/** Parses `0.9`, `90%` into 0..1. */
export function parseScore(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  if (!m) {
    throw new UsageError(`--fail-below: ${JSON.stringify(value)} is not a score (0.9 or 90%)`);
  }
  const n = Number(m[1]) / (m[2] ? 100 : 1);
  if (n < 0 || n > 1) {
    throw new UsageError(`--fail-below: ${value} is not between 0 and 1 (or 0% and 100%)`);
  }
  return n;
}

/** `waste`. */
export const wasteCommand: Command = {
  path: ["waste"],
  summary: "report wasted space like dive: efficiency, wasted bytes, largest wasted paths",
  usage: "lading waste <name> [--json] [--fail-below SCORE] [--top N] [--platform P] [--store DIR]",
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseFlags(args, {
      string: [...LAYER_FLAGS.string, "fail-below", "top"],
      boolean: ["json"],
    });
    if (f.positionals.length !== 1) throw new UsageError("waste takes one image name");
    const threshold = f.values["fail-below"] !== undefined
      ? parseScore(f.values["fail-below"] as string)
      : undefined;
    const top = f.values.top !== undefined ? Number(f.values.top) : 20;
    if (!Number.isInteger(top) || top < 0) throw new UsageError("--top needs a whole number");
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const { fs } = await mergeImage(store, image, {
        ...readOptions(f.values, io),
        trackChanges: false,
      });
      const r = analyzeWaste(fs, { limit: top });
      const pass = threshold === undefined || r.efficiency >= threshold;
      if (f.values.json) {
        io.out(
          json({ name: image.name, ...r, ...(threshold !== undefined ? { threshold, pass } : {}) }),
        );
      } else {
        io.out(
          `Image:        ${image.name}\n` +
            `Efficiency:   ${(r.efficiency * 100).toFixed(4)} %\n` +
            `Total bytes:  ${formatBytes(r.totalBytes)} in ${fs.layers} layers\n` +
            `Wasted bytes: ${formatBytes(r.wastedBytes)} (${(r.wastedRatio * 100).toFixed(2)} %)\n`,
        );
        if (r.paths.length) {
          io.out(
            "\n" + table(
              ["COUNT", "TOTAL SPACE", "WASTED", "PATH"],
              r.paths.map((
                p,
              ) => [String(p.count), formatBytes(p.cumulative), formatBytes(p.wasted), p.path]),
            ),
          );
        }
        if (threshold !== undefined) {
          io.out(
            `\n${pass ? "PASS" : "FAIL"}: efficiency ${(r.efficiency * 100).toFixed(2)} % ${
              pass ? ">=" : "<"
            } ${(threshold * 100).toFixed(2)} %\n`,
          );
        }
      }
      return pass ? 0 : 1;
    });
  },
};
