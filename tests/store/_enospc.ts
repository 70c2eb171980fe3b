/**
 * Subprocess for fs_test.ts, run inside a small tmpfs:
 * `deno run -A _enospc.ts <dir> <size>` writes a blob bigger than the file system and
 * prints what happened as JSON.
 * @module
 */
import { openFsStore } from "../../src/store/fs.ts";
import { writeBlob } from "../../src/store/blob.ts";
import { patternBytes } from "./suite.ts";

const [dir, sizeArg] = Deno.args;
const size = Number(sizeArg);
const store = await openFsStore(dir);
const stream = new ReadableStream<Uint8Array>({
  start(controller) {
    for (let at = 0; at < size; at += 65536) {
      controller.enqueue(patternBytes(Math.min(65536, size - at), at));
    }
    controller.close();
  },
});
const result: Record<string, unknown> = {};
try {
  await writeBlob(store, stream, { digest: `sha256:${"0".repeat(64)}`, size });
  result.ok = true;
} catch (e) {
  result.error = (e as Error).name;
  result.message = (e as Error).message;
}
result.ingest = [...Deno.readDirSync(`${dir}/ingest`)].map((e) => e.name);
result.blobs = [];
for await (const info of store.list()) (result.blobs as unknown[]).push(info);
console.log(JSON.stringify(result));
