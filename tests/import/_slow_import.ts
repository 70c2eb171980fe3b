/**
 * Child process of kill_test.ts and concurrent_test.ts: imports an archive file into an
 * FsStore, reading it through a throttled stream, and reports progress on stdout
 * (`progress <bytes>` lines, then `done <json>`).
 *
 * Usage: deno run -A tests/import/_slow_import.ts <archive> <store dir> [delay ms per 64 KiB]
 */
import { importImages } from "../../src/import/mod.ts";
import { openFsStore } from "../../src/store/fs.ts";

const [archive, storeDir, delayArg] = Deno.args;
const delay = Number(delayArg ?? "0");
const enc = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(enc.encode(line + "\n"));

const file = await Deno.open(archive);
const slow = file.readable.pipeThrough(
  new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      for (let at = 0; at < chunk.byteLength; at += 64 * 1024) {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        controller.enqueue(chunk.slice(at, at + 64 * 1024));
      }
    },
  }),
);
const store = await openFsStore(storeDir);
let last = 0;
const result = await importImages(store, { kind: "stream", label: archive, stream: slow }, {
  onProgress: (n) => {
    if (n - last >= 256 * 1024) {
      last = n;
      say(`progress ${n}`);
    }
  },
});
await store.close();
say(`done ${JSON.stringify({ images: result.images, blobs: result.blobs })}`);
