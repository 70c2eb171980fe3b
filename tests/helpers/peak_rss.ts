/**
 * Runs a command in a child process and reports its exit code, output and peak resident
 * set size, measured by GNU time (`/usr/bin/time -f %M`, kilobytes).
 * @module
 */

/** What a child process did. */
export interface ChildRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size in bytes. */
  peakRss: number;
}

/** Options of {@link runMeasured}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: Uint8Array;
  /** A shell prefix run before the command (e.g. `ulimit -n 256`). */
  shellPrefix?: string;
  /** V8 flags for {@link runDeno}. */
  v8Flags?: string[];
}

/** Runs `args` (argv[0] is the program) and measures its peak RSS. */
export async function runMeasured(args: string[], options: RunOptions = {}): Promise<ChildRun> {
  const out = await Deno.makeTempFile({ prefix: "lading-rss-" });
  try {
    const quoted = args.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
    const script = `${
      options.shellPrefix ? options.shellPrefix + "; " : ""
    }exec /usr/bin/time -f %M -o '${out}' ${quoted}`;
    const child = new Deno.Command("bash", {
      args: ["-c", script],
      cwd: options.cwd,
      env: { NO_COLOR: "1", ...options.env },
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin) {
      const w = child.stdin.getWriter();
      await w.write(options.stdin).catch(() => {});
      await w.close().catch(() => {});
    }
    const r = await child.output();
    const text = await Deno.readTextFile(out);
    const kb = Number(text.trim().split("\n").pop());
    return {
      code: r.code,
      stdout: new TextDecoder().decode(r.stdout),
      stderr: new TextDecoder().decode(r.stderr),
      peakRss: kb * 1024,
    };
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** `deno run -A` of a script of this repository, measured. */
export function runDeno(
  script: string | URL,
  args: string[],
  options: RunOptions = {},
): Promise<ChildRun> {
  const path = script instanceof URL ? script.pathname : script;
  const v8 = options.v8Flags?.length ? [`--v8-flags=${options.v8Flags.join(",")}`] : [];
  return runMeasured([Deno.execPath(), "run", "-A", "--quiet", ...v8, path, ...args], options);
}

/** 256 MiB: the peak RSS every command must stay under whatever its input. */
export const RSS_LIMIT = 256 * 1024 * 1024;
