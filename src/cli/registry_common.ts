/**
 * What the registry commands share: a {@link RegistryClient} from the flags
 * (`--plain-http`, `--tlscacert`, `--user`, credential files) and a transfer progress
 * line on a terminal (bytes, rate, time left; nothing on a non-terminal).
 * @module
 */
import type { BlobProgress } from "../copy.ts";
import { InvalidInputError } from "../errors.ts";
import type { Credentials } from "../registry/auth.ts";
import { RegistryClient } from "../registry/client.ts";
import { type CliIO, type FlagDef, formatBytes, type Parsed, UsageError } from "./common.ts";

/** Flags every registry command takes. */
export const REGISTRY_STRING_FLAGS = ["tlscacert", "user"] as const;
/** Boolean flags every registry command takes. */
export const REGISTRY_BOOLEAN_FLAGS = ["plain-http"] as const;

/** The flags every registry command takes, for the command table. */
export const REGISTRY_FLAGS: readonly FlagDef[] = [
  { name: "plain-http", help: "talk HTTP instead of HTTPS (a local registry)" },
  {
    name: "tlscacert",
    kind: "string",
    value: "FILE",
    help: "trust this CA certificate (PEM) for the registry",
  },
  {
    name: "user",
    kind: "string",
    value: "USER[:PASS]",
    help: "credentials (default: saved by 'lading login' or docker's config)",
  },
];

/** `--allow-nondistributable-artifacts` (crane's, nerdctl's): copy foreign layers too. */
export const NONDISTRIBUTABLE_FLAG: FlagDef = {
  name: "allow-nondistributable-artifacts",
  help: "also transfer non-distributable (foreign) layers (default: skip them, as skopeo does)",
};

/** Parses `--user USER:PASS` (a password is required on a non-terminal). */
export function userCredentials(value: string): Credentials {
  const colon = value.indexOf(":");
  if (colon > 0) return { username: value.slice(0, colon), password: value.slice(colon + 1) };
  if (colon === 0) throw new UsageError("--user needs a user name before ':'");
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError("--user USER without :PASS needs a terminal to ask for the password");
  }
  const password = promptPassword(`Password for ${value}:`);
  if (password === null) throw new UsageError("no password given");
  return { username: value, password };
}

/**
 * Asks for a password on the terminal without echoing it (what `prompt()` would do):
 * the terminal in raw mode, Enter ends it, Backspace removes a character, Ctrl-C
 * interrupts (exit 130), Ctrl-D on an empty line gives `null`.
 */
