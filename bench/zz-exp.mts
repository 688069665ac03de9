import { openWarehouse } from '../src/db/open-warehouse.ts';
import { loadSource } from '../src/etl/load.ts';
import { computeBtydSummary } from '../src/mining/steps/btyd-summary.ts';
import { fitPurchaseModel, scoreCustomers } from '../src/mining/models/purchase-model.ts';
import { crossFitChurnScore, aucOrNull } from '../src/mining/models/churn-score.ts';
import { fitLogistic, predictLogistic } from '../src/mining/models/logistic.ts';
import { createRng } from '../src/mining/models/special.ts';
const which = process.argv[2] ?? 'cdnow';
const cfg = which === 'cdnow'
  ? { src: '../shared/data/cdnow', profile: 'cdnow', cal: '1997-09-30', asOf: '1998-06-30', model: 'pareto-nbd' as const }
  : { src: '../shared/data/online-retail', profile: 'online-retail', cal: '2011-09-09', asOf: '2011-12-09', model: 'nbd' as const };
const db = await openWarehouse(':memory:');
await loadSource(db, { source: cfg.src, profile: cfg.profile });
const cal = await computeBtydSummary(db, { end: cfg.cal, period: 'week' });
const rows = await db.all(`SELECT customer_durable_key::DOUBLE AS k, count(DISTINCT ordered_date)::DOUBLE AS n FROM core.fact_order_line WHERE order_type='sale' AND customer_durable_key IS NOT NULL AND ordered_date > $1::DATE AND ordered_date <= $2::DATE GROUP BY 1`, [cfg.cal, cfg.asOf]);
const byKey = new Map(rows.map((r) => [Number(r.k), Number(r.n)]));
const labels = Uint8Array.from(cal.customers, (k) => ((byKey.get(k) ?? 0) === 0 ? 1 : 0));
const h = Number(await db.scalar('SELECT ($1::DATE - $2::DATE)::INTEGER', [cfg.asOf, cfg.cal])) / 7;
const fit = fitPurchaseModel(cfg.model, cal);
const sc = scoreCustomers(fit, cal, h);
const inputs = { ...cal, pAlive: sc.pAlive, expected: sc.expectedPurchases };
const c = 30 / 7;
console.log('current', aucOrNull(crossFitChurnScore(inputs, labels, c, 42).outOfFold, labels));
// variants: build features, standardise, 5-fold OOF
const n = labels.length;
function oof(cols: ((i: number) => number)[], l2: number, seed = 42): number {
  const p = cols.length;
  const X = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) X[i * p + j] = cols[j]!(i);
  for (let j = 0; j < p; j++) { let m = 0, s = 0; for (let i = 0; i < n; i++) m += X[i * p + j]! / n; for (let i = 0; i < n; i++) s += (X[i * p + j]! - m) ** 2 / n; s = Math.sqrt(s) || 1; for (let i = 0; i < n; i++) X[i * p + j] = (X[i * p + j]! - m) / s; }
  const rng = createRng(seed);
  const fold = Uint8Array.from({ length: n }, () => Math.floor(rng() * 5));
  const out = new Float64Array(n);
  for (let k = 0; k < 5; k++) {
    const tr = [...fold.keys()].filter((i) => fold[i] !== k), te = [...fold.keys()].filter((i) => fold[i] === k);
    const Xt = new Float64Array(tr.length * p); tr.forEach((i, r) => Xt.set(X.subarray(i * p, i * p + p), r * p));
    const f = fitLogistic(Xt, tr.length, p, Uint8Array.from(tr, (i) => labels[i]!), { l2 });
    const Xs = new Float64Array(te.length * p); te.forEach((i, r) => Xs.set(X.subarray(i * p, i * p + p), r * p));
    const s = predictLogistic(f, Xs, te.length, p); te.forEach((i, r) => { out[i] = s[r]!; });
  }
  return aucOrNull(out, labels)!;
}
const x = (i: number) => cal.x[i]!, T = (i: number) => cal.T[i]!, tx = (i: number) => cal.tx[i]!, r = (i: number) => T(i) - tx(i);
const a = (i: number) => Math.min(1 - 1e-9, Math.max(1e-9, sc.pAlive[i]!));
const base = [
  (i: number) => Math.log1p(r(i)), (i: number) => Math.log1p(x(i)), (i: number) => Math.log1p(T(i)),
  (i: number) => Math.log((x(i) + 1) / (r(i) + c)), (i: number) => Math.log(a(i) / (1 - a(i))),
  (i: number) => Math.log(1e-6 + sc.expectedPurchases[i]!), (i: number) => (x(i) === 0 ? 1 : 0),
  (i: number) => Math.log1p(Math.max(0, cal.monetary[i]!)),
];
for (const l2 of [0.01, 1, 10, 100]) console.log('base l2', l2, oof(base, l2).toFixed(4));
const sq = [...base, (i: number) => Math.log1p(r(i)) ** 2, (i: number) => Math.log1p(x(i)) ** 2, (i: number) => Math.log1p(r(i)) * Math.log1p(x(i))];
console.log('quadratic', oof(sq, 1).toFixed(4));
const sq2 = [...sq, (i: number) => Math.log1p(T(i)) ** 2, (i: number) => Math.log1p(r(i)) * Math.log1p(T(i)), (i: number) => Math.log1p(x(i)) * Math.log1p(T(i))];
console.log('quadratic full', oof(sq2, 1).toFixed(4));
const rate = [...base, (i: number) => Math.log((x(i) + 0.5) / (tx(i) + 1)), (i: number) => (x(i) > 0 ? r(i) / (tx(i) / x(i)) : 0)];
console.log('gap ratio', oof(rate, 1).toFixed(4));
const all = [...sq2, (i: number) => Math.log((x(i) + 0.5) / (tx(i) + 1)), (i: number) => (x(i) > 0 ? Math.log1p(r(i) / (tx(i) / x(i))) : 0)];
console.log('all', oof(all, 1).toFixed(4));
for (const seed of [1, 2, 3]) console.log('seed', seed, 'base', oof(base, 1, seed).toFixed(4), 'quad', oof(sq, 1, seed).toFixed(4), 'all', oof(all, 1, seed).toFixed(4));
