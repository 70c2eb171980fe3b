/**
 * Runs the CLI's `main()` in this process with captured output (fast), and a temp dir
 * holding a store plus the demo archive.
 * @module
 */
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/common.ts";
import { demoImage } from "../helpers/images.ts";

/** What a run printed and returned. */
export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly bytes: Uint8Array;
}

/** Runs `lading ...args` in-process with `LADING_STORE=store` (unless `--store` is given). */
export async function lading(
  store: string | undefined,
  args: string[],
  options: { env?: Record<string, string>; stdin?: Uint8Array; terminal?: boolean } = {},
): Promise<Ran> {
  const chunks: Uint8Array[] = [];
  let err = "";
  const enc = new TextEncoder();
  const env: Record<string, string> = { HOME: "/nonexistent-home", ...options.env };
  if (store) env.LADING_STORE = store;
  const io: CliIO = {
    out: (t) => void chunks.push(enc.encode(t)),
    err: (t) => void (err += t),
    stdout: new WritableStream({ write: (c) => void chunks.push(c.slice()) }),
    stdin: new Blob([(options.stdin ?? new Uint8Array()) as BlobPart]).stream(),
    stderrIsTerminal: !!options.terminal,
    stdoutIsTerminal: !!options.terminal,
    stdinIsTerminal: !!options.terminal,
    env: (n) => env[n],
  };
  const code = await main(args, io);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { code, stdout: new TextDecoder().decode(bytes), stderr: err, bytes };
}

/** A temp dir with `store` (not created) and `demo.tar` (example.com/demo:1). */
export async function withDemo(
  fn: (ctx: { dir: string; store: string; archive: string; digest: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lading-cli-" });
  try {
    const { image, archive } = await demoImage();
    await Deno.writeFile(`${dir}/demo.tar`, archive);
    await fn({
      dir,
      store: `${dir}/store`,
      archive: `${dir}/demo.tar`,
      digest: image.manifest.descriptor.digest,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts-free helper: the run's exit code and stderr, for messages. */
export function show(r: Ran): string {
  return `exit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`;
}
