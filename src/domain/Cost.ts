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

/**
 * Estimated USD for one request. `input_tokens` counts only the uncached input, so the four
 * counts add up without overlap. Undefined when the model has no price in the configuration.
 */
export const estimateCost = (model: string, usage: Usage, prices: Readonly<Record<string, ModelPrice>>): number | undefined => {
  const p = priceOf(model, prices)
  if (p === undefined) return undefined
  return (usage.input_tokens * p.input + usage.output_tokens * p.output +
    usage.cache_creation_input_tokens * p.cache_write + usage.cache_read_input_tokens * p.cache_read) / 1_000_000
}

/** The Message Batches API's discount: every token class at half the list price. */
export const BATCH_PRICE_FACTOR = 0.5

/** `estimateCost` at the price of a service tier: `batch` is half of `standard`. */
export const estimateTierCost = (
  model: string,
  usage: Usage,
  prices: Readonly<Record<string, ModelPrice>>,
  tier: "standard" | "batch"
): number | undefined => {
  const cost = estimateCost(model, usage, prices)
  return cost === undefined ? undefined : tier === "batch" ? cost * BATCH_PRICE_FACTOR : cost
}
