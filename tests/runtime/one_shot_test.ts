/**
 * Documents are hashed in one shot with WebCrypto (nothing to load first); the Deno
 * runtime loads `node:crypto` / `node:zlib` only when a streaming hasher or a
 * (de)compressor is asked for.
 * @module
 */
import { createHash } from "node:crypto";
import * as zlib from "node:zlib";
import { assert, assertEquals } from "../assert.ts";
import { digestBytes } from "../../src/digest.ts";
import { getRuntime } from "../../src/runtime/mod.ts";
import { nodeRuntime } from "../../src/runtime/node.ts";
import { ONE_SHOT_MAX_BYTES, oneShotDigest } from "../../src/runtime/one_shot.ts";
import type { Hasher, Runtime } from "../../src/runtime/types.ts";
import { webRuntime } from "../../src/runtime/web.ts";

function bytesOf(length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

const nodeHex = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest("hex");

Deno.test("Runtime.digest() of the deno and web runtimes equals node:crypto's sha256 and sha512, small and past the one-shot limit", async () => {
  const deno = await getRuntime();
  assertEquals(deno.name, "deno");
  for (const rt of [deno, webRuntime]) {
    assert(rt.digest, `${rt.name} has a one-shot digest`);
    for (const b of [new Uint8Array(0), bytesOf(1043), bytesOf(ONE_SHOT_MAX_BYTES + 1)]) {
      for (const alg of ["sha256", "sha512"] as const) {
        assertEquals(await rt.digest(alg, b), nodeHex(alg, b), `${rt.name} ${alg} ${b.length}`);
      }
    }
    // A view into a larger buffer hashes only its own bytes.
    const whole = bytesOf(4096);
    const view = whole.subarray(100, 1100);
    assertEquals(await rt.digest("sha256", view), nodeHex("sha256", view.slice()));
  }
});

/** A runtime whose hasher counts the bytes it is given. */
function countingRuntime(): Runtime & { hashed: number } {
  const rt = {
    ...webRuntime,
    hashed: 0,
    async createHasher(alg: "sha256" | "sha512"): Promise<Hasher> {
      const h = await webRuntime.createHasher(alg);
      return {
        update(chunk: Uint8Array) {
          rt.hashed += chunk.byteLength;
          h.update(chunk);
        },
        digest: () => h.digest(),
      };
    },
  };
  delete (rt as Partial<Runtime>).digest;
  return rt;
}

Deno.test("oneShotDigest() hashes up to the limit with WebCrypto and above it with the runtime's hasher", async () => {
  const rt = countingRuntime();
  const small = bytesOf(ONE_SHOT_MAX_BYTES);
  assertEquals(await oneShotDigest(rt.createHasher, "sha256", small), nodeHex("sha256", small));
  assertEquals(rt.hashed, 0, "WebCrypto hashed it");
  const large = bytesOf(ONE_SHOT_MAX_BYTES + 1);
  assertEquals(await oneShotDigest(rt.createHasher, "sha512", large), nodeHex("sha512", large));
  assertEquals(rt.hashed, large.byteLength, "the hasher hashed it");
});

Deno.test("digestBytes() uses the runtime's one-shot digest where it has one, else its hasher", async () => {
  const rt = countingRuntime();
  const b = bytesOf(2000);
  assertEquals(await digestBytes(rt, b), `sha256:${nodeHex("sha256", b)}`);
  assertEquals(rt.hashed, 2000, "a runtime without digest(): its hasher");
  let oneShots = 0;
  const withDigest: Runtime = {
    ...rt,
    digest: (alg, bytes) => {
      oneShots++;
      return Promise.resolve(nodeHex(alg, bytes));
    },
  };
  assertEquals(
    await digestBytes(withDigest, b, { algorithm: "sha512" }),
    `sha512:${nodeHex("sha512", b)}`,
  );
  assertEquals(oneShots, 1);
  assertEquals(rt.hashed, 2000, "the hasher was not used again");
});

Deno.test("nodeRuntime() with module loaders loads each module once, on first use, and one-shot digests load neither", async () => {
  const loads: string[] = [];
  const rt = nodeRuntime({
    name: "lazy",
    crypto: () => (loads.push("crypto"), { createHash }),
    zlib: () => (loads.push("zlib"), zlib),
  });
  assertEquals(loads, [], "nothing loaded when the runtime is made");
  const doc = new TextEncoder().encode('{"schemaVersion":2}');
  assertEquals(await rt.digest!("sha256", doc), nodeHex("sha256", doc));
  assertEquals(loads, [], "a document's digest loads no module");

  const h = await rt.createHasher("sha256");
  h.update(doc);
  assertEquals(h.digest(), nodeHex("sha256", doc));
  await rt.createHasher("sha512");
  assertEquals(loads, ["crypto"]);

  const gz = zlib.gzipSync(doc);
  const out = await new Response(new Blob([gz as BlobPart]).stream().pipeThrough(rt.gunzip()))
    .text();
  assertEquals(out, '{"schemaVersion":2}');
  assert(rt.zstd, "Deno's node:zlib compresses zstd");
  const round = new Blob([doc as BlobPart]).stream().pipeThrough(rt.zstd(3)).pipeThrough(
    rt.zstdDecompress(),
  );
  assertEquals(await new Response(round).text(), '{"schemaVersion":2}');
  assertEquals(loads, ["crypto", "zlib"]);
});

Deno.test("nodeRuntime() given the modules themselves (the documented form) works as before", async () => {
  const rt = nodeRuntime({ crypto: { createHash }, zlib });
  assertEquals(rt.name, "node");
  const h = await rt.createHasher("sha256");
  h.update(new Uint8Array(0));
  assertEquals(h.digest(), nodeHex("sha256", new Uint8Array(0)));
  const noZstd = nodeRuntime({
    crypto: { createHash },
    zlib: { createGunzip: zlib.createGunzip, createGzip: zlib.createGzip },
  });
  assertEquals(noZstd.zstd, undefined, "no zstd compressor where node:zlib has none");
});
