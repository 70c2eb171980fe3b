// This module is browser compatible.
/**
 * Two images side by side: the files the second adds, removes and changes (type, size,
 * mode, owner, link target or modification time), the config fields that differ (Env
 * per variable, Cmd, Entrypoint, labels per key, …) and the layers they share.
 *
 * @example
 * ```ts
 * import { compareConfigs } from "./compare.ts";
 * const a = { env: ["A=1", "B=2"], labels: { x: "1" }, ports: [], volumes: [], cmd: ["sh"] };
 * const b = { env: ["A=1", "B=3"], labels: {}, ports: [], volumes: [], cmd: ["sh"] };
 * console.log(compareConfigs(a, b));
 * // [ { field: "Env B", before: "2", after: "3" }, { field: "Label x", before: "1", after: undefined } ]
 * ```
 * @module
 */
import { linkRoot } from "../layers/merged_fs.ts";
import type { ImageAnalysis } from "./explore.ts";
import type { ConfigSummary } from "./inspect.ts";

/** A path that differs. */
export interface PathDifference {
  readonly path: string;
  readonly kind: "added" | "removed" | "changed";
  readonly type: string;
  /** Size in the first image (absent when added). */
  readonly before?: number;
  /** Size in the second image (absent when removed). */
  readonly after?: number;
  /** What changed, for `changed`. */
  readonly what?: readonly string[];
}

/** A config field that differs. */
export interface ConfigDifference {
  readonly field: string;
  readonly before?: string;
  readonly after?: string;
}

/** A layer in the comparison. */
export interface ComparedLayer {
  readonly digest: string;
  readonly diffId?: string;
  readonly size: number;
  readonly createdBy?: string;
  /** Positions in the first and second image. */
  readonly a?: number;
  readonly b?: number;
}

/** The comparison. */
export interface Comparison {
  readonly files: readonly PathDifference[];
  /** Counts before the list was cut. */
  readonly counts: { readonly added: number; readonly removed: number; readonly changed: number };
  readonly config: readonly ConfigDifference[];
  readonly shared: readonly ComparedLayer[];
  readonly onlyA: readonly ComparedLayer[];
  readonly onlyB: readonly ComparedLayer[];
}

type ConfigLike =
  & Pick<ConfigSummary, "env" | "labels" | "ports" | "volumes">
  & Partial<
    Omit<ConfigSummary, "env" | "labels" | "ports" | "volumes">
  >;

function json(v: unknown): string | undefined {
  return v === undefined ? undefined : JSON.stringify(v);
}

function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const i = e.indexOf("=");
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? "" : e.slice(i + 1));
  }
  return m;
}

function mapDiff(
  out: ConfigDifference[],
  prefix: string,
  a: Map<string, string>,
  b: Map<string, string>,
) {
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(k) !== b.get(k)) {
      out.push({ field: `${prefix} ${k}`, before: a.get(k), after: b.get(k) });
    }
  }
}

/** The config fields that differ between two summaries. */
export function compareConfigs(a: ConfigLike, b: ConfigLike): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const scalar: [string, unknown, unknown][] = [
    ["Entrypoint", a.entrypoint, b.entrypoint],
    ["Cmd", a.cmd, b.cmd],
    ["WorkingDir", a.workingDir, b.workingDir],
    ["User", a.user, b.user],
    ["StopSignal", a.stopSignal, b.stopSignal],
    ["Ports", a.ports.join(", ") || undefined, b.ports.join(", ") || undefined],
    ["Volumes", a.volumes.join(", ") || undefined, b.volumes.join(", ") || undefined],
  ];
  for (const [field, x, y] of scalar) {
    const before = typeof x === "string" ? x : json(x);
    const after = typeof y === "string" ? y : json(y);
    if (before !== after) out.push({ field, before, after });
  }
  mapDiff(out, "Env", envMap(a.env), envMap(b.env));
  mapDiff(
    out,
    "Label",
    new Map(Object.entries(a.labels)),
    new Map(Object.entries(b.labels)),
  );
  return out;
}

/** Compares two analysed images (files of the final filesystems, layers); `limit` cuts the file list. */
export function compareImages(
  a: ImageAnalysis,
  b: ImageAnalysis,
  configs: { a: ConfigLike; b: ConfigLike },
  limit = 2000,
): Comparison {
  const files: PathDifference[] = [];
  const counts = { added: 0, removed: 0, changed: 0 };
  const push = (d: PathDifference) => {
    counts[d.kind]++;
    if (files.length < limit) files.push(d);
  };
  const bNodes = new Map([...b.full.walk()].map(({ path, node }) => [path, node]));
  const diffIdA = (l: number) => a.index.summaries[l]?.diffId ?? a.image.manifest.layers[l].digest;
  const diffIdB = (l: number) => b.index.summaries[l]?.diffId ?? b.image.manifest.layers[l].digest;
  for (const { path, node } of a.full.walk()) {
    const other = bNodes.get(path);
    if (!other) {
      push({ path, kind: "removed", type: node.type, before: node.size });
      continue;
    }
    bNodes.delete(path);
    const what: string[] = [];
    if (node.type !== other.type) what.push(`type ${node.type} → ${other.type}`);
    if (node.size !== other.size) what.push("size");
    if ((node.mode & 0o7777) !== (other.mode & 0o7777)) {
      what.push(`mode ${(node.mode & 0o7777).toString(8)} → ${(other.mode & 0o7777).toString(8)}`);
    }
    if (node.uid !== other.uid || node.gid !== other.gid) what.push("owner");
    if (node.linkname !== other.linkname) what.push("link target");
    const ca = linkRoot(node).content;
    const cb = linkRoot(other).content;
    if (ca && cb && node.size === other.size && node.mtime !== other.mtime) {
      // Same size, other bytes possible: the same member of the same layer is the same file.
      if (!(diffIdA(ca.layer) === diffIdB(cb.layer) && ca.entry === cb.entry)) what.push("mtime");
    }
    if (what.length) {
      push({
        path,
        kind: "changed",
        type: other.type,
        before: node.size,
        after: other.size,
        what,
      });
    }
  }
  for (const [path, node] of bNodes) {
    push({ path, kind: "added", type: node.type, after: node.size });
  }
  files.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));

  const layer = (x: ImageAnalysis, i: number): ComparedLayer => {
    const s = x.index.summaries[i];
    return {
      digest: s.descriptor.digest,
      ...(s.diffId ? { diffId: s.diffId } : {}),
      size: s.descriptor.size,
      ...(s.createdBy ? { createdBy: s.createdBy } : {}),
    };
  };
  const key = (l: ComparedLayer) => l.diffId ?? l.digest;
  const bKeys = new Map(b.index.summaries.map((_, i) => [key(layer(b, i)), i]));
  const shared: ComparedLayer[] = [];
  const onlyA: ComparedLayer[] = [];
  const seenB = new Set<number>();
  a.index.summaries.forEach((_, i) => {
    const l = layer(a, i);
    const j = bKeys.get(key(l));
    if (j !== undefined) {
      seenB.add(j);
      shared.push({ ...l, a: i, b: j });
    } else onlyA.push({ ...l, a: i });
  });
  const onlyB = b.index.summaries.map((_, j) => ({ ...layer(b, j), b: j })).filter((_, j) =>
    !seenB.has(j)
  );
  return {
    files,
    counts,
    config: compareConfigs(configs.a, configs.b),
    shared,
    onlyA,
    onlyB,
  };
}
