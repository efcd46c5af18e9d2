import { Effect } from "effect"
import type { DeadLetterInput } from "../../src/domain/DeadLetter.ts"
import { emptyUsage, type KpiScores, type Usage } from "../../src/domain/Kpi.ts"
import { type AgenticAnalysis, buildResult } from "../../src/domain/Result.ts"
import { decodeConversation, type SourceRecord } from "../../src/domain/Source.ts"
import { fixedScores } from "./fixtures.ts"

/** One conversation of a report fixture: when, who answered, what it scored, by which model. */
export interface Conv {
  readonly i: number
  /** The conversation's first message (its `source_timestamp`). */
  readonly at: string
  readonly agent?: string | undefined
  readonly topic?: string
  readonly intent?: string
  readonly model?: string
  readonly scores?: Partial<KpiScores>
  /** Stored before 4.3.0: no `agent_ids`, version 4.2.0. */
  readonly legacy?: boolean
  readonly processedAt?: string
  readonly usage?: Usage
  readonly cost?: number
}

/** A source id created at the conversation's time (so the window's source count sees it), unique by `i`. */
export const idAt = (at: string, i: number): string =>
  `${Math.floor(Date.parse(at) / 1000).toString(16).padStart(8, "0")}${i.toString(16).padStart(16, "0")}`

const plus = (at: string, minutes: number) => new Date(Date.parse(at) + minutes * 60_000).toISOString().replace(".000Z", "Z")

export const customerLast = (i: number) => `still waiting on order ${i}, please help`

export const sourceDoc = (c: Conv) => ({
  conversation: {
    tweets: [
      { author_id: `cust${c.i}`, inbound: true, created_at: c.at, text: `@${c.agent ?? "Shop"} where is my order ${c.i}?` },
      ...(c.agent === undefined ? [] : [
        { author_id: c.agent, inbound: false, created_at: plus(c.at, 5), text: `@cust${c.i} sorry, checking now` },
        { author_id: `${c.agent}_2`, inbound: false, created_at: plus(c.at, 6), text: `@cust${c.i} a colleague here` }
      ]),
      { author_id: `cust${c.i}`, inbound: true, created_at: plus(c.at, 9), text: customerLast(c.i) }
    ],
    classification: { categorization: "Delivery", intent: c.intent ?? "Order Status", topic: c.topic ?? "Shipping", sentiment: "Negative" }
  },
  sentiment_analysis: { overall_sentiment: "Negative" }
})

export const sourceOf = (c: Conv): SourceRecord => ({ id: idAt(c.at, c.i), doc: sourceDoc(c) })

const equal = <K extends string>(keys: ReadonlyArray<K>) => Object.fromEntries(keys.map((k) => [k, 1 / keys.length])) as Record<K, number>

const weights = {
  empathy: equal(["emotion_recognition", "acknowledgment_feelings", "appropriate_response", "personalization", "supportive_language", "active_listening"]),
  clarity: equal(["readability_level", "jargon_usage", "sentence_structure", "coherence", "active_voice", "conciseness"])
}

/** The stored result of a fixture conversation, built the way the job builds it. */
export const resultOf = (c: Conv): Effect.Effect<AgenticAnalysis> =>
  decodeConversation(sourceOf(c)).pipe(
    Effect.orDie,
    Effect.map((conversation) => {
      const r = buildResult(conversation, { ...fixedScores, ...c.scores }, weights, {
        model: c.model ?? "model-a",
        usage: c.usage,
        costUsd: c.cost,
        processedAt: new Date(c.processedAt ?? "2024-06-01T00:00:00Z"),
        jobName: "conversation_performance_analysis"
      })
      if (c.legacy !== true) return r
      const { agent_ids: _, ...summary } = r.conversation_summary
      return { ...r, conversation_summary: summary, analysis_metadata: { ...r.analysis_metadata, analysis_version: "4.2.0" } }
    })
  )

export const deadLetter = (i: number, tag: string, failedAt: string): DeadLetterInput => ({
  source_object_id: idAt("2024-03-05T00:00:00Z", 1000 + i),
  job_name: "conversation_performance_analysis",
  analysis_version: "4.3.0",
  error: { tag, reason: tag === "AnalyzerError" ? "RateLimited" : null, message: `${tag} ${i}`, retriable: false, http_status: null, field: null, attempts: 2 },
  failed_at: failedAt
})

// ---------------------------------------------------------------------------------------------
// The main fixture: two weeks, a real fall in CSAT, the same accuracy scores shuffled

export const WEEK1 = {
  csat: [4.5, 4.1, 3.9, 4.8, 4.4, 4.0, 4.6, 3.8, 4.2, 4.7],
  accuracy: [70, 80, 75, 85, 60, 90, 65, 78, 82, 71],
  resolved: [1, 1, 1, 1, 1, 1, 1, 0, 1, 1]
}
export const WEEK2 = {
  csat: [2.1, 3.0, 2.5, 1.9, 3.3, 2.8, 2.2, 3.1, 2.6, 2.4],
  accuracy: [80, 70, 85, 75, 90, 60, 78, 65, 71, 82],
  resolved: [0, 1, 0, 0, 1, 0, 1, 0, 0, 1]
}

const effortOf = (csat: number) => Math.round((7 - csat) * 10) / 10

/**
 * Weeks 2024-W10 (Mar 4–10) and W11 (Mar 11–17). BrandA answers k = 0–4 of each week, BrandB
 * k = 5–9; week 2 is about "Refunds", week 1 about "Shipping". Conversations 3 and 12 were stored
 * before 4.3.0. Around them: two BrandC conversations with CSAT 1.0 (a small group), one of
 * another model, two outside the window, and a source not analyzed yet.
 */
export const twoWeeks = (): ReadonlyArray<Conv> => {
  const week = (w: 0 | 1) =>
    Array.from({ length: 10 }, (_, k): Conv => {
      const data = w === 0 ? WEEK1 : WEEK2
      const i = w * 10 + k
      return {
        i,
        at: `2024-03-${String(4 + w * 7 + (k % 5)).padStart(2, "0")}T${String(9 + k).padStart(2, "0")}:00:00Z`,
        agent: k < 5 ? "BrandA" : "BrandB",
        topic: w === 0 ? "Shipping" : "Refunds",
        scores: {
          csat_resolution: data.csat[k]!,
          accuracy_automated_responses: data.accuracy[k]!,
          resolution_completeness: data.resolved[k]!,
          customer_effort_score: effortOf(data.csat[k]!)
        },
        legacy: i === 3 || i === 12,
        usage: { ...emptyUsage, input_tokens: 1000, output_tokens: 100 },
        cost: 0.002
      }
    })
  return [
    ...week(0),
    ...week(1),
    { i: 20, at: "2024-03-06T10:00:00Z", agent: "BrandA", model: "model-b", usage: { ...emptyUsage, input_tokens: 500, output_tokens: 50 }, cost: 0.5, processedAt: "2024-05-01T00:00:00Z" },
    { i: 21, at: "2024-03-18T00:00:00Z", agent: "BrandA" },
    { i: 22, at: "2024-03-03T23:59:59Z", agent: "BrandA" },
    ...[24, 25].map((i): Conv => ({
      i,
      at: "2024-03-15T12:00:00Z",
      agent: "BrandC",
      topic: "Refunds",
      scores: { csat_resolution: 1.0, resolution_completeness: 0, customer_effort_score: 6.0 + (i - 24) * 0.5 }
    }))
  ]
}

/** A source in the window that has no result yet. */
export const unanalyzed: Conv = { i: 23, at: "2024-03-12T08:00:00Z", agent: "BrandB" }
