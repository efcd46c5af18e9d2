import { Effect, Layer } from "effect"
import type { JobState } from "../domain/JobState.ts"
import { JobStateStore } from "./JobStateStore.ts"

export const makeMemoryJobStateStore = (states: Map<string, JobState> = new Map()): JobStateStore["Service"] =>
  JobStateStore.of({
    load: (jobName) => Effect.sync(() => states.get(jobName)),
    save: (state) =>
      Effect.sync(() => {
        states.set(state.job_name, state)
      }),
    reset: (jobName) =>
      Effect.sync(() => {
        states.delete(jobName)
      })
  })

export class MemoryJobStateStore {
  static readonly layer = (states: Map<string, JobState> = new Map()) =>
    Layer.succeed(JobStateStore, makeMemoryJobStateStore(states))
}
