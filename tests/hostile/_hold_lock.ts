/** Child of lock_test.ts: holds the writer lock of the store `Deno.args[0]` until killed. */
import { openFsStore } from "../../src/store/fs.ts";

const store = await openFsStore(Deno.args[0]);
await store.exclusive(async () => {
  console.log("held");
  await new Promise(() => setInterval(() => {}, 1 << 30));
});
