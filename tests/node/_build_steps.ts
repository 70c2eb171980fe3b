/**
 * The same build steps for Deno and Node (tests/node/): a gzip layer from entries, a
 * config. The runtime-independent layer writer must give the same digest in both.
 * @module
 */
import type { appendLayer, emptyImage, ImageDraft, setConfig, Store } from "../../mod.ts";

/** The library functions the steps use (passed in: Node gets them from its bundle). */
export interface BuildApi {
  appendLayer: typeof appendLayer;
  emptyImage: typeof emptyImage;
  setConfig: typeof setConfig;
}

/** Builds the test image on `store`. */
export async function buildSteps(store: Store, api: BuildApi): Promise<ImageDraft> {
  let image = api.emptyImage({ platform: { os: "linux", architecture: "arm64" } });
  image = await api.appendLayer(store, image, {
    files: [
      { path: "srv/index.html", content: "<h1>node</h1>\n" },
      { path: "srv", type: "directory" },
      { path: "srv/big", content: new Uint8Array(200_000).map((_, i) => i % 251) },
    ],
    history: { createdBy: "node test" },
  });
  return api.setConfig(image, { Cmd: ["/srv/index.html"], Env: { A: "1" } });
}
