/**
 * Subprocess for fs_test.ts: `deno run -A _concurrent_put.ts <dir> <prefix> <count>` puts
 * `<prefix>-<i>` names one at a time, then prints "done".
 * @module
 */
import { openFsStore } from "../../src/store/fs.ts";

const [dir, prefix, count] = Deno.args;
const store = await openFsStore(dir, { create: false });
for (let i = 0; i < Number(count); i++) {
  await store.putImages([{
    name: `example.com/${prefix}:${i}`,
    target: {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${i.toString(16).padStart(64, "0")}`,
      size: i,
    },
  }]);
}
await store.close();
console.log("done");
