/**
 * The page's gzip decoders in Chromium (`DecompressionStream` with lading's member handling,
 * and the fflate fallback) refuse every case Go's `compress/gzip` refuses — a wrong CRC-32
 * or ISIZE in any member, a cut trailer, anything after the last member but a complete
 * member — with lading's InvalidInputError, and decode valid multi-member gzip exactly, in
 * any chunking (the same cases as tests/runtime/gzip_trailer_test.ts).
 * @module
 */
import { Buffer } from "node:buffer";
import { bundle, stopBundler } from "../../web-demo/build.ts";
import { crc32 } from "../../src/runtime/crc32.ts";
import { assert, assertEquals } from "../assert.ts";
import { INVALID, VALID } from "../runtime/_gzip_cases.ts";
import { browserTestsEnabled, launchChromium, serveDir, started } from "./browser.ts";
import type { GunzipOutcome } from "./gzip_trailer_entry.ts";

if (browserTestsEnabled("gzip trailer checks in Chromium")) {
  const out = await Deno.makeTempDir({ prefix: "lading-gzip-e2e-" });
  await bundle({
    entryPoints: { gzip_trailer_entry: "tests/e2e/gzip_trailer_entry.ts" },
    outdir: out,
  });
  await stopBundler();
  await Deno.writeTextFile(
    `${out}/index.html`,
    `<!doctype html><title>gzip</title><script type="module" src="gzip_trailer_entry.js"></script>`,
  );
  const server = serveDir(out);
  const url = await started(server);
  const browser = await launchChromium();
  const results = new Map<string, GunzipOutcome>();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { __ready?: boolean }).__ready === true);
    for (const [what, bytes] of [...VALID, ...INVALID]) {
      for (const decoder of ["web", "fflate"] as const) {
        for (const chunk of [1 << 30, 4096, 7]) {
          results.set(
            `${decoder} ${what} ${chunk}`,
            await page.evaluate(
              ([b, c, d]) =>
                (globalThis as unknown as {
                  __gunzip(b: string, c: number, d: string): Promise<GunzipOutcome>;
                }).__gunzip(b, c, d),
              [Buffer.from(bytes).toString("base64"), chunk, decoder] as const,
            ),
          );
        }
      }
    }
  } finally {
    await browser.close();
    await server.close();
    await Deno.remove(out, { recursive: true });
  }

  for (const decoder of ["web", "fflate"]) {
    for (const [what, , expected] of VALID) {
      Deno.test(`Chromium: ${decoder} gunzip decodes ${what} in any chunking`, () => {
        for (const chunk of [1 << 30, 4096, 7]) {
          assertEquals(results.get(`${decoder} ${what} ${chunk}`), {
            ok: true,
            length: expected.length,
            crc: crc32(expected),
          });
        }
      });
    }
    for (const [what] of INVALID) {
      Deno.test(`Chromium: ${decoder} gunzip refuses ${what} in any chunking`, () => {
        for (const chunk of [1 << 30, 4096, 7]) {
          const r = results.get(`${decoder} ${what} ${chunk}`)!;
          assert(!r.ok, `accepted in chunks of ${chunk}`);
          assertEquals(r.name, "InvalidInputError", r.message);
          assert(/gzip/.test(r.message) && !r.message.includes("\n"), r.message);
        }
      });
    }
  }
}
