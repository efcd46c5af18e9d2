import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { REPO } from "./support/cli.ts"

/** Makes the child believe it is an older Node, before bin/cpa's first line runs. */
const pretend = (version: string) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cpa-node-")), "pretend.cjs")
  fs.writeFileSync(file, `Object.defineProperty(process, "versions", { value: { ...process.versions, node: ${JSON.stringify(version)} } })\n`)
  return file
}

describe("the Node.js version check", () => {
  it.each(["20.20.2", "22.18.0"])("bin/cpa on Node %s: one line naming the version needed and how to get it, exit 2", (version) => {
    const r = spawnSync(process.execPath, ["--require", pretend(version), path.join(REPO, "bin/cpa"), "--version"], { encoding: "utf8" })
    assert.strictEqual(r.status, 2)
    assert.strictEqual(r.stdout, "")
    const lines = r.stderr.trimEnd().split("\n")
    assert.strictEqual(lines.length, 1, r.stderr)
    assert.include(lines[0], ">= 22.19")
    assert.include(lines[0], "npm install")
  })

  it("bin/cpa on this Node runs the CLI", () => {
    assert.match(execFileSync(process.execPath, [path.join(REPO, "bin/cpa"), "--version"], { encoding: "utf8" }), /^cpa v\d+\.\d+\.\d+/)
  })

  it("every npm script that runs the code checks the Node version first", () => {
    const scripts: Record<string, string> = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).scripts
    for (const [name, command] of Object.entries(scripts)) {
      assert.match(command, /^node (bin\/cpa|tools\/check-node\.cjs)\b/, `npm run ${name}`)
    }
  })
})
