import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { logFileName, pruneLogs, toLogLevel } from "../src/ops/Logging.ts"

describe("daily log files", () => {
  it("are named periodic_job_YYYYMMDD.log", () => {
    assert.strictEqual(logFileName(new Date("2026-11-25T23:59:59Z")), "periodic_job_20261125.log")
  })

  it("older than the retention are deleted; newer ones and other files are kept", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-logs-"))
    const names = ["periodic_job_20261101.log", "periodic_job_20261110.log", "periodic_job_20261111.log", "periodic_job_20261125.log", "notes.txt"]
    for (const n of names) fs.writeFileSync(path.join(dir, n), "x")
    const removed = pruneLogs(dir, 14, new Date("2026-11-25T12:00:00Z"))
    assert.deepStrictEqual(removed.sort(), ["periodic_job_20261101.log", "periodic_job_20261110.log"])
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["notes.txt", "periodic_job_20261111.log", "periodic_job_20261125.log"])
  })

  it("levels are read in any case, WARNING included", () => {
    assert.strictEqual(toLogLevel("DEBUG"), "Debug")
    assert.strictEqual(toLogLevel("WARNING"), "Warn")
    assert.strictEqual(toLogLevel("error"), "Error")
  })
})
