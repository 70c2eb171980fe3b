/**
 * Transfer progress of pull, push and copy on a terminal (issue #10, "Speed"): bytes,
 * rate and time left for each blob in flight and for the total; nothing on a pipe.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import type { CliIO } from "../../src/cli/common.ts";
import { TransferProgress } from "../../src/cli/registry_common.ts";
import { lading as run } from "../cli/_run.ts";
import { withTempDir } from "../export/_support.ts";
import { importImage, sampleImage, world } from "./_cli.ts";
import { haveRegistry, startRegistry } from "./_registry.ts";
import type { BlobProgress } from "../../src/copy.ts";
import { MemoryRegistry } from "../../src/testing.ts";
import { RegistryClient } from "../../src/registry/client.ts";
import { pushImage } from "../../src/registry/pull.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import { appendLayer, emptyImage, writeImage } from "../../src/build/image.ts";

function fakeIo(terminal: boolean): { io: CliIO; text: () => string } {
  let err = "";
  const io = {
    out: () => {},
    err: (t: string) => void (err += t),
    stderrIsTerminal: terminal,
    env: () => undefined,
  } as unknown as CliIO;
  return { io, text: () => err };
}

const A = `sha256:${"a".repeat(64)}` as const;
const B = `sha256:${"b".repeat(64)}` as const;
const MB = 1_000_000;
/** The terminal's "erase below" sequence, escaped for a RegExp. */
const ERASE = "\x1b\\[J";

/** The lines of the last frame drawn (after the last erase). */
function lastFrame(text: string): string[] {
  const frame = text.slice(text.lastIndexOf("\x1b[J") + 3);
  return frame.split("\n").filter((l) => l);
}

Deno.test("transfer progress: a line per blob in flight and a total, each with bytes, rate and time left", () => {
  let now = 0;
  const { io, text } = fakeIo(true);
  const p = new TransferProgress(io, "pulling", { now: () => now });
  p.update({ digest: A, size: 10 * MB, done: 0 });
  p.update({ digest: B, size: 30 * MB, done: 0 });
  assertEquals(text(), "", "announced blobs draw nothing yet");
  p.update({ digest: A, size: 10 * MB, done: 1 });
  p.update({ digest: B, size: 30 * MB, done: 1 });
  now = 2000;
  p.update({ digest: A, size: 10 * MB, done: 4 * MB });
  now = 2200;
  p.update({ digest: B, size: 30 * MB, done: 11 * MB });
  const frame = lastFrame(text());
  assertEquals(frame.length, 3, frame.join("\n"));
  // A: 4 MB in 2.2 s → 1.8 MB/s, 6 MB left → 4 s; B: 11 MB in 2.2 s → 5 MB/s, 19 MB → 4 s.
  assertMatch(frame[0], /^ {2}aaaaaaaaaaaa {2}4(\.0)? MB\/10 MB {2}1\.8 MB\/s {2}4s left$/);
  assertMatch(frame[1], /^ {2}bbbbbbbbbbbb {2}11 MB\/30 MB {2}5(\.0)? MB\/s {2}4s left$/);
  // Total: 15 MB of 40 MB in 2.2 s → 6.8 MB/s, 25 MB left → 4 s.
  assertMatch(frame[2], /^pulling 0\/2 blobs {2}15 MB\/40 MB {2}6\.8 MB\/s {2}4s left$/);

  // A finished blob leaves its line; the total counts it.
  now = 3000;
  p.update({ digest: A, size: 10 * MB, done: 10 * MB, outcome: "added" });
  const after = lastFrame(text());
  assertEquals(after.length, 2, after.join("\n"));
  assertMatch(after[0], /^ {2}bbbbbbbbbbbb /);
  assertMatch(after[1], /^pulling 1\/2 blobs {2}21 MB\/40 MB /);

  // A message goes above the progress; end() clears the lines drawn.
  p.print("warning: something\n");
  assert(text().endsWith("\x1b[2A\r\x1b[Jwarning: something\n"), JSON.stringify(text().slice(-60)));
  now = 3500;
  p.update({ digest: B, size: 30 * MB, done: 20 * MB });
  p.end();
  assert(text().endsWith("\x1b[2A\r\x1b[J"), "the last frame is erased");
});

