/**
 * Layout checks run inside a rendered page, for any page and any viewport:
 * - the document is not wider than the window (no sideways scrolling of the whole page);
 * - no table cell is clipped: its content fits its box, and no ancestor that hides overflow cuts it
 *   off (a cell reachable by scrolling its own scroll container is fine: that is what the
 *   container is for);
 * - no visible text, HTML or SVG, renders smaller than the minimum size (SVG text is measured as
 *   drawn, i.e. its font size times the scale the SVG is shown at);
 * - no two labels of the same SVG axis overlap (ticks that run together).
 * Each problem is one readable line naming the element, so a failing test says what to fix.
 */
import type { Page } from 'playwright-core';

export interface LayoutOptions {
  /** Smallest readable text in CSS pixels (default 11). */
  readonly minFontPx?: number;
  /** Report at most this many problems of each kind (default 8). */
  readonly maxPerKind?: number;
}

export interface LayoutReport {
  readonly viewport: number;
  readonly documentWidth: number;
  readonly overflow: string[];
  readonly clippedCells: string[];
  readonly smallText: string[];
  /** SVG text reaching past its chart's box (cut off there). */
  readonly clippedText: string[];
  readonly overlappingLabels: string[];
}

/** All problems of a report, one line each (empty = the layout passes). */
export function layoutProblems(r: LayoutReport): string[] {
  return [...r.overflow, ...r.clippedCells, ...r.smallText, ...r.clippedText, ...r.overlappingLabels];
}

/**
 * Measures the page as it is now.
 * @example
 * expect(layoutProblems(await checkLayout(page))).toEqual([]);
 */
