import { assert, describe, it } from "vitest"
import { parseCounts } from "../bench/testSuite.ts"

describe("bench section tests: reading a vitest run's counts", () => {
  it("takes passed and failed from the Tests line, colours and all", () => {
    const green = "\x1b[2m      Tests \x1b[22m \x1b[1m\x1b[32m524 passed\x1b[39m\x1b[22m\x1b[90m (524)\x1b[39m\n"
    assert.deepStrictEqual(parseCounts(` Test Files  44 passed (44)\n${green}   Duration 55.6s\n`), { passed: 524, failed: 0 })
    const red = "      Tests  1 failed | 523 passed (524)\n"
    assert.deepStrictEqual(parseCounts(`  Test Files  1 failed | 43 passed (44)\n${red}`), { passed: 523, failed: 1 })
  })

  it("says it does not know when the run printed no Tests line", () => {
    assert.deepStrictEqual(parseCounts("Error: No MongoDB-compatible server\n"), { passed: undefined, failed: undefined })
  })
})
