/**
 * What every CLI command shares: the command shape, flag parsing, interrupts, output
 * helpers and the mapping from errors to exit codes. Where the store is and how a
 * command opens it are in `store_open.ts`.
 * @module
 */
import { printable } from "../printable.ts";
import { formatBytes } from "../format.ts";
export { formatBytes };
import { LadingError, LimitExceededError, UsageError } from "../errors.ts";
import { parsePlatform } from "../platform.ts";
import { haveSpareDescriptors } from "../deno/descriptors.ts";
import type { Platform } from "../types.ts";

/** Where a command reads and writes. Tests pass their own. */
export interface CliIO {
  /** Writes text to stdout (a newline is NOT added). */
  out(text: string): void;
  /** Writes text to stderr (a newline is NOT added). */
  err(text: string): void;
  /** Raw stdout for binary output. */
  stdout: WritableStream<Uint8Array>;
  /** Raw stdin. */
  stdin: ReadableStream<Uint8Array>;
  /** True when stderr is a terminal (progress bars). */
  stderrIsTerminal: boolean;
  /** True when stdin is a terminal (an archive is never read from one). */
  stdinIsTerminal?: boolean;
  /** True when stdout is a terminal (binary output is refused there). */
  stdoutIsTerminal?: boolean;
  /** The terminal's width in columns, when known (progress lines never wrap). */
  columns?(): number | undefined;
  /** Environment lookup. */
  env(name: string): string | undefined;
}

/** One flag of a command: parsing and its line in the help. */
export interface FlagDef {
  /** Long name, without `--`. */
  readonly name: string;
  /** One-letter alias, without `-`. */
  readonly short?: string;
  /** `boolean` (default), `string` (takes a value) or `multiple` (repeatable value). */
  readonly kind?: "boolean" | "string" | "multiple";
  /** The value's placeholder in the help (`FILE`, `P`). */
  readonly value?: string;
  /** One line of explanation. */
  readonly help: string;
}

/**
 * A CLI command (one file per command in src/cli/). Help, completions and the global
 * flags come from these fields: a command registered in commands.ts gets them all.
 */
