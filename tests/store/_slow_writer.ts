/**
 * Subprocess for fs_test.ts: `deno run -A _slow_writer.ts <dir> <size> <chunk> <delayMs>`
 * writes `patternBytes(size)` slowly into a blob writer, printing "started" after the first
 * chunk is on disk, and commits at the end (unless it is killed first).
 * @module
 */
import { openFsStore } from "../../src/store/fs.ts";
import { patternBytes } from "./suite.ts";
import { digestBytes } from "../../src/digest.ts";
import { getRuntime } from "../../src/runtime/mod.ts";

const [dir, sizeArg, chunkArg, delayArg] = Deno.args;
const size = Number(sizeArg);
const chunk = Number(chunkArg);
const bytes = patternBytes(size, 42);
const store = await openFsStore(dir, { create: false });
const writer = await store.writer();
for (let at = 0; at < size; at += chunk) {
  await writer.write(bytes.subarray(at, at + chunk));
  if (at === 0) console.log("started");
  await new Promise((resolve) => setTimeout(resolve, Number(delayArg)));
}
const digest = await digestBytes(await getRuntime(), bytes);
console.log(JSON.stringify(await writer.commit({ digest, size })));
