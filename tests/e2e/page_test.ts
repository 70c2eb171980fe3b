/**
 * The web page in a real browser (headless Chromium, playwright-core): an archive built by
 * the test is set on the file input and imported; the image appears with the right
 * digest; the file tree shows a known file; a reload still shows it (OPFS persisted); a
 * second import adds no blobs; a corrupt archive, and a layout folder with a wrong layer file,
 * show an error naming the blob and add nothing; opening
 * read-only works; cancel leaves nothing; export downloads an archive that the CLI imports
 * with the same digests; a docker archive gets the library's name and digest. Screenshots of the main views go to `artifacts/screenshots/`.
 * @module
 */
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { buildDemo, repoPath, stopBundler } from "../../web-demo/build.ts";
import { importImages } from "../../src/import/mod.ts";
import { formatBytes } from "../../src/format.ts";
import { MemoryStore } from "../../src/store/memory.ts";
import {
  blobsOf,
  buildImage,
  compress,
  demoImage,
  dockerArchiveFiles,
  layoutFiles,
  tarOfFiles,
} from "../helpers/images.ts";
import { browserTestsEnabled, launchChromium, serveDir, started } from "./browser.ts";
import { writeFiles } from "../import/_support.ts";

const SHOTS = repoPath("artifacts/screenshots");

// The functions given to page.evaluate run in the page; Deno's types have no DOM.
declare const document: {
  body?: { dataset: Record<string, string | undefined> };
  getElementById(id: string): { textContent: string | null } | null;
  activeElement: { id: string } | null;
};
interface OpfsDir {
  getDirectoryHandle(name: string): Promise<OpfsDir>;
  keys(): AsyncIterable<string>;
}

