/**
 * The page's registry card in a real browser (headless Chromium) against Debian's
 * distribution registry with CORS headers (no auth): an image seeded into the registry is
 * pulled into OPFS with its digest and appears in the images table; the page pushes it to
 * another repository and the registry holds the exact bytes; a registry without CORS is
 * reported as "blocked by CORS or unreachable"; and a registry with Basic auth and no CORS
 * (distribution 2.8 answers the preflight with 401) is pulled through a CORS proxy the user
 * names, with the typed credentials, which the proxy passes on.
 * @module
 */
import type { Page } from "playwright-core";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { buildDemo, stopBundler } from "../../web-demo/build.ts";
import { browserTestsEnabled, launchChromium, serveDir, started } from "./browser.ts";
import { getManifest, haveRegistry, pushBuiltImage, startRegistry } from "../registry/_registry.ts";
import { sampleImage } from "../registry/_cli.ts";

// The functions given to page.evaluate run in the page; Deno's types have no DOM.
declare const document: { cookie: string };

/** The CORS a registry must answer for the page (see the README). */
const CORS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS"],
  "Access-Control-Allow-Headers": ["Authorization", "Accept", "Content-Type", "Range"],
  "Access-Control-Expose-Headers": [
    "Docker-Content-Digest",
    "Location",
    "WWW-Authenticate",
    "OCI-Subject",
    "Link",
    "Content-Range",
    "Content-Length",
  ],
};

/**
 * A small CORS proxy like the ones users run (`http://host/?url={url}`): it answers the
 * preflight itself and forwards every other request, `Authorization` included, adding the
 * CORS headers. Records what it forwarded.
 */
function startCorsProxy() {
  const seen: { method: string; url: string; authorization: boolean }[] = [];
  const cors = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": CORS["Access-Control-Allow-Methods"].join(", "),
    "access-control-allow-headers": CORS["Access-Control-Allow-Headers"].join(", "),
    "access-control-expose-headers": CORS["Access-Control-Expose-Headers"].join(", "),
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
    const target = new URL(req.url).searchParams.get("url");
    if (!target) return new Response("no url", { status: 400, headers: cors });
    const headers = new Headers(req.headers);
    for (const h of ["host", "origin", "referer"]) headers.delete(h);
    seen.push({ method: req.method, url: target, authorization: headers.has("authorization") });
    const res = await fetch(target, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
    });
    const out = new Headers(res.headers);
    for (const [k, v] of Object.entries(cors)) out.set(k, v);
    return new Response(res.body, { status: res.status, headers: out });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/?url={url}`,
    seen,
    close: () => server.shutdown(),
  };
}

/** Clicks a registry button and waits until that task ended. */
async function registryTask(page: Page, button: string) {
  const done = Number(await page.getAttribute("#registry", "data-done") ?? 0);
  await page.click(button);
  await page.waitForSelector(`#registry[data-done="${done + 1}"]`, { timeout: 120_000 });
}

