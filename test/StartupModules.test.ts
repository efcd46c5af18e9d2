import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { cleanEnv, REPO } from "./support/cli.ts"

/**
 * What a CLI start loads. Every run of `cpa` (and every CLI child process of the test suite)
 * pays for the modules it loads: the `@effect/platform-node` index alone brought in Redis and
 * WebSocket clients (~580 modules, 0.45 s of a 0.9 s `--help`), and the Claude adapters load the
 * Anthropic SDK (~270 modules). Heavy packages are imported where they are used, on the paths
 * that use them.
 */
const HEAVY = ["mongodb", "@anthropic-ai/sdk", "echarts", "@redis/client", "ws", "playwright-core"]

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-startup-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The packages under node_modules that `node src/main.ts ...args` loaded, with its exit code. */
const packagesLoadedBy = (args: ReadonlyArray<string>) => {
  const out = path.join(dir, `loaded-${args.length}-${Date.now()}.txt`)
  const r = spawnSync(process.execPath, ["--import", "./test/support/recordLoads.ts", "src/main.ts", ...args], {
    cwd: REPO,
    env: cleanEnv({ CPA_LOADED_MODULES: out }),
    encoding: "utf8"
  })
  const urls = fs.readFileSync(out, "utf8").split("\n")
  const packages = new Set(urls.flatMap((u) => {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)
    return m === null ? [] : [m[1]!]
  }))
  return { code: r.status, stderr: r.stderr, packages, modules: urls.length }
}

describe("what a CLI start loads", () => {
  it("bin/cpa keeps Node's compile cache (in the temp dir unless NODE_COMPILE_CACHE says otherwise)", () => {
    const tmp = fs.mkdtempSync(path.join(dir, "tmp-"))
    const env = cleanEnv({ TMPDIR: tmp })
    delete env["NODE_COMPILE_CACHE"]
    delete env["NODE_DISABLE_COMPILE_CACHE"]
    const r = spawnSync(process.execPath, [path.join(REPO, "bin/cpa"), "--version"], { cwd: REPO, env, encoding: "utf8" })
    assert.strictEqual(r.status, 0, r.stderr)
    const cache = path.join(tmp, "node-compile-cache")
    const entries = fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }) : []
    assert.isAbove(entries.length, 100, "cached modules (effect alone is ~280)")
  })

  it("--help loads none of the heavy packages", () => {
    const r = packagesLoadedBy(["--help"])
    assert.strictEqual(r.code, 0, r.stderr)
    assert.isTrue(r.packages.has("effect"), "the recorder saw the modules")
    assert.deepStrictEqual(HEAVY.filter((p) => r.packages.has(p)), [])
  })

  it("a heuristic run on the in-memory store loads neither the MongoDB driver nor the Anthropic SDK", () => {
    const r = packagesLoadedBy(["--mongo-uri", "memory", "--llm", "heuristic", "--single-batch", "--log-dir", path.join(dir, "logs")])
    assert.strictEqual(r.code, 0, r.stderr)
    assert.deepStrictEqual(HEAVY.filter((p) => r.packages.has(p)), [])
  })

  it("the recorder sees a heavy package when a run needs it", () => {
    // --llm anthropic without ANTHROPIC_API_KEY: the adapter (and so the SDK) is loaded, then
    // the run stops on the missing key (exit 2).
    const r = packagesLoadedBy(["--mongo-uri", "memory", "--llm", "anthropic", "--single-batch", "--log-dir", path.join(dir, "logs")])
    assert.strictEqual(r.code, 2, r.stderr)
    assert.isTrue(r.packages.has("@anthropic-ai/sdk"), [...r.packages].join(" "))
  })
})