Deno.test("transfer progress: a resumed download's rate counts only the bytes moved in this run", () => {
  let now = 0;
  const { io, text } = fakeIo(true);
  const p = new TransferProgress(io, "pulling", { now: () => now });
  p.update({ digest: A, size: 10 * MB, done: 0 });
  // 6 MB were on disk from an earlier pull: the transfer restarts there.
  p.update({ digest: A, size: 10 * MB, done: 6 * MB, restart: true });
  p.update({ digest: A, size: 10 * MB, done: 6 * MB + 1 });
  now = 2000;
  p.update({ digest: A, size: 10 * MB, done: 8 * MB });
  const frame = lastFrame(text());
  // 2 MB moved in 2 s → 1 MB/s (not 4 MB/s), 2 MB left → 2 s; the bytes show all 8 MB.
  assertMatch(frame[0], /^ {2}aaaaaaaaaaaa {2}8(\.0)? MB\/10 MB {2}1(\.0)? MB\/s {2}2s left$/);
  assertMatch(frame[1], /^pulling 0\/1 blobs {2}8(\.0)? MB\/10 MB {2}1(\.0)? MB\/s {2}2s left$/);
});

Deno.test("transfer progress: a blob already there or mounted does not count in the rate", () => {
  let now = 0;
  const { io, text } = fakeIo(true);
  const p = new TransferProgress(io, "pushing", { now: () => now });
  p.update({ digest: A, size: 10 * MB, done: 0 });
  p.update({ digest: B, size: 30 * MB, done: 0 });
  p.update({ digest: A, size: 10 * MB, done: 1 });
  now = 1000;
  p.update({ digest: B, size: 30 * MB, done: 30 * MB, outcome: "mounted" });
  now = 2000;
  p.update({ digest: A, size: 10 * MB, done: 2 * MB });
  const frame = lastFrame(text());
  // 2 MB moved in 2 s; the 30 MB mounted are done but were not sent.
  assertMatch(frame[1], /^pushing 1\/2 blobs {2}32 MB\/40 MB {2}1(\.0)? MB\/s {2}8s left$/);
});

Deno.test("transfer progress: a retried upload restarts its blob's line; the total neither goes back nor counts twice", () => {
  let now = 0;
  const { io, text } = fakeIo(true);
  const p = new TransferProgress(io, "pushing", { now: () => now });
  p.update({ digest: A, size: 10 * MB, done: 0 });
  p.update({ digest: A, size: 10 * MB, done: 0, restart: true });
  p.update({ digest: A, size: 10 * MB, done: 1 });
  now = 4000;
  p.update({ digest: A, size: 10 * MB, done: 8 * MB });
  assertMatch(lastFrame(text())[1], /^pushing 0\/1 blobs {2}8(\.0)? MB\/10 MB {2}2(\.0)? MB\/s /);
  // The connection broke: the upload starts again from byte 0.
  now = 5000;
  p.update({ digest: A, size: 10 * MB, done: 0, restart: true });
  p.update({ digest: A, size: 10 * MB, done: 1 });
  now = 6000;
  p.update({ digest: A, size: 10 * MB, done: 3 * MB });
  let frame = lastFrame(text());
  // Its line counts this attempt: 3 MB in 1 s; the total stays at the 8 MB it had.
  assertMatch(frame[0], /^ {2}aaaaaaaaaaaa {2}3(\.0)? MB\/10 MB {2}3(\.0)? MB\/s {2}3s left$/);
  assertMatch(frame[1], /^pushing 0\/1 blobs {2}8(\.0)? MB\/10 MB {2}1\.3 MB\/s /);
  // Past the old mark the total moves on, counting each byte once.
  now = 8000;
  p.update({ digest: A, size: 10 * MB, done: 9 * MB });
  frame = lastFrame(text());
  assertMatch(frame[1], /^pushing 0\/1 blobs {2}9(\.0)? MB\/10 MB /);
  now = 9000;
  p.update({ digest: A, size: 10 * MB, done: 10 * MB, outcome: "added" });
  assertMatch(lastFrame(text())[0], /^pushing 1\/1 blobs {2}10 MB\/10 MB /);
});

