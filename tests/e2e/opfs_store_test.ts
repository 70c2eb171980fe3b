/**
 * The store conformance suite, run inside headless Chromium against the OPFS store: once
 * in a dedicated worker (sync access handles) and once on the page (createWritable). Each
 * browser case is reported as its own Deno test. Also: a lowered quota makes a write fail
 * with lading's QuotaExceededError and leaves nothing behind.
 * @module
 */
import { bundle, stopBundler } from "../../web-demo/build.ts";
import { browserTestsEnabled, launchChromium, serveDir, started } from "./browser.ts";
import type { CaseResult } from "./opfs_conformance_entry.ts";
import { assertStringIncludes } from "../assert.ts";

if (browserTestsEnabled("OPFS store conformance in Chromium")) {
  const out = await Deno.makeTempDir({ prefix: "lading-opfs-test-" });
  await bundle({
    entryPoints: {
      opfs_conformance_entry: "tests/e2e/opfs_conformance_entry.ts",
      opfs_writer_entry: "tests/e2e/opfs_writer_entry.ts",
    },
    outdir: out,
  });
  await stopBundler();
  await Deno.writeTextFile(
    `${out}/index.html`,
    `<!doctype html><title>opfs conformance</title><script type="module" src="opfs_conformance_entry.js"></script>`,
  );
  const server = serveDir(out);
  const url = await started(server);
  const browser = await launchChromium();
  let results: CaseResult[] = [];
  const quota: Record<string, string> = {};
  const pageErrors: string[] = [];
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { __ready?: boolean }).__ready === true);
    results = results.concat(
      await page.evaluate(() =>
        (globalThis as unknown as { __runWorker(): Promise<CaseResult[]> }).__runWorker()
      ),
    );
    results = results.concat(
      await page.evaluate(() =>
        (globalThis as unknown as { __runWindow(): Promise<CaseResult[]> }).__runWindow()
      ),
    );
    results = results.concat(
      await page.evaluate(() =>
        (globalThis as unknown as { __runWorker(h: boolean): Promise<CaseResult[]> })
          .__runWorker(true)
      ),
    );
    // Lower this origin's quota, fill it, restore it.
    const cdp = await page.context().newCDPSession(page);
    const origin = new URL(url).origin;
    const usage = await page.evaluate(async () =>
      (await (navigator as unknown as {
        storage: { estimate(): Promise<{ usage?: number }> };
      }).storage.estimate()).usage ?? 0
    );
    await cdp.send("Storage.overrideQuotaForOrigin", {
      origin,
      quotaSize: usage + 4 * 1024 * 1024,
    });
    const cases = [
      ["window", "window", undefined],
      ["worker", "worker (simulated)", 3 * 1024 * 1024],
      ["helper", "worker + writer helper (simulated)", 3 * 1024 * 1024],
    ] as const;
    for (const [where, label, simulateAfter] of cases) {
      try {
        quota[label] = await page.evaluate(
          ([w, p, s]) =>
            (globalThis as unknown as {
              __runQuota(w: string, p: string, b: number, s?: number): Promise<string>;
            }).__runQuota(w, p, 512 * 1024 * 1024, s),
          [where, `quota-${where}`, simulateAfter] as const,
        );
      } catch (e) {
        quota[label] = `failed: ${e instanceof Error ? e.message : e}`;
      }
    }
    await cdp.send("Storage.overrideQuotaForOrigin", { origin });
  } finally {
    await browser.close();
    await server.close();
    await Deno.remove(out, { recursive: true });
  }

  Deno.test("the Chromium conformance run reported its cases without page errors", () => {
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join("; ")}`);
    if (results.length < 100) throw new Error(`only ${results.length} cases reported`);
  });
  for (const r of results) {
    Deno.test(r.name, () => {
      if (!r.ok) throw new Error(r.error);
    });
  }
  for (
    const where of ["worker (simulated)", "worker + writer helper (simulated)", "window"] as const
  ) {
    Deno.test(`OpfsStore (${where}): a full quota fails the write with QuotaExceededError and leaves nothing`, () => {
      assertStringIncludes(quota[where] ?? "not run", "QuotaExceededError: Cannot write a blob");
    });
  }
}
