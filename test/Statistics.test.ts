import { assert, describe, it } from "vitest"
import {
  bootstrap,
  cohenKappa,
  exactAgreement,
  meanAbsoluteError,
  type Pair,
  pearson,
  quadraticWeightedKappa,
  quantile,
  ranks,
  seededRandom,
  spearman
} from "../src/domain/Statistics.ts"

/** The pairs of a contingency table: `table[i][j]` items rated `categories[i]` by A and `categories[j]` by B. */
const fromTable = (table: ReadonlyArray<ReadonlyArray<number>>, categories: ReadonlyArray<number>): Array<Pair> =>
  table.flatMap((row, i) => row.flatMap((count, j) => Array.from({ length: count }, () => [categories[i]!, categories[j]!] as const)))

const zip = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Array<Pair> => xs.map((x, i) => [x, ys[i]!] as const)

describe("Spearman's rho", () => {
  it("reproduces the textbook example of IQ against hours of television: rho = -29/165", () => {
    // The worked example of Wikipedia's "Spearman's rank correlation coefficient" (10 people,
    // no ties): sum of d^2 = 194, rho = 1 - 6 * 194 / (10 * 99) = -29/165 = -0.1758.
    const iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110]
    const tv = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17]
    assert.closeTo(spearman(zip(iq, tv))!, -29 / 165, 1e-12)
  })

  it("gives tied values the mean of their ranks and is Pearson's r of the ranks", () => {
    assert.deepStrictEqual(ranks([10, 20, 20, 30, 20]), [1, 3, 3, 5, 3])
    // x ranks 1, 2.5, 2.5, 4; y ranks 1, 3, 2, 4: r = 4.5 / sqrt(4.5 * 5) by hand.
    assert.closeTo(spearman(zip([1, 2, 2, 3], [1, 3, 2, 4]))!, 4.5 / Math.sqrt(4.5 * 5), 1e-12)
  })

  it("is 1 for any increasing relation, -1 for a decreasing one, undefined for a constant side", () => {
    assert.closeTo(spearman(zip([1, 2, 3, 4, 5], [1, 4, 9, 16, 25]))!, 1, 1e-12)
    assert.closeTo(spearman(zip([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]))!, -1, 1e-12)
    assert.isNull(spearman(zip([1, 2, 3], [2, 2, 2])))
    assert.isNull(spearman([]))
    assert.isNull(pearson([[1, 1]]))
  })
})

describe("Cohen's kappa", () => {
  it("reproduces Cohen (1960), Table 1: p_o = .70, p_c = .41, kappa = .492", () => {
    // 200 subjects, three categories; the diagonal (.44, .20, .06) and the marginals
    // (.60/.30/.10 for one judge, .50/.30/.20 for the other) determine kappa = .29/.59.
    const pairs = fromTable([[88, 14, 18], [10, 40, 10], [2, 6, 12]], [1, 2, 3])
    assert.strictEqual(pairs.length, 200)
    assert.closeTo(exactAgreement(pairs)!, 0.7, 1e-12)
    assert.closeTo(cohenKappa(pairs)!, 0.29 / 0.59, 1e-12)
    assert.strictEqual(cohenKappa(pairs)!.toFixed(3), "0.492")
  })

  it("reproduces the worked 2x2 examples of Wikipedia's 'Cohen's kappa': 0.4, then 0.1304 and 0.2593 at the same p_o", () => {
    // 50 grant proposals: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: p_o = .7, p_e = .5.
    assert.closeTo(cohenKappa(fromTable([[20, 5], [10, 15]], [1, 0]))!, 0.4, 1e-12)
    // Same agreement (60 of 100), different marginals, different kappa.
    assert.strictEqual(cohenKappa(fromTable([[45, 15], [25, 15]], [1, 0]))!.toFixed(4), "0.1304")
    assert.strictEqual(cohenKappa(fromTable([[25, 35], [5, 35]], [1, 0]))!.toFixed(4), "0.2593")
  })

  it("is 1 for perfect agreement, 0 at chance, undefined when both raters say the same thing throughout", () => {
    assert.strictEqual(cohenKappa(zip([0, 1, 1, 0], [0, 1, 1, 0])), 1)
    // Marginals 50/50 on both sides and agreement 50 %: exactly chance.
    assert.strictEqual(cohenKappa(fromTable([[1, 1], [1, 1]], [1, 0])), 0)
    assert.isNull(cohenKappa(zip([1, 1, 1], [1, 1, 1])))
    assert.isNull(cohenKappa([]))
  })
})