Deno.test("pushImage(): an upload retried after a 503 restarts its blob's count at 0 and ends at its size", async () => {
  const registry = new MemoryRegistry();
  let failed = false;
  const flaky = async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!failed && req.method === "PUT" && req.url.includes("/blobs/uploads/")) {
      failed = true;
      await req.arrayBuffer(); // the whole body went out, then the registry failed
      return new Response(null, { status: 503 });
    }
    return await registry.handle(req);
  };
  const client = new RegistryClient("r.test", {
    fetch: flaky as typeof fetch,
    sleep: () => Promise.resolve(),
  });
  const store = new MemoryStore();
  const draft = await appendLayer(
    store,
    emptyImage({ platform: { os: "linux", architecture: "amd64" } }),
    {
      files: [{ path: "big", content: "x".repeat(300_000) }],
    },
  );
  await writeImage(store, draft, { name: "app:1" });
  const events: BlobProgress[] = [];
  await pushImage(store, "app:1", {
    to: "r.test/app:1",
    client,
    onProgress: (p) => events.push(p),
  });
  assert(failed, "the fault was not hit");
  const retried = [...new Set(events.map((e) => e.digest))].find((d) =>
    events.filter((e) => e.digest === d && e.restart).length === 2
  );
  assert(retried, "no blob was opened a second time");
  const mine = events.filter((e) => e.digest === retried);
  let prev = 0;
  for (const e of mine) {
    assert(e.done >= 0 && e.done <= e.size, `done ${e.done} of ${e.size}`);
    if (!e.restart) assert(e.done >= prev, `went back from ${prev} to ${e.done} without a restart`);
    prev = e.done;
  }
  // The second attempt counted its own bytes up to the size, before the blob was done.
  const [last, sent] = [mine.at(-1)!, mine.at(-2)!];
  assertEquals(last.outcome, "added");
  assertEquals(sent.outcome, undefined);
  assertEquals(sent.done, sent.size);
});

Deno.test("transfer progress: nothing at all when stderr is not a terminal", () => {
  const { io, text } = fakeIo(false);
  const p = new TransferProgress(io, "pushing");
  p.update({ digest: A, size: 10, done: 0 });
  p.update({ digest: A, size: 10, done: 5 });
  p.update({ digest: A, size: 10, done: 10, outcome: "added" });
  p.print("warning: x\n");
  p.end();
  assertEquals(text(), "warning: x\n");
});

Deno.test("lading pull and push on a terminal draw the blob and total lines, and clear them at the end", async () => {
  if (!(await haveRegistry("progress on a terminal"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const w = await world(dir);
    const image = await sampleImage([3_000_000, 2_000_000]);
    await importImage(w, "example.com/progress:1", image);
    const ref = `${reg.host}/progress:1`;
    const env = { DOCKER_CONFIG: `${dir}/docker` };
    const pushed = await run(w.store, ["push", "--plain-http", ref, "example.com/progress:1"], {
      env,
      terminal: true,
    });
    assertEquals(pushed.code, 0, pushed.stderr);
    assertMatch(
      pushed.stderr,
      /pushing \d\/\d blobs {2}[\d.]+ [kMG]?B\/[\d.]+ [kMG]?B {2}.*\/s {2}.* left/,
    );
    const pulled = await run(`${dir}/other`, ["pull", "--plain-http", ref], {
      env,
      terminal: true,
    });
    assertEquals(pulled.code, 0, pulled.stderr);
    assertMatch(
      pulled.stderr,
      // A blob line starts the output, follows an erase, or follows another line.
      new RegExp(
        `(^|\\n|${ERASE}) {2}[0-9a-f]{12} {2}[\\d.]+ [kMG]?B/[\\d.]+ [kMG]?B {2}.*/s {2}.* left\\n`,
      ),
    );
    assertMatch(pulled.stderr, /pulling \d\/\d blobs .* left\n/);
    // The summary comes after the progress was erased.
    assertMatch(pulled.stderr, new RegExp(`${ERASE}(warning: [^\\n]*\\n)*blobs: \\d+ added`));
  });
});
