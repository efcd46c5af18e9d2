import { Console, Effect } from "effect"
import { InputError } from "../domain/Errors.ts"
import { ConversationStore } from "../services/ConversationStore.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import { Settings } from "../services/Settings.ts"
import { storeOp } from "./StoreOp.ts"
import { formatJobStatistics, type StatsView } from "./Reports.ts"

/** Reads the job state, counts and the 10 latest results (needs no lease, writes nothing). */
export const collectStats = Effect.fn("collectStats")(function*() {
  const settings = yield* Settings
  const store = yield* ConversationStore
  const jobs = yield* JobStateStore
  const state = yield* storeOp(jobs.load(settings.jobName))
  const [counts, recent, deadLetters] = yield* Effect.all([
    storeOp(store.counts(state?.last_processed_object_id ?? null)),
    storeOp(store.recentResults(10)),
    storeOp(store.countDeadLetters("open"))
  ], { concurrency: 3 })
  return { state, counts, recent, deadLetters } satisfies StatsView
})

export const showStats = Effect.fn("showStats")(function*() {
  const view = yield* collectStats()
  yield* Console.log(formatJobStatistics(view))
  return view
})

/**
 * Forgets the checkpoint and statistics: the next batch starts from the first source record.
 * Refused while Message Batches of the job are not collected: forgetting them would leave
 * their results (already paid for) behind and submit their records again.
 */
export const resetState = Effect.fn("resetState")(function*() {
  const settings = yield* Settings
  const jobs = yield* JobStateStore
  const pending = (yield* storeOp(jobs.load(settings.jobName)))?.batch_mode?.batches ?? []
  if (pending.length > 0) {
    const names = pending.map((b) => b.batch_id ?? `an intent of ${b.intent_at}`).join(", ")
    return yield* new InputError({
      message: `--reset-state: ${pending.length} Message Batch(es) of job ${settings.jobName} not collected yet (${names}); ` +
        `collect them first (cpa --llm-mode batch --single-batch), or cancel them (cpa batches cancel <id>) and then collect`
    })
  }
  yield* storeOp(jobs.reset(settings.jobName))
  yield* Effect.logInfo(`job state of ${settings.jobName} reset: the next batch starts from the first record`)
})