export function promptPassword(message: string): string | null {
  const enc = new TextEncoder();
  const bytes: number[] = [];
  const buf = new Uint8Array(256);
  // Raw (no echo) before the prompt shows: nothing typed after it is echoed.
  Deno.stdin.setRaw(true);
  try {
    Deno.stderr.writeSync(enc.encode(`${message} `));
    for (;;) {
      const n = Deno.stdin.readSync(buf);
      if (n === null || n === 0) return bytes.length ? decodeBytes(bytes) : null;
      for (const b of buf.subarray(0, n)) {
        if (b === 13 || b === 10) return decodeBytes(bytes);
        if (b === 3) throw new Deno.errors.Interrupted("interrupted");
        if (b === 4 && bytes.length === 0) return null;
        if (b === 127 || b === 8) {
          // One character: its UTF-8 continuation bytes, then its first byte.
          while (bytes.length && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else if (b >= 32 || b === 9) bytes.push(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(enc.encode("\n"));
  }
}

function decodeBytes(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** A fetch that trusts a private CA (`--tlscacert FILE`). */
async function fetchWithCa(file: string): Promise<typeof fetch> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(file);
  } catch (e) {
    throw new InvalidInputError(`Cannot read --tlscacert ${file}: ${(e as Error).message}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new InvalidInputError(`--tlscacert ${file} is not a PEM certificate`);
  }
  const client = Deno.createHttpClient({ caCerts: [pem] });
  return (input, init) => fetch(input, { ...init, client });
}

/** Options of {@link clientFor}. */
export interface ClientFlags {
  readonly plainHttp?: boolean;
  readonly tlscacert?: string;
  readonly user?: string;
}

/** The flags of a registry command as {@link ClientFlags}. */
export function clientFlags(values: Parsed["values"]): ClientFlags {
  return {
    plainHttp: values["plain-http"] as boolean | undefined,
    tlscacert: values.tlscacert as string | undefined,
    user: values.user as string | undefined,
  };
}

/**
 * A client of `host` for the CLI: credentials from `--user` for that host only, else
 * from the credential files; https unless `--plain-http`.
 */
export async function clientFor(
  host: string,
  flags: ClientFlags,
  io: CliIO,
  options: { onWarning?: (m: string) => void; only?: Credentials } = {},
): Promise<RegistryClient> {
  if (flags.plainHttp && flags.tlscacert) {
    throw new UsageError("--plain-http and --tlscacert do not go together");
  }
  const fetcher = flags.tlscacert ? await fetchWithCa(flags.tlscacert) : undefined;
  const user = options.only ?? (flags.user ? userCredentials(flags.user) : undefined);
  return new RegistryClient(host, {
    plainHttp: flags.plainHttp,
    fetch: fetcher,
    credentials: async (h) => {
      if (user && h === host) return user;
      if (options.only) return undefined;
      // The credential files are read (and their module loaded) only when the registry
      // asks for credentials: an anonymous pull never opens them.
      const { lookupCredentials } = await import("../deno/registry_credentials.ts");
      return await lookupCredentials(h, { env: io });
    },
    onWarning: options.onWarning,
  });
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`;
}

/** At most this many blobs in flight get a line of their own (the rest are in the total). */
const MAX_BLOB_LINES = 8;

interface BlobState {
  size: number;
  /** Bytes done in the current attempt (its line). */
  done: number;
  /** The most bytes it ever had done (the total counts these: a retry does not go back). */
  high: number;
  /** Bytes the total counts but this run did not move (already on disk, present, mounted). */
  skipped: number;
  finished: boolean;
  /** When the current attempt's first byte moved, and how many bytes it had then. */
  started?: number;
  base: number;
}

/**
 * Transfer progress on stderr when it is a terminal (nothing on a pipe): a line for each
 * blob in flight (bytes, rate, time left) and a total line (blobs done, bytes, rate, time
 * left). Redraws in place at most 10 times a second; {@link TransferProgress.print}
 * writes a message above it.
 */
export class TransferProgress {
  #io: CliIO;
  #verb: string;
  /** Drawing at all: stderr is a terminal and the command is not quiet. */
  #on: boolean;
  #now: () => number;
  #blobs = new Map<string, BlobState>();
  /** When the first bytes moved (the total rate counts from there). */
  #first?: number;
  #last = -Infinity;
  /** Lines on screen now. */
  #lines = 0;

  /** `now` is for tests. */
  constructor(io: CliIO, verb: string, options: { quiet?: boolean; now?: () => number } = {}) {
    this.#io = io;
    this.#verb = verb;
    this.#on = io.stderrIsTerminal && !options.quiet;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one progress event of the copy. */
  update(p: BlobProgress): void {
    if (!this.#on) return;
    const now = this.#now();
    let b = this.#blobs.get(p.digest);
    if (!b) {
      b = { size: p.size, done: 0, high: 0, skipped: 0, finished: false, base: 0 };
      this.#blobs.set(p.digest, b);
    }
    if (p.restart || (p.done < b.done && !p.outcome)) {
      // A new attempt at `p.done`: its line's bytes and rate start again from there; bytes
      // above what the blob ever had were there before (a resumed download), not moved.
      if (p.done > b.high) b.skipped += p.done - b.high;
      b.started = undefined;
    } else if (p.outcome && b.started === undefined && p.done > b.high) {
      b.skipped += p.done - b.high; // present or mounted: nothing moved
    } else if (p.done > b.done && b.started === undefined && !p.outcome) {
      // The first bytes of an attempt (a resumed one starts above 0).
      b.started = now;
      b.base = b.done;
      this.#first ??= now;
    }
    b.done = p.done;
    b.high = Math.max(b.high, p.done);
    if (p.outcome) b.finished = true;
    if (p.restart) return;
    if (p.done === 0 && !p.outcome) return; // announced, not started
    if (now - this.#last < 100 && !p.outcome) return;
    this.#last = now;
    this.#draw(now);
  }

  #draw(now: number): void {
    let total = 0;
    let finished = 0;
    let done = 0;
    let moved = 0;
    const active: [string, BlobState][] = [];
    for (const [d, x] of this.#blobs) {
      total += x.size;
      const had = Math.min(x.high, x.size);
      done += had;
      moved += Math.max(0, had - x.skipped);
      if (x.finished) finished++;
      else if (x.started !== undefined) active.push([d, x]);
    }
    const lines: string[] = [];
    for (const [d, x] of active.slice(0, MAX_BLOB_LINES)) {
      const moved = Math.min(x.done, x.size) - x.base;
      lines.push(
        `  ${d.slice(d.indexOf(":") + 1, d.indexOf(":") + 13)}  ${formatBytes(x.done)}/${
          formatBytes(x.size)
        }  ${rateAndLeft(moved, x.size - x.done, now - x.started!)}`,
      );
    }
    if (active.length > MAX_BLOB_LINES) {
      lines.push(`  … ${active.length - MAX_BLOB_LINES} more in flight`);
    }
    lines.push(
      `${this.#verb} ${finished}/${this.#blobs.size} blobs  ${formatBytes(done)}/${
        formatBytes(total)
      }  ${rateAndLeft(moved, total - done, now - (this.#first ?? now))}`,
    );
    this.#io.err(`${this.#erase()}${lines.join("\n")}\n`);
    this.#lines = lines.length;
  }

  /** Moves up over the lines drawn and clears them. */
  #erase(): string {
    return this.#lines ? `\x1b[${this.#lines}A\r\x1b[J` : "";
  }

  /** Writes `text` (whole lines) above the progress, which is drawn again on the next update. */
  print(text: string): void {
    if (this.#lines) {
      this.#io.err(this.#erase());
      this.#lines = 0;
    }
    this.#io.err(text);
  }

  /** Clears the progress lines. */
  end(): void {
    if (this.#lines) this.#io.err(this.#erase());
    this.#lines = 0;
  }
}

/** `12 MB/s  3s left` from bytes moved over `ms` and bytes still to go. */
function rateAndLeft(moved: number, left: number, ms: number): string {
  const rate = ms > 0 ? moved / (ms / 1000) : 0;
  return `${formatBytes(Math.round(rate))}/s  ${
    formatDuration(rate > 0 ? left / rate : Infinity)
  } left`;
}

/** Positive integer flag value (`--max-concurrent-downloads 4`). */
export function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UsageError(`--${flag} needs a whole number from 1 to 64`);
  }
  return n;
}
