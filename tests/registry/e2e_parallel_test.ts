/**
 * Parallel blob transfers (issue #10, "Speed"): 4 downloads and 3 uploads at once by
 * default, `--max-concurrent-downloads` / `--max-concurrent-uploads` to change it. The CLI
 * runs in this process with a `fetch` that holds each blob transfer until as many as the
 * limit are waiting (or none arrived for a while), so the most in flight at once is exactly
 * what the command allows — more would show, fewer would show.
 */
import { assertEquals } from "../assert.ts";
import { lading } from "../cli/_run.ts";
import { withTempDir } from "../export/_support.ts";
import { importImage, sampleImage, world } from "./_cli.ts";
import { haveRegistry, startRegistry } from "./_registry.ts";

/** Counts blob transfers in flight; `isTransfer` picks the requests. */
async function mostInFlight(
  expected: number,
  isTransfer: (method: string, url: string) => boolean,
  run: () => Promise<void>,
): Promise<number> {
  const real = globalThis.fetch;
  let inFlight = 0;
  let most = 0;
  let waiting: (() => void)[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const releaseAll = () => {
    clearTimeout(timer);
    const w = waiting;
    waiting = [];
    for (const r of w) r();
  };
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? "GET";
    if (!isTransfer(method, url)) return await real(input, init);
    inFlight++;
    most = Math.max(most, inFlight);
    try {
      if (inFlight >= expected) releaseAll();
      else {
        await new Promise<void>((r) => {
          waiting.push(r);
          // Liveness only: fewer than `expected` came (the walk's single fetches, the tail).
          clearTimeout(timer);
          timer = setTimeout(releaseAll, 400);
        });
      }
      return await real(input, init);
    } finally {
      inFlight--;
    }
  };
  try {
    await run();
  } finally {
    globalThis.fetch = real;
    clearTimeout(timer);
  }
  return most;
}

const blobGet = (method: string, url: string) =>
  method === "GET" && /\/blobs\/sha256:[0-9a-f]{64}$/.test(new URL(url).pathname);
const blobPut = (method: string, url: string) =>
  method === "PUT" && /\/blobs\/uploads\//.test(new URL(url).pathname);

Deno.test("blobs move 4 at a time down and 3 up by default; --max-concurrent-downloads/--max-concurrent-uploads change it", async () => {
  if (!(await haveRegistry("parallel transfers"))) return;
  await withTempDir(async (dir) => {
    await using reg = await startRegistry();
    const w = await world(dir);
    const image = await sampleImage(Array.from({ length: 9 }, (_, i) => 20_000 + i));
    await importImage(w, "example.com/par:1", image);
    const env = { DOCKER_CONFIG: `${dir}/docker` };
    const cli = async (store: string, args: string[]) => {
      const r = await lading(store, args, { env });
      assertEquals(r.code, 0, r.stderr);
    };

    const push = (repo: string, extra: string[] = []) => () =>
      cli(w.store, [
        "push",
        "--plain-http",
        "-q",
        ...extra,
        `${reg.host}/${repo}:1`,
        "example.com/par:1",
      ]);
    assertEquals(await mostInFlight(3, blobPut, push("up3")), 3, "3 uploads at once");
    assertEquals(
      await mostInFlight(5, blobPut, push("up5", ["--max-concurrent-uploads", "5"])),
      5,
      "--max-concurrent-uploads 5",
    );

    const pull = (store: string, extra: string[] = []) => () =>
      cli(`${dir}/${store}`, ["pull", "--plain-http", "-q", ...extra, `${reg.host}/up3:1`]);
    assertEquals(await mostInFlight(4, blobGet, pull("a")), 4, "4 downloads at once");
    assertEquals(
      await mostInFlight(2, blobGet, pull("b", ["--max-concurrent-downloads", "2"])),
      2,
      "--max-concurrent-downloads 2",
    );
  });
});