async function shot(page: Page, name: string) {
  await Deno.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

/** Files in the store's blobs/sha256 folder, counted in the page's OPFS. */
function blobCount(page: Page): Promise<number> {
  return page.evaluate(async () => {
    try {
      const root = await (navigator as unknown as {
        storage: { getDirectory(): Promise<OpfsDir> };
      }).storage.getDirectory();
      const dir = await (await (await root.getDirectoryHandle("lading")).getDirectoryHandle(
        "blobs",
      )).getDirectoryHandle("sha256");
      let n = 0;
      for await (const _ of dir.keys()) n++;
      return n;
    } catch {
      return 0;
    }
  });
}

/** The names in a folder of the page's store in OPFS (none when it does not exist). */
function opfsEntries(page: Page, folder: string): Promise<string[]> {
  return page.evaluate(async (folder) => {
    const names: string[] = [];
    try {
      const root = await (navigator as unknown as {
        storage: { getDirectory(): Promise<OpfsDir> };
      }).storage.getDirectory();
      const dir = await (await root.getDirectoryHandle("lading")).getDirectoryHandle(folder);
      for await (const name of dir.keys()) names.push(name);
    } catch {
      // no such folder
    }
    return names;
  }, folder);
}

async function chooseMode(page: Page, mode: "import" | "open") {
  await page.check(`input[name="mode"][value="${mode}"]`);
}

/** Sets a tar on the page's file input, as a user picking a file would. */
function setFile(page: Page, name: string, bytes: Uint8Array) {
  return page.setInputFiles("#file-input", {
    name,
    mimeType: "application/x-tar",
    buffer: Buffer.from(bytes),
  });
}

/** Runs `action` (which starts an import or open) and waits until that task ended. */
async function task(page: Page, action: () => Promise<unknown>) {
  const before = Number(await page.getAttribute("body", "data-tasks-done") ?? 0);
  await action();
  await page.waitForSelector(`body[data-tasks-done="${before + 1}"]`, { timeout: 120_000 });
}

/** Fails with the page's error message when it shows one. */
async function expectNoError(page: Page) {
  if (await page.isVisible("#error")) {
    throw new Error(`the page shows an error: ${await page.textContent("#error")}`);
  }
}

if (browserTestsEnabled("web page tests in Chromium")) {
  Deno.test("the web page imports, shows, persists, exports and refuses bad archives", async (t) => {
    const dist = await Deno.makeTempDir({ prefix: "lading-page-" });
    await buildDemo(dist);
    await stopBundler();
    const server = serveDir(dist);
    const url = `${await started(server)}?nosw`;
    const browser = await launchChromium();
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const { image, archive } = await demoImage();
    const manifestDigest = image.manifest.descriptor.digest;
    const work = await Deno.makeTempDir({ prefix: "lading-page-work-" });
    try {
      await page.goto(url);
      await page.waitForSelector("body[data-ready=true]");

      await t.step(
        "an archive set on the file input is imported and listed with its digest",
        async () => {
          await chooseMode(page, "import");
          await task(page, () => setFile(page, "demo.tar", archive));
          await expectNoError(page);
          await page.waitForSelector('#images tr[data-name="example.com/demo:1"]');
          const row = await page.textContent('#images tr[data-name="example.com/demo:1"]');
          assertStringIncludes(row!, "linux/amd64");
          const digest = await page.getAttribute(
            '#images tr[data-name="example.com/demo:1"] code',
            "title",
          );
          assertEquals(digest, manifestDigest);
          assertMatch(await page.textContent("#notice") ?? "", /4 new blobs/);
          assertEquals(await blobCount(page), 4);
          await shot(page, "01-imported");
        },
      );

      await t.step("the detail view shows config, layers and the merged tree", async () => {
        await page.click('#images tr[data-name="example.com/demo:1"] button:text("Inspect")');
        await page.waitForSelector('#layers tr[data-layer="1"]');
        assertStringIncludes(await page.textContent("#layers") ?? "", "COPY app /app");
        assertEquals(await page.locator("#layers tr[data-layer]").count(), 2);
        // Merged tree: app/README exists, etc/os-release was whited out by layer 1.
        await page.waitForSelector('#tree tr[data-path="app"]');
        await page.click('#tree tr[data-path="app"] button');
        await page.waitForSelector('#tree tr[data-path="app/README"]');
        await page.click('#tree tr[data-path="app/README"] button');
        await page.waitForFunction(() =>
          document.getElementById("viewer-body")?.textContent?.includes("built by lading")
        );
        await shot(page, "02-detail-merged");
        await page.click('#layers tr[data-layer="1"] button');
        await page.check("#mode-changes");
        await page.waitForSelector('#tree tr[data-path="etc"]');
        await page.click('#tree tr[data-path="etc"] button');
        await page.waitForSelector('#tree tr[data-path="etc/os-release"][data-mark="D"]');
        await shot(page, "03-layer-whiteout");
        await page.click("#tab-config");
        const config = await page.textContent("#config-summary");
        assertStringIncludes(config!, '["/bin/hello"]');
        assertStringIncludes(config!, "8080/tcp");
        assertStringIncludes(config!, "/app");
        await page.click("#tab-layers");
      });

      await t.step("a reload still shows the image (OPFS persisted)", async () => {
        await page.reload();
        await page.waitForSelector("body[data-ready=true]");
        await page.waitForSelector('#images tr[data-name="example.com/demo:1"]');
      });

      await t.step("a second import of the same archive adds no blobs", async () => {
        await task(page, () => setFile(page, "demo.tar", archive));
        await expectNoError(page);
        assertMatch(await page.textContent("#notice") ?? "", /0 new blobs/);
        assertEquals(await blobCount(page), 4);
      });

      await t.step("a corrupt archive shows a readable error and adds nothing", async () => {
        const other = await buildImage({
          layers: [{ files: [{ path: "x.txt", content: "x".repeat(3000) }] }],
        });
        const files = layoutFiles(
          [{ descriptor: other.manifest.descriptor, refName: "example.com/bad:1" }],
          blobsOf(other),
        );
        const layerPath = `blobs/sha256/${other.layers[0].descriptor.digest.slice(7)}`;
        const bad = files.get(layerPath)!.slice();
        bad[bad.length - 5] ^= 0xff;
        files.set(layerPath, bad);
        await task(page, async () => setFile(page, "bad.tar", await tarOfFiles(files)));
        await page.waitForSelector("#error:not([hidden])");
        const text = await page.textContent("#error");
        assertStringIncludes(text!, "Cannot import bad.tar: ");
        assertStringIncludes(text!, "hashes to");
        assert(text!.endsWith("Nothing was stored."), text!);
        assert(!/Error\)|Cannot import bad\.tar: Cannot/.test(text!), text!);
        assertEquals(await blobCount(page), 4);
        assertEquals(await page.locator('#images tr[data-name="example.com/bad:1"]').count(), 0);
        await shot(page, "04-error");
      });

      await t.step(
        "a layout folder with a wrong layer file is refused naming the file, and adds nothing",
        async () => {
          const other = await buildImage({
            layers: [{ files: [{ path: "f.txt", content: "from a folder\n".repeat(3000) }] }],
          });
          const files = layoutFiles(
            [{ descriptor: other.manifest.descriptor, refName: "example.com/folder:1" }],
            blobsOf(other),
          );
          const layerPath = `blobs/sha256/${other.layers[0].descriptor.digest.slice(7)}`;
          const bad = files.get(layerPath)!.slice(); // same size, other bytes
          bad[bad.length - 5] ^= 0xff;
          files.set(layerPath, bad);
          await writeFiles(`${work}/bad-layout`, files);
          await task(page, () => page.setInputFiles("#dir-input", `${work}/bad-layout`));
          await page.waitForSelector("#error:not([hidden])");
          const text = (await page.textContent("#error"))!;
          assertStringIncludes(text, "Cannot import bad-layout: ");
          assertStringIncludes(text, `bad-layout: ${layerPath}`);
          assertStringIncludes(text, "hashes to sha256:");
          assert(text.endsWith("Nothing was stored."), text);
          assert(!text.includes("\n"), text);
          assertEquals(await blobCount(page), 4);
          assertEquals(await opfsEntries(page, "ingest"), []);
          assertEquals(
            await page.locator('#images tr[data-name="example.com/folder:1"]').count(),
            0,
          );
        },
      );

      await t.step("a big import can be cancelled and leaves nothing", async () => {
        const big = await buildImage({
          layers: [{
            files: [{
              path: "big.bin",
              content: crypto.getRandomValues(new Uint8Array(60_000)).slice(),
            }],
            compression: "none",
          }, {
            files: [{ path: "big2.bin", content: new Uint8Array(8 * 1024 * 1024).fill(3) }],
            compression: "none",
          }],
        });
        const tar = await tarOfFiles(layoutFiles(
          [{ descriptor: big.manifest.descriptor, refName: "example.com/big:1" }],
          blobsOf(big),
        ));
        // ?throttle=150 makes the worker wait 150 ms per MiB read (over a second for this
        // archive), so cancel lands mid-import.
        await page.goto(`${url}&throttle=150`);
        await page.waitForSelector("body[data-ready=true]");
        await task(page, async () => {
          await setFile(page, "big.tar", tar);
          await page.waitForSelector("#task:not([hidden])");
          // Progress is what reached the store, never 100 % before the end.
          await page.waitForFunction(() => Number(document.body?.dataset.progress || 0) > 0);
          const progress = Number(await page.getAttribute("body", "data-progress"));
          assert(progress > 0 && progress < 1, `progress ${progress}`);
          await page.click("#task-cancel");
        });
        // A cancel is neutral: a notice, not an error.
        await page.waitForFunction(() =>
          document.getElementById("notice")?.textContent?.includes("cancelled. Nothing was stored.")
        );
        assert(await page.isHidden("#error"));
        assertEquals(await blobCount(page), 4);
        const ingest = await page.evaluate(async () => {
          const root = await (navigator as unknown as {
            storage: { getDirectory(): Promise<OpfsDir> };
          }).storage.getDirectory();
          const dir = await (await root.getDirectoryHandle("lading")).getDirectoryHandle("ingest");
          let n = 0;
          for await (const _ of dir.keys()) n++;
          return n;
        });
        assertEquals(ingest, 0);
      });

      await t.step(
        "a compressed archive's import counts the compressed bytes taken over its size; cancel leaves nothing",
        async () => {
          // Random bytes: the gzip archive is as big as the tar (about 9.5 MB, two of the
          // 8 MiB slices the page reads a file in).
          const random = new Uint8Array(9_000_000);
          for (let i = 0; i < random.length; i += 65536) {
            crypto.getRandomValues(random.subarray(i, i + 65536));
          }
          const noise = await buildImage({
            layers: [{ files: [{ path: "noise.bin", content: random }], compression: "none" }],
          });
          const gz = await compress(
            await tarOfFiles(layoutFiles(
              [{ descriptor: noise.manifest.descriptor, refName: "example.com/noise:1" }],
              blobsOf(noise),
            )),
            "gzip",
          );
          // 300 ms per MiB read (2.4 s for the first slice): the import takes seconds, and
          // the bar moves in steps of at most 1 MiB of the compressed archive as the
          // decompressor takes them.
          await page.goto(`${url}&throttle=300`);
          await page.waitForSelector("body[data-ready=true]");
          const total = new RegExp(`^reading .+ of ${formatBytes(gz.byteLength)}$`);
          await task(page, async () => {
            await setFile(page, "noise.tar.gz", gz);
            await page.waitForFunction(() => Number(document.body?.dataset.progress || 0) > 0);
            assertMatch(await page.textContent("#task-bytes") ?? "", total);
            const first = Number(await page.getAttribute("body", "data-progress"));
            await page.waitForFunction(
              (p) => Number(document.body?.dataset.progress || 0) > p,
              first,
            );
            const later = Number(await page.getAttribute("body", "data-progress"));
            assert(first < later && later < 1, `progress ${first} then ${later}`);
            await page.click("#task-cancel");
          });
          await page.waitForFunction(() =>
            document.getElementById("notice")?.textContent?.includes(
              "cancelled. Nothing was stored.",
            )
          );
          assert(await page.isHidden("#error"));
          assertEquals(await blobCount(page), 4);
        },
      );

      await t.step("reading layers shows byte progress and can be cancelled quietly", async () => {
        // The import indexed the layers; a store from before that has none: remove them, so
        // that the layers are read (5 s per chunk read from a layer blob: the progress is
        // observable, and the cancel lands before the layers are read).
        await page.evaluate(async () => {
          const root = await (navigator as unknown as {
            storage: { getDirectory(): Promise<OpfsDir> };
          }).storage.getDirectory();
          const store = await root.getDirectoryHandle("lading");
          await (store as unknown as { removeEntry(n: string, o: object): Promise<void> })
            .removeEntry("lading-cache", { recursive: true });
        });
        await page.goto(`${url}&throttle=5000`);
        await page.waitForSelector("body[data-ready=true]");
        await page.click('#images tr[data-name="example.com/demo:1"] button:text("Inspect")');
        await page.waitForSelector("#layer-status:not([hidden])");
        await page.waitForFunction(() =>
          /Reading layers… .+ of .+/.test(
            document.getElementById("layer-status-text")?.textContent ?? "",
          )
        );
        await page.click("#layer-cancel");
        await page.waitForSelector("#detail", { state: "hidden" });
        assert(await page.isHidden("#error"));
        await page.goto(url);
        await page.waitForSelector("body[data-ready=true]");
      });

      await t.step("open read-only shows an archive's images without storing them", async () => {
        await chooseMode(page, "open");
        await task(page, () => setFile(page, "demo-open.tar", archive));
        await page.waitForSelector(
          '#view-tabs [aria-selected="true"]:text("demo-open.tar (read-only)")',
        );
        await page.waitForSelector('#images tr[data-name="example.com/demo:1"]');
        assertEquals(await page.locator('#images tr button:text("Delete")').count(), 0);
        assertEquals(await blobCount(page), 4);
        await shot(page, "05-open-read-only");
        await chooseMode(page, "import");
        await page.click('#view-tabs button:text("This browser\'s store")');
      });

      await t.step(
        "export downloads an oci-archive the CLI imports with the same digests",
        async () => {
          await page.waitForSelector('#images tr[data-name="example.com/demo:1"]');
          const [download] = await Promise.all([
            page.waitForEvent("download"),
            page.click('#images tr[data-name="example.com/demo:1"] button:text("Export")'),
          ]);
          const file = `${work}/exported.tar`;
          await download.saveAs(file);
          const store = `${work}/store`;
          const run = (args: string[]) =>
            new Deno.Command(Deno.execPath(), {
              args: ["run", "-A", repoPath("cli.ts"), ...args],
              stdout: "piped",
              stderr: "piped",
            }).output();
          const imported = await run(["import", "--store", store, file]);
          assert(imported.success, new TextDecoder().decode(imported.stderr));
          const ls = await run(["images", "ls", "--json", "--store", store]);
          assert(ls.success, new TextDecoder().decode(ls.stderr));
          const list = JSON.parse(new TextDecoder().decode(ls.stdout));
          const entry = list.find((i: { name: string }) => i.name === "example.com/demo:1");
          assert(entry, `CLI sees ${JSON.stringify(list)}`);
          assertEquals(entry.digest, manifestDigest);
        },
      );

      await t.step(
        "a docker archive is imported with the library's name and digest and shows its files",
        async () => {
          const image = await buildImage({
            docker: true,
            layers: [{
              files: [
                { path: "srv/", type: "directory" },
                { path: "srv/hello.txt", content: "hello from a docker archive\n" },
              ],
              compression: "none",
            }],
            config: { Cmd: ["/srv/hello"] },
          });
          const tar = await tarOfFiles(
            await dockerArchiveFiles([{ image, repoTags: ["dockerdemo:2"] }]),
          );
          // What the library (the CLI's importer) makes of the same archive.
          const expected = await importImages(new MemoryStore(), {
            kind: "stream",
            label: "docker.tar",
            stream: new Blob([tar as BlobPart]).stream(),
          });
          assertEquals(expected.images.map((i) => i.name), ["docker.io/library/dockerdemo:2"]);
          const name = expected.images[0].name;
          const row = `#images tr[data-name="${name}"]`;
          await task(page, () => setFile(page, "docker.tar", tar));
          await expectNoError(page);
          await page.waitForSelector(row);
          assertEquals(await page.getAttribute(`${row} code`, "title"), expected.images[0].digest);
          // Config, layer and the synthesized manifest, as in the library's import.
          assertEquals(expected.blobs.added, 3);
          assertMatch(await page.textContent("#notice") ?? "", /3 new blobs/);
          assertEquals(await blobCount(page), 4 + 3);
          await page.click(`${row} button:text("Inspect")`);
          await page.waitForSelector('#tree tr[data-path="srv"]');
          await page.click('#tree tr[data-path="srv"] button');
          await page.waitForSelector('#tree tr[data-path="srv/hello.txt"]');
          await page.click('#tree tr[data-path="srv/hello.txt"] button');
          await page.waitForFunction(() =>
            document.getElementById("viewer-body")?.textContent?.includes(
              "hello from a docker archive",
            )
          );
          await shot(page, "07-docker-archive");
        },
      );

      await t.step(
        "an image without a name is imported, listed by its digest, and the notice says so",
        async () => {
          const untagged = await buildImage({
            layers: [{ files: [{ path: "untagged.txt", content: "no name\n" }] }],
          });
          const digest = untagged.manifest.descriptor.digest;
          const bytes = await tarOfFiles(
            layoutFiles([{ descriptor: untagged.manifest.descriptor }], blobsOf(untagged)),
          );
          await task(page, () => setFile(page, "untagged.tar", bytes));
          await expectNoError(page);
          const text = await page.textContent("#notice") ?? "";
          assertStringIncludes(text, "1 image had no name; it is listed by its digest as ");
          assertStringIncludes(text, `@${digest}`);
          await page.waitForSelector(`#images tr[data-name$="@${digest}"]`);
        },
      );

      await t.step("gc, storage usage and a narrow window", async () => {
        await page.click("#gc");
        await page.waitForFunction(() =>
          document.getElementById("notice")?.textContent?.includes("Garbage collection")
        );
        assertMatch(await page.textContent("#usage-text") ?? "", /Browser's estimate: .* of /);
        assertMatch(await page.textContent("#store-text") ?? "", /Store: \d+ images?, \d+ blobs/);
        await page.setViewportSize({ width: 390, height: 844 });
        await shot(page, "06-narrow");
        // Keyboard: the pickers are buttons reached with Tab.
        await page.focus("#pick-file");
        assertEquals(await page.evaluate(() => document.activeElement?.id), "pick-file");
      });

      assertEquals(pageErrors, []);
    } finally {
      await browser.close();
      await server.close();
      await Deno.remove(dist, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  });
}
