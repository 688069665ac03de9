/** Grouping sets of a subtotal request, as index lists into the subtotalled dimensions. */
export function groupingSetIndexes(
  mode: 'rollup' | 'cube' | 'sets',
  count: number,
  sets?: readonly (readonly number[])[],
): readonly (readonly number[])[] {
  if (mode === 'sets') return sets ?? [];
  if (mode === 'rollup') {
    const out: number[][] = [];
    for (let n = count; n >= 0; n--) out.push(Array.from({ length: n }, (_, i) => i));
    return out;
  }
  const out: number[][] = [];
  for (let mask = (1 << count) - 1; mask >= 0; mask--) {
    const set: number[] = [];
    for (let i = 0; i < count; i++) if (mask & (1 << (count - 1 - i))) set.push(i);
    out.push(set);
  }
  return out;
}

/** GROUPING(over...) of a set: bit (count - 1 - i) is 1 when over[i] is rolled up. */
export function groupingValue(count: number, set: readonly number[]): number {
  let v = 0;
  for (let i = 0; i < count; i++) if (!set.includes(i)) v |= 1 << (count - 1 - i);
  return v;
}
