/// <reference lib="dom" />
/**
 * The page's registry card: pull an image from a registry into this browser's store and
 * push an image of the store to a registry. The work runs in `registry_worker.ts`. The
 * registry must answer CORS for this page's origin (or the user names a CORS proxy);
 * when the browser hides why a request failed, the card says "blocked by CORS or
 * unreachable". User name and password stay in this page's memory: they are read from the
 * inputs for each request, never stored (no localStorage, no cookies, no OPFS) and the
 * password input is cleared when the page is hidden.
 * @module
 */
import { el, formatBytes, plainError, shortDigestText } from "./dom.ts";

/** What the host page provides. */
export interface RegistryPanelOptions {
  /** The element the card is inserted after. */
  readonly after: Element;
  /** Called after a pull changed the store (refresh lists and usage). */
  readonly onStoreChanged: () => Promise<void> | void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  progress?: (p: { bytes: number; total?: number }) => void;
}

/** Inserts the registry card and starts its worker. */
export function mountRegistryPanel(options: RegistryPanelOptions): void {
  const worker = new Worker(new URL("./registry_worker.js", import.meta.url), { type: "module" });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ready!: () => void;
  let failed!: (e: Error) => void;
  const started = new Promise<void>((res, rej) => {
    ready = res;
    failed = rej;
  });
  worker.onmessage = (e: MessageEvent) => {
    const m = e.data;
    if (m.ready) return ready();
    if (m.fatal) return failed(new Error(m.fatal.message));
    const p = pending.get(m.id);
    if (!p) return;
    if (m.progress) return p.progress?.(m.progress);
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  };
  worker.onerror = (e) => failed(new Error(e.message || "the registry worker failed to load"));
  const call = async <T>(
    request: Record<string, unknown>,
    progress?: Pending["progress"],
  ): Promise<T> => {
    await started;
    const id = nextId++;
    return await new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
      worker.postMessage({ id, request });
    });
  };

  const input = (id: string, label: string, props: Record<string, unknown> = {}) => {
    const i = el("input", { id, type: "text", autocomplete: "off", spellcheck: false, ...props });
    return { input: i, row: el("label", { className: "field" }, label, i) };
  };
  const remote = input("registry-remote", "Image in a registry", {
    placeholder: "http://127.0.0.1:5000/team/app:1",
  });
  const platform = input("registry-platform", "Platform", { placeholder: "default: linux/amd64" });
  const all = el("input", { id: "registry-all", type: "checkbox" });
  const proxy = input("registry-proxy", "CORS proxy (optional)", {
    placeholder: "https://proxy.example/?url={url}",
  });
  const user = input("registry-user", "User (optional)");
  const pass = input("registry-pass", "Password or token", {
    type: "password",
    autocomplete: "new-password",
  });
  const local = el("select", { id: "registry-local", "aria-label": "image to push" });
  const pullButton = el(
    "button",
    { id: "registry-pull", type: "button" },
    "Pull into this browser",
  );
  const pushButton = el("button", { id: "registry-push", type: "button" }, "Push");
  const status = el("div", { id: "registry-status", className: "notice", role: "status" });
  const error = el("div", {
    id: "registry-error",
    className: "error",
    role: "alert",
    hidden: true,
  });
  const bar = el("progress", { id: "registry-progress", max: 100, hidden: true });

  const card = el(
    "section",
    { className: "card", id: "registry", "aria-labelledby": "registry-title" },
    el("h2", { id: "registry-title" }, "Registry"),
    el(
      "p",
      { className: "hint" },
      "Pull from or push to a registry that answers CORS for this page (or through a CORS " +
        "proxy you name). User name and password stay in this page's memory only.",
    ),
    remote.row,
    el("div", { className: "row" }, platform.row, el("label", {}, all, " All platforms")),
    proxy.row,
    el("div", { className: "row" }, user.row, pass.row),
    el("div", { className: "row" }, pullButton, el("label", {}, "Push ", local, " "), pushButton),
    bar,
    error,
    status,
  );
  options.after.after(card);

  // Nothing typed here outlives the page; the password goes when the page is hidden.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") pass.input.value = "";
  });

  const common = () => ({
    remote: remote.input.value,
    proxy: proxy.input.value,
    username: user.input.value,
    password: pass.input.value,
  });
  const refreshNames = async () => {
    try {
      const names = await call<string[]>({ op: "names" });
      const keep = local.value;
      local.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
      if (names.includes(keep)) local.value = keep;
      pushButton.disabled = names.length === 0;
    } catch (e) {
      showError(e, "Cannot list this browser's images");
    }
  };
  const showError = (e: unknown, what: string) => {
    error.textContent = plainError(e, what);
    error.hidden = false;
  };
  const onProgress = (p: { bytes: number; total?: number }) => {
    bar.hidden = false;
    if (p.total) bar.value = Math.min(100, (100 * p.bytes) / p.total);
    status.textContent = `${formatBytes(p.bytes)}${p.total ? ` of ${formatBytes(p.total)}` : ""}`;
  };
  const run = async (what: string, fn: () => Promise<string>) => {
    error.hidden = true;
    error.textContent = "";
    status.textContent = `${what}…`;
    bar.hidden = false;
    bar.removeAttribute("value");
    pullButton.disabled = pushButton.disabled = true;
    try {
      status.textContent = await fn();
    } catch (e) {
      status.textContent = "";
      showError(e, `Cannot ${what.toLowerCase()}`);
    } finally {
      bar.hidden = true;
      pullButton.disabled = false;
      await refreshNames();
      card.dataset.done = String(Number(card.dataset.done ?? 0) + 1);
    }
  };

  pullButton.onclick = () =>
    run("Pull", async () => {
      const r = await call<{
        name: string;
        digest: string;
        platforms: string[];
        blobs: { added: number; present: number; bytes: number };
      }>({
        op: "pull",
        ...common(),
        platform: platform.input.value,
        allPlatforms: all.checked,
      }, onProgress);
      await options.onStoreChanged();
      return `Pulled ${r.name} (${shortDigestText(r.digest)}${
        r.platforms.length ? `, ${r.platforms.join(", ")}` : ""
      }): ${r.blobs.added} blobs added, ${r.blobs.present} already here, ${
        formatBytes(r.blobs.bytes)
      } downloaded.`;
    });
  pushButton.onclick = () =>
    run("Push", async () => {
      const r = await call<{
        ref: string;
        digest: string;
        blobs: { uploaded: number; mounted: number; present: number; bytes: number };
      }>({ op: "push", ...common(), local: local.value }, onProgress);
      return `Pushed ${local.value} to ${r.ref} (${
        shortDigestText(r.digest)
      }): ${r.blobs.uploaded} uploaded, ${r.blobs.mounted} mounted, ${r.blobs.present} already there, ${
        formatBytes(r.blobs.bytes)
      } sent.`;
    });

  started.then(refreshNames, (e) => showError(e, "The registry worker could not start"))
    .finally(() => (card.dataset.ready = "true"));
  // Names change when the main worker imports or deletes: refresh on focus of the select.
  local.addEventListener("focus", () => refreshNames());
}
