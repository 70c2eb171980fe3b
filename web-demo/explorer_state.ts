/**
 * The explorer's state as the URL keeps it (`#view=…&image=…&platform=…&tab=…&layer=…&mode=…&path=…&q=…`):
 * reload and Back restore the view.
 * @module
 */
import type { TreeMode } from "../src/web/explore.ts";

/** The explorer's tabs. */
export const TABS = [
  ["layers", "Layers"],
  ["efficiency", "Efficiency"],
  ["sizes", "Sizes"],
  ["search", "Search"],
  ["security", "Security"],
  ["compare", "Compare"],
  ["config", "Config"],
] as const;
/** A tab id. */
export type Tab = typeof TABS[number][0];

/** What the URL keeps. */
export interface ViewState {
  view: string;
  image: string;
  platform?: string;
  tab: Tab;
  /** Selected layer; absent: the last (the merged filesystem). */
  layer?: number;
  mode: TreeMode;
  /** Folder shown, or file selected (its folder shown). */
  path: string;
  q?: string;
}

/** Reads the state from `location.hash`. */
export function stateFromHash(hash: string): ViewState | undefined {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const image = p.get("image");
  if (!image) return undefined;
  const tab = (p.get("tab") ?? "layers") as Tab;
  const layer = p.get("layer");
  return {
    view: p.get("view") ?? "store",
    image,
    platform: p.get("platform") ?? undefined,
    tab: TABS.some(([t]) => t === tab) ? tab : "layers",
    layer: layer !== null && /^\d+$/.test(layer) ? Number(layer) : undefined,
    mode: p.get("mode") === "changes" ? "changes" : "upto",
    path: (p.get("path") ?? "").replace(/^\/+/, ""),
    q: p.get("q") ?? undefined,
  };
}

/** The hash for a state. */
export function hashOf(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.view !== "store") p.set("view", s.view);
  p.set("image", s.image);
  if (s.platform) p.set("platform", s.platform);
  if (s.tab !== "layers") p.set("tab", s.tab);
  if (s.layer !== undefined) p.set("layer", String(s.layer));
  if (s.mode !== "upto") p.set("mode", s.mode);
  if (s.path) p.set("path", s.path);
  if (s.q) p.set("q", s.q);
  return "#" + p.toString();
}