export async function checkLayout(page: Page, options: LayoutOptions = {}): Promise<LayoutReport> {
  const minFont = options.minFontPx ?? 11;
  const maxPerKind = options.maxPerKind ?? 8;
  return page.evaluate(
    ({ minFont, maxPerKind }) => {
      const describe = (el: Element): string => {
        const parts: string[] = [];
        let e: Element | null = el;
        for (let depth = 0; e && depth < 4; depth++, e = e.parentElement) {
          const id = e.id ? `#${e.id}` : '';
          const data =
            e.getAttribute('data-col') !== null
              ? `[data-col="${e.getAttribute('data-col')}"]`
              : e.getAttribute('data-chart') !== null
                ? `[data-chart="${e.getAttribute('data-chart')}"]`
                : e.getAttribute('aria-label') !== null
                  ? `[aria-label="${e.getAttribute('aria-label')}"]`
                  : '';
          parts.unshift(`${e.tagName.toLowerCase()}${id}${data}`);
          if (id) break;
        }
        return parts.join(' > ');
      };
      const cap = (list: string[]): string[] =>
        list.length > maxPerKind
          ? [...list.slice(0, maxPerKind), `… and ${list.length - maxPerKind} more`]
          : list;
      const visible = (el: Element): boolean => {
        if (el.closest('option, title, script, style, template, [hidden], [aria-hidden="true"]'))
          return false;
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) return false;
        const cs = getComputedStyle(el);
        return cs.visibility !== 'hidden' && cs.display !== 'none' && Number(cs.opacity) > 0;
      };
      const scrollsX = (el: Element): boolean => {
        const o = getComputedStyle(el).overflowX;
        return o === 'auto' || o === 'scroll';
      };
      const clipsX = (el: Element): boolean => {
        const o = getComputedStyle(el).overflowX;
        return o === 'hidden' || o === 'clip';
      };

      const vw = window.innerWidth;
      const docWidth = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
      const overflow: string[] = [];
      if (docWidth > vw + 1) {
        // name the widest culprits: elements reaching past the window that are not inside a scroller
        const culprits = [...document.body.querySelectorAll('*')]
          .filter((e) => e.getBoundingClientRect().right > vw + 1 && visible(e))
          .filter((e) => {
            for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
              if (scrollsX(p) || clipsX(p)) return false;
            return true;
          })
          .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > vw + 1))
          .map((e) => `${describe(e)} reaches ${Math.round(e.getBoundingClientRect().right)} px`);
        overflow.push(`page is ${docWidth} px wide in a ${vw} px window: ${cap(culprits).join('; ')}`);
      }

      const clippedCells: string[] = [];
      for (const cell of document.querySelectorAll('td, th')) {
        if (!visible(cell)) continue;
        const text = (cell.textContent ?? '').trim().slice(0, 30);
        if (cell.scrollWidth > cell.clientWidth + 1) {
          clippedCells.push(
            `${describe(cell)} "${text}" needs ${cell.scrollWidth} px, has ${cell.clientWidth}`,
          );
          continue;
        }
        const r = cell.getBoundingClientRect();
        for (let p = cell.parentElement; p; p = p.parentElement) {
          if (scrollsX(p)) break;
          if (clipsX(p)) {
            const pr = p.getBoundingClientRect();
            if (r.right > pr.right + 1 || r.left < pr.left - 1)
              clippedCells.push(`${describe(cell)} "${text}" is cut off by ${describe(p)}`);
            break;
          }
        }
      }

      const smallText: string[] = [];
      const clippedText: string[] = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const seen = new Set<Element>();
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!el || seen.has(el) || (n.textContent ?? '').trim() === '') continue;
        seen.add(el);
        if (!visible(el)) continue;
        let px = Number.parseFloat(getComputedStyle(el).fontSize);
        if (el instanceof SVGElement && el instanceof SVGGraphicsElement) {
          const m = el.getScreenCTM();
          if (m) px *= Math.hypot(m.a, m.b);
        }
        if (px < minFont - 0.05)
          smallText.push(
            `${describe(el)} "${(el.textContent ?? '').trim().slice(0, 30)}" is ${px.toFixed(1)} px`,
          );
      }

      // SVG text reaching past its chart's box is cut off there (an outer <svg> clips what it draws)
      for (const t of document.querySelectorAll('svg text')) {
        const svg = (t as SVGElement).ownerSVGElement;
        if (!svg || !visible(t) || (t.textContent ?? '').trim() === '') continue;
        if (getComputedStyle(svg).overflow === 'visible') continue;
        const r = t.getBoundingClientRect();
        const b = svg.getBoundingClientRect();
        if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)
          clippedText.push(
            `${describe(t)} "${(t.textContent ?? '').trim().slice(0, 30)}" is cut off at its chart's edge`,
          );
      }

      const overlappingLabels: string[] = [];
      for (const axis of document.querySelectorAll('svg g[aria-label$="tick label"]')) {
        const labels = [...axis.querySelectorAll('text')].filter((t) => visible(t));
        for (let i = 1; i < labels.length; i++) {
          const a = labels[i - 1] as SVGTextElement;
          const b = labels[i] as SVGTextElement;
          // compare in b's own (possibly rotated) frame, so turned labels that sit side by side
          // are not taken for overlapping by their screen-aligned boxes
          const am = a.getScreenCTM();
          const bm = b.getScreenCTM();
          if (!am || !bm) continue;
          const m = bm.inverse().multiply(am);
          const ab = a.getBBox();
          const corners = [
            [ab.x, ab.y],
            [ab.x + ab.width, ab.y],
            [ab.x, ab.y + ab.height],
            [ab.x + ab.width, ab.y + ab.height],
          ].map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
          const bb = b.getBBox();
          const left = Math.min(...corners.map((p) => p.x));
          const right = Math.max(...corners.map((p) => p.x));
          const top = Math.min(...corners.map((p) => p.y));
          const bottom = Math.max(...corners.map((p) => p.y));
          const overlap =
            Math.min(right, bb.x + bb.width) - Math.max(left, bb.x) > 1 &&
            Math.min(bottom, bb.y + bb.height) - Math.max(top, bb.y) > 1;
          if (overlap)
            overlappingLabels.push(`${describe(axis)}: "${a.textContent}" overlaps "${b.textContent}"`);
        }
      }
      return {
        viewport: vw,
        documentWidth: docWidth,
        overflow,
        clippedCells: cap(clippedCells),
        smallText: cap(smallText),
        clippedText: cap(clippedText),
        overlappingLabels: cap(overlappingLabels),
      };
    },
    { minFont, maxPerKind },
  );
}
