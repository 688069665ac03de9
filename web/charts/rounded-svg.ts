/**
 * Chart snapshots for tests: the element's markup with floats rounded to 1 decimal, so a snapshot
 * holds across platforms and Plot patch releases that change the last digits of a coordinate.
 */
export function roundedSvg(el: Element): string {
  return el.outerHTML.replaceAll(/-?\d+\.\d+/g, (n) => {
    const r = Math.round(Number(n) * 10) / 10;
    return String(Object.is(r, -0) ? 0 : r);
  });
}
