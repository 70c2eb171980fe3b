/**
 * `deno task demo`: builds a small two-layer image with the library's build API
 * (`@lading/oci`: emptyImage, appendLayer, setConfig, writeImage), writes it as an
 * oci-archive, imports it into a throwaway store and shows what `images ls` and
 * `images inspect` print — the main job, end to end, on a fresh machine.
 * @module
 */
import {
  addHistory,
  appendLayer,
  emptyImage,
  exportArchive,
  MemoryStore,
  setConfig,
  writeImage,
} from "@lading/oci";
import { denoIO, main } from "../src/cli/main.ts";

const dir = await Deno.makeTempDir({ prefix: "lading-demo-" });
const archive = `${dir}/demo.tar`;
const store = `${dir}/store`;

// Build the image in memory: a rootfs layer, an app layer that deletes a file, config.
const build = new MemoryStore();
let image = emptyImage({ platform: { os: "linux", architecture: "amd64" } });
image = await appendLayer(build, image, {
  files: [
    { path: "etc/os-release", content: 'NAME="lading demo"\n' },
    { path: "bin/hello", content: "#!/bin/sh\necho hello\n", mode: 0o755 },
  ],
  history: { createdBy: "ADD rootfs /" },
});
image = addHistory(image, { createdBy: "ENV LANG=C.UTF-8" });
image = await appendLayer(build, image, {
  files: [
    { path: "app/README", content: "built by lading's build API\n" },
    { path: "etc/.wh.os-release", content: "" },
  ],
  history: { createdBy: "COPY app /app" },
});
image = setConfig(image, {
  Cmd: ["/bin/hello"],
  Entrypoint: ["/bin/sh"],
  Env: { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8" },
  WorkingDir: "/app",
  User: "1000:1000",
  ExposedPorts: ["8080/tcp"],
  Labels: { "org.opencontainers.image.title": "lading demo" },
});
await writeImage(build, image, { name: "example.com/demo:1" });
const file = await Deno.open(archive, { write: true, create: true, truncate: true });
await (await exportArchive(build, ["example.com/demo:1"])).pipeTo(file.writable);

const io = denoIO();
const run = async (args: string[]) => {
  io.out(`\n$ lading ${args.join(" ")}\n`);
  const code = await main([...args, "--store", store], io);
  if (code !== 0) Deno.exit(code);
};
await run(["import", archive]);
await run(["import", archive]); // again: nothing new is written
await run(["images", "ls"]);
await run(["images", "inspect", "example.com/demo:1"]);
io.out(`\n(archive and store are in ${dir}; remove it when done)\n`);
