import { describe, expect, it } from 'vitest';
import { baseName, nameClusters, type ProfileFacts } from './cluster-profile.ts';

const profile = (
  cluster: number,
  r: number,
  f: number,
  m: number,
  centroid: Record<string, number> = {},
  meanFrequency = 3,
): ProfileFacts => ({
  cluster,
  size: 100 - cluster,
  share_of_customers: 0.1,
  revenue: 1000,
  share_of_revenue: 0.1,
  mean_recency_days: 30,
  mean_frequency: meanFrequency,
  mean_monetary: 100,
  mean_r_score: r,
  mean_f_score: f,
  mean_m_score: m,
  top_categories: [],
  top_regions: [],
  centroid,
});

describe('cluster names', () => {
  it('reads value, frequency and recency from the mean scores', () => {
    expect(baseName(profile(0, 4.2, 4.5, 4.8))).toBe('High value · frequent · recent');
    expect(baseName(profile(0, 1.5, 1, 1.2, {}, 1))).toBe('Low value · one-time · lapsed');
    expect(baseName(profile(0, 3, 2, 3, {}, 2.4))).toBe('Mid value · infrequent · cooling');
  });

  it('makes names unique: the distinguishing feature first, then a number', () => {
    const names = nameClusters([
      profile(0, 4, 4, 4, { tenure_days: 1.2, return_share: 0 }),
      profile(1, 4, 4, 4, { tenure_days: -0.9, return_share: 0.1 }),
      profile(2, 1, 1, 1, { tenure_days: 0, return_share: 0 }),
      profile(3, 3, 3, 3, { tenure_days: 0, return_share: 0 }),
      profile(4, 3, 3, 3, { tenure_days: 0, return_share: 0 }),
    ]);
    expect(names).toEqual([
      'High value · frequent · recent · longer tenure',
      'High value · frequent · recent · newer',
      'Low value · infrequent · lapsed',
      'Mid value · occasional · cooling',
      'Mid value · occasional · cooling (2)',
    ]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('names a cluster by its own profile, not by where it sits in the list', () => {
    // worked out by hand: m 5 → high value, f 2 with 3 purchases on average → infrequent, r 2 →
    // lapsed; the two share that name and differ only on categories (+1 and −1 around a mean of 0):
    // tickets, high in both, does not tell them apart
    const more = profile(0, 2, 2, 5, { categories: 1, tickets: 1.5 });
    const fewer = profile(1, 2, 2, 5, { categories: -1, tickets: 1.5 });
    expect(nameClusters([more, fewer])).toEqual([
      'High value · infrequent · lapsed · more categories',
      'High value · infrequent · lapsed · fewer categories',
    ]);
    expect(nameClusters([fewer, more])).toEqual([
      'High value · infrequent · lapsed · fewer categories',
      'High value · infrequent · lapsed · more categories',
    ]);
  });
});
