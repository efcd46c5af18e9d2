/**
 * Tracks which records of a batch are finished, when they finish out of order.
 *
 * Records are registered in `_id` order as they are read; the checkpoint is the highest
 * registered id such that it and every id before it are finished (persisted or
 * dead-lettered). A record still in flight holds the checkpoint back, so a crash never
 * skips it: the next run starts right after the checkpoint and redoes only unfinished work.
 */
export class CheckpointTracker {
  private readonly pending: Array<string> = []
  private head = 0
  private readonly finished = new Set<string>()
  #current: string | null

  constructor(start: string | null) {
    this.#current = start
  }

  /** The checkpoint: every record up to and including it is finished. */
  get current(): string | null {
    return this.#current
  }

  /** Records registered and not yet finished (or finished behind an unfinished one). */
  get outstanding(): number {
    return this.pending.length - this.head
  }

  register(id: string): void {
    this.pending.push(id)
  }

  /** Marks a record finished; returns true when the checkpoint moved. */
  finish(id: string): boolean {
    this.finished.add(id)
    let moved = false
    while (this.head < this.pending.length && this.finished.has(this.pending[this.head]!)) {
      const next = this.pending[this.head]!
      this.finished.delete(next)
      this.#current = next
      this.head++
      moved = true
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head)
      this.head = 0
    }
    return moved
  }
}
