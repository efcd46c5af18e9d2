import type { Usage } from "../../domain/Kpi.ts"
import type { Conversation } from "../../domain/Source.ts"
import { cacheFloorFor, estimateTokens, prefixTokens } from "./Prompt.ts"
import { kpiTool, RATIONALE_FIELD, renderConversation, type RequestOptions } from "./Request.ts"

/**
 * Token estimates before anything is sent: characters / 4 (`estimateTokens`), as the bench
 * counts, since there is no Claude tokenizer offline. Used for the cost `cpa retest` prints
 * before it calls a paid model, and by `npm run bench`.
 */

/** A typical answer's scores: 24 numbers, a third of them with decimals. */
const TYPICAL_SCORES = {
  resolution_completeness: 1,
  accuracy_automated_responses: 92,
  empathy_subfactors: {
    emotion_recognition: 7,
    acknowledgment_feelings: 8,
    appropriate_response: 8.5,
    personalization: 6,
    supportive_language: 7.5,
    active_listening: 8
  },
  sentiment_shift: 0.6,
  clarity_subfactors: { readability_level: 9, jargon_usage: 9, sentence_structure: 8, coherence: 9, active_voice: 7, conciseness: 8 },
  cultural_sensitivity: 4,
  adaptability_quotient: 75,
  conversation_flow: 4.5,
  followup_necessity: 0,
  customer_effort_score: 2,
  first_response_accuracy: 88,
  csat_resolution: 4.5,
  escalation_rate: 5,
  customer_effort_reduction: 40
}

/** A typical rationale: two-sentence reasons and two short quotes per category. */
const TYPICAL_RATIONALE = {
  accuracy_compliance: {
    reason: "The agent refunded the duplicate charge in the first reply and the customer accepted it; the amount and the timing the agent gave are specific and consistent.",
    evidence: [{ message: 3, quote: "I've refunded the duplicate 42.90 for order 5521" }, { message: 4, quote: "ok thanks, finally" }]
  },
  empathy_communication: {
    reason: "The agent used the customer's name and order details and apologised for the wait, but did not name the frustration the customer showed.",
    evidence: [{ message: 2, quote: "Hello?? Still waiting." }, { message: 3, quote: "sorry for the wait and for the double charge" }]
  },
  efficiency_resolution: {
    reason: "Nothing is left to do, but the customer waited six hours and had to chase before the first reply.",
    evidence: [{ message: 2, quote: "Still waiting. Charged twice!!" }, { message: 4, quote: "finally" }]
  }
}

/** Output tokens of one answer (the tool call's input), with or without the rationale. */
export const estimateOutputTokens = (options: Pick<RequestOptions, "rationales">): number =>
  estimateTokens(JSON.stringify(options.rationales ? { [RATIONALE_FIELD]: TYPICAL_RATIONALE, ...TYPICAL_SCORES } : TYPICAL_SCORES))

/**
 * The usage of analyzing `conversations` one request each with `concurrency` in flight: the
 * first request goes alone on the cold cache and writes the cached prefix, the others read it;
 * below the model's cache floor every request pays for it in full.
 */
export const estimateRunUsage = (options: {
  readonly model: string
  readonly system: string
  readonly request: RequestOptions
  readonly conversations: ReadonlyArray<Conversation>
  readonly concurrency: number
}): Usage => {
  const n = options.conversations.length
  const prefix = prefixTokens([kpiTool(options.request)], options.system)
  const conversationTokens = options.conversations.reduce((sum, c) => sum + estimateTokens(renderConversation(c, options.request)), 0)
  const cached = prefix >= cacheFloorFor(options.model)
  // A cold cache lets one request go alone (RateLimiter), so one request writes the prefix.
  const writers = cached ? Math.min(n, 1) : 0
  return {
    input_tokens: conversationTokens + (cached ? 0 : n * prefix),
    output_tokens: n * estimateOutputTokens(options.request),
    cache_creation_input_tokens: writers * prefix,
    cache_read_input_tokens: cached ? (n - writers) * prefix : 0
  }
}
