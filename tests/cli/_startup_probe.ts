/**
 * Runs the lading CLI as `cli.ts` does, and reports which of Deno's lazily loaded Node
 * compatibility globals the command touched. In Deno 2.9 `process`, `setTimeout`,
 * `Buffer` and friends are getters on `globalThis` that load Node's compatibility layer on
 * first access (tens of milliseconds of start-up; `node:crypto` and `node:zlib` come
 * through `process.getBuiltinModule`). A command that needs none of it (a re-pull, `images
 * ls`) must not touch them.
 *
 * ```sh
 * LADING_PROBE_OUT=/tmp/out.json deno run -A tests/cli/_startup_probe.ts images ls
 * ```
 * The report (JSON, written to `$LADING_PROBE_OUT`): `{ code, touched: [{ name, at }] }`,
 * `at` being the first stack frame outside this file. {@link runProbed} runs it in a
 * fresh process and returns the report with the command's output.
 * @module
 */

/** What {@link runProbed} saw. */
export interface Probed {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The Node compatibility globals the command touched, with where. */
  readonly touched: { name: string; at: string }[];
}

/** Runs `lading ...args` under the probe in a fresh process (env as given, plus the probe's). */
export async function runProbed(
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<Probed> {
  const out = await Deno.makeTempFile({ prefix: "lading-probe-", suffix: ".json" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", new URL(import.meta.url).pathname, ...args],
      cwd: new URL("../../", import.meta.url).pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { ...options.env, LADING_PROBE_OUT: out },
    }).output();
    const dec = new TextDecoder();
    const stdout = dec.decode(r.stdout);
    const stderr = dec.decode(r.stderr);
    const text = await Deno.readTextFile(out);
    if (!text) throw new Error(`the probe wrote no report (exit ${r.code}): ${stderr}`);
    const report = JSON.parse(text) as { code: number; touched: Probed["touched"] };
    return { code: r.code, stdout, stderr, touched: report.touched };
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** Globals whose first access loads Node's compatibility layer in Deno. */
export const NODE_COMPAT_GLOBALS = [
  "process",
  "Buffer",
  "global",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "clearTimeout",
  "clearInterval",
  "clearImmediate",
] as const;

function probe(): { name: string; at: string }[] {
  const touched: { name: string; at: string }[] = [];
  for (const name of NODE_COMPAT_GLOBALS) {
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (!d?.get || !d.configurable) continue;
    const get = d.get;
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: d.enumerable,
      get() {
        if (!touched.some((t) => t.name === name)) {
          const frames = (new Error().stack ?? "").split("\n").slice(1);
          const at = frames.find((f) => !f.includes("_startup_probe.ts"))?.trim() ?? "?";
          touched.push({ name, at });
        }
        return get.call(this);
      },
      set: d.set,
    });
  }
  return touched;
}

if (import.meta.main) {
  const touched = probe();
  // Loaded after the traps: module top-level code is watched too.
  const { denoIO, exitOnUncaughtErrors, main } = await import("../../src/cli/main.ts");
  const { prepareSignalHandling } = await import("../../src/deno/descriptors.ts");
  // As cli.ts does.
  prepareSignalHandling();
  exitOnUncaughtErrors();
  const code = await main(Deno.args, denoIO());
  const out = Deno.env.get("LADING_PROBE_OUT");
  if (out) Deno.writeTextFileSync(out, JSON.stringify({ code, touched }));
  Deno.exit(code);
}
