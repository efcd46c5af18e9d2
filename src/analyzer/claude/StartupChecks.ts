import { Effect } from "effect"
import { priceOf } from "../../domain/Cost.ts"
import type { JobSettings } from "../../services/Settings.ts"
import { cacheFloorFor } from "./Prompt.ts"

/**
 * What both Claude adapters check once before the first record: is the cached prefix long
 * enough for the model's cache floor, and does the model have a price.
 */

/** Warns when the cached prefix (tools + system) is below the model's floor: nothing would be cached. */
export const checkCachePrefix = (model: string, tokens: number, counted: boolean, floors: Readonly<Record<string, number>> = {}) => {
  const floor = cacheFloorFor(model, floors)
  const how = counted ? "counted by the provider" : "estimated"
  return tokens < floor
    ? Effect.logWarning(
      `analyzer: the cached prefix (tool + rubric, ${tokens} tokens ${how}) is below ${model}'s cache floor of ${floor}: ` +
        "nothing will be cached and every request pays the full prompt"
    )
    : Effect.logInfo(`analyzer: cached prefix ${tokens} tokens (${how}), above ${model}'s cache floor of ${floor}`)
}

/** One warning for a model that `llm.prices` does not price: its results get `estimated_cost_usd: null`. */
export const warnIfUnpriced = (model: string, prices: JobSettings["llmOptions"]["prices"]) =>
  priceOf(model, prices) === undefined
    ? Effect.logWarning(`analyzer: ${model} has no price in llm.prices: its results record estimated_cost_usd null; add it to the YAML`)
    : Effect.void
