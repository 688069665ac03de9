/**
 * The width a chart is drawn at: its preferred width, or less on a narrow screen, so it is drawn
 * at the size it is shown and its text keeps its size (a chart drawn wide and shrunk to a phone's
 * width shows 6 px labels). 48 px is the page and panel padding around a chart on a phone.
 *
 * @example fitWidth(560, document) // 560 on a desktop, 342 in a 390 px window
 */
export function fitWidth(preferred: number, document: Document | undefined, least = 240): number {
  const window = document?.defaultView;
  if (!window || !(window.innerWidth > 0)) return preferred;
  return Math.max(least, Math.min(preferred, window.innerWidth - 48));
}

/**
 * How many ticks fit `span` pixels at `spacing` pixels each (at least 2, at most `most`).
 * @example tickCount(300, 90, 5) // 3
 */
export function tickCount(span: number, spacing: number, most: number): number {
  return Math.max(2, Math.min(most, Math.floor(span / spacing)));
}

/**
 * Band-axis labels that fit: level when each band is wide enough for its longest label (about 7 px
 * a character at 12 px), else turned 40° with room below for them.
 * @example bandLabels(['no repeat', '0–20%'], 120) // { tickRotate: -40, marginBottom: 71 }
 */
export function bandLabels(
  labels: readonly string[],
  span: number,
): { readonly tickRotate: number; readonly marginBottom: number } {
  const longest = Math.max(1, ...labels.map((l) => l.length)) * 7;
  if (labels.length === 0 || span / labels.length >= longest + 6) return { tickRotate: 0, marginBottom: 30 };
  return { tickRotate: -40, marginBottom: Math.round(30 + longest * Math.sin((40 * Math.PI) / 180)) };
}
