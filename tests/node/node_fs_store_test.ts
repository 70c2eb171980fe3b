/**
 * The store conformance suite against the node:fs reference store of the README
 * (`_node_fs_store.ts`), here under Deno's Node compatibility; `node_test.ts` runs the same
 * suite against it under Node.
 * @module
 */
import { storeConformance } from "../store/suite.ts";
import { openNodeFsStore } from "./_node_fs_store.ts";

storeConformance("NodeFsStore (node:fs, under Deno)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lading-node-store-" });
  return {
    store: await openNodeFsStore(dir),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});
