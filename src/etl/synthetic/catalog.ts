/**
 * The product catalog: categories with subcategories and a price range, products with a list
 * price (log-uniform in the range, ending in .99) and a unit cost of 40–80% of it. Baskets pick
 * products near a target line amount through per-category tables sorted by price.
 */
import type { Rng } from './random.ts';

export interface CategorySpec {
  readonly name: string;
  readonly subcategories: readonly string[];
  /** List prices in currency units. */
  readonly minPrice: number;
  readonly maxPrice: number;
}

export const CATEGORIES: readonly CategorySpec[] = [
  {
    name: 'Electronics',
    subcategories: ['Audio', 'Computers', 'Phones', 'Cameras'],
    minPrice: 20,
    maxPrice: 1200,
  },
  {
    name: 'Home & Kitchen',
    subcategories: ['Cookware', 'Furniture', 'Appliances', 'Decor'],
    minPrice: 8,
    maxPrice: 450,
  },
  {
    name: 'Apparel',
    subcategories: ['Shirts', 'Shoes', 'Outerwear', 'Accessories'],
    minPrice: 8,
    maxPrice: 220,
  },
  {
    name: 'Sports & Outdoors',
    subcategories: ['Fitness', 'Camping', 'Cycling'],
    minPrice: 10,
    maxPrice: 600,
  },
  { name: 'Beauty', subcategories: ['Skincare', 'Haircare', 'Fragrance'], minPrice: 4, maxPrice: 90 },
  {
    name: 'Books & Media',
    subcategories: ['Fiction', 'Non-fiction', 'Music', 'Games'],
    minPrice: 4,
    maxPrice: 70,
  },
  { name: 'Grocery', subcategories: ['Coffee & Tea', 'Snacks', 'Pantry'], minPrice: 2, maxPrice: 45 },
  { name: 'Toys', subcategories: ['Building Sets', 'Puzzles', 'Outdoor Play'], minPrice: 6, maxPrice: 160 },
];

export const CATEGORY_NAMES: readonly string[] = CATEGORIES.map((c) => c.name);

const ADJECTIVES = 'Classic Smart Compact Deluxe Eco Pro Essential Premium Urban Nordic Bright Swift'.split(
  ' ',
);

export interface Product {
  readonly id: string;
  readonly name: string;
  readonly category: number;
  readonly subcategory: string;
  readonly priceCents: number;
  readonly costCents: number;
}

export interface Catalog {
  readonly products: readonly Product[];
  /** Per category, product indices sorted by price, and their prices in cents (same order). */
  readonly byCategory: readonly { readonly index: Int32Array; readonly price: Float64Array }[];
  /** All products sorted by price. */
  readonly all: { readonly index: Int32Array; readonly price: Float64Array };
}

export const PRODUCTS_PER_CATEGORY = 25;

/** Product ids are `P0001`...; `P9000`–`P9999` never exist (planted unknown products use them). */
export function productId(n: number): string {
  return `P${String(n).padStart(4, '0')}`;
}

export function buildCatalog(rng: Rng): Catalog {
  const products: Product[] = [];
  CATEGORIES.forEach((cat, c) => {
    for (let k = 0; k < PRODUCTS_PER_CATEGORY; k++) {
      const sub = cat.subcategories[k % cat.subcategories.length] as string;
      const logPrice = rng.uniform(Math.log(cat.minPrice), Math.log(cat.maxPrice));
      const priceCents = Math.max(99, Math.round(Math.exp(logPrice)) * 100 - 1);
      const costCents = Math.round(priceCents * rng.uniform(0.4, 0.8));
      const name = `${rng.pick(ADJECTIVES)} ${sub.replace(/s$/, '')} ${100 + products.length}`;
      products.push({
        id: productId(products.length + 1),
        name,
        category: c,
        subcategory: sub,
        priceCents,
        costCents,
      });
    }
  });
  const sorted = (indices: number[]) => {
    indices.sort(
      (x, y) => (products[x] as Product).priceCents - (products[y] as Product).priceCents || x - y,
    );
    return {
      index: Int32Array.from(indices),
      price: Float64Array.from(indices, (i) => (products[i] as Product).priceCents),
    };
  };
  return {
    products,
    byCategory: CATEGORIES.map((_, c) => sorted(products.flatMap((p, i) => (p.category === c ? [i] : [])))),
    all: sorted(products.map((_, i) => i)),
  };
}

/** First position in a sorted array whose value is >= x. */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A product for a line worth about `cents`: uniformly among the category's products priced
 * between a tenth of it and 1.25 times it (so the quantity stays 1–10), else among all products in
 * that band, else the one nearest in price.
 */
export function pickProduct(catalog: Catalog, category: number, cents: number, rng: Rng): number {
  const table = catalog.byCategory[category] as Catalog['all'];
  const hit = pickInBand(table, cents, rng);
  if (hit >= 0) return hit;
  const any = pickInBand(catalog.all, cents, rng);
  if (any >= 0) return any;
  const all = catalog.all;
  const pos = Math.min(lowerBound(all.price, cents), all.price.length - 1);
  return all.index[pos] as number;
}

function pickInBand(table: Catalog['all'], cents: number, rng: Rng): number {
  const lo = lowerBound(table.price, cents / 10);
  const hi = lowerBound(table.price, cents * 1.25 + 1e-9) - 1;
  if (hi < lo) return -1;
  return table.index[rng.int(lo, hi)] as number;
}
