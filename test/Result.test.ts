import { assert, describe, it } from "@effect/vitest"
import { isoSeconds } from "../src/domain/Text.ts"
import { prng } from "./support/fixtures.ts"

describe("isoSeconds", () => {
  const reference = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z")

  it("is toISOString without the milliseconds, for any instant", () => {
    const rand = prng(17)
    const edges = [0, -1, 999, 1_704_103_200_000, 253_402_300_799_999, 253_402_300_800_000, -30_610_224_000_000, -30_610_224_000_001, -8.64e15, 8.64e15]
    const random = Array.from({ length: 20_000 }, () => Math.floor((rand() - 0.3) * 4e14))
    for (const ms of [...edges, ...random]) assert.strictEqual(isoSeconds(new Date(ms)), reference(new Date(ms)), String(ms))
    assert.strictEqual(isoSeconds(new Date("2024-01-01T10:05:09.999Z")), "2024-01-01T10:05:09Z")
  })
})