export interface Command {
  /** The words that select it: `["images", "ls"]`, `["import"]`. */
  readonly path: readonly string[];
  /** One line for the help text. */
  readonly summary: string;
  /** The positional arguments, e.g. `<name> [PATH]` (empty when none). */
  readonly args: string;
  /** Every flag it takes, besides the global ones ({@link GLOBAL_FLAGS}). */
  readonly flags: readonly FlagDef[];
  /** At least one example command line. */
  readonly examples: readonly string[];
  /** More paragraphs for `help <command>` (optional). */
  readonly details?: string;
  /** What the positionals complete to: image names, files, or nothing. */
  readonly complete?: "image" | "file" | "none";
  /** Runs the command; returns the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

export { UsageError };
/** Flags every command takes, before or after the command words. */
export const GLOBAL_FLAGS: readonly FlagDef[] = [
  {
    name: "store",
    kind: "string",
    value: "DIR",
    help: "the store (default: $LADING_STORE, else $XDG_DATA_HOME/lading or ~/.local/share/lading)",
  },
  {
    name: "lock-timeout",
    kind: "string",
    value: "SECONDS",
    help: "give up when another writer holds the store's lock longer than this (default: wait)",
  },
  { name: "debug", help: "print the stack trace of an unexpected error" },
  { name: "help", short: "h", help: "show the help of the command" },
];

/** `--json`: the flag most commands take. */
export const JSON_FLAG: FlagDef = { name: "json", help: "print JSON on stdout instead of text" };
/** `-q`: no progress and no summary on stderr. */
export const QUIET_FLAG: FlagDef = {
  name: "quiet",
  short: "q",
  help: "print no progress and no summary on stderr",
};
/** `--platform P` for commands that pick one platform of an image. */
/** `-o FILE` of the commands that write one archive or tar (stdout by default). */
export const OUTPUT_FLAG: FlagDef = {
  name: "output",
  short: "o",
  kind: "string",
  value: "FILE",
  help: "write to FILE (- for stdout, the default)",
};

export const PLATFORM_FLAG: FlagDef = {
  name: "platform",
  kind: "string",
  value: "P",
  help: "the platform to use from a multi-platform image (os/arch[/variant]); default: this host's",
};

/** The parsing spec of a command's flags (plus the global ones). */
export function flagSpec(flags: readonly FlagDef[]): FlagSpec {
  const all = [...GLOBAL_FLAGS, ...flags];
  return {
    string: all.filter((f) => f.kind === "string").map((f) => f.name),
    multiple: all.filter((f) => f.kind === "multiple").map((f) => f.name),
    boolean: all.filter((f) => (f.kind ?? "boolean") === "boolean").map((f) => f.name),
    short: Object.fromEntries(all.filter((f) => f.short).map((f) => [f.short!, f.name])),
  };
}

/** Parses a command's arguments by its flag table. */
export function parseCommand(args: string[], command: Pick<Command, "flags">): Parsed {
  const parsed = parseFlags(args, flagSpec(command.flags));
  // The global flags' values are checked by every command, also those that do not use them.
  if (parsed.values.store === "") throw new UsageError("--store needs a directory");
  lockTimeoutMs(parsed.values);
  return parsed;
}

/** `--lock-timeout SECONDS` in milliseconds (undefined: wait as long as it takes). */
export function lockTimeoutMs(flags: Parsed["values"]): number | undefined {
  const raw = flags["lock-timeout"];
  if (typeof raw !== "string") return undefined;
  const seconds = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--lock-timeout takes a number of seconds, got ${JSON.stringify(raw)}`);
  }
  return seconds * 1000;
}

/** Flag specification for {@link parseFlags}. */
export interface FlagSpec {
  readonly string?: readonly string[];
  readonly boolean?: readonly string[];
  /** String flags that may repeat. */
  readonly multiple?: readonly string[];
  readonly short?: Readonly<Record<string, string>>;
}

/** Parsed flags and positionals. */
export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/**
 * Parses argv strictly; unknown flags are a {@link UsageError}. `--store` is always known.
 * Flags take `--name value`, `--name=value`, `-x value` or `-xvalue`; booleans take no
 * value (`--name=true` is refused); short booleans combine (`-qv`); `--` ends the flags.
 * (Our own rather than `node:util`'s `parseArgs`: loading `node:util` costs every command
 * about 5 ms of start-up.)
 */
export function parseFlags(args: string[], spec: FlagSpec): Parsed {
  const kinds = new Map<string, "string" | "multiple" | "boolean">([["store", "string"]]);
  for (const s of spec.string ?? []) kinds.set(s, "string");
  for (const s of spec.multiple ?? []) kinds.set(s, "multiple");
  for (const b of spec.boolean ?? []) kinds.set(b, "boolean");
  const shorts = new Map(Object.entries(spec.short ?? {}));
  const values: Parsed["values"] = {};
  const positionals: string[] = [];
  const set = (name: string, shown: string, inline: string | undefined, i: number): number => {
    const kind = kinds.get(name);
    if (!kind) throw new UsageError(`unknown option '${shown}'`);
    if (kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`option '${shown}' does not take a value`);
      values[name] = true;
      return i;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith("-") && next !== "-")) {
        throw new UsageError(`option '${shown}' needs a value`);
      }
      value = next;
      i++;
    }
    if (kind === "multiple") {
      const list = (values[name] ?? []) as string[];
      list.push(value);
      values[name] = list;
    } else values[name] = value;
    return i;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      i = set(name, `--${name}`, eq < 0 ? undefined : a.slice(eq + 1), i);
    } else if (a.startsWith("-") && a !== "-") {
      for (let k = 1; k < a.length; k++) {
        const long = shorts.get(a[k]);
        if (!long) throw new UsageError(`unknown option '-${a[k]}'`);
        if (kinds.get(long) !== "boolean") {
          // A short flag with a value takes the rest of the word, or the next word.
          i = set(long, `-${a[k]}`, k + 1 < a.length ? a.slice(k + 1) : undefined, i);
          break;
        }
        set(long, `-${a[k]}`, undefined, i);
      }
    } else positionals.push(a);
  }
  return { values, positionals };
}

/** Refuses to read a tar from a terminal (`import -` typed by hand would wait forever). */
export function refuseTerminalInput(io: CliIO, what: string): void {
  if (io.stdinIsTerminal) {
    throw new LadingError(
      `refusing to read ${what} from a terminal; pipe one in (… | lading import -) or give a path`,
    );
  }
}

/** Refuses to write binary (a tar archive) onto a terminal, like `docker save`. */
export function refuseTerminal(io: CliIO, what: string): void {
  if (io.stdoutIsTerminal) {
    throw new LadingError(
      `refusing to write ${what} to a terminal; use -o FILE or redirect stdout (> FILE, | tar -t)`,
    );
  }
}

const cleanups = new Set<() => void>();

let listening = false;

function cleanUp(code: number): void {
  // The last registered first, like deferred calls: a command's own cleanup before the
  // store's.
  for (const fn of [...cleanups].reverse()) {
    try {
      fn();
    } catch {
      // best effort: exit anyway
    }
  }
  Deno.exit(code);
}

/** Ctrl-C: 130, as a shell reports a process that SIGINT ended. */
const onInterrupt = () => cleanUp(EXIT_INTERRUPTED);
/** SIGTERM: 143 (128 + 15), as for a process without a handler. */
const onTerminate = () => cleanUp(EXIT_TERMINATED);

/**
 * Runs `cleanup` (synchronously) when Ctrl-C or SIGTERM stops the process, then exits
 * with 130 (Ctrl-C) or 143 (SIGTERM). Returns the function that unregisters it.
 */
export function atInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  if (!listening && Deno.build.os !== "windows" && haveSpareDescriptors()) {
    listening = true;
    Deno.addSignalListener("SIGINT", onInterrupt);
    Deno.addSignalListener("SIGTERM", onTerminate);
  }
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0 && listening) {
      listening = false;
      Deno.removeSignalListener("SIGINT", onInterrupt);
      Deno.removeSignalListener("SIGTERM", onTerminate);
    }
  };
}

/** Parses every `--platform` value. */
export function platformsOf(flags: Parsed["values"]): Platform[] {
  const v = flags.platform;
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v as string];
  return list.flatMap((s) => s.split(",")).filter((s) => s).map((s) => parsePlatform(s));
}

/** A count with its noun, singular or plural: `1 entry`, `2 entries`, `0 blobs`. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** Lays out rows as left-aligned columns separated by 3 spaces. */
export function table(header: string[], rows: string[][]): string {
  // Cells may come from untrusted input (names, annotations): never print a control character.
  const all = [header, ...rows].map((r) => r.map((c) => printable(c ?? "")));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : (c ?? "").padEnd(widths[i]))).join("   ")
      .trimEnd()
  ).join("\n") + "\n";
}

/** Pretty JSON with a trailing newline. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** Exit code for a closed stdout (what a shell reports for `cat` killed by SIGPIPE). */
export const EXIT_BROKEN_PIPE = 141;
/** Exit code after Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
/** Exit code after SIGTERM (128 + 15). */
export const EXIT_TERMINATED = 143;

/** True for the error a write to a closed pipe (`lading cat ... | head`) gives. */
export function isBrokenPipe(e: unknown): boolean {
  if (e instanceof Deno.errors.BrokenPipe) return true;
  if (e instanceof Deno.errors.ConnectionReset) return true;
  const code = (e as { code?: unknown })?.code;
  return code === "EPIPE" || (e instanceof Error && /broken pipe|os error 32\b/i.test(e.message));
}

function isNoSpace(e: Error): boolean {
  return /\(os error (28|122)\)/.test(e.message) || /no space left on device/i.test(e.message);
}

/** One line for a disk-full error. */
function systemMessage(e: Error): string {
  return `no space left on the device: ${e.message.split("\n")[0]}`;
}

/**
 * Exit code and one-line message for an error (0 ok, 1 failure, 2 usage, 130 Ctrl-C,
 * 141 closed stdout, which prints nothing). No stack trace unless `debug`.
 */
export function reportError(
  e: unknown,
  io: CliIO,
  options: { debug?: boolean; command?: readonly string[] } = {},
): number {
  if (options.debug && e instanceof Error) io.err(`${e.stack ?? e.message}\n`);
  if (e instanceof UsageError) {
    const help = options.command?.length
      ? `lading ${options.command.join(" ")} --help`
      : "lading help";
    io.err(`lading: ${printable(e.message)}\nRun '${help}' for usage.\n`);
    return 2;
  }
  if (isBrokenPipe(e)) return EXIT_BROKEN_PIPE;
  if (e instanceof Deno.errors.Interrupted) {
    io.err(`lading: interrupted\n`);
    return EXIT_INTERRUPTED;
  }
  if (e instanceof Error && !(e instanceof LadingError) && isNoSpace(e)) {
    io.err(`lading: ${printable(systemMessage(e))}\n`);
    return 1;
  }
  io.err(`lading: ${errorLine(e)}\n`);
  return 1;
}

/**
 * One line for any error: lading's own errors by their message; operating-system errors
 * (EMFILE, EROFS, ENOTDIR, ...) by theirs; anything else (a bug) prefixed "internal error".
 * Never a stack trace (unless `debug`), never a control character.
 */
export function errorLine(e: unknown, debug = false): string {
  if (debug && e instanceof Error && e.stack) return e.stack;
  if (e instanceof LadingError || e instanceof LimitExceededError) return printable(e.message);
  if (e instanceof Error) {
    const deno = Object.values(Deno.errors).some((c) => e instanceof c) ||
      typeof (e as { code?: unknown }).code === "string";
    const message = e.message.split("\n")[0];
    return printable(deno ? message : `internal error: ${e.name}: ${message}`);
  }
  return printable(`internal error: ${String(e)}`);
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * A progress line on stderr: bytes done (of the total when known), rate and time left.
 * Drawn only when stderr is a terminal and not `quiet`; each redraw clears the rest of
 * the line, and {@link Progress.end} erases it.
 */
export class Progress {
  #err: (text: string) => void;
  #columns: () => number | undefined;
  #label: string;
  #total?: number;
  #done = 0;
  #last = 0;
  #start = Date.now();
  #on: boolean;
  #drawn = false;
  constructor(io: CliIO, label: string, total?: number, options: { quiet?: boolean } = {}) {
    this.#err = io.err.bind(io);
    this.#columns = () => io.columns?.();
    this.#label = label;
    this.#total = total;
    this.#on = io.stderrIsTerminal && !options.quiet;
  }
  /** True when the line is drawn (callers may skip counting otherwise). */
  get visible(): boolean {
    return this.#on;
  }
  /** Adds bytes. */
  add(n: number): void {
    this.#done += n;
    if (!this.#on) return;
    const now = Date.now();
    if (now - this.#last > 100) {
      this.#last = now;
      this.#draw(now);
    }
  }
  /** Adds to the total (work found on the way, such as a second pass over a layer). */
  grow(n: number): void {
    if (this.#total !== undefined) this.#total += n;
  }
  /** Sets the bytes done so far. */
  set(n: number): void {
    this.add(n - this.#done);
  }
  /**
   * The text of the line now (for tests), at most `columns - 1` characters wide: a line
   * that wrapped could not be redrawn in place. The bar goes first, then the end is cut.
   */
  line(now = Date.now(), columns = this.#columns()): string {
    const elapsed = (now - this.#start) / 1000;
    const rate = elapsed > 0.2 ? this.#done / elapsed : 0;
    const t = this.#total;
    const parts = [this.#label];
    let bar = -1;
    if (t && t > 0) {
      const frac = Math.min(1, this.#done / t);
      const width = 24;
      const fill = Math.round(frac * width);
      bar = parts.push(`[${"=".repeat(fill)}${" ".repeat(width - fill)}]`) - 1;
      parts.push(`${formatBytes(this.#done)} / ${formatBytes(t)}`);
      if (rate > 0) parts.push(`${formatBytes(rate)}/s`, `${clock((t - this.#done) / rate)} left`);
    } else {
      parts.push(formatBytes(this.#done));
      if (rate > 0) parts.push(`${formatBytes(rate)}/s`);
    }
    let text = parts.join("  ");
    if (columns && columns > 1 && text.length >= columns) {
      if (bar >= 0) text = parts.filter((_, i) => i !== bar).join("  ");
      text = text.slice(0, columns - 1);
    }
    return text;
  }
  #draw(now: number): void {
    this.#drawn = true;
    this.#err(`\r${this.line(now)}\x1b[K`);
  }
  /** Stops drawing for good. */
  stop(): void {
    this.#on = false;
  }
  /** Erases the line. */
  end(): void {
    if (this.#drawn) this.#err("\r\x1b[K");
    this.#drawn = false;
  }
}
