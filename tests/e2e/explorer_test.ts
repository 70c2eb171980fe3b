/**
 * The image explorer in a real browser (headless Chromium, playwright-core), walked through
 * every view with an image built here: three layers and an empty history entry, a modified
 * file, a whiteout, an opaque directory, a setuid binary, a world-writable file, a sticky
 * /tmp, a symlink, a PNG, a dpkg status file; and a second image to compare with.
 * Each view is asserted, checked with axe-core (no serious or critical issue) and saved as
 * a screenshot at desktop (1400×900) and phone (390×844) width in `artifacts/screenshots/`.
 * `LADING_DOCS_SHOTS=1` also writes the README's screenshots to `docs/`.
 * @module
 */
import { Buffer } from "node:buffer";
import axe from "axe-core";
import type { Page } from "playwright-core";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { buildDemo, repoPath, stopBundler } from "../../web-demo/build.ts";
import { blobsOf, buildImage, jsonBlob, layoutFiles, tarOfFiles } from "../helpers/images.ts";
import { OCI_INDEX } from "../../src/media_types.ts";
import { browserTestsEnabled, launchChromium, serveDir, started } from "./browser.ts";

const SHOTS = repoPath("artifacts/screenshots");
const DOCS = Deno.env.get("LADING_DOCS_SHOTS") ? repoPath("docs") : undefined;

declare const document: {
  scrollingElement: { scrollWidth: number } | null;
  getElementById(id: string): { textContent: string | null } | null;
};
declare const axe_: unknown;

// A 1×1 PNG.
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);
const DPKG = "Package: base-files\nStatus: install ok installed\nVersion: 13.8\n" +
  "Architecture: amd64\nInstalled-Size: 340\n\nPackage: bash\nStatus: install ok installed\n" +
  "Version: 5.2.37-2\nArchitecture: amd64\nInstalled-Size: 7000\n";
const BIG = 300_000;

async function explorerImages() {
  const base = {
    files: [
      { path: "etc/", type: "directory" as const },
      { path: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\n" },
      { path: "bin/", type: "directory" as const },
      { path: "bin/sh", content: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 9]) },
      { path: "bin/shell", type: "symlink" as const, linkname: "sh" },
      { path: "usr/bin/su", content: "su binary", mode: 0o4755 },
      { path: "tmp/", type: "directory" as const, mode: 0o1777 },
      { path: "var/lib/dpkg/status", content: DPKG },
      { path: "opt/big.bin", content: new Uint8Array(BIG).fill(7) },
      { path: "usr/lib/x86_64-linux-gnu/libc.so.6", content: new Uint8Array(180_000).fill(1) },
      { path: "usr/lib/x86_64-linux-gnu/libssl.so.3", content: new Uint8Array(90_000).fill(2) },
      { path: "usr/lib/x86_64-linux-gnu/libz.so.1", content: new Uint8Array(40_000).fill(3) },
      { path: "usr/share/doc/bash/README", content: new Uint8Array(30_000).fill(65) },
      { path: "usr/share/locale/de/bash.mo", content: new Uint8Array(25_000).fill(4) },
      { path: "usr/bin/bash", content: new Uint8Array(120_000).fill(5) },
      { path: "app/data/old.txt", content: "old data\n" },
      { path: "app/logo.png", content: PNG },
    ],
  };
  const image = await buildImage({
    layers: [
      base,
      {
        files: [
          {
            path: "etc/passwd",
            content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:\n",
          },
          { path: "opt/new.txt", content: "new in layer 1\n" },
          { path: "opt/.wh.big.bin", content: "" },
        ],
      },
      {
        files: [
          { path: "app/data/.wh..wh..opq", content: "" },
          { path: "app/data/fresh.txt", content: "fresh\n" },
          { path: "app/shared.txt", content: "anyone writes here\n", mode: 0o666 },
        ],
      },
    ],
    config: { Cmd: ["/bin/sh"], Env: ["PATH=/usr/bin:/bin", "MODE=one"], Labels: { tier: "a" } },
    history: [
      { created_by: "ADD base.tar / # the base layer" },
      { created_by: "RUN useradd app && rm /opt/big.bin" },
      { created_by: 'ENV MODE="one"', empty_layer: true },
      { created_by: "COPY data /app/data" },
    ],
  });
  const other = await buildImage({
    layers: [base, { files: [{ path: "srv/other.txt", content: "other\n" }] }],
    config: { Cmd: ["/bin/bash"], Env: ["PATH=/usr/bin:/bin", "MODE=two"], Labels: {} },
  });
  // An index whose arm64 entry says variant v8 while the config has none.
  const amd = await buildImage({ layers: [{ files: [{ path: "amd.txt", content: "amd" }] }] });
  const arm = await buildImage({
    layers: [{ files: [{ path: "arm.txt", content: "arm" }] }],
    platform: { os: "linux", architecture: "arm64" },
  });
  const index = await jsonBlob({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { ...amd.manifest.descriptor, platform: amd.platform },
      {
        ...arm.manifest.descriptor,
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      },
    ],
  }, OCI_INDEX);
  const tar = await tarOfFiles(layoutFiles(
    [
      { descriptor: image.manifest.descriptor, refName: "example.com/explore:1" },
      { descriptor: other.manifest.descriptor, refName: "example.com/other:1" },
      { descriptor: index.descriptor, refName: "example.com/multi:1" },
    ],
    [...blobsOf(image), ...blobsOf(other), index, ...blobsOf(amd), ...blobsOf(arm)],
  ));
  return { image, other, arm, index, tar };
}

