import * as path from "node:path"
import { Effect, Layer, Result } from "effect"
import type { AnalyzerError, ModelOutputInvalid } from "../../src/domain/Errors.ts"
import type { JobState } from "../../src/domain/JobState.ts"
import type { KpiScores } from "../../src/domain/Kpi.ts"
import type { Conversation, SourceRecord } from "../../src/domain/Source.ts"
import { Analyzer } from "../../src/services/Analyzer.ts"
import { BacklogGauge } from "../../src/services/BacklogGauge.ts"
import { JobHealth } from "../../src/services/JobHealth.ts"
import { Shutdown } from "../../src/services/Shutdown.ts"
import { MemoryConversationStore, type MemoryStoreState, makeMemoryStoreState } from "../../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../../src/store/memory/MemoryJobStateStore.ts"
import { type JobSettings, Settings } from "../../src/services/Settings.ts"
import { loadAgentConfig } from "../../src/config/Rubric.ts"
import { type FlagValues, resolveSettings } from "../../src/config/resolveSettings.ts"

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..")

/** Settings from defaults only (no YAML), with flag-style overrides and partial replacements. */
export const testSettings = (flags: FlagValues = {}, patch: Partial<JobSettings> = {}) => {
  const base = Result.getOrThrow(resolveSettings({ config: path.join(REPO_ROOT, "test/support/empty.yaml"), ...flags }, {}, REPO_ROOT))
  return Settings.layerValue({ ...base, ...patch }, Result.getOrThrow(loadAgentConfig("config/agent_performance_config.yaml", REPO_ROOT)))
}

/**
 * What a run owns, fresh each time the layer is provided: its health (ok), a stop request no
 * one has made and the backlog gauge's background counter.
 */
export const runServices = Layer.mergeAll(JobHealth.layer, Shutdown.layer, BacklogGauge.layer)

/** The i-th test ObjectId (hex), increasing with i. */
export const oid = (i: number): string => `66000000${i.toString(16).padStart(16, "0")}`

export const conversationDoc = (i: number, overrides: Record<string, unknown> = {}) => ({
  conversation: {
    tweets: [
      { tweet_id: 1, author_id: `cust${i}`, inbound: true, created_at: "2024-01-01T10:00:00Z", text: "My order has not arrived, can you help?" },
      { tweet_id: 2, author_id: "ShopHelp", inbound: false, created_at: "2024-01-01T10:05:00Z", text: `@cust${i} Sorry about that! I have reissued it today.` },
      { tweet_id: 3, author_id: `cust${i}`, inbound: true, created_at: "2024-01-01T10:07:00Z", text: "Thanks, that worked!" }
    ],
    classification: { categorization: "Delivery", intent: "Order Status", topic: "Shipping", sentiment: "Negative" }
  },
  sentiment_analysis: { overall_sentiment: "Positive" },
  ...overrides
})

export const records = (n: number, from = 0): Array<SourceRecord> =>
  Array.from({ length: n }, (_, k) => ({ id: oid(from + k), doc: conversationDoc(from + k) }))

export const fixedScores: KpiScores = {
  resolution_completeness: 1,
  accuracy_automated_responses: 90,
  empathy_subfactors: {
    emotion_recognition: 8,
    acknowledgment_feelings: 8,
    appropriate_response: 8,
    personalization: 8,
    supportive_language: 8,
    active_listening: 8
  },
  sentiment_shift: 0.5,
  clarity_subfactors: {
    readability_level: 8,
    jargon_usage: 8,
    sentence_structure: 8,
    coherence: 8,
    active_voice: 8,
    conciseness: 8
  },
  cultural_sensitivity: 4,
  adaptability_quotient: 80,
  conversation_flow: 4,
  followup_necessity: 0,
  customer_effort_score: 2,
  first_response_accuracy: 90,
  csat_resolution: 4.5,
  escalation_rate: 5,
  customer_effort_reduction: 20
}

/** An analyzer whose behaviour per conversation is given by the test; counts its calls. */
export const scriptedAnalyzer = (
  behaviour: (c: Conversation, call: number) => Effect.Effect<KpiScores, AnalyzerError | ModelOutputInvalid>
) => {
  const calls = new Map<string, number>()
  const layer = Layer.succeed(
    Analyzer,
    Analyzer.of({
      provider: "scripted",
      analyze: (c) =>
        Effect.suspend(() => {
          const n = (calls.get(c.sourceId) ?? 0) + 1
          calls.set(c.sourceId, n)
          return behaviour(c, n).pipe(Effect.map((scores) => ({ scores, model: "scripted-1", usage: undefined })))
        })
    })
  )
  return { layer, calls }
}

export interface MemoryWorld {
  readonly store: MemoryStoreState
  readonly states: Map<string, JobState>
  readonly layer: Layer.Layer<import("../../src/services/ConversationStore.ts").ConversationStore | import("../../src/services/JobStateStore.ts").JobStateStore>
}

export const memoryWorld = (seed: ReadonlyArray<SourceRecord>): MemoryWorld => {
  const store = makeMemoryStoreState(seed)
  const states = new Map<string, JobState>()
  return { store, states, layer: Layer.mergeAll(MemoryConversationStore.layer(store), MemoryJobStateStore.layer(states)) }
}

/** A deterministic PRNG (mulberry32) for property-style runs over many seeds. */
export const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
