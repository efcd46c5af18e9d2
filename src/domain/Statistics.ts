/**
 * Agreement statistics for `cpa calibrate` and `cpa retest`: Spearman's rank correlation, mean
 * absolute error, Cohen's kappa (unweighted and quadratic-weighted) and percentile bootstrap
 * intervals over clusters. Written here rather than taken from a package: none of the
 * maintained JavaScript statistics packages offers weighted kappa or a cluster bootstrap, and
 * each function is short and tested against published worked examples
 * (test/Statistics.test.ts). Pure; `null` where a statistic is undefined (no data, no
 * variance, chance agreement of 1).
 */

/** One rating pair: the same item rated by two raters (or a rater and the model). */
export type Pair = readonly [number, number]

export const mean = (xs: ReadonlyArray<number>): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)

export const meanAbsoluteError = (pairs: ReadonlyArray<Pair>): number | null => mean(pairs.map(([a, b]) => Math.abs(a - b)))

/** Share of pairs whose two values are equal. */
export const exactAgreement = (pairs: ReadonlyArray<Pair>): number | null => mean(pairs.map(([a, b]) => (a === b ? 1 : 0)))

/** Ranks from 1, ties given the mean of the ranks they span (as Spearman's ρ with ties needs). */
export const ranks = (xs: ReadonlyArray<number>): Array<number> => {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  const out = new Array<number>(xs.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) out[order[k]![1]] = rank
    i = j + 1
  }
  return out
}

export const pearson = (pairs: ReadonlyArray<Pair>): number | null => {
  const n = pairs.length
  if (n < 2) return null
  const mx = pairs.reduce((s, p) => s + p[0], 0) / n
  const my = pairs.reduce((s, p) => s + p[1], 0) / n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my)
    sxx += (x - mx) ** 2
    syy += (y - my) ** 2
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy)
}

/** Spearman's ρ: Pearson's r of the ranks (average ranks for ties); null when a side is constant. */
export const spearman = (pairs: ReadonlyArray<Pair>): number | null => {
  const rx = ranks(pairs.map((p) => p[0]))
  const ry = ranks(pairs.map((p) => p[1]))
  return pearson(rx.map((r, i) => [r, ry[i]!] as const))
}

/**
 * Cohen's κ for nominal ratings (Cohen 1960): (p_o − p_e) / (1 − p_e), with p_e from the two
 * raters' own marginals. Null without pairs or when p_e = 1 (both raters constant and equal).
 */
export const cohenKappa = (pairs: ReadonlyArray<Pair>): number | null => {
  const n = pairs.length
  if (n === 0) return null
  const a = new Map<number, number>()
  const b = new Map<number, number>()
  let agree = 0
  for (const [x, y] of pairs) {
    a.set(x, (a.get(x) ?? 0) + 1)
    b.set(y, (b.get(y) ?? 0) + 1)
    if (x === y) agree++
  }
  let pe = 0
  for (const [k, na] of a) pe += (na / n) * ((b.get(k) ?? 0) / n)
  const po = agree / n
  return pe >= 1 ? null : (po - pe) / (1 - pe)
}

/**
 * Quadratic-weighted κ (Cohen 1968; Fleiss & Cohen 1973) on the whole points `min`…`max`:
 * 1 − Σ w·O / Σ w·E with w = (i − j)² and E from the marginals. Values must already be whole
 * points inside the scale. Null without pairs or when every rating is the same value.
 */
export const quadraticWeightedKappa = (pairs: ReadonlyArray<Pair>, min: number, max: number): number | null => {
  const n = pairs.length
  if (n === 0) return null
  const k = max - min + 1
  const rowTotals = new Array<number>(k).fill(0)
  const colTotals = new Array<number>(k).fill(0)
  let observed = 0
  for (const [x, y] of pairs) {
    const i = x - min
    const j = y - min
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= k || j >= k) {
      throw new RangeError(`quadraticWeightedKappa: ${x}, ${y} are not whole points of ${min}..${max}`)
    }
    rowTotals[i]!++
    colTotals[j]!++
    observed += (i - j) ** 2
  }
  let expected = 0
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) expected += (i - j) ** 2 * rowTotals[i]! * colTotals[j]! / n
  return expected === 0 ? null : 1 - observed / expected
}

/** A seeded PRNG (mulberry32): the same seed gives the same intervals on every run. */
export const seededRandom = (seed: number): () => number => {
  let s = seed | 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Interval {
  readonly low: number
  readonly high: number
}

/** The p-quantile of sorted values, linear between order statistics (type 7, R's default). */
export const quantile = (sorted: ReadonlyArray<number>, p: number): number => {
  const h = (sorted.length - 1) * p
  const lo = Math.floor(h)
  return sorted[lo]! + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]!) - sorted[lo]!)
}

export interface BootstrapOptions {
  readonly resamples: number
  readonly seed: number
  /** Two-sided level, 0.95 for a 95 % interval. */
  readonly level: number
}

export const DEFAULT_BOOTSTRAP: BootstrapOptions = { resamples: 1000, seed: 1, level: 0.95 }

/**
 * Percentile bootstrap interval of `statistic` over clusters (one cluster per conversation, so
 * several pairs from one conversation are resampled together). Resamples where the statistic
 * is undefined are skipped; with fewer than half of them defined, or fewer than two clusters,
 * there is no interval.
 */
export const bootstrap = <C>(
  clusters: ReadonlyArray<C>,
  statistic: (sample: ReadonlyArray<C>) => number | null,
  options: BootstrapOptions = DEFAULT_BOOTSTRAP
): Interval | null => {
  if (clusters.length < 2) return null
  const random = seededRandom(options.seed)
  const values: Array<number> = []
  const sample = new Array<C>(clusters.length)
  for (let r = 0; r < options.resamples; r++) {
    for (let i = 0; i < clusters.length; i++) sample[i] = clusters[Math.floor(random() * clusters.length)]!
    const v = statistic(sample)
    if (v !== null && Number.isFinite(v)) values.push(v)
  }
  if (values.length < options.resamples / 2) return null
  values.sort((a, b) => a - b)
  const tail = (1 - options.level) / 2
  return { low: quantile(values, tail), high: quantile(values, 1 - tail) }
}
