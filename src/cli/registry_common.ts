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
import { lookupCredentials } from "../deno/registry_credentials.ts";

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
  const password = prompt(`Password for ${value}:`);
  if (password === null) throw new UsageError("no password given");
  return { username: value, password };
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

/**
 * A transfer progress line on stderr when it is a terminal: blobs done, bytes, rate,
 * time left, and the largest blob in flight. Draws at most 10 times a second.
 */
export class TransferProgress {
  #io: CliIO;
  #verb: string;
  #blobs = new Map<string, { size: number; done: number; finished: boolean }>();
  /** When the first bytes moved (the rate counts from there). */
  #first?: number;
  #last = 0;
  #drawn = false;

  constructor(io: CliIO, verb: string) {
    this.#io = io;
    this.#verb = verb;
  }

  /** Takes one progress event of the copy. */
  update(p: BlobProgress): void {
    if (!this.#io.stderrIsTerminal) return;
    const b = this.#blobs.get(p.digest) ?? { size: p.size, done: 0, finished: false };
    if (p.done > 0 && this.#first === undefined) this.#first = Date.now();
    b.done = p.done;
    if (p.outcome) b.finished = true;
    this.#blobs.set(p.digest, b);
    if (p.done === 0 && !p.outcome) return; // announced, not started
    const now = Date.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    let total = 0;
    let done = 0;
    let finished = 0;
    let current: [string, { size: number; done: number }] | undefined;
    for (const [d, x] of this.#blobs) {
      total += x.size;
      done += Math.min(x.done, x.size);
      if (x.finished) finished++;
      else if (!current || x.size > current[1].size) current = [d, x];
    }
    const seconds = (now - (this.#first ?? now)) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = rate > 0 ? (total - done) / rate : Infinity;
    const blob = current
      ? `  ${current[0].slice(7, 19)} ${formatBytes(current[1].done)}/${
        formatBytes(current[1].size)
      }`
      : "";
    this.#io.err(
      `\r\x1b[K${this.#verb} ${finished}/${this.#blobs.size} blobs  ${formatBytes(done)}/${
        formatBytes(total)
      }  ${formatBytes(Math.round(rate))}/s  ${formatDuration(left)} left${blob}`,
    );
    this.#drawn = true;
  }

  /** Clears the line. */
  end(): void {
    if (this.#drawn) this.#io.err("\r\x1b[K");
  }
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
