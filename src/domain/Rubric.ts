import { Schema } from "effect"
import { CLARITY_SUBFACTORS, EMPATHY_SUBFACTORS, KPI_NAMES, type KpiName } from "./Kpi.ts"

/** The KPIs the model scores directly; the two composites are computed from sub-factors. */
export type ScoredKpi = Exclude<KpiName, "empathy_score" | "clarity_language">

export const SCORED_KPIS = KPI_NAMES.filter((n): n is ScoredKpi => n !== "empathy_score" && n !== "clarity_language")

const Text = Schema.Trim.check(Schema.isNonEmpty({ expected: "a non-blank text" }))

const Weight = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** One definition and three anchors: the low end, the middle and the high end of the scale. */
const Subfactor = Schema.Struct({ weight: Weight, description: Text, low: Text, middle: Text, high: Text })
export type Subfactor = typeof Subfactor.Type

const KpiText = Schema.Struct({ description: Text, low: Text, middle: Text, high: Text })
export type KpiText = typeof KpiText.Type

const structOf = <K extends string, S extends Schema.Top>(names: ReadonlyArray<K>, schema: S) =>
  Schema.Struct(Object.fromEntries(names.map((n) => [n, schema])) as Record<K, S>)

/**
 * `config/agent_performance_config.yaml`: the weights and texts of every sub-factor and the
 * texts of every directly scored KPI (a definition and low, middle and high anchors). Decode it with `decodeRubric`, which rejects unknown keys.
 */
export const Rubric = Schema.Struct({
  empathy_subfactors: structOf(EMPATHY_SUBFACTORS, Subfactor),
  clarity_subfactors: structOf(CLARITY_SUBFACTORS, Subfactor),
  kpis: structOf(SCORED_KPIS, KpiText)
})
export type Rubric = typeof Rubric.Type

/** A misspelt key would silently drop text from the model's prompt, so excess keys are errors. */
export const decodeRubric = Schema.decodeUnknownResult(Rubric, { onExcessProperty: "error" })
