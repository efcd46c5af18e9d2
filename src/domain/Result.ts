import { Schema } from "effect"
import {
  CLARITY_SUBFACTORS,
  EMPATHY_SUBFACTORS,
  type KpiScores,
  round,
  Usage,
  weightedMean,
  type Weights
} from "./Kpi.ts"
import { AnalysisRationale } from "./Rationale.ts"
import { isoSeconds } from "./Text.ts"
import { type Conversation, objectIdTime } from "./Source.ts"

/**
 * Version of the result document's shape and rubric: 4.1.0 is the original job's, 4.2.0 adds
 * `usage`, 4.3.0 adds `analysis_rationale`, `evidence_dropped` (and the rewritten rubric) and
 * `conversation_summary.agent_ids`.
 */
export const ANALYSIS_VERSION = "4.3.0"
export const JOB_NAME = "conversation_performance_analysis"
export const SOURCE_COLLECTION = "sentiment_analysis"
export const RESULT_COLLECTION = "agentic_analysis"
export const JOB_STATE_COLLECTION = "job_state"
export const DEAD_LETTER_COLLECTION = "failed_analysis_records"

const NullableString = Schema.NullOr(Schema.String)
const Num = Schema.Finite

/** A document of `agentic_analysis`: field names and nesting as in the specification. */
export const AgenticAnalysis = Schema.Struct({
  conversation_id: Schema.String,
  source_object_id: Schema.String,
  source_timestamp: Schema.String,
  conversation_summary: Schema.Struct({
    total_messages: Schema.Int,
    customer_messages: Schema.Int,
    agent_messages: Schema.Int,
    conversation_type: NullableString,
    intent: NullableString,
    topic: NullableString,
    final_sentiment: NullableString,
    categorization: NullableString,
    /** Since 4.3.0: the agent side's handles (`author_id` of `inbound: false` messages), first seen first. */
    agent_ids: Schema.optionalKey(Schema.Array(Schema.String))
  }),
  performance_metrics: Schema.Struct({
    accuracy_compliance: Schema.Struct({
      resolution_completeness: Num,
      accuracy_automated_responses: Num
    }),
    empathy_communication: Schema.Struct({
      empathy_score: Num,
      empathy_subfactors: Schema.Record(Schema.String, Num),
      sentiment_shift: Num,
      clarity_language: Num,
      clarity_subfactors: Schema.Record(Schema.String, Num),
      cultural_sensitivity: Num,
      adaptability_quotient: Num,
      conversation_flow: Num
    }),
    efficiency_resolution: Schema.Struct({
      followup_necessity: Num,
      customer_effort_score: Num,
      first_response_accuracy: Num,
      csat_resolution: Num,
      escalation_rate: Num,
      customer_effort_reduction: Num
    })
  }),
  analysis_metadata: Schema.Struct({
    processed_timestamp: Schema.String,
    source_collection: Schema.String,
    analysis_version: Schema.String,
    model_used: Schema.String,
    usage: Schema.optionalKey(Usage),
    /** null: the model has no price in `llm.prices` (warned once at start-up). */
    estimated_cost_usd: Schema.optionalKey(Schema.NullOr(Num)),
    /** Quotes of the analyzer's rationale dropped because they do not occur in the message they cite. */
    evidence_dropped: Schema.optionalKey(Schema.Int),
    /** `batch` when scored through the Message Batches API (priced at the batch rate). */
    service_tier: Schema.optionalKey(Schema.Literal("batch"))
  }),
  /** Why: a reason and checked evidence per KPI category (absent when rationales are off). */
  analysis_rationale: Schema.optionalKey(AnalysisRationale),
  persistence_metadata: Schema.Struct({
    inserted_timestamp: Schema.String,
    collection: Schema.String,
    job_name: Schema.String
  })
})
export type AgenticAnalysis = typeof AgenticAnalysis.Type

export interface AnalysisMeta {
  readonly model: string
  readonly usage: Usage | undefined
  readonly costUsd: number | undefined
  readonly processedAt: Date
  readonly jobName: string
  /** The checked rationale, when the analyzer gave one, and how many quotes the check dropped. */
  readonly rationale?: AnalysisRationale | undefined
  readonly evidenceDropped?: number | undefined
  /** `batch` for a result of the Message Batches API. */
  readonly serviceTier?: "batch" | undefined
}

/** Distinct `author_id`s of the agent's messages, in order of first appearance. */
export const agentIds = (conversation: Conversation): Array<string> => {
  const seen = new Set<string>()
  for (const m of conversation.messages) if (!m.inbound && m.authorId !== undefined) seen.add(m.authorId)
  return [...seen]
}

/** Earliest message time, else the ObjectId's creation time. */
export const sourceTimestamp = (conversation: Conversation): Date => {
  let earliest: number | undefined
  for (const m of conversation.messages) {
    const t = m.createdAt.getTime()
    if (earliest === undefined || t < earliest) earliest = t
  }
  return earliest === undefined ? objectIdTime(conversation.sourceId) : new Date(earliest)
}

