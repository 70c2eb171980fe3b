/**
 * Builds the web page into `web-demo/dist/` with esbuild (npm), and bundles browser code
 * for the Chromium tests. Bare imports (`fflate`, `hash-wasm`, …) resolve through
 * deno.json's import map to the packages in Deno's npm cache, so the page uses exactly the
 * pinned versions the library uses.
 *
 * `deno task web:build` runs {@link buildDemo}.
 *
 * @example
 * ```ts ignore
 * import { bundle } from "./build.ts";
 * await bundle({ entryPoints: { app: "web-demo/main.ts" }, outdir: "/tmp/out" });
 * ```
 * @module
 */
import * as esbuild from "esbuild";

const repoRoot = new URL("../", import.meta.url);

/** Absolute path of a file in the repository. */
export function repoPath(relative: string): string {
  return decodeURIComponent(new URL(relative, repoRoot).pathname);
}

interface NpmPackage {
  name: string;
  version: string;
}

/** The npm packages deno.json maps bare names to. */
async function npmImports(): Promise<Map<string, NpmPackage>> {
  const config = JSON.parse(await Deno.readTextFile(repoPath("deno.json")));
  const out = new Map<string, NpmPackage>();
  for (const [bare, target] of Object.entries(config.imports ?? {})) {
    const m = /^npm:(@?[^@]+)@([^/]+)$/.exec(String(target));
    if (m) out.set(bare, { name: m[1], version: m[2] });
  }
  return out;
}

let npmCache: Promise<string> | undefined;

/** Deno's npm cache folder (`deno info --json`). */
function npmCacheDir(): Promise<string> {
  npmCache ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    return String(info.npmCache);
  })();
  return npmCache;
}

async function packageDir(pkg: NpmPackage): Promise<string> {
  const cache = await npmCacheDir();
  for await (const registry of Deno.readDir(cache)) {
    if (!registry.isDirectory) continue;
    const dir = `${cache}/${registry.name}/${pkg.name}/${pkg.version}`;
    try {
      await Deno.stat(`${dir}/package.json`);
      return dir;
    } catch {
      // not in this registry folder
    }
  }
  throw new Error(
    `npm package ${pkg.name}@${pkg.version} is not in Deno's cache (${cache}); run 'deno cache' on an entry point that imports it`,
  );
}

/** Makes sure Deno downloaded every npm package the entry points import. */
async function cacheDependencies(entries: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--quiet", "--config", repoPath("deno.json"), ...entries],
    cwd: repoPath("."),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno cache ${entries.join(" ")} failed`);
}

/** An esbuild plugin resolving deno.json's bare npm imports to Deno's npm cache. */
function denoNpmPlugin(imports: Map<string, NpmPackage>): esbuild.Plugin {
  return {
    name: "deno-npm",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith("node:")) return { path: args.path, external: true };
        const bare = [...imports.keys()].find((k) =>
          args.path === k || args.path.startsWith(`${k}/`)
        );
        if (!bare) return undefined;
        const dir = await packageDir(imports.get(bare)!);
        const sub = args.path.slice(bare.length);
        // Resolve as if imported from inside the package folder's parent.
        const result = await build.resolve(`./${sub ? sub.slice(1) : ""}`, {
          kind: args.kind,
          resolveDir: dir,
        });
        if (result.errors.length) return { errors: result.errors };
        return { path: result.path };
      });
    },
  };
}

/** Options of {@link bundle}. */
export interface BundleOptions {
  /** Output name → entry file (relative to the repository root, or absolute). */
  entryPoints: Record<string, string>;
  /** Output folder. */
  outdir: string;
  /** Minify (default false). */
  minify?: boolean;
  /** Source maps (default true: "linked"). */
  sourcemap?: boolean;
  /** `browser` (default) or `node` (for the library's Node test). */
  platform?: "browser" | "node";
}

/** Bundles entry points as browser ES modules. */
export async function bundle(options: BundleOptions): Promise<void> {
  const entries = Object.fromEntries(
    Object.entries(options.entryPoints).map((
      [k, v],
    ) => [k, v.startsWith("/") ? v : repoPath(v)]),
  );
  await cacheDependencies(Object.values(entries));
  const imports = await npmImports();
  const result = await esbuild.build({
    entryPoints: entries,
    outdir: options.outdir,
    bundle: true,
    format: "esm",
    platform: options.platform ?? "browser",
    target: "es2022",
    minify: options.minify ?? false,
    sourcemap: options.sourcemap === false ? false : "linked",
    plugins: [denoNpmPlugin(imports)],
    logLevel: "silent",
    keepNames: true,
    // Deno-only modules reached through dynamic imports with computed names stay out.
    external: ["node:*"],
  });
  for (const w of result.warnings) {
    if (/dynamic import|cannot be analyzed/i.test(w.text)) continue;
    console.warn(`esbuild: ${w.text}`);
  }
}

/** Stops esbuild's service (so a Deno test does not leak it). */
export async function stopBundler(): Promise<void> {
  await esbuild.stop();
}

/** Builds the demo page into `outdir` (default `web-demo/dist`). */
export async function buildDemo(outdir = repoPath("web-demo/dist")): Promise<string> {
  await Deno.mkdir(outdir, { recursive: true });
  await bundle({
    entryPoints: {
      main: "web-demo/main.ts",
      worker: "web-demo/worker.ts",
      opfs_writer: "web-demo/opfs_writer.ts",
      registry_worker: "web-demo/registry_worker.ts",
    },
    outdir,
    minify: true,
  });
  for (const file of ["index.html", "style.css", "sw.js"]) {
    await Deno.copyFile(repoPath(`web-demo/${file}`), `${outdir}/${file}`);
  }
  return outdir;
}

if (import.meta.main) {
  const t0 = performance.now();
  const out = await buildDemo(Deno.args[0]);
  await stopBundler();
  console.log(`built ${out} in ${Math.round(performance.now() - t0)} ms`);
}