if (browserTestsEnabled("registry page test") && await haveRegistry("registry page test")) {
  Deno.test("the page pulls from and pushes to a CORS registry, says when CORS blocks it, and pulls through an authenticating CORS proxy", async () => {
    const dist = await Deno.makeTempDir({ prefix: "lading-registry-page-" });
    await buildDemo(dist);
    await stopBundler();
    const server = serveDir(dist);
    const url = `${await started(server)}?nosw`;
    await using reg = await startRegistry({ headers: CORS });
    await using closed = await startRegistry(); // no CORS headers
    await using authReg = await startRegistry({ auth: "basic" }); // no CORS headers either
    const proxy = startCorsProxy();
    const image = await sampleImage([60_000, 2000]);
    const digest = await pushBuiltImage(reg, "page/app", "1", image);
    await pushBuiltImage(closed, "page/app", "1", image);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      if (Deno.env.get("LADING_DEBUG_PAGE")) {
        page.on("console", (m) => console.log("console:", m.text()));
        page.on(
          "requestfailed",
          (r) => console.log("failed:", r.method(), r.url(), r.failure()?.errorText),
        );
      }
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]');
      await page.waitForSelector('#registry[data-ready="true"]');

      // Pull into OPFS.
      await page.fill("#registry-remote", `http://${reg.host}/page/app:1`);
      await registryTask(page, "#registry-pull");
      assertEquals(
        await page.isHidden("#registry-error"),
        true,
        await page.textContent("#registry-error") ?? "",
      );
      assertStringIncludes(
        await page.textContent("#registry-status") ?? "",
        `${reg.host}/page/app:1`,
      );
      const row = page.locator(`#images tr[data-name="${reg.host}/page/app:1"]`);
      await row.waitFor();
      assertStringIncludes(await row.textContent() ?? "", digest.slice(7, 19));

      // Push it back under another name; the registry holds the exact bytes.
      await page.fill("#registry-remote", `http://${reg.host}/page/pushed:2`);
      await page.selectOption("#registry-local", `${reg.host}/page/app:1`);
      await registryTask(page, "#registry-push");
      assertEquals(
        await page.isHidden("#registry-error"),
        true,
        await page.textContent("#registry-error") ?? "",
      );
      const pushed = await getManifest(reg, "page/pushed", "2");
      assertEquals(pushed.bytes, image.manifest.bytes);

      // A registry that does not answer CORS: plain words, nothing added.
      await page.fill("#registry-remote", `http://${closed.host}/page/app:1`);
      await registryTask(page, "#registry-pull");
      const error = await page.textContent("#registry-error") ?? "";
      assertStringIncludes(error, "blocked by CORS or unreachable");
      assert(!(await page.isHidden("#registry-error")));
      assertEquals(
        await page.locator(`#images tr[data-name="${closed.host}/page/app:1"]`).count(),
        0,
      );

      // A registry with Basic auth and no CORS, through a CORS proxy the user names: without
      // credentials the pull fails in plain words; with them it works, and the proxy passed
      // the typed credentials on.
      const image2 = await sampleImage([30_000], { label: "auth" });
      const digest2 = await pushBuiltImage(authReg, "page/private", "1", image2);
      await page.fill("#registry-remote", `http://${authReg.host}/page/private:1`);
      await page.fill("#registry-proxy", proxy.url);
      await registryTask(page, "#registry-pull");
      assertStringIncludes(await page.textContent("#registry-error") ?? "", "authentication");
      await page.fill("#registry-user", authReg.username!);
      await page.fill("#registry-pass", authReg.password!);
      await registryTask(page, "#registry-pull");
      assertEquals(
        await page.isHidden("#registry-error"),
        true,
        await page.textContent("#registry-error") ?? "",
      );
      const row2 = page.locator(`#images tr[data-name="${authReg.host}/page/private:1"]`);
      await row2.waitFor();
      assertStringIncludes(await row2.textContent() ?? "", digest2.slice(7, 19));
      assert(
        proxy.seen.some((s) => s.url.includes("/blobs/") && s.authorization),
        "blob requests went through the proxy with the typed credentials",
      );
      assert(proxy.seen.every((s) => s.url.startsWith(`http://${authReg.host}/`)));
      await page.fill("#registry-proxy", "");

      // Credentials typed into the page, used for a pull, are written to no storage: not
      // localStorage, sessionStorage, cookies, IndexedDB, nor any file of the OPFS store.
      // (Strings: this file is type-checked without DOM libs.)
      const stored = await page.evaluate<string>(`(async () => {
        let text = JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) +
          document.cookie + JSON.stringify(await indexedDB.databases());
        const walk = async (dir) => {
          for await (const [, h] of dir.entries()) {
            if (h.kind === "directory") await walk(h);
            else {
              const file = await h.getFile();
              if (file.size < 1 << 20) text += await file.text();
            }
          }
        };
        await walk(await navigator.storage.getDirectory());
        return text;
      })()`);
      assertStringIncludes(stored, digest2.slice(7), "the OPFS store was read");
      assert(!stored.includes(authReg.password!), "the password is in no storage");
      assert(!stored.includes(btoa(`${authReg.username}:${authReg.password}`)));
      // The password field is emptied when the page is hidden.
      await page.evaluate(`(() => {
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      })()`);
      assertEquals(await page.inputValue("#registry-pass"), "");
    } finally {
      await browser.close();
      await proxy.close();
      await server.close();
      await Deno.remove(dist, { recursive: true }).catch(() => {});
    }
  });
}
