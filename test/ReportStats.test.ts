import { assert, describe, it } from "@effect/vitest"
import {
  addMoments,
  addToCell,
  addToHistograms,
  cellMoments,
  compareMeans,
  displayBins,
  KPI_METRICS,
  mean,
  mergeHistograms,
  metricIndex,
  METRICS,
  metricValues,
  momentsOf,
  newCell,
  newHistograms,
  parseDay,
  percentile,
  periodLabel,
  periodsIn,
  periodStart,
  resolveWindow,
  stdError,
  subtractMoments,
  tCritical,
  variance
} from "../src/domain/ReportStats.ts"
import { prng } from "./support/fixtures.ts"

/** The type-7 quantile of raw values (what spreadsheets and numpy compute by default). */
const exactQuantile = (values: ReadonlyArray<number>, p: number): number => {
  const s = [...values].sort((a, b) => a - b)
  const r = p * (s.length - 1)
  const lo = Math.floor(r)
  return s[lo]! + (r - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]!) - s[lo]!)
}

const sampleMean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const sampleVar = (xs: ReadonlyArray<number>) => {
  const m = sampleMean(xs)
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)
}

/** A vector in METRICS order with `value(metric)` for each. */
const vector = (value: (i: number) => number): Float64Array => Float64Array.from(METRICS, (_, i) => value(i))

/** Values a stored result could hold for a metric: in range, rounded as `buildResult` rounds. */
const randomValue = (i: number, rand: () => number): number => {
  const m = METRICS[i]!
  if (m.range.integer) return rand() < 0.4 ? 0 : 1
  const x = m.range.min + rand() * rand() * (m.range.max - m.range.min) // skewed towards the minimum
  return Math.round(x * 10) / 10
}

describe("moments", () => {
  it("mean, sample variance and standard error match the textbook formulas", () => {
    const xs = [4.5, 3.2, 1.0, 5.0, 2.8, 4.4, 3.9]
    const m = momentsOf(xs)
    assert.closeTo(mean(m)!, sampleMean(xs), 1e-12)
    assert.closeTo(variance(m)!, sampleVar(xs), 1e-12)
    assert.closeTo(stdError(m)!, Math.sqrt(sampleVar(xs) / xs.length), 1e-12)
  })

  it("add and subtract like the samples they summarize", () => {
    const a = [1, 2, 3, 4.5]
    const b = [2.5, 5, 1.5]
    const all = addMoments(momentsOf(a), momentsOf(b))
    assert.closeTo(mean(all)!, sampleMean([...a, ...b]), 1e-12)
    const rest = subtractMoments(all, momentsOf(a))
    assert.closeTo(variance(rest)!, sampleVar(b), 1e-9)
  })

  it("empty and single samples: no mean without values, no variance or standard error below two", () => {
    assert.isUndefined(mean(momentsOf([])))
    assert.strictEqual(mean(momentsOf([3.7])), 3.7)
    assert.isUndefined(variance(momentsOf([3.7])))
    assert.isUndefined(stdError(momentsOf([3.7])))
    // a constant sample: rounding must not make the variance negative
    assert.strictEqual(variance(momentsOf(Array.from({ length: 1000 }, () => 4.1))), 0)
  })

  it("cells keep the running sums of every metric at once", () => {
    const rand = prng(7)
    const rows = Array.from({ length: 50 }, () => vector((i) => randomValue(i, rand)))
    const cell = newCell()
    for (const r of rows) addToCell(cell, r)
    for (const name of ["csat_resolution", "resolution_completeness", "clarity_subfactors.coherence"]) {
      const i = metricIndex(name)
      const xs = rows.map((r) => r[i]!)
      const m = cellMoments(cell, i)
      assert.strictEqual(m.n, 50)
      assert.closeTo(mean(m)!, sampleMean(xs), 1e-9, name)
      assert.closeTo(variance(m)!, sampleVar(xs), 1e-9, name)
    }
  })

  it("metricValues reads a result's metrics in METRICS order (14 KPIs, then 12 sub-factors)", () => {
    const pm = {
      accuracy_compliance: { resolution_completeness: 1, accuracy_automated_responses: 80 },
      empathy_communication: {
        empathy_score: 7.5,
        empathy_subfactors: { emotion_recognition: 1, acknowledgment_feelings: 2, appropriate_response: 3, personalization: 4, supportive_language: 5, active_listening: 6 },
        sentiment_shift: 0.25,
        clarity_language: 8,
        clarity_subfactors: { readability_level: 7, jargon_usage: 8, sentence_structure: 9, coherence: 10, active_voice: 1, conciseness: 2 },
        cultural_sensitivity: 4,
        adaptability_quotient: 70,
        conversation_flow: 3.5
      },
      efficiency_resolution: {
        followup_necessity: 0,
        customer_effort_score: 2.5,
        first_response_accuracy: 90,
        csat_resolution: 4.2,
        escalation_rate: 10,
        customer_effort_reduction: -20
      }
    }
    const v = metricValues(pm)
    assert.strictEqual(METRICS.length, 26)
    assert.deepStrictEqual(KPI_METRICS.map((m) => m.name).slice(0, 3), ["resolution_completeness", "accuracy_automated_responses", "empathy_score"])
    assert.strictEqual(v[metricIndex("csat_resolution")], 4.2)
    assert.strictEqual(v[metricIndex("customer_effort_reduction")], -20)
    assert.strictEqual(v[metricIndex("empathy_subfactors.personalization")], 4)
    assert.strictEqual(v[metricIndex("clarity_subfactors.coherence")], 10)
  })
})

