import * as path from "node:path"
import { Effect, Layer, References } from "effect"
import { HeuristicAnalyzer } from "../../src/analyzer/heuristic/HeuristicAnalyzer.ts"
import { runBatch } from "../../src/programs/Batch.ts"
import { loadSourceFile } from "../../src/store/memory/Samples.ts"
import { memoryWorld, REPO_ROOT, testSettings, runServices } from "./fixtures.ts"

/**
 * The demo's data in one process: the bundled samples in the in-memory stores, analyzed by the
 * heuristic analyzer (one batch of all of them), with settings from the defaults.
 */
export const demoWorld = () =>
  Effect.gen(function*() {
    const world = memoryWorld(loadSourceFile(path.join(REPO_ROOT, "samples/sentiment_analysis.json")))
    const layer = Layer.mergeAll(world.layer, testSettings({ batchSize: 1000 }))
    // its dead letters (the samples' malformed documents) are expected: no warnings in the test output
    yield* runBatch().pipe(Effect.provide(Layer.mergeAll(layer, HeuristicAnalyzer.layer, runServices)), Effect.provideService(References.MinimumLogLevel, "Error"))
    return { world, layer }
  })
