/**
 * Subprocess for fs_test.ts: `deno run -A _hold_lock.ts <dir> <ms>` holds the store's
 * writer lock for `<ms>` milliseconds, printing "locked" once it has it.
 * @module
 */
import { openFsStore } from "../../src/store/fs.ts";

const [dir, ms] = Deno.args;
const store = await openFsStore(dir, { create: false });
await store.exclusive(async () => {
  console.log("locked");
  await new Promise((resolve) => setTimeout(resolve, Number(ms)));
});
console.log("unlocked");
