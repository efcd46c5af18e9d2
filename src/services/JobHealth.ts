import { Context } from "effect"

/** What `/ready` reports besides the store's ping: how the last batch ended. */
export interface JobHealthState {
  /** Set when a batch ended with a run-fatal error; cleared by the next successful batch. */
  fatal: string | undefined
  /** Unix milliseconds of the last batch that completed. */
  lastSuccessAt: number | undefined
}

export const JobHealth = Context.Reference<JobHealthState>("cpa/JobHealth", {
  defaultValue: () => ({ fatal: undefined, lastSuccessAt: undefined })
})