describe("histograms", () => {
  it("every metric's bins span its range in a whole number of bins of a 1-2-5 width", () => {
    for (const m of METRICS) {
      if (m.range.integer) continue
      const bins = (m.range.max - m.range.min) / m.binWidth
      assert.closeTo(bins, Math.round(bins), 1e-9, m.name)
      assert.isAtMost(m.binWidth, (m.range.max - m.range.min) / 100, m.name)
      const per = m.displayWidth / m.binWidth
      assert.closeTo(per, Math.round(per), 1e-9, m.name)
    }
  })

  it("percentiles are within one bin width of the exact ones, for every metric and many samples", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rand = prng(seed)
      const n = 1 + Math.floor(rand() * 400)
      const rows = Array.from({ length: n }, () => vector((i) => randomValue(i, rand)))
      const h = newHistograms()
      for (const r of rows) addToHistograms(h, r)
      METRICS.forEach((m, i) => {
        const xs = rows.map((r) => r[i]!)
        for (const p of [0, 0.1, 0.5, 0.9, 1]) {
          const estimate = percentile(h, i, p)!
          const exact = exactQuantile(xs, p)
          if (m.range.integer) assert.strictEqual(estimate, exact, `${m.name} p${p} seed ${seed}`)
          else assert.isAtMost(Math.abs(estimate - exact), m.binWidth + 1e-9, `${m.name} p${p} n=${n} seed ${seed}: ${estimate} vs ${exact}`)
        }
      })
    }
  })

  it("a known sample: the median of CSAT 1.0 … 5.0 is 3.0 within a bin (0.02)", () => {
    const csat = metricIndex("csat_resolution")
    const xs = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    const h = newHistograms()
    for (const x of xs) addToHistograms(h, vector((i) => (i === csat ? x : METRICS[i]!.range.min)))
    assert.closeTo(percentile(h, csat, 0.5)!, 3.0, 0.02)
    assert.closeTo(percentile(h, csat, 0.1)!, exactQuantile(xs, 0.1), 0.02)
    assert.strictEqual(percentile(h, csat, 0)!, 1.0)
    assert.strictEqual(percentile(h, csat, 1)!, 5.0)
    assert.isUndefined(percentile(newHistograms(), csat, 0.5))
  })

  it("histograms merge: the merge of two halves gives the percentiles of the whole", () => {
    const rand = prng(11)
    const rows = Array.from({ length: 300 }, () => vector((i) => randomValue(i, rand)))
    const whole = newHistograms()
    const a = newHistograms()
    const b = newHistograms()
    rows.forEach((r, k) => {
      addToHistograms(whole, r)
      addToHistograms(k % 3 === 0 ? a : b, r)
    })
    const merged = mergeHistograms(a, b)
    METRICS.forEach((_, i) => assert.strictEqual(percentile(merged, i, 0.37), percentile(whole, i, 0.37)))
  })

  it("display bins add up to n, cover the range, and put the range's maximum in the last bar", () => {
    const csat = metricIndex("csat_resolution")
    const resolved = metricIndex("resolution_completeness")
    const h = newHistograms()
    for (const x of [1.0, 1.4, 1.5, 4.9, 5.0, 5.0]) addToHistograms(h, vector((i) => (i === csat ? x : i === resolved ? (x > 3 ? 1 : 0) : METRICS[i]!.range.min)))
    const bars = displayBins(h, csat)
    assert.strictEqual(bars.length, 8)
    assert.deepStrictEqual(bars[0], { from: 1, to: 1.5, count: 2 })
    assert.deepStrictEqual(bars[1], { from: 1.5, to: 2, count: 1 })
    assert.deepStrictEqual(bars[7], { from: 4.5, to: 5, count: 3 })
    assert.strictEqual(bars.reduce((n, b) => n + b.count, 0), 6)
    assert.deepStrictEqual(displayBins(h, resolved), [{ from: 0, to: 0, count: 3 }, { from: 1, to: 1, count: 3 }])
  })
})