/** Everything in a result that is computed in code; only `scores` come from an analyzer. */
export const buildResult = (
  conversation: Conversation,
  scores: KpiScores,
  weights: Weights,
  meta: AnalysisMeta
): AgenticAnalysis => {
  const customer = conversation.messages.filter((m) => m.inbound).length
  const c = conversation.classification
  const categorization = c.categorization !== undefined && c.intent !== undefined && c.categorization !== c.intent
    ? `${c.categorization} - ${c.intent}`
    : c.categorization ?? c.intent ?? null
  const processed = isoSeconds(meta.processedAt)
  return {
    conversation_id: `conv_${conversation.sourceId}`,
    source_object_id: conversation.sourceId,
    source_timestamp: isoSeconds(sourceTimestamp(conversation)),
    conversation_summary: {
      total_messages: conversation.messages.length,
      customer_messages: customer,
      agent_messages: conversation.messages.length - customer,
      conversation_type: c.categorization ?? null,
      intent: c.intent ?? null,
      topic: c.topic ?? null,
      final_sentiment: conversation.overallSentiment ?? null,
      categorization,
      agent_ids: agentIds(conversation)
    },
    performance_metrics: {
      accuracy_compliance: {
        resolution_completeness: scores.resolution_completeness,
        accuracy_automated_responses: round(scores.accuracy_automated_responses, 1)
      },
      empathy_communication: {
        empathy_score: weightedMean(scores.empathy_subfactors, weights.empathy),
        empathy_subfactors: pick(scores.empathy_subfactors, EMPATHY_SUBFACTORS),
        sentiment_shift: round(scores.sentiment_shift),
        clarity_language: weightedMean(scores.clarity_subfactors, weights.clarity),
        clarity_subfactors: pick(scores.clarity_subfactors, CLARITY_SUBFACTORS),
        cultural_sensitivity: round(scores.cultural_sensitivity, 1),
        adaptability_quotient: round(scores.adaptability_quotient, 1),
        conversation_flow: round(scores.conversation_flow, 1)
      },
      efficiency_resolution: {
        followup_necessity: scores.followup_necessity,
        customer_effort_score: round(scores.customer_effort_score, 1),
        first_response_accuracy: round(scores.first_response_accuracy, 1),
        csat_resolution: round(scores.csat_resolution, 1),
        escalation_rate: round(scores.escalation_rate, 1),
        customer_effort_reduction: round(scores.customer_effort_reduction, 1)
      }
    },
    analysis_metadata: {
      processed_timestamp: processed,
      source_collection: SOURCE_COLLECTION,
      analysis_version: ANALYSIS_VERSION,
      model_used: meta.model,
      ...(meta.usage !== undefined ? { usage: meta.usage } : {}),
      ...(meta.usage !== undefined ? { estimated_cost_usd: meta.costUsd ?? null } : {}),
      ...(meta.rationale !== undefined ? { evidence_dropped: meta.evidenceDropped ?? 0 } : {}),
      ...(meta.serviceTier !== undefined ? { service_tier: meta.serviceTier } : {})
    },
    persistence_metadata: {
      inserted_timestamp: processed,
      collection: RESULT_COLLECTION,
      job_name: meta.jobName
    },
    ...(meta.rationale !== undefined ? { analysis_rationale: meta.rationale } : {})
  }
}

const pick = <K extends string>(values: Readonly<Record<K, number>>, keys: ReadonlyArray<K>): Record<string, number> =>
  Object.fromEntries(keys.map((k) => [k, round(values[k], 1)]))

/**
 * What a report reads of a result: the scores, the labels it can be grouped by, the
 * conversation's time and the analysis metadata (not the persistence metadata).
 */
export const ResultRow = Schema.Struct({
  source_object_id: Schema.String,
  source_timestamp: Schema.String,
  conversation_summary: Schema.Struct({
    conversation_type: NullableString,
    intent: NullableString,
    topic: NullableString,
    categorization: NullableString,
    agent_ids: Schema.optionalKey(Schema.Array(Schema.String))
  }),
  performance_metrics: AgenticAnalysis.fields.performance_metrics,
  analysis_metadata: Schema.Struct({
    processed_timestamp: Schema.String,
    analysis_version: Schema.String,
    model_used: Schema.String,
    usage: Schema.optionalKey(Usage),
    estimated_cost_usd: Schema.optionalKey(Schema.NullOr(Num))
  })
})
export type ResultRow = typeof ResultRow.Type

/** The report's view of a result (what the MongoDB store's projection returns). */
export const toResultRow = (r: AgenticAnalysis): ResultRow => {
  const s = r.conversation_summary
  const m = r.analysis_metadata
  return {
    source_object_id: r.source_object_id,
    source_timestamp: r.source_timestamp,
    conversation_summary: {
      conversation_type: s.conversation_type,
      intent: s.intent,
      topic: s.topic,
      categorization: s.categorization,
      ...(s.agent_ids !== undefined ? { agent_ids: s.agent_ids } : {})
    },
    performance_metrics: r.performance_metrics,
    analysis_metadata: {
      processed_timestamp: m.processed_timestamp,
      analysis_version: m.analysis_version,
      model_used: m.model_used,
      ...(m.usage !== undefined ? { usage: m.usage } : {}),
      ...(m.estimated_cost_usd !== undefined ? { estimated_cost_usd: m.estimated_cost_usd } : {})
    }
  }
}
