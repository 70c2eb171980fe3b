/**
 * What every CLI command shares: the command shape, flag parsing, the store location,
 * output helpers and the mapping from errors to exit codes.
 * @module
 */
import { printable } from "../printable.ts";
import { formatBytes } from "../format.ts";
export { formatBytes };
import { LadingError, LimitExceededError, UsageError } from "../errors.ts";
import { openFsStore } from "../store/fs.ts";
import type { Store } from "../store/types.ts";
import { parsePlatform } from "../platform.ts";
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
  /** Environment lookup. */
  env(name: string): string | undefined;
}

/** A CLI command (one file per command in src/cli/). */
export interface Command {
  /** The words that select it: `["images", "ls"]`, `["import"]`. */
  readonly path: readonly string[];
  /** One line for the help text. */
  readonly summary: string;
  /** The usage line(s). */
  readonly usage: string;
  /** Runs the command; returns the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

export { UsageError };

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

/** The store directory: --store, then LADING_STORE, then $XDG_DATA_HOME/lading or ~/.local/share/lading. */
export function storeDir(flags: Parsed["values"], io: CliIO): string {
  const flag = flags.store as string | undefined;
  if (flag) return flag;
  const env = io.env("LADING_STORE");
  if (env) return env;
  const xdg = io.env("XDG_DATA_HOME");
  if (xdg) return `${xdg}/lading`;
  const home = io.env("HOME");
  if (!home) {
    throw new UsageError("no --store, LADING_STORE, XDG_DATA_HOME or HOME to place the store");
  }
  return `${home}/.local/share/lading`;
}

/** Opens the store the flags name (creating it when missing). */
export function openStore(flags: Parsed["values"], io: CliIO): Promise<Store> {
  return openFsStore(storeDir(flags, io));
}

/** Parses every `--platform` value. */
export function platformsOf(flags: Parsed["values"]): Platform[] {
  const v = flags.platform;
  const list = v === undefined ? [] : Array.isArray(v) ? v : [v as string];
  return list.flatMap((s) => s.split(",")).filter((s) => s).map((s) => parsePlatform(s));
}

/** Lays out rows as left-aligned columns separated by 3 spaces. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
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

/** Exit code and one-line message for an error. */
export function reportError(e: unknown, io: CliIO): number {
  if (e instanceof UsageError) {
    io.err(`lading: ${printable(e.message)}\nRun 'lading help' for usage.\n`);
    return 2;
  }
  io.err(`lading: ${errorLine(e, io.env("LADING_DEBUG") === "1")}\n`);
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

/** A progress bar on stderr, drawn only when stderr is a terminal. */
export class Progress {
  #io: CliIO;
  #label: string;
  #total?: number;
  #done = 0;
  #last = 0;
  constructor(io: CliIO, label: string, total?: number) {
    this.#io = io;
    this.#label = label;
    this.#total = total;
  }
  /** Adds bytes. */
  add(n: number): void {
    this.#done += n;
    const now = Date.now();
    if (this.#io.stderrIsTerminal && now - this.#last > 100) {
      this.#last = now;
      this.#draw();
    }
  }
  #draw(): void {
    const t = this.#total;
    if (t && t > 0) {
      const frac = Math.min(1, this.#done / t);
      const width = 30;
      const fill = Math.round(frac * width);
      this.#io.err(
        `\r${this.#label} [${"=".repeat(fill)}${" ".repeat(width - fill)}] ${
          formatBytes(this.#done)
        } / ${formatBytes(t)}`,
      );
    } else {
      this.#io.err(`\r${this.#label} ${formatBytes(this.#done)}`);
    }
  }
  /** Clears the line. */
  end(): void {
    if (this.#io.stderrIsTerminal && this.#last > 0) this.#io.err("\r\x1b[K");
  }
}
