/**
 * Measures the lift interval's real coverage once, over many seeds (not a CI test: CI runs 100):
 * the share of simulated campaigns whose 95% revenue interval holds the planted lift, and the
 * share of campaigns without an effect that are called "no measurable effect yet".
 *
 *   npx tsx scripts/lift-coverage.ts [seeds=1000] [customers=2000] [control share=0.1]
 */
import { liftFromOutcomes } from '../src/campaigns/lift.ts';
import { simulateCampaign } from '../src/campaigns/lift-simulation.ts';

const seeds = Number(process.argv[2] ?? 1000);
const customers = Number(process.argv[3] ?? 2000);
const controlShare = Number(process.argv[4] ?? 0.1);
const options = { customers, controlShare };

/** A binomial proportion with its 95% Wilson interval, as text. */
function share(hits: number, n: number): string {
  const z = 1.959963984540054;
  const p = hits / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return `${hits}/${n} = ${(100 * p).toFixed(1)}% (95% Wilson ${(100 * (centre - half)).toFixed(1)}–${(100 * (centre + half)).toFixed(1)}%)`;
}

let covered = 0;
let below = 0;
let above = 0;
let detected = 0;
for (let seed = 1; seed <= seeds; seed++) {
  const { treated, control, planted } = simulateCampaign(seed, 1.5, options);
  const r = liftFromOutcomes(treated, control);
  const { low, high } = r.difference.revenue;
  if (planted < low) below++;
  else if (planted > high) above++;
  else covered++;
  if (r.verdict === 'measurable lift') detected++;
}
let none = 0;
for (let seed = seeds + 1; seed <= 2 * seeds; seed++) {
  const { treated, control } = simulateCampaign(seed, 1, options);
  if (liftFromOutcomes(treated, control).verdict === 'no measurable effect yet') none++;
}
console.log(`${customers} customers, control share ${controlShare}, ${seeds} seeds per case`);
console.log(`planted +50% purchase rate: interval holds the planted lift ${share(covered, seeds)}`);
console.log(`  missed with the lift below the interval: ${below}, above it: ${above}`);
console.log(`  verdict "measurable lift": ${share(detected, seeds)}`);
console.log(`no planted effect: "no measurable effect yet" ${share(none, seeds)}`);
