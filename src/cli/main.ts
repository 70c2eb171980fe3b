/**
 * Dispatches argv to a command and maps errors to exit codes (0 ok, 1 failure, 2 usage,
 * 130 Ctrl-C, 141 closed stdout, 143 SIGTERM). Global flags may come before or after the command words.
 * @module
 */
import {
  type CliIO,
  type Command,
  errorLine,
  GLOBAL_FLAGS,
  reportError,
  UsageError,
} from "./common.ts";
import { type CommandEntry, commands } from "./commands.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** The help texts, loaded only when help is printed. */
const help = () => import("./help.ts");

/** The version `lading --version` prints. */
export const VERSION: string = denoJson.version;

/** Finds the command whose path is the longest prefix of argv. */
export function findCommand(
  argv: readonly string[],
): { command: CommandEntry; rest: string[] } | undefined {
  let best: { command: CommandEntry; rest: string[] } | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w)) {
      if (!best || c.path.length > best.command.path.length) {
        best = { command: c, rest: argv.slice(c.path.length) };
      }
    }
  }
  return best;
}

/** Global flags that may come before the command words (`lading --store S images ls`). */
const LEADING_VALUE = new Set(
  GLOBAL_FLAGS.filter((f) => f.kind && f.kind !== "boolean").map((f) => `--${f.name}`),
);
const LEADING_BOOLEAN = new Set([
  ...GLOBAL_FLAGS.filter((f) => (f.kind ?? "boolean") === "boolean" && f.name !== "help")
    .map((f) => `--${f.name}`),
  "--json",
  "--quiet",
  "-q",
]);

function splitLeading(argv: string[]): { leading: string[]; words: string[] } {
  const leading: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-") || a === "-" || a === "--") break;
    if (a === "--help" || a === "-h" || a === "--version" || a === "-V") break;
    const name = a.includes("=") ? a.slice(0, a.indexOf("=")) : a;
    if (LEADING_VALUE.has(name)) {
      leading.push(a);
      if (!a.includes("=")) {
        if (i + 1 >= argv.length) throw new UsageError(`option '${a}' needs a value`);
        leading.push(argv[++i]);
      }
    } else if (LEADING_BOOLEAN.has(a)) leading.push(a);
    else {
      throw new UsageError(
        `unknown global option '${a}' (global options: ${
          [...LEADING_VALUE, ...LEADING_BOOLEAN].join(", ")
        })`,
      );
    }
  }
  return { leading, words: argv.slice(i) };
}

function flagsPart(args: readonly string[]): readonly string[] {
  const end = args.indexOf("--");
  return end < 0 ? args : args.slice(0, end);
}

/** Edit distance of two short words (commands). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** `; did you mean 'images'?` for a command word two edits away from a real one. */
function suggestion(word: string): string {
  const words = [...new Set([...commands.map((c) => c.path[0]), "help", "version"])];
  const near =
    words.map((w) => ({ w, d: distance(word, w) })).filter((x) =>
      x.d <= Math.max(1, Math.floor(word.length / 3))
    )
      .sort((a, b) => a.d - b.d)[0];
  return near ? `; did you mean '${near.w}'?` : "";
}

/** Runs the CLI with these arguments; returns the exit code. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const debug = flagsPart(argv).includes("--debug") || !!io.env("LADING_DEBUG");
  let command: Command | undefined;
  try {
    const { leading, words } = splitLeading(argv);
    const first = words[0];
    if (first === "--version" || first === "-V" || first === "version") {
      io.out(`lading ${VERSION}\n`);
      return 0;
    }
    if (first === undefined || first === "--help" || first === "-h") {
      io.out(await (await help()).mainHelp());
      return 0;
    }
    if (first === "help") {
      const topic = words.slice(1).filter((w) => !w.startsWith("-"));
      if (topic.length === 0 || (topic.length === 1 && topic[0] === "help")) {
        io.out(await (await help()).mainHelp());
        return 0;
      }
      const target = findCommand(topic);
      if (target && target.rest.length === 0) {
        io.out((await help()).commandHelp(await target.command.load()));
        return 0;
      }
      if (!target && commands.some((c) => c.path[0] === topic[0]) && topic.length === 1) {
        io.out(await (await help()).groupHelp(topic[0]));
        return 0;
      }
      throw new UsageError(`no help for '${topic.join(" ")}': unknown command`);
    }
    const found = findCommand(words);
    if (!found) {
      const group = commands.filter((c) => c.path[0] === first);
      if (group.length) {
        const sub = words[1];
        if (sub === undefined || sub === "--help" || sub === "-h") {
          const text = await (await help()).groupHelp(first);
          if (sub === undefined) io.err(text);
          else io.out(text);
          return sub === undefined ? 2 : 0;
        }
        throw new UsageError(
          `unknown subcommand '${words.slice(0, 2).join(" ")}'; try: ${
            group.map((c) => c.path.join(" ")).join(", ")
          }`,
        );
      }
      throw new UsageError(`unknown command '${first}'${suggestion(first)}`);
    }
    command = await found.command.load();
    const rest = [...leading, ...found.rest];
    const flags = flagsPart(rest);
    if (flags.includes("--help") || flags.includes("-h")) {
      io.out((await help()).commandHelp(command));
      return 0;
    }
    if (flags.includes("--json") && !command.flags.some((f) => f.name === "json")) {
      // A global flag every report-printing command takes; these print raw bytes or a script.
      throw new UsageError(
        `'lading ${command.path.join(" ")}' has no --json: its output is ${
          command.path[0] === "completions" ? "a shell script" : "the raw bytes"
        }`,
      );
    }
    return await command.run(rest, io);
  } catch (e) {
    return reportError(e, io, { debug, command: command?.path });
  }
}

/**
 * Makes an error nobody awaited (a stream failing after its reader gave up) one line on
 * stderr and exit 1, never a stack trace (`LADING_DEBUG=1`: the stack).
 */
export function exitOnUncaughtErrors(): void {
  const fatal = (e: unknown) => {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`lading: ${errorLine(e, Deno.env.get("LADING_DEBUG") === "1")}\n`),
    );
    Deno.exit(1);
  };
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    fatal(ev.reason);
  });
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    fatal(ev.error);
  });
}

/** The real process IO. */
export function denoIO(): CliIO {
  const enc = new TextEncoder();
  const writeAll = (file: typeof Deno.stdout, bytes: Uint8Array) => {
    let at = 0;
    while (at < bytes.byteLength) at += file.writeSync(bytes.subarray(at));
  };
  return {
    out: (t) => writeAll(Deno.stdout, enc.encode(t)),
    err: (t) => writeAll(Deno.stderr, enc.encode(t)),
    get stdout() {
      return Deno.stdout.writable;
    },
    get stdin() {
      return Deno.stdin.readable;
    },
    stderrIsTerminal: Deno.stderr.isTerminal(),
    columns: () => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return undefined;
      }
    },
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    env: (n) => Deno.env.get(n),
  };
}
