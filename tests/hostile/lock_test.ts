/**
 * A writer waiting for the store's lock says so once on stderr, with the pid of the
 * process holding it; `--lock-timeout SECONDS` gives up with one line and exit 1, leaving
 * the store as it was.
 * @module
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { snapshot } from "../import/_support.ts";
import { buildImage } from "../helpers/images.ts";
import { layoutTar } from "./_cases.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;
const holder = new URL("./_hold_lock.ts", import.meta.url).pathname;

async function firstLine(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    const line = text.split("\n").find((l) => pattern.test(l));
    if (line) return line;
  }
  throw new Error(`stream ended without ${pattern}: ${text}`);
}

async function withHeldLock(fn: (dir: string, store: string, pid: number) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "lading-lock-" });
  const store = `${dir}/store`;
  const image = await buildImage({ layers: [{ files: [{ path: "a", content: "a" }] }] });
  await Deno.writeFile(`${dir}/in.tar`, await layoutTar(image, "example.com/lock:1"));
  // A store in use: one image in it already.
  const seed = await buildImage({ layers: [{ files: [{ path: "s", content: "s" }] }] });
  await Deno.writeFile(`${dir}/seed.tar`, await layoutTar(seed, "example.com/seed:1"));
  const seeded = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", cli, "import", "--store", store, `${dir}/seed.tar`],
  }).output();
  assertEquals(seeded.code, 0);
  const hold = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", holder, store],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = hold.stdout;
    await firstLine(reader, /^held$/);
    await fn(dir, store, hold.pid);
  } finally {
    try {
      hold.kill("SIGKILL");
    } catch { /* already gone */ }
    await hold.status;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("import --lock-timeout gives up on a held lock with one line naming the holder's pid", async () => {
  await withHeldLock(async (dir, store, pid) => {
    const before = await snapshot(store);
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        cli,
        "import",
        "--lock-timeout",
        "1",
        "--store",
        store,
        `${dir}/in.tar`,
      ],
      env: { NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 1, err);
    const lines = err.trim().split("\n");
    assertEquals(lines.length, 2, err);
    assertMatch(lines[0], new RegExp(`^lading: waiting for another writer \\(pid ${pid}\\)`));
    assertMatch(
      lines[1],
      new RegExp(`^lading: .*another writer \\(pid ${pid}\\) held its lock for more than 1 s`),
    );
    assertEquals(await snapshot(store), before);
  });
});

Deno.test("import waiting for a held lock says so once, then finishes when the holder goes", async () => {
  await withHeldLock(async (dir, store, pid) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", cli, "import", "--store", store, `${dir}/in.tar`],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.getReader();
    const decoder = new TextDecoder();
    let err = "";
    while (!/waiting/.test(err)) {
      const { value, done } = await reader.read();
      if (done) break;
      err += decoder.decode(value, { stream: true });
    }
    assertMatch(
      err,
      new RegExp(`^lading: waiting for another writer \\(pid ${pid}\\) to release the lock`),
    );
    Deno.kill(pid, "SIGKILL");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      err += decoder.decode(value, { stream: true });
    }
    const status = await child.status;
    await child.stdout.cancel().catch(() => {});
    assertEquals(status.code, 0, err);
    assertEquals(err.split("\n").filter((l) => /waiting/.test(l)).length, 1, err);
    assert((await snapshot(store))["index.json"] !== undefined);
  });
});
