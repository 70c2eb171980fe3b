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
  count,
  formatBytes,
  json,
  JSON_FLAG,
  parseCommand,
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
  args: "<name>",
  details: "Efficiency is the share of the bytes of all layers that are in the final\n" +
    "filesystem (dive's definition); wasted bytes are files overwritten or deleted by\n" +
    "later layers.",
  flags: [
    ...LAYER_FLAGS,
    {
      name: "fail-below",
      kind: "string",
      value: "SCORE",
      help: "exit 1 when efficiency is below SCORE (0.95 or 95%), for CI",
    },
    {
      name: "top",
      kind: "string",
      value: "N",
      help: "list the N largest wasted paths (default 20)",
    },
    JSON_FLAG,
  ],
  examples: ["lading waste busybox", "lading waste --fail-below 95% example.com/app:1"],
  async run(args: string[], io: CliIO): Promise<number> {
    const f = parseCommand(args, wasteCommand);
    if (f.positionals.length !== 1) throw new UsageError("waste takes one image name");
    const threshold = f.values["fail-below"] !== undefined
      ? parseScore(f.values["fail-below"] as string)
      : undefined;
    const top = f.values.top !== undefined ? Number(f.values.top) : 20;
    if (!Number.isInteger(top) || top < 0) throw new UsageError("--top needs a whole number");
    return await withImage(f.values, f.positionals[0], io, async (store, image) => {
      const { fs } = await mergeImage(store, image, {
        ...readOptions(f.values, io, { index: true }),
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
            `Total bytes:  ${formatBytes(r.totalBytes)} in ${count(fs.layers, "layer")}\n` +
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
