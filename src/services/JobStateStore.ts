import { Context, type Effect } from "effect"
import type { StoreError } from "../domain/Errors.ts"
import type { JobState } from "../domain/JobState.ts"

/** The `job_state` document of one job: checkpoint, status, iteration and statistics. */
export class JobStateStore extends Context.Service<JobStateStore, {
  readonly load: (jobName: string) => Effect.Effect<JobState | undefined, StoreError>
  /** Writes the whole state of `state.job_name` (one document per job). */
  readonly save: (state: JobState) => Effect.Effect<void, StoreError>
  /** Removes the job's state: the next run starts from the first source document. */
  readonly reset: (jobName: string) => Effect.Effect<void, StoreError>
}>()("cpa/JobStateStore") {}
