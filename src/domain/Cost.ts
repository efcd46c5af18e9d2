import type { Usage } from "./Kpi.ts"

/** USD per million tokens (the `llm.prices.<model>` block of the job's YAML). */
export interface ModelPrice {
  readonly input: number
  readonly output: number
  /** Writing the cached prompt prefix (1.25 × input for the 5-minute cache). */
  readonly cache_write: number
  /** Reading it back (0.1 × input). */
  readonly cache_read: number
}

/**
 * The price of a model: its exact name, else the longest configured name it starts with (so
 * `claude-sonnet-4-5` prices the dated `claude-sonnet-4-5-20250929` that Bedrock reports).
 */
export const priceOf = (model: string, prices: Readonly<Record<string, ModelPrice>>): ModelPrice | undefined => {
  const exact = prices[model]
  if (exact !== undefined) return exact
  let best: string | undefined
  for (const name of Object.keys(prices)) {
    if (model.startsWith(name) && (best === undefined || name.length > best.length)) best = name
  }
  return best === undefined ? undefined : prices[best]
}

/** How a request was billed, where it differs from a plain synchronous request. */
export interface Billing {
  /** Sent through the Message Batches API: every token at half price. */
  readonly batch?: boolean
  /** The prefix was cached for one hour (`ttl: "1h"`): cache writes cost 2 × input, not 1.25 ×. */
  readonly cacheTtl?: "5m" | "1h"
}

/** Batch requests cost half of the synchronous price. */
export const BATCH_DISCOUNT = 0.5
/** A one-hour cache write costs twice the input price. */
export const ONE_HOUR_CACHE_WRITE = 2

/**
 * Estimated USD for one request. `input_tokens` counts only the uncached input, so the four
 * counts add up without overlap. Undefined when the model has no price in the configuration
 * (the result then records `estimated_cost_usd: null`).
 */
export const estimateCost = (
  model: string,
  usage: Usage,
  prices: Readonly<Record<string, ModelPrice>>,
  billing: Billing = {}
): number | undefined => {
  const p = priceOf(model, prices)
  if (p === undefined) return undefined
  const write = billing.cacheTtl === "1h" ? ONE_HOUR_CACHE_WRITE * p.input : p.cache_write
  const usd = (usage.input_tokens * p.input + usage.output_tokens * p.output +
    usage.cache_creation_input_tokens * write + usage.cache_read_input_tokens * p.cache_read) / 1_000_000
  return billing.batch === true ? usd * BATCH_DISCOUNT : usd
}