async function shot(page: Page, name: string, docs?: string) {
  await Deno.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  if (DOCS && docs) {
    await Deno.mkdir(DOCS, { recursive: true });
    await page.locator("#detail").screenshot({ path: `${DOCS}/${docs}.png` });
  }
}

/** axe-core on the page as it is: serious and critical violations fail the test. */
async function accessible(page: Page, where: string) {
  const injected = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe);
  if (injected === "undefined") {
    await page.addScriptTag({ content: (axe as unknown as { source: string }).source });
  }
  const violations = await page.evaluate(async () => {
    const r = await (globalThis as unknown as {
      axe: {
        run(ctx: unknown, opts: unknown): Promise<{
          violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
        }>;
      };
    }).axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) =>
        `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`
      );
  });
  assertEquals(violations, [], `axe on ${where}`);
}

/** No sideways scroll at the current width. */
async function noSidewaysScroll(page: Page, where: string) {
  const width = await page.evaluate(() => document.scrollingElement!.scrollWidth);
  const viewport = page.viewportSize()!.width;
  assert(width <= viewport, `${where}: the page is ${width}px wide in a ${viewport}px window`);
}

/** Both widths: desktop shot, phone shot (no sideways scroll), axe on each. */
async function check(page: Page, name: string, docs?: string) {
  await accessible(page, name);
  await shot(page, `explorer-${name}`, docs);
  await page.setViewportSize({ width: 390, height: 844 });
  await noSidewaysScroll(page, name);
  await accessible(page, `${name} (phone)`);
  await shot(page, `explorer-${name}-phone`);
  await page.setViewportSize({ width: 1400, height: 900 });
}

/** A folder handle, as much of it as the tests use. */
interface OpfsDir {
  getDirectoryHandle(name: string): Promise<OpfsDir>;
  removeEntry(name: string): Promise<void>;
  keys(): AsyncIterable<string>;
}

/** The names of the layer index files the page keeps next to its store in OPFS. */
function indexFiles(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const root = await (globalThis as unknown as {
      navigator: { storage: { getDirectory(): Promise<OpfsDir> } };
    }).navigator.storage.getDirectory();
    let dir = await root.getDirectoryHandle("lading");
    for (const part of ["lading-cache", "layers"]) dir = await dir.getDirectoryHandle(part);
    const names: string[] = [];
    for await (const name of dir.keys()) names.push(name);
    return names;
  });
}

const rowMark = (page: Page, path: string) =>
  page.getAttribute(`#tree tr[data-path="${path}"]`, "data-mark");

