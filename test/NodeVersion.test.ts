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
      assert.match(command, /^node (--max-old-space-size=512 bin\/cpa|tools\/check-node\.cjs)\b/, `npm run ${name}`)
    }
  })

  it("every launcher of the CLI caps V8's old space at the same 512 MB the bench measures with", async () => {
    const { CLI_NODE_FLAGS } = await import("../bench/support.ts")
    assert.deepStrictEqual(CLI_NODE_FLAGS, ["--max-old-space-size=512"])
    const flag = CLI_NODE_FLAGS[0]!
    const read = (file: string) => fs.readFileSync(path.join(REPO, file), "utf8")
    assert.strictEqual(read("bin/cpa").split("\n")[0], `#!/usr/bin/env -S node ${flag}`)
    assert.include(read("Dockerfile"), `ENTRYPOINT ["node", "${flag}", "src/main.ts"]`)
    assert.include(read("deploy/cpa.service"), `ExecStart=/usr/bin/node ${flag} src/main.ts`)
    const scripts: Record<string, string> = JSON.parse(read("package.json")).scripts
    for (const name of ["start", "demo"]) assert.match(scripts[name]!, new RegExp(`^node ${flag} bin/cpa`), `npm run ${name}`)
  })
})
