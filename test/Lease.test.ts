import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import type { Lease } from "../src/domain/Lease.ts"
import { describeHolder, withLease } from "../src/programs/Lease.ts"
import type { JobState } from "../src/domain/JobState.ts"
import { makeMemoryJobStateStore, MemoryJobStateStore } from "../src/store/memory/MemoryJobStateStore.ts"
import { JobStateStore } from "../src/services/JobStateStore.ts"
import { Shutdown } from "../src/services/Shutdown.ts"
import { testSettings } from "./support/fixtures.ts"

const JOB = "conversation_performance_analysis"

/**
 * The in-memory store, but asking for the settle as the MongoDB store does (FerretDB can tell
 * two instances they both took the lease): withLease waits min(1 s, ttl / 10) and reads the
 * lease back before it starts.
 */
const settlingStore = (states: Map<string, JobState> = new Map(), leases: Map<string, Lease> = new Map()) =>
  Layer.succeed(JobStateStore, JobStateStore.of({ ...makeMemoryJobStateStore(states, leases), leaseNeedsSettle: true }))

describe("describeHolder", () => {
  it("reads host and pid out of the default instance id", () => {
    assert.strictEqual(
      describeHolder({ owner: "web-1:4242:k3x9q", acquired_at: "2026-11-30T10:00:00.000Z", expires_at: "2026-11-30T10:01:00.000Z" }),
      "web-1:4242:k3x9q (host web-1, pid 4242), holding it since 2026-11-30T10:00:00.000Z"
    )
    assert.strictEqual(
      describeHolder({ owner: "inst-a", acquired_at: "2026-11-30T10:00:00.000Z", expires_at: "2026-11-30T10:01:00.000Z" }),
      "inst-a, holding it since 2026-11-30T10:00:00.000Z"
    )
  })
})

describe("withLease", () => {
  it.effect("a second instance waits for the first to release, then runs", () =>
    Effect.gen(function*() {
      const leases = new Map<string, Lease>()
      const store = settlingStore(new Map(), leases)
      const log: Array<string> = []
      const work = (name: string) =>
        Effect.sync(() => log.push(`${name} start`)).pipe(
          Effect.andThen(Effect.sleep("10 seconds")),
          Effect.andThen(Effect.sync(() => log.push(`${name} end`)))
        )
      const a = yield* withLease(work("a"), { wait: true }).pipe(
        Effect.provide(Layer.mergeAll(store, Shutdown.layer, testSettings({}, { instanceId: "a", leaseTtlMs: 30_000 }))),
        Effect.forkChild
      )
      // The lease is looked at again after a one-second settle before work starts.
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(log, ["a start"])
      const b = yield* withLease(work("b"), { wait: true }).pipe(
        Effect.provide(Layer.mergeAll(store, Shutdown.layer, testSettings({}, { instanceId: "b", leaseTtlMs: 30_000 }))),
        Effect.forkChild
      )
      yield* TestClock.adjust(5_000)
      assert.deepStrictEqual(log, ["a start"])
      assert.strictEqual(leases.get(JOB)?.owner, "a")
      yield* TestClock.adjust(5_000)
      yield* Fiber.join(a)
      assert.deepStrictEqual(log, ["a start", "a end"])
      // b looks again when the lease it saw would expire (t = 30.25 s), finds it free, and
      // starts after the settle (t = 31.25 s).
      yield* TestClock.adjust(20_000)
      assert.deepStrictEqual(log, ["a start", "a end"])
      yield* TestClock.adjust(500)
      assert.deepStrictEqual(log, ["a start", "a end", "b start"])
      yield* TestClock.adjust(10_000)
      yield* Fiber.join(b)
      assert.deepStrictEqual(log, ["a start", "a end", "b start", "b end"])
      assert.isUndefined(leases.get(JOB))
    }))

  it.effect("takes over an expired lease of an instance that died, and refuses without wait", () =>
    Effect.gen(function*() {
      const leases = new Map<string, Lease>([[JOB, { owner: "dead", acquired_at: "1970-01-01T00:00:00.000Z", expires_at: "1970-01-01T00:01:00.000Z" }]])
      const store = settlingStore(new Map(), leases)
      const refused = yield* withLease(Effect.void, { wait: false }).pipe(
        Effect.provide(Layer.mergeAll(store, Shutdown.layer, testSettings({}, { instanceId: "me" }))),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(refused))
      assert.include(String(Exit.isFailure(refused) ? refused.cause : ""), "dead")
      assert.include(String(Exit.isFailure(refused) ? refused.cause : ""), "LeaseHeld", "a held lease is its own error (exit 3), not a failed run")
      let ran = false
      const fiber = yield* withLease(Effect.sync(() => (ran = true)), { wait: true }).pipe(
        Effect.provide(Layer.mergeAll(store, Shutdown.layer, testSettings({}, { instanceId: "me" }))),
        Effect.forkChild
      )
      yield* TestClock.adjust(59_000)
      assert.isFalse(ran)
      yield* TestClock.adjust(1_500)
      assert.isFalse(ran, "not before the settle")
      yield* TestClock.adjust(500)
      yield* Fiber.join(fiber)
      assert.isTrue(ran)
    }))

  it.effect("renews while running and stops the program when the lease is lost", () =>
    Effect.gen(function*() {
      const leases = new Map<string, Lease>()
      const store = settlingStore(new Map(), leases)
      const fiber = yield* withLease(Effect.never, { wait: true }).pipe(
        Effect.provide(Layer.mergeAll(store, Shutdown.layer, testSettings({}, { instanceId: "me", leaseTtlMs: 30_000 }))),
        Effect.forkChild
      )
      yield* TestClock.adjust(1_000)
      const first = leases.get(JOB)!.expires_at
      yield* TestClock.adjust(10_000)
      assert.isAbove(Date.parse(leases.get(JOB)!.expires_at), Date.parse(first))
      leases.set(JOB, { ...leases.get(JOB)!, owner: "thief" })
      yield* TestClock.adjust(10_000)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "lost the lease")
      assert.strictEqual(leases.get(JOB)?.owner, "thief")
    }))

  it.effect("on a store whose lease is taken atomically (in memory), the program starts at once, with no settle", () =>
    Effect.gen(function*() {
      const leases = new Map<string, Lease>()
      let ran = false
      const fiber = yield* withLease(Effect.sync(() => (ran = true)), { wait: false }).pipe(
        Effect.provide(Layer.mergeAll(MemoryJobStateStore.layer(new Map(), leases), Shutdown.layer, testSettings({}, { instanceId: "me", leaseTtlMs: 30_000 }))),
        Effect.forkChild
      )
      // No clock time passes: the settling store would still be sleeping its 1 s here.
      const exit = yield* Fiber.join(fiber).pipe(Effect.exit)
      assert.isTrue(Exit.isSuccess(exit))
      assert.isTrue(ran)
      assert.isUndefined(leases.get(JOB), "released after the program")
    }))

  it.effect("a settling store does not start the program before the settle", () =>
    Effect.gen(function*() {
      let ran = false
      const fiber = yield* withLease(Effect.sync(() => (ran = true)), { wait: false }).pipe(
        Effect.provide(Layer.mergeAll(settlingStore(), Shutdown.layer, testSettings({}, { instanceId: "me", leaseTtlMs: 30_000 }))),
        Effect.forkChild
      )
      yield* TestClock.adjust(999)
      assert.isFalse(ran, "before the settle")
      yield* TestClock.adjust(1)
      yield* Fiber.join(fiber)
      assert.isTrue(ran)
    }))
})