describe("is a change real", () => {
  /** Welch's t statistic and degrees of freedom, computed from raw samples. */
  const welch = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
    const va = sampleVar(a) / a.length
    const vb = sampleVar(b) / b.length
    return {
      t: (sampleMean(a) - sampleMean(b)) / Math.sqrt(va + vb),
      df: (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1))
    }
  }

  it("a real fall in CSAT is significant; the same scores shuffled between two periods are not", () => {
    const before = [4.5, 4.1, 3.9, 4.8, 4.4, 4.0, 4.6, 3.8, 4.2, 4.7]
    const after = [2.1, 3.0, 2.5, 1.9, 3.3, 2.8, 2.2, 3.1, 2.6, 2.4]
    const real = compareMeans(momentsOf(after), momentsOf(before), false)!
    const w = welch(after, before)
    assert.closeTo(real.difference, sampleMean(after) - sampleMean(before), 1e-12)
    assert.closeTo(real.stdError, Math.sqrt(sampleVar(after) / 10 + sampleVar(before) / 10), 1e-12)
    assert.isAbove(Math.abs(w.t), tCritical(w.df))
    assert.isTrue(real.significant)

    const mixedA = [4.5, 2.1, 3.9, 3.0, 4.4, 2.5, 4.6, 1.9, 4.2, 3.3]
    const mixedB = [4.1, 2.8, 4.8, 2.2, 4.0, 3.1, 3.8, 2.6, 4.7, 2.4]
    const noise = compareMeans(momentsOf(mixedB), momentsOf(mixedA), false)!
    const wn = welch(mixedB, mixedA)
    assert.isBelow(Math.abs(wn.t), tCritical(wn.df))
    assert.isFalse(noise.significant)
  })

  it("rates: 18 of 20 resolved against 6 of 20 is significant, 10 against 12 is not", () => {
    const rate = (k: number, n: number) => momentsOf([...Array(k).fill(1), ...Array(n - k).fill(0)])
    const z = (k1: number, k2: number, n: number) => {
      const p = (k1 + k2) / (2 * n)
      return (k1 / n - k2 / n) / Math.sqrt(p * (1 - p) * (2 / n))
    }
    assert.isAbove(Math.abs(z(18, 6, 20)), 1.96)
    assert.isTrue(compareMeans(rate(18, 20), rate(6, 20), true)!.significant)
    assert.isBelow(Math.abs(z(10, 12, 20)), 1.96)
    assert.isFalse(compareMeans(rate(10, 20), rate(12, 20), true)!.significant)
    // all resolved in both: nothing to compare
    assert.isFalse(compareMeans(rate(5, 5), rate(7, 7), true)!.significant)
  })

  it("no judgement without two values on each side", () => {
    assert.isUndefined(compareMeans(momentsOf([4]), momentsOf([1, 2, 3]), false))
    assert.isUndefined(compareMeans(momentsOf([]), momentsOf([1, 2, 3]), false))
  })

  it("critical values of t: the table's, never more lenient between entries, 1.96 in the limit", () => {
    assert.strictEqual(tCritical(1), 12.706)
    assert.strictEqual(tCritical(10), 2.228)
    assert.strictEqual(tCritical(10.9), 2.228)
    assert.strictEqual(tCritical(35), 2.042)
    assert.strictEqual(tCritical(1e9), 1.96)
  })
})

