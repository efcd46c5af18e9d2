import { Clock, Console, Duration, Effect } from "effect"
import { isoSeconds } from "../domain/Text.ts"
import { emptyTotals, type TotalStats } from "../domain/JobState.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import { Settings } from "../services/Settings.ts"
import { Shutdown } from "../services/Shutdown.ts"
import { addToTotals, runBatch } from "./Batch.ts"
import { retryRequestedDeadLetters } from "./DeadLetters.ts"
import { formatBatchResults, formatRunTotals } from "./Reports.ts"
import { storeOp } from "./StoreOp.ts"

/** The longest wait between two batches that failed on a provider outage (minutes). */
export const MAX_OUTAGE_BACKOFF_MINUTES = 60

/**
 * A batch every `interval` minutes until `maxIterations` (forever when unset). A batch that
 * came back full means there is a backlog: the next one starts at once instead of waiting.
 * A batch stopped by a provider outage that outlasted its retries (`RunFatal.transient`) does
 * not end the run while batches remain: the next one waits `interval` minutes (at least 1),
 * doubled after each further failed batch up to an hour. Prints each batch's results and, at
 * the end, the run's totals.
 */
export const runPeriodic = Effect.fn("runPeriodic")(function*() {
  const settings = yield* Settings
  const shutdown = yield* Shutdown
  const jobs = yield* JobStateStore
  let totals: TotalStats = emptyTotals
  let last: string | null = null
  const printTotals = Effect.suspend(() => Console.log(formatRunTotals(totals, last)))
  let failures = 0
  const loop = Effect.gen(function*() {
    for (let i = 1; settings.maxIterations === undefined || i <= settings.maxIterations; i++) {
      yield* retryRequestedDeadLetters()
      const outcome = yield* Effect.result(runBatch())
      if (outcome._tag === "Failure") {
        const error = outcome.failure
        const last = settings.maxIterations !== undefined && i >= settings.maxIterations
        if (error._tag !== "RunFatal" || error.transient !== true || last) return yield* Effect.fail(error)
        failures++
        const minutes = Math.min(MAX_OUTAGE_BACKOFF_MINUTES, Math.max(1, settings.interval) * 2 ** (failures - 1))
        yield* Effect.logWarning(`batch failed on a provider outage (${error.message}); next batch in ${minutes} minute(s)`)
        yield* Effect.raceFirst(Effect.sleep(Duration.minutes(minutes)), shutdown.await)
        if (yield* shutdown.isRequested) break
        continue
      }
      failures = 0
      const batch = outcome.success
      totals = addToTotals(totals, batch)
      last = batch.last_processed_id
      // One numbering on stdout and in the log: the job's own iteration count from job_state.
      const iteration = (yield* storeOp(jobs.load(settings.jobName)))?.data.iteration ?? i
      yield* Console.log(formatBatchResults(batch, `BATCH RESULTS (iteration ${iteration})`))
      if ((yield* shutdown.isRequested) || (settings.maxIterations !== undefined && i >= settings.maxIterations)) break
      if (batch.records_processed >= settings.batchSize) {
        yield* Effect.logInfo("batch was full: starting the next one at once")
        continue
      }
      yield* Effect.logInfo(`next batch in ${settings.interval} minute(s)`)
      // A stop request ends the wait at once, and is recorded as a stop mid-batch would be.
      yield* Effect.raceFirst(Effect.sleep(Duration.minutes(settings.interval)), shutdown.await)
      if (yield* shutdown.isRequested) {
        const state = yield* storeOp(jobs.load(settings.jobName))
        if (state !== undefined) {
          const now = isoSeconds(new Date(yield* Clock.currentTimeMillis))
          yield* storeOp(jobs.save({ ...state, status: "stopped", last_updated: now }))
        }
        yield* Effect.logInfo("stopped while waiting for the next batch; status stopped")
        break
      }
    }
  })
  yield* loop.pipe(Effect.ensuring(printTotals))
  return totals
})
