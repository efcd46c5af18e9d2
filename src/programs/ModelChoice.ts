import { Effect, Result } from "effect"
import { ConfigError, RunFatal } from "../domain/Errors.ts"
import { ConversationStore, type ModelUsed } from "../services/ConversationStore.ts"
import { storeOp } from "./StoreOp.ts"

/**
 * Which `model_used` a command compares: the one `--model-used NAME` names, else the most
 * recently used (the latest `processed_timestamp`). Shared by `cpa calibrate`, `cpa retest`
 * and `cpa report`, so they always look at the same results.
 */
export interface ModelChoice {
  readonly chosen: ModelUsed
  /** Every model of the stored results, most recent first. */
  readonly available: ReadonlyArray<ModelUsed>
  /** True when `--model-used` named it; false when it is the most recent by default. */
  readonly named: boolean
}

/** The choice among `available` (most recent first); fails with the line to print. */
export const chooseModelUsed = (
  available: ReadonlyArray<ModelUsed>,
  requested: string | undefined
): Result.Result<ModelChoice, ConfigError | RunFatal> => {
  if (available.length === 0) {
    return Result.fail(new RunFatal({ message: "agentic_analysis holds no results yet: run the job (cpa --single-batch) first" }))
  }
  if (requested === undefined) return Result.succeed({ chosen: available[0]!, available, named: false })
  const found = available.find((m) => m.model === requested)
  return found === undefined
    ? Result.fail(new ConfigError({
      setting: "--model-used",
      message: `--model-used: no results of ${JSON.stringify(requested)}; the stored results are of ${
        available.map((m) => `${m.model} (${m.results})`).join(", ")
      }`
    }))
    : Result.succeed({ chosen: found, available, named: true })
}

/** Reads the models of the stored results and chooses one (see `chooseModelUsed`). */
export const selectModelUsed = Effect.fn("selectModelUsed")(function*(requested: string | undefined) {
  const store = yield* ConversationStore
  const available = yield* storeOp(store.modelsUsed)
  return yield* Effect.fromResult(chooseModelUsed(available, requested))
})

/** One line saying which model's results are compared, and how it was chosen. */
export const describeChoice = (choice: ModelChoice): string =>
  `${choice.chosen.model} (${choice.chosen.results} results, latest ${choice.chosen.latest}; ` +
  (choice.named
    ? "named by --model-used)"
    : choice.available.length > 1
    ? `the most recent of ${choice.available.length} models: ${choice.available.map((m) => m.model).join(", ")}; --model-used NAME to choose)`
    : "the only model)")