describe("periods", () => {
  it("parses ISO days only, and only real ones", () => {
    assert.strictEqual(parseDay("2024-02-29")?.toISOString(), "2024-02-29T00:00:00.000Z")
    for (const bad of ["2023-02-29", "2024-13-01", "2024-1-5", "yesterday", "2024-01-01T00:00:00Z", ""]) {
      assert.isUndefined(parseDay(bad), bad)
    }
  })

  it("weeks start on Monday and carry their ISO week number, across year ends", () => {
    const d = (s: string) => new Date(`${s}T12:00:00Z`)
    assert.strictEqual(periodStart(d("2024-10-30"), "week").toISOString().slice(0, 10), "2024-10-28")
    assert.strictEqual(periodStart(d("2024-11-03"), "week").toISOString().slice(0, 10), "2024-10-28")
    assert.strictEqual(periodLabel(periodStart(d("2024-08-12"), "week"), "week"), "2024-W33")
    assert.strictEqual(periodLabel(periodStart(d("2024-12-31"), "week"), "week"), "2025-W01")
    assert.strictEqual(periodLabel(periodStart(d("2021-01-03"), "week"), "week"), "2020-W53")
    assert.strictEqual(periodLabel(periodStart(d("2024-02-29"), "month"), "month"), "2024-02")
    assert.strictEqual(periodLabel(periodStart(d("2024-02-29"), "day"), "day"), "2024-02-29")
  })

  it("periods cover the window, the first and the last clipped to it", () => {
    const slots = periodsIn(new Date("2024-01-10T00:00:00Z"), new Date("2024-03-05T00:00:00Z"), "month")
    assert.deepStrictEqual(slots.map((s) => [s.label, s.start.toISOString().slice(0, 10), s.end.toISOString().slice(0, 10)]), [
      ["2024-01", "2024-01-10", "2024-02-01"],
      ["2024-02", "2024-02-01", "2024-03-01"],
      ["2024-03", "2024-03-01", "2024-03-05"]
    ])
    assert.strictEqual(periodsIn(new Date("2024-01-01T00:00:00Z"), new Date("2024-01-08T00:00:00Z"), "day").length, 7)
  })

  it("the default window: the 12 ISO weeks ending with the newest conversation's week", () => {
    const w = resolveWindow({}, new Date("2024-10-30T13:08:00Z"))
    assert.deepStrictEqual([w.since.toISOString(), w.until.toISOString()], ["2024-08-12T00:00:00.000Z", "2024-11-04T00:00:00.000Z"])
    const untilOnly = resolveWindow({ until: new Date("2024-07-01T00:00:00Z") }, new Date("2024-10-30T13:08:00Z"))
    assert.strictEqual(untilOnly.since.toISOString(), "2024-04-08T00:00:00.000Z")
    const sinceOnly = resolveWindow({ since: new Date("2024-01-01T00:00:00Z") }, new Date("2024-10-30T13:08:00Z"))
    assert.strictEqual(sinceOnly.until.toISOString(), "2024-11-04T00:00:00.000Z")
    const sinceAfterData = resolveWindow({ since: new Date("2025-01-01T00:00:00Z") }, new Date("2024-10-30T13:08:00Z"))
    assert.strictEqual(sinceAfterData.until.toISOString(), "2025-03-26T00:00:00.000Z")
  })
})
