/**
 * The registry-pull floor: the least a Deno program can do to pull an image — GET the
 * manifest, then GET the config and layers (4 at a time), hashing each with `node:crypto`
 * sha256 while writing it to a file, and compare each digest. No store, no checks beyond
 * the digest, no names. `bench/registry.ts` runs it as a fresh process like the tools.
 *
 * ```sh
 * deno run -A bench/registry_floor.ts http://127.0.0.1:5000 repo tag outDir
 * ```
 * @module
 */
import { createHash } from "node:crypto";

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** Pulls `repo:tag` from `base` into files under `out`; returns the bytes fetched. */
export async function floorPull(
  base: string,
  repo: string,
  tag: string,
  out: string,
): Promise<number> {
  await Deno.mkdir(out, { recursive: true });
  const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { headers: { accept: ACCEPT } });
  if (!res.ok) throw new Error(`manifest: ${res.status}`);
  const manifest = await res.json();
  const queue: { digest: string }[] = [manifest.config, ...manifest.layers];
  let total = 0;
  const worker = async () => {
    for (let d = queue.shift(); d; d = queue.shift()) {
      const r = await fetch(`${base}/v2/${repo}/blobs/${d.digest}`);
      if (!r.ok || !r.body) throw new Error(`blob ${d.digest}: ${r.status}`);
      const hash = createHash("sha256");
      using file = await Deno.open(`${out}/${d.digest.slice(7)}`, {
        write: true,
        create: true,
      });
      for await (const chunk of r.body) {
        hash.update(chunk);
        let at = 0;
        while (at < chunk.byteLength) at += file.writeSync(chunk.subarray(at));
        total += chunk.byteLength;
      }
      if (`sha256:${hash.digest("hex")}` !== d.digest) throw new Error(`digest ${d.digest}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return total;
}

if (import.meta.main) {
  const [base, repo, tag, out] = Deno.args;
  if (!out) {
    console.error("usage: registry_floor.ts <base-url> <repo> <tag> <out-dir>");
    Deno.exit(2);
  }
  console.log(await floorPull(base, repo, tag, out));
}
