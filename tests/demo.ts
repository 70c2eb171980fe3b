/**
 * `deno task demo`: builds a small two-layer image in code (the same one the tests use),
 * writes it as an oci-archive, imports it into a throwaway store and shows what
 * `images ls` and `images inspect` print — the main job, end to end, on a fresh machine.
 * @module
 */
import { denoIO, main } from "../src/cli/main.ts";
import { demoImage } from "./helpers/images.ts";

const dir = await Deno.makeTempDir({ prefix: "lading-demo-" });
const archive = `${dir}/demo.tar`;
const store = `${dir}/store`;
const { archive: bytes } = await demoImage();
await Deno.writeFile(archive, bytes);
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
