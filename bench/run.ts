/**
 * `deno task bench [import] [layers] [export] [web] [registry]`: builds the benchmark image once
 * (cached under the work directory), runs the chosen bench modules (all that exist by
 * default), prints one table and writes `<workDir>/results.json`.
 *
 * The work directory is `$LADING_BENCH_DIR` or `/tmp/lading-bench`. A goal that is missed
 * is printed as MISS; the benchmark itself never fails because of it (it is not a test).
 *
 * Each module exports `bench<Name>(workDir, { image })` returning {@link BenchResult}s.
 * @module
 */
import { type BenchImage, type BenchResult, makeBenchImage } from "./make_image.ts";

export type { BenchResult };

/** The bench modules, in run order: name → file and exported function. */
const MODULES: Record<string, { file: string; fn: string }> = {
  import: { file: "./import.ts", fn: "benchImport" },
  layers: { file: "./layers.ts", fn: "benchLayers" },
  export: { file: "./export.ts", fn: "benchExport" },
  web: { file: "./web.ts", fn: "benchWeb" },
  registry: { file: "./registry.ts", fn: "benchRegistry" },
};

type BenchFn = (
  workDir: string,
  options?: { image?: BenchImage },
) => Promise<BenchResult[]>;

interface Row extends BenchResult {
  module: string;
  pass?: boolean;
}

function goalOf(r: BenchResult): { max: number; of: "ratio" | "value" } | undefined {
  if (r.goal === undefined || r.goal === null) return undefined;
  return typeof r.goal === "number" ? { max: r.goal, of: "ratio" } : r.goal;
}

/** PASS/MISS of one row (undefined when it has no goal). */
export function passes(r: BenchResult): boolean | undefined {
  const g = goalOf(r);
  if (!g) return undefined;
  return (g.of === "ratio" ? r.ratio : r.value) <= g.max;
}

function fmtNum(v: number, unit?: string): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

function fmtGoal(r: BenchResult): string {
  const g = goalOf(r);
  if (!g) return "";
  return g.of === "ratio" ? `≤ ${g.max.toFixed(1)}×` : `≤ ${fmtNum(g.max, r.unit ?? "s")}`;
}

/** Prints results as an aligned table. */
export function printTable(results: readonly BenchResult[]): void {
  const header = ["name", "lading", "reference", "ratio", "goal", ""];
  const rows = results.map((r) => {
    const p = passes(r);
    const unit = r.unit ?? "s";
    return [
      r.name,
      fmtNum(r.value, unit),
      `${fmtNum(r.reference, unit)}${r.referenceName ? ` (${r.referenceName})` : ""}`,
      `${r.ratio.toFixed(2)}×`,
      fmtGoal(r),
      p === undefined ? "" : p ? "PASS" : "MISS",
      r.note ?? "",
    ];
  });
  const all = [[...header, ""], ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => [...row[i]].length)));
  const line = (row: string[]) =>
    row.slice(0, header.length).map((c, i) =>
      i === 1 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])
    ).join("  ") + (row[header.length] ? `  ${row[header.length]}` : "");
  console.log(line([...header, ""]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row).trimEnd());
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch {
    return false;
  }
}

/** Runs the chosen modules (all when `names` is empty). */
export async function runBench(
  workDir: string,
  names: readonly string[] = [],
): Promise<Row[]> {
  for (const n of names) {
    if (!MODULES[n]) {
      throw new TypeError(`unknown bench ${JSON.stringify(n)} (one of ${Object.keys(MODULES)})`);
    }
  }
  const chosen = names.length ? [...names] : Object.keys(MODULES);
  await Deno.mkdir(workDir, { recursive: true });
  const available: [string, BenchFn][] = [];
  for (const name of chosen) {
    const { file, fn } = MODULES[name];
    const url = new URL(file, import.meta.url);
    if (!await exists(url)) {
      console.error(`[bench] ${name}: bench/${file.slice(2)} does not exist yet, skipped`);
      continue;
    }
    const mod = await import(url.href);
    if (typeof mod[fn] !== "function") {
      console.error(`[bench] ${name}: bench/${file.slice(2)} has no ${fn}(), skipped`);
      continue;
    }
    available.push([name, mod[fn] as BenchFn]);
  }
  if (available.length === 0) return [];
  const image = await makeBenchImage(workDir);
  const rows: Row[] = [];
  for (const [name, fn] of available) {
    console.error(`[bench] running ${name} ...`);
    const t0 = performance.now();
    try {
      for (const r of await fn(workDir, { image })) {
        rows.push({ module: name, ...r, pass: passes(r) });
      }
    } catch (e) {
      console.error(`[bench] ${name} failed: ${(e as Error).stack ?? e}`);
      rows.push({
        module: name,
        name: `${name}: FAILED (${(e as Error).message.split("\n")[0]})`,
        value: NaN,
        reference: NaN,
        ratio: NaN,
      });
    }
    console.error(`[bench] ${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return rows;
}

if (import.meta.main) {
  const workDir = Deno.env.get("LADING_BENCH_DIR") ?? "/tmp/lading-bench";
  const rows = await runBench(workDir, Deno.args);
  console.log();
  printTable(rows);
  const out = {
    date: new Date().toISOString(),
    host: {
      deno: Deno.version.deno,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
    },
    workDir,
    results: rows,
  };
  await Deno.writeTextFile(`${workDir}/results.json`, JSON.stringify(out, null, 2) + "\n");
  console.log(`\nresults: ${workDir}/results.json`);
}