if (browserTestsEnabled("explorer tests in Chromium")) {
  Deno.test("the explorer shows layers, changes, waste, sizes, search, security, compare and files", async (t) => {
    const dist = await Deno.makeTempDir({ prefix: "lading-explorer-" });
    await buildDemo(dist);
    await stopBundler();
    const server = serveDir(dist);
    const url = `${await started(server)}?nosw`;
    const browser = await launchChromium();
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const { image, arm, index, tar } = await explorerImages();
    try {
      await page.goto(url);
      await page.waitForSelector("body[data-ready=true]");
      const before = Number(await page.getAttribute("body", "data-tasks-done") ?? 0);
      await page.setInputFiles("#file-input", {
        name: "explore.tar",
        mimeType: "application/x-tar",
        buffer: Buffer.from(tar),
      });
      await page.waitForSelector(`body[data-tasks-done="${before + 1}"]`);
      await page.waitForSelector('#images tr[data-name="example.com/explore:1"]');
      assertMatch(await page.textContent("#store-text") ?? "", /Store: 3 images, \d+ blobs/);
      assertStringIncludes(await page.textContent("#usage-text") ?? "", "estimate");

      await t.step("the import indexed every layer blob it stored, next to the store", async () => {
        const files = await indexFiles(page);
        for (const layer of [...image.layers, ...arm.layers]) {
          const name = `${layer.descriptor.digest.replace(":", "-")}.idx`;
          assert(files.includes(name), `no layer index ${name} in ${files.join(", ")}`);
        }
        // Config, manifests and the index are not layers: no index for them.
        assert(!files.includes(`${image.config.descriptor.digest.replace(":", "-")}.idx`));
      });

      await t.step(
        "layers: index, full command, sizes, file counts, empty entry in place",
        async () => {
          await page.click('#images tr[data-name="example.com/explore:1"] button:text("Inspect")');
          await page.waitForSelector('#layers tr[data-layer="2"]');
          const rows = await page.locator("#layers tbody tr").allTextContents();
          assertEquals(rows.length, 4);
          assertStringIncludes(rows[0], "ADD base.tar / # the base layer");
          assertStringIncludes(rows[1], "RUN useradd app && rm /opt/big.bin");
          assertStringIncludes(rows[2], 'ENV MODE="one"');
          assertStringIncludes(rows[2], "no layer");
          assertStringIncludes(rows[3], "COPY data /app/data");
          // Layer 0: 13 regular files (compressed and uncompressed sizes shown).
          const cells = await page.locator('#layers tr[data-layer="0"] td').allTextContents();
          assertEquals(cells[4], "13");
          assertMatch(cells[2], /^\d+(\.\d)? (B|kB)$/);
          assertMatch(cells[3], /^\d+(\.\d)? kB$/);
          // The digest of the manifest in the header.
          assertEquals(
            await page.getAttribute("#detail-digest code", "title"),
            image.manifest.descriptor.digest,
          );
          await check(page, "layers");
        },
      );

      await t.step(
        "a layer's changes: A/M/D marks; a removed path says what it removed",
        async () => {
          await page.click('#layers tr[data-layer="1"] button');
          await page.check("#mode-changes");
          await page.waitForSelector('#tree tr[data-path="opt"]');
          await page.click('#tree tr[data-path="opt"] button');
          await page.waitForSelector('#tree tr[data-path="opt/big.bin"]');
          assertEquals(await rowMark(page, "opt/big.bin"), "D");
          assertEquals(await rowMark(page, "opt/new.txt"), "A");
          const removed = await page.textContent('#tree tr[data-path="opt/big.bin"]');
          assertStringIncludes(removed!, "−300 kB");
          await page.click('#tree tr[data-path="opt/big.bin"] button');
          await page.waitForSelector("#viewer:not([hidden])");
          assertStringIncludes(
            await page.textContent("#viewer-info") ?? "",
            "removes 300 kB (1 file)",
          );
          await page.click('#crumbs button[aria-label="root folder"]');
          await page.click('#tree tr[data-path="etc"] button');
          await page.waitForSelector('#tree tr[data-path="etc/passwd"]');
          assertEquals(await rowMark(page, "etc/passwd"), "M");
          // Changing the folder clears the viewer.
          assert(await page.isHidden("#viewer"));
          await page.click('#tree tr[data-path="etc/passwd"] button');
          await page.waitForSelector("#viewer-body pre .ln");
          assertStringIncludes(await page.textContent("#viewer-body") ?? "", "app:x:1000");
          // A configuration file is highlighted: each line's key has its own colour.
          const keys = await page.locator('#viewer-body pre[data-language="conf"] .tok-key')
            .allTextContents();
          assert(keys.includes("app"), keys.join("|"));
          assertStringIncludes(await page.textContent("#viewer-provenance") ?? "", "#1 modified");
          await check(page, "layer-changes", "explorer-changes");
        },
      );

      await t.step(
        "filesystem up to a layer, chips, opaque directory, directory totals",
        async () => {
          await page.click('#layers tr[data-layer="2"] button');
          await page.check("#mode-upto");
          await page.waitForSelector('#tree tr[data-path="app"]');
          // Directory totals: /opt has only new.txt (15 B) after layer 1 removed big.bin.
          assertStringIncludes(await page.textContent('#tree tr[data-path="opt"]') ?? "", "15 B");
          await page.click('#tree tr[data-path="app"] button');
          await page.waitForSelector('#tree tr[data-path="app/data"]');
          await page.click('#tree tr[data-path="app/data"] button');
          await page.waitForSelector('#tree tr[data-path="app/data/fresh.txt"]');
          // The opaque directory hid old.txt: it is shown deleted by layer 2.
          assertEquals(await rowMark(page, "app/data/old.txt"), "D");
          assertEquals(await rowMark(page, "app/data/fresh.txt"), "A");
          await page.click("#chip-D");
          assertEquals(await page.locator("#tree tbody tr[data-path]").count(), 1);
          await page.click("#chip-D");
          await page.click("#crumbs button[aria-label='root folder']");
          await page.click("#chip-unchanged");
          await page.waitForSelector('#tree tr[data-path="app"]');
          assertEquals(await page.locator('#tree tr[data-path="etc"]').count(), 0);
          await page.click("#chip-unchanged");
          await page.selectOption("#tree-sort", "size");
          const first = await page.getAttribute("#tree tbody tr:first-child", "data-path");
          assertEquals(first, "usr");
          await page.selectOption("#tree-sort", "name");
          await check(page, "filesystem");
        },
      );

      await t.step("the file viewer: hex, image preview, symlink followed", async () => {
        await page.click("#crumbs button[aria-label='root folder']");
        await page.click('#tree tr[data-path="bin"] button');
        await page.click('#tree tr[data-path="bin/sh"] button');
        await page.waitForSelector("#viewer-body pre.hex");
        assertStringIncludes(await page.textContent("#viewer-body") ?? "", "7f 45 4c 46");
        await page.click('#tree tr[data-path="bin/shell"] button');
        await page.click('#viewer-actions button:text("Follow link")');
        await page.waitForSelector('#tree tr.selected[data-path="bin/sh"]');
        await page.click("#crumbs button[aria-label='root folder']");
        await page.click('#tree tr[data-path="app"] button');
        await page.click('#tree tr[data-path="app/logo.png"] button');
        await page.waitForSelector("#viewer-body img.preview-img");
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.click('#viewer-actions button:text("Download")'),
        ]);
        assertEquals(download.suggestedFilename(), "logo.png");
        await check(page, "file-viewer");
      });

      await t.step(
        "efficiency: score, wasted bytes, paths with their layers, CI command",
        async () => {
          await page.click("#tab-efficiency");
          await page.waitForSelector('#waste tr[data-path="opt/big.bin"]');
          const wasted = await page.textContent("#eff-wasted");
          assertMatch(wasted!, /^\d+(\.\d)? kB$/);
          const row = await page.textContent('#waste tr[data-path="opt/big.bin"]');
          assertStringIncludes(row!, "#0 A");
          assertStringIncludes(row!, "#1 D");
          assertMatch(
            await page.textContent("#eff-command") ?? "",
            /^lading waste example\.com\/explore:1 --fail-below 0\.\d\d$/,
          );
          await check(page, "efficiency", "explorer-efficiency");
          await page.click('#waste tr[data-path="opt/big.bin"] button:text("#1 D")');
          await page.waitForSelector('#tree tr.selected[data-path="opt/big.bin"]');
          assertEquals(await page.getAttribute("#tab-layers", "aria-selected"), "true");
        },
      );

      await t.step("sizes: treemap and largest files", async () => {
        await page.click("#tab-sizes");
        await page.waitForSelector("#treemap svg rect");
        assert(await page.locator("#treemap svg rect").count() >= 5);
        const largest = await page.locator("#largest li").first().textContent();
        assertStringIncludes(largest!, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        await check(page, "sizes", "explorer-sizes");
        await page.click('#treemap-list button:text("usr/")');
        await page.waitForSelector('#treemap-crumbs button:text("usr/")');
        await page.click('#treemap-list button:text("bin/")');
        await page.waitForSelector('#treemap-crumbs button:text("bin/")');
      });

      await t.step("search across layers and a file's provenance", async () => {
        await page.click("#tab-search");
        await page.fill("#search-q", "**/*.txt");
        await page.click('#search-form button[type="submit"]');
        await page.waitForSelector('#search-results tr[data-path="app/data/old.txt"]');
        assertStringIncludes(await page.textContent("#search-count") ?? "", "matches");
        const old = await page.locator('#search-results tr[data-path="app/data/old.txt"]')
          .textContent();
        assertStringIncludes(old!, "gone at the end");
        await check(page, "search");
        await page.click('#search-results tr[data-path="app/data/old.txt"] button');
        await page.waitForSelector('#viewer-provenance h4:text("Provenance of /app/data/old.txt")');
        const story = await page.textContent("#viewer-provenance") ?? "";
        assertStringIncludes(story, "#0 added");
        assertStringIncludes(story, "#2 deleted");
      });

      await t.step("security: setuid, world-writable, packages from dpkg status", async () => {
        await page.click("#tab-security");
        await page.waitForSelector('#flagged tr[data-path="usr/bin/su"]');
        assertStringIncludes(
          await page.textContent('#flagged tr[data-path="usr/bin/su"]') ?? "",
          "setuid",
        );
        assertStringIncludes(
          await page.textContent('#flagged tr[data-path="tmp"]') ?? "",
          "sticky",
        );
        assertStringIncludes(
          await page.textContent('#flagged tr[data-path="app/shared.txt"]') ?? "",
          "world-writable",
        );
        await page.waitForSelector("#packages tbody tr");
        const pk = await page.locator("#packages tbody tr").allTextContents();
        assertEquals(pk.length, 2);
        assertStringIncludes(pk[1], "5.2.37-2");
        await check(page, "security");
      });

      await t.step("compare with the second image: files, config, layers", async () => {
        await page.click("#tab-compare");
        await page.selectOption("#compare-with", { label: "example.com/other:1" });
        await page.click("#compare-run");
        await page.waitForSelector("#compare-counts");
        const counts = await page.textContent("#compare-counts");
        assertStringIncludes(counts!, "1 shared layer");
        assert(
          await page.locator('#compare-files tr[data-path="srv/other.txt"][data-kind="added"]')
            .count() === 1,
        );
        assert(
          await page.locator('#compare-files tr[data-path="app/shared.txt"][data-kind="removed"]')
            .count() === 1,
        );
        const config = await page.textContent("#compare-config");
        assertStringIncludes(config!, "Env MODE");
        assertStringIncludes(config!, '["/bin/bash"]');
        assertStringIncludes(config!, "Label tier");
        await check(page, "compare");
      });

      await t.step("config: Env and labels one per line", async () => {
        await page.click("#tab-config");
        const env = await page.locator("#config-summary li").allTextContents();
        assert(env.includes("PATH=/usr/bin:/bin") && env.includes("MODE=one"), env.join("|"));
        await check(page, "config");
      });

      await t.step("the URL keeps the view: reload and Back restore it", async () => {
        await page.click("#tab-layers");
        await page.click('#layers tr[data-layer="1"] button');
        await page.check("#mode-changes");
        await page.click('#tree tr[data-path="etc"] button');
        await page.click('#tree tr[data-path="etc/passwd"] button');
        await page.waitForSelector("#viewer-body pre .ln");
        const hash = new URL(page.url()).hash;
        assertStringIncludes(hash, "layer=1");
        assertStringIncludes(hash, "path=etc%2Fpasswd");
        await page.reload();
        await page.waitForSelector('#tree tr.selected[data-path="etc/passwd"]');
        assertEquals(await page.isChecked("#mode-changes"), true);
        await page.waitForSelector("#viewer-body pre .ln");
        await page.click("#tab-efficiency");
        await page.waitForSelector("#waste tr");
        await page.goBack();
        await page.waitForSelector(
          '#panel-layers:not([hidden]) #tree tr.selected[data-path="etc/passwd"]',
        );
      });

      await t.step(
        "the platform selector keeps linux/arm64/v8 and the header both digests",
        async () => {
          await page.click('#images tr[data-name="example.com/multi:1"] button:text("Inspect")');
          await page.waitForSelector("#platform option >> nth=1", { state: "attached" });
          await page.selectOption("#platform", "linux/arm64/v8");
          await page.waitForSelector('#tree tr[data-path="arm.txt"]');
          assertEquals(await page.inputValue("#platform"), "linux/arm64/v8");
          const titles = await page.locator("#detail-digest code").evaluateAll((els) =>
            els.map((e) => e.getAttribute("title"))
          );
          assertEquals(titles, [index.descriptor.digest, arm.manifest.descriptor.digest]);
          assertStringIncludes(new URL(page.url()).hash, "platform=linux%2Farm64%2Fv8");
          await page.selectOption("#platform", "linux/amd64");
          await page.waitForSelector('#tree tr[data-path="amd.txt"]');
          // Back to arm64: the analysis is cached in the worker, the tree comes back.
          await page.selectOption("#platform", "linux/arm64/v8");
          await page.waitForSelector('#tree tr[data-path="arm.txt"]');
        },
      );

      await t.step("keyboard: Tab reaches the controls of the explorer", async () => {
        await page.click('#images tr[data-name="example.com/explore:1"] button:text("Inspect")');
        await page.waitForSelector('#tree tr[data-path="etc"]');
        await page.click('#tree tr[data-path="etc"] button');
        await page.click('#tree tr[data-path="etc/passwd"] button');
        await page.waitForSelector("#viewer-body pre .ln");
        await page.focus("#pick-file");
        const reached = new Set<string>();
        for (let i = 0; i < 80; i++) {
          await page.keyboard.press("Tab");
          reached.add(
            await page.evaluate(() => {
              const a = (globalThis as unknown as {
                document: { activeElement: { id: string; textContent: string | null } | null };
              }).document.activeElement;
              return a?.id || (a?.textContent ?? "").trim().slice(0, 20);
            }),
          );
        }
        for (
          const id of [
            "pick-dir",
            "gc",
            "detail-close",
            "tab-layers",
            "#1",
            "mode-upto",
            "chip-unchanged",
            "chip-D",
            "tree-sort",
            "passwd",
            "Download",
          ]
        ) assert(reached.has(id), `Tab never reached ${id}: ${[...reached].join(", ")}`);
        // Arrow keys move between the explorer's tabs.
        await page.focus("#tab-layers");
        await page.keyboard.press("ArrowRight");
        await page.waitForSelector('#tab-efficiency[aria-selected="true"]');
      });

      await t.step(
        "after a reload a layer's tree comes from the kept index, without its blob",
        async () => {
          // Remove the blob of layer 1 behind the store's back: its tree can only come from
          // the index the import kept in OPFS (bytes would need the blob).
          const gone = image.layers[1].descriptor.digest.slice("sha256:".length);
          await page.evaluate(async (hex) => {
            const root = await (globalThis as unknown as {
              navigator: { storage: { getDirectory(): Promise<OpfsDir> } };
            }).navigator.storage.getDirectory();
            const blobs = await (await (await root.getDirectoryHandle("lading"))
              .getDirectoryHandle("blobs")).getDirectoryHandle("sha256");
            await blobs.removeEntry(hex);
          }, gone);
          await page.goto(
            `${url}#image=${encodeURIComponent("example.com/explore:1")}&tab=layers&layer=1`,
          );
          await page.reload();
          await page.waitForSelector('#tree tr[data-path="opt"]');
          await page.check("#mode-changes");
          await page.click('#tree tr[data-path="opt"] button');
          await page.waitForSelector('#tree tr[data-path="opt/big.bin"]');
          assertEquals(await rowMark(page, "opt/big.bin"), "D");
          // gc keeps the index of every blob still stored; the removed blob's goes.
          await page.click("#gc");
          await page.waitForFunction(() =>
            document.getElementById("notice")?.textContent?.includes("Garbage collection") ??
              false
          );
          const files = await indexFiles(page);
          assert(!files.includes(`sha256-${gone}.idx`), files.join(", "));
          assert(files.includes(`${image.layers[0].descriptor.digest.replace(":", "-")}.idx`));
        },
      );

      await t.step("delete asks in the page; cancel keeps, confirm deletes", async () => {
        await page.click('#images tr[data-name="example.com/other:1"] button:text("Delete")');
        await page.waitForSelector("#confirm[open]");
        await accessible(page, "delete dialog");
        await page.click("#confirm-no");
        assertEquals(await page.locator('#images tr[data-name="example.com/other:1"]').count(), 1);
        await page.click('#images tr[data-name="example.com/other:1"] button:text("Delete")');
        await page.click("#confirm-yes");
        await page.waitForFunction(() =>
          document.getElementById("store-text")?.textContent?.includes("would free") ?? false
        );
        await page.waitForSelector('#images tr[data-name="example.com/other:1"]', {
          state: "detached",
        });
      });

      assertEquals(pageErrors, []);
    } finally {
      await browser.close();
      await server.close();
      await Deno.remove(dist, { recursive: true });
    }
  });
}
