import { Schema } from "effect"

/** A KPI's allowed range and whether it only takes whole values (binary KPIs). */
export interface Range {
  readonly min: number
  readonly max: number
  readonly integer: boolean
}

const range = (min: number, max: number, integer = false): Range => ({ min, max, integer })

export const EMPATHY_SUBFACTORS = [
  "emotion_recognition",
  "acknowledgment_feelings",
  "appropriate_response",
  "personalization",
  "supportive_language",
  "active_listening"
] as const
export type EmpathySubfactor = typeof EMPATHY_SUBFACTORS[number]

export const CLARITY_SUBFACTORS = [
  "readability_level",
  "jargon_usage",
  "sentence_structure",
  "coherence",
  "active_voice",
  "conciseness"
] as const
export type ClaritySubfactor = typeof CLARITY_SUBFACTORS[number]

/** The 14 KPIs, by category, with the specification's ranges. */
export const KPI_CATEGORIES = {
  accuracy_compliance: {
    resolution_completeness: range(0, 1, true),
    accuracy_automated_responses: range(0, 100)
  },
  empathy_communication: {
    empathy_score: range(0, 10),
    sentiment_shift: range(-1, 1),
    clarity_language: range(1, 10),
    cultural_sensitivity: range(1, 5),
    adaptability_quotient: range(0, 100),
    conversation_flow: range(1, 5)
  },
  efficiency_resolution: {
    followup_necessity: range(0, 1, true),
    customer_effort_score: range(1, 7),
    first_response_accuracy: range(0, 100),
    csat_resolution: range(1, 5),
    escalation_rate: range(0, 100),
    customer_effort_reduction: range(-100, 100)
  }
} as const

export const EMPATHY_SUBFACTOR_RANGE = KPI_CATEGORIES.empathy_communication.empathy_score
export const CLARITY_SUBFACTOR_RANGE = KPI_CATEGORIES.empathy_communication.clarity_language

export type Category = keyof typeof KPI_CATEGORIES

const scoreSchema = (r: Range) =>
  (r.integer ? Schema.Int : Schema.Finite).check(Schema.isBetween({ minimum: r.min, maximum: r.max }))

const subfactors = <K extends string>(names: ReadonlyArray<K>, r: Range) =>
  Schema.Struct(Object.fromEntries(names.map((n) => [n, scoreSchema(r)])) as Record<K, ReturnType<typeof scoreSchema>>)

const { accuracy_compliance: ac, empathy_communication: ec, efficiency_resolution: er } = KPI_CATEGORIES

/**
 * What an analyzer returns for one conversation: the twelve directly scored KPIs and the
 * twelve sub-factors from which `empathy_score` and `clarity_language` are computed in code.
 * Every value is range-checked when decoded; the same schema is the model's tool schema.
 */
export const KpiScores = Schema.Struct({
  resolution_completeness: scoreSchema(ac.resolution_completeness),
  accuracy_automated_responses: scoreSchema(ac.accuracy_automated_responses),
  empathy_subfactors: subfactors(EMPATHY_SUBFACTORS, EMPATHY_SUBFACTOR_RANGE),
  sentiment_shift: scoreSchema(ec.sentiment_shift),
  clarity_subfactors: subfactors(CLARITY_SUBFACTORS, CLARITY_SUBFACTOR_RANGE),
  cultural_sensitivity: scoreSchema(ec.cultural_sensitivity),
  adaptability_quotient: scoreSchema(ec.adaptability_quotient),
  conversation_flow: scoreSchema(ec.conversation_flow),
  followup_necessity: scoreSchema(er.followup_necessity),
  customer_effort_score: scoreSchema(er.customer_effort_score),
  first_response_accuracy: scoreSchema(er.first_response_accuracy),
  csat_resolution: scoreSchema(er.csat_resolution),
  escalation_rate: scoreSchema(er.escalation_rate),
  customer_effort_reduction: scoreSchema(er.customer_effort_reduction)
})
export type KpiScores = typeof KpiScores.Type

/** Token usage reported by a model for one request. */
export const Usage = Schema.Struct({
  input_tokens: Schema.Int,
  output_tokens: Schema.Int,
  cache_creation_input_tokens: Schema.Int,
  cache_read_input_tokens: Schema.Int
})
export type Usage = typeof Usage.Type

export const emptyUsage: Usage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0
}

export const addUsage = (a: Usage, b: Usage): Usage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
  cache_creation_input_tokens: a.cache_creation_input_tokens + b.cache_creation_input_tokens,
  cache_read_input_tokens: a.cache_read_input_tokens + b.cache_read_input_tokens
})

/** Weights of the six sub-factors of each composite KPI; each set sums to 1. */
export interface Weights {
  readonly empathy: Readonly<Record<EmpathySubfactor, number>>
  readonly clarity: Readonly<Record<ClaritySubfactor, number>>
}

export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export const weightedMean = <K extends string>(values: Readonly<Record<K, number>>, weights: Readonly<Record<K, number>>): number =>
  round((Object.keys(weights) as Array<K>).reduce((sum, k) => sum + values[k] * weights[k], 0))

/** Clamps a value into a KPI's range (used by heuristics, never to hide a model's bad output). */
export const clamp = (r: Range, value: number): number => {
  const v = Math.min(r.max, Math.max(r.min, value))
  return r.integer ? Math.round(v) : round(v)
}
