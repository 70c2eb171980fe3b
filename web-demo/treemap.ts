// This module is browser compatible.
/**
 * A squarified treemap layout (Bruls, Huizing, van Wijk): rectangles whose areas are
 * proportional to the values, as close to squares as the greedy row filling allows.
 *
 * @example
 * ```ts
 * import { squarify } from "./treemap.ts";
 * const r = squarify([6, 6, 4, 3, 2, 2, 1], { x: 0, y: 0, w: 6, h: 4 });
 * console.log(r.length, Math.round(r[0].w * r[0].h)); // 7 6
 * ```
 * @module
 */

/** A rectangle. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

function worst(row: number[], side: number, scale: number): number {
  let sum = 0;
  let max = 0;
  let min = Infinity;
  for (const v of row) {
    const a = v * scale;
    sum += a;
    if (a > max) max = a;
    if (a < min) min = a;
  }
  const s2 = side * side;
  const sum2 = sum * sum;
  return Math.max((s2 * max) / sum2, sum2 / (s2 * min));
}

/** Lays out `values` (sorted largest first for best results) in `box`; one rect per value. */
export function squarify(values: readonly number[], box: Rect): Rect[] {
  const out: Rect[] = [];
  const total = values.reduce((n, v) => n + v, 0);
  if (total <= 0 || box.w <= 0 || box.h <= 0) return values.map(() => ({ ...box, w: 0, h: 0 }));
  const scale = (box.w * box.h) / total;
  let { x, y, w, h } = box;
  let i = 0;
  while (i < values.length) {
    const side = Math.min(w, h);
    const row = [values[i]];
    let j = i + 1;
    while (
      j < values.length && worst([...row, values[j]], side, scale) <= worst(row, side, scale)
    ) {
      row.push(values[j++]);
    }
    const area = row.reduce((n, v) => n + v * scale, 0);
    if (w >= h) {
      const rw = h > 0 ? area / h : 0;
      let yy = y;
      for (const v of row) {
        const rh = rw > 0 ? (v * scale) / rw : 0;
        out.push({ x, y: yy, w: rw, h: rh });
        yy += rh;
      }
      x += rw;
      w -= rw;
    } else {
      const rh = w > 0 ? area / w : 0;
      let xx = x;
      for (const v of row) {
        const rw = rh > 0 ? (v * scale) / rh : 0;
        out.push({ x: xx, y, w: rw, h: rh });
        xx += rw;
      }
      y += rh;
      h -= rh;
    }
    i = j;
  }
  return out;
}
