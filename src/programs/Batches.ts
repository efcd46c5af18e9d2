import { Console, Effect } from "effect"
import { RunFatal } from "../domain/Errors.ts"
import type { ApiBatch } from "../domain/JobState.ts"
import { BatchProvider, type BatchInfo } from "../services/BatchProvider.ts"
import { JobStateStore } from "../services/JobStateStore.ts"
import { Settings } from "../services/Settings.ts"
import { storeOp } from "./StoreOp.ts"

/** `cpa batches list|show|cancel`: the operator's view of the job's Message Batches. */

const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}… ` : s.padEnd(n + 1))
const failed = (what: string) => (e: { readonly message: string }) => new RunFatal({ message: `Message Batches API: ${what}: ${e.message}` })

const row = (b: BatchInfo, mine: ReadonlyMap<string, ApiBatch>) =>
  `${pad(b.id, 34)}${pad(b.status, 12)}${pad(b.createdAt, 25)}${pad(String(b.counts.processing), 10)}${pad(String(b.counts.succeeded), 9)}${
    pad(String(b.counts.errored), 7)
  }${pad(String(b.counts.canceled), 8)}${pad(String(b.counts.expired), 7)}${mine.has(b.id) ? "this job (in flight)" : ""}`

const jobBatches = Effect.gen(function*() {
  const settings = yield* Settings
  const jobs = yield* JobStateStore
  const state = yield* storeOp(jobs.load(settings.jobName))
  return new Map((state?.batch_mode?.batches ?? []).flatMap((b) => (b.batch_id === null ? [] : [[b.batch_id, b] as const])))
})

export const listBatches = Effect.fn("listBatches")(function*(options: { readonly limit: number; readonly format: "text" | "json" }) {
  const provider = yield* BatchProvider
  const batches = yield* provider.list({ limit: options.limit }).pipe(Effect.mapError(failed("list")))
  const mine = yield* jobBatches
  if (options.format === "json") {
    yield* Console.log(JSON.stringify(batches.map((b) => ({ ...b, in_flight_for_this_job: mine.has(b.id) })), null, 2))
    return
  }
  yield* Console.log(
    [
      `${pad("BATCH ID", 34)}${pad("STATUS", 12)}${pad("CREATED", 25)}${pad("PROCESSING", 10)}${pad("SUCCEEDED", 9)}${pad("ERRORED", 7)}${
        pad("CANCELED", 8)
      }${pad("EXPIRED", 7)}`,
      ...batches.map((b) => row(b, mine))
    ].join("\n")
  )
})

export const showBatch = Effect.fn("showBatch")(function*(id: string, format: "text" | "json") {
  const provider = yield* BatchProvider
  const info = yield* provider.retrieve(id).pipe(Effect.mapError(failed(`retrieve ${id}`)))
  const job = (yield* jobBatches).get(id)
  if (format === "json") {
    yield* Console.log(JSON.stringify({ batch: info, job: job ?? null }, null, 2))
    return
  }
  yield* Console.log(
    [
      `Batch: ${info.id}`,
      `Status: ${info.status}`,
      `Created: ${info.createdAt}`,
      `Ended: ${info.endedAt ?? "not yet"}`,
      `Expires: ${info.expiresAt ?? "unknown"}`,
      `Requests: processing ${info.counts.processing}, succeeded ${info.counts.succeeded}, errored ${info.counts.errored}, canceled ${info.counts.canceled}, expired ${info.counts.expired}`,
      job === undefined
        ? "This job: not in flight for it"
        : `This job: ${job.count} requests, ${job.kind === "range" ? `records after ${job.after ?? "the start"} through ${job.last_id}` : "records sent again"}, model ${job.model}, intent ${job.intent_at}`
    ].join("\n")
  )
})

/**
 * Cancels a batch. Its unprocessed requests end `canceled` and, when the job collects the batch,
 * go back into the queue (never dead-lettered): stop the job or switch it to online mode to keep
 * them from being sent again.
 */
export const cancelBatch = Effect.fn("cancelBatch")(function*(id: string, format: "text" | "json") {
  const provider = yield* BatchProvider
  const info = yield* provider.cancel(id).pipe(Effect.mapError(failed(`cancel ${id}`)))
  if (format === "json") yield* Console.log(JSON.stringify(info, null, 2))
  else {
    yield* Console.log(
      `Batch ${info.id}: ${info.status}. Requests not yet processed end canceled; the job puts them back into its queue when it collects the batch (stop it, or switch to --llm-mode online, to keep them from being sent again).`
    )
  }
})
