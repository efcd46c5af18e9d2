import { Duration, Effect, Layer } from "effect"
import { runBatch } from "../src/programs/Batch.ts"
import { Analyzer } from "../src/services/Analyzer.ts"
import { MemoryConversationStore, makeMemoryStoreState } from "../src/store/memory/MemoryConversationStore.ts"
import { MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { fixedScores, records, runServices } from "../test/support/fixtures.ts"
import { benchSettings, log, quiet, round, timed } from "./support.ts"

export interface ScalingRow {
  readonly concurrency: number
  readonly records: number
  readonly seconds: number
  readonly records_per_s: number
  readonly speedup: number
  /** speedup / concurrency: 1 is perfect. */
  readonly efficiency: number
  /** What a perfectly parallel run would do: concurrency / analyzer latency. */
  readonly ideal_records_per_s: number
}

/** An analyzer that takes `ms` of real time per conversation, standing in for the model's latency. */
export const sleepingAnalyzer = (ms: number) =>
  Layer.succeed(
    Analyzer,
    Analyzer.of({
      provider: "bench-sleep",
      analyze: () => Effect.sleep(Duration.millis(ms)).pipe(Effect.as({ scores: fixedScores, model: "bench-sleep", usage: undefined }))
    })
  )

/**
 * One batch of `size` records through the real `runBatch` with the in-memory stores, for each
 * concurrency: the analyzer is the only thing that takes time, so throughput should grow with
 * the concurrency until the pipeline's own work shows.
 */
export const runScaling = async (options: {
  readonly records: number
  readonly analyzerMs: number
  readonly concurrencies: ReadonlyArray<number>
}): Promise<Array<ScalingRow>> => {
  const rows: Array<ScalingRow> = []
  let base: number | undefined
  for (const concurrency of options.concurrencies) {
    log(`scaling: ${options.records} records, analyzer ${options.analyzerMs} ms, concurrency ${concurrency}`)
    const store = makeMemoryStoreState(records(options.records))
    const { layer: settings } = benchSettings({ batchSize: options.records, concurrency, mongoUri: "memory" })
    const layer = Layer.mergeAll(runServices, MemoryConversationStore.layer(store), MemoryJobStateStore.layer(), sleepingAnalyzer(options.analyzerMs), settings)
    const { value: batch, seconds } = await timed(() => Effect.runPromise(runBatch().pipe(Effect.provide(layer), quiet)))
    if (batch.records_persisted !== options.records || store.results.size !== options.records) {
      throw new Error(`scaling run at concurrency ${concurrency} persisted ${store.results.size} of ${options.records} records`)
    }
    const rate = options.records / seconds
    base ??= rate
    rows.push({
      concurrency,
      records: options.records,
      seconds: round(seconds, 3),
      records_per_s: round(rate, 2),
      speedup: round(rate / base, 2),
      efficiency: round(rate / base / concurrency, 3),
      ideal_records_per_s: round(concurrency * 1000 / options.analyzerMs, 2)
    })
  }
  return rows
}