describe("quadratic-weighted kappa", () => {
  /**
   * With quadratic weights, kappa_w = 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2) with
   * moments divided by n (Fleiss & Cohen 1973; Schuster 2004): an independent formula to check
   * the contingency-table computation against.
   */
  const closedForm = (pairs: ReadonlyArray<Pair>): number => {
    const n = pairs.length
    const mx = pairs.reduce((s, p) => s + p[0], 0) / n
    const my = pairs.reduce((s, p) => s + p[1], 0) / n
    const sxy = pairs.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / n
    const sxx = pairs.reduce((s, [x]) => s + (x - mx) ** 2, 0) / n
    const syy = pairs.reduce((s, [, y]) => s + (y - my) ** 2, 0) / n
    return (2 * sxy) / (sxx + syy + (mx - my) ** 2)
  }

  it("equals the closed form of Fleiss & Cohen (1973) on random ratings of 1-5, 1-7 and 0-10 scales", () => {
    const random = seededRandom(7)
    for (const [min, max] of [[1, 5], [1, 7], [0, 10]] as const) {
      for (let trial = 0; trial < 50; trial++) {
        const n = 5 + Math.floor(random() * 60)
        const pairs: Array<Pair> = Array.from({ length: n }, () => {
          const x = min + Math.floor(random() * (max - min + 1))
          const y = Math.min(max, Math.max(min, x + Math.round((random() - 0.5) * 4)))
          return [x, y] as const
        })
        const expected = closedForm(pairs)
        if (!Number.isFinite(expected)) continue
        assert.closeTo(quadraticWeightedKappa(pairs, min, max)!, expected, 1e-9, JSON.stringify(pairs))
      }
    }
  })

  it("is 1 for perfect agreement and -1 for a mirrored scale; a constant one-point shift is penalised", () => {
    const xs = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    assert.strictEqual(quadraticWeightedKappa(zip(xs, xs), 1, 5), 1)
    assert.closeTo(quadraticWeightedKappa(zip(xs, xs.map((x) => 6 - x)), 1, 5)!, -1, 1e-12)
    // x uniform on 1..4, y = x + 1: s_xy = s_x^2 = s_y^2 = 1.25, mean difference 1: 2.5 / 3.5.
    const x4 = [1, 2, 3, 4]
    assert.closeTo(quadraticWeightedKappa(zip(x4, x4.map((x) => x + 1)), 1, 5)!, 2.5 / 3.5, 1e-12)
    assert.isNull(quadraticWeightedKappa(zip([3, 3], [3, 3]), 1, 5))
    assert.throws(() => quadraticWeightedKappa([[2.5, 3]], 1, 5), /whole points/)
  })
})

describe("mean absolute error and the bootstrap", () => {
  it("MAE is the mean distance", () => {
    assert.strictEqual(meanAbsoluteError(zip([1, 2, 3], [2, 2, 5])), 1)
    assert.isNull(meanAbsoluteError([]))
  })

  it("quantiles interpolate between order statistics as R's default (type 7) does", () => {
    assert.strictEqual(quantile([1, 2, 3, 4], 0.25), 1.75)
    assert.strictEqual(quantile([1, 2, 3, 4], 0.975), 3.925)
    assert.strictEqual(quantile([5], 0.5), 5)
  })

  it("is reproducible for a seed, brackets the estimate, and collapses to a point when every resample agrees", () => {
    const clusters = Array.from({ length: 40 }, (_, i) => [[i % 5, (i * 3) % 5]] as Array<Pair>)
    const stat = (sample: ReadonlyArray<ReadonlyArray<Pair>>) => meanAbsoluteError(sample.flat())
    const a = bootstrap(clusters, stat, { resamples: 500, seed: 3, level: 0.95 })!
    const b = bootstrap(clusters, stat, { resamples: 500, seed: 3, level: 0.95 })!
    assert.deepStrictEqual(a, b)
    const estimate = stat(clusters)!
    assert.isBelow(a.low, estimate)
    assert.isAbove(a.high, estimate)
    const other = bootstrap(clusters, stat, { resamples: 500, seed: 4, level: 0.95 })!
    assert.notDeepEqual(other, a, "another seed, another draw")
    const perfect = Array.from({ length: 10 }, (_, i) => [[i % 3, i % 3]] as Array<Pair>)
    assert.deepStrictEqual(bootstrap(perfect, (s) => cohenKappa(s.flat())), { low: 1, high: 1 })
    assert.isNull(bootstrap([[[1, 1]]], stat), "one cluster cannot be resampled")
  })
})
