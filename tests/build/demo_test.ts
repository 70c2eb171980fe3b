/**
 * `deno task demo` builds its image with the build API: it runs, and the image it builds
 * has the same digest on every run and machine (fixed times, sorted entries, fflate gzip
 * with header time 0) — pinned here, so a change in the layer or JSON bytes is noticed.
 * @module
 */
import { assertEquals, assertStringIncludes } from "../assert.ts";

const DEMO_DIGEST = "sha256:f6df7a8227f12658bf8868904a0bea9e406465a77c245402fca982db9354a0a9";

Deno.test("deno task demo builds, imports and shows the demo image with a fixed digest", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", new URL("../demo.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  assertStringIncludes(text, `example.com/demo:1 ${DEMO_DIGEST}`);
  assertStringIncludes(new TextDecoder().decode(out.stderr), "blobs: 0 added, 4 present");
  assertStringIncludes(text, "ENV LANG=C.UTF-8");
  const dir = /store are in (\S+);/.exec(text)?.[1];
  if (dir) await Deno.remove(dir, { recursive: true });
});
