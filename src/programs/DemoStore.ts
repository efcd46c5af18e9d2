import { Effect, Redacted, References, Stream } from "effect"
import { ConfigError, RunFatal } from "../domain/Errors.ts"
import { Analyzer } from "../services/Analyzer.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { Settings } from "../services/Settings.ts"
import { addOutcome, makeProcessRecord, noOutcomes } from "./Batch.ts"

/**
 * The in-memory demo store (`--mongo-uri memory`) starts with the samples and no results, so a
 * command that compares stored results (calibrate, retest) first scores every sample with the
 * configured analyzer, as `cpa --single-batch` would. Only a free analyzer may do that: with a
 * paid one it would send every sample to the model, so that is refused (exit 2).
 */
export const scoreDemoStore = Effect.fn("scoreDemoStore")(function*(command: string) {
  const settings = yield* Settings
  if (Redacted.value(settings.mongoUri) !== "memory") return
  const analyzer = yield* Analyzer
  if (analyzer.estimateUsage !== undefined) {
    return yield* new ConfigError({
      setting: "--mongo-uri",
      message: `${command} on the in-memory demo store scores every sample first, which needs --llm heuristic; ` +
        "to use a model, point --mongo-uri at the database that holds its results"
    })
  }
  const store = yield* ConversationStore
  const processRecord = yield* makeProcessRecord
  const totals = yield* store.readAfter(null, Number.MAX_SAFE_INTEGER).pipe(
    Stream.mapError((e) => new RunFatal({ message: `reading the samples failed: ${e.message}` })),
    Stream.mapEffect((record) => processRecord(record, () => false), { concurrency: settings.concurrency, unordered: true }),
    Stream.runFold(() => noOutcomes, addOutcome),
    // The 8 malformed samples would each log a dead-letter warning: not news in a demo.
    Effect.provideService(References.MinimumLogLevel, "Error")
  )
  yield* Effect.logInfo(`in-memory demo store: scored ${totals.records_persisted} sample conversations with ${analyzer.provider} first (${totals.errors} invalid)`)
})
