/**
 * The rule for repeated identical non-retriable errors: K of them in a row mean the cause is
 * not the record (a wrong model name, a malformed request template, a blocked account), so the
 * run stops instead of dead-lettering the whole backlog. Any other outcome breaks the run.
 * Pure: the caller keeps the streak and feeds it one outcome at a time.
 */
export const REPEATED_ERROR_LIMIT = 5

export interface Streak {
  /** The error's identity (tag, reason, status, provider message), or null after a success. */
  readonly key: string | null
  readonly count: number
}

export const noStreak: Streak = { key: null, count: 0 }

/** The streak after one more outcome: `key` for a non-retriable error, null for anything else. */
export const nextStreak = (streak: Streak, key: string | null): Streak =>
  key === null ? noStreak : streak.key === key ? { key, count: streak.count + 1 } : { key, count: 1 }

export const streakStops = (streak: Streak, limit: number = REPEATED_ERROR_LIMIT): boolean => streak.key !== null && streak.count >= limit
