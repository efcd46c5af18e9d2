import { Result } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import YAML from "yaml"
import { loadAgentConfig } from "../src/config/Rubric.ts"
import { ConfigError } from "../src/domain/Errors.ts"
import { CLARITY_SUBFACTORS, EMPATHY_SUBFACTORS } from "../src/domain/Kpi.ts"
import { SCORED_KPIS } from "../src/domain/Rubric.ts"
import { cleanEnv, runCli } from "./support/cli.ts"
import { REPO_ROOT } from "./support/fixtures.ts"

const SHIPPED = "config/agent_performance_config.yaml"
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cpa-rubric-"))
const shipped = () => YAML.parse(fs.readFileSync(path.join(REPO_ROOT, SHIPPED), "utf8"))

let n = 0
/** Writes the shipped rubric, changed by `edit`, to a fresh file and returns its path. */
const rubricFile = (edit: (doc: any) => unknown): string => {
  const doc = shipped()
  const file = path.join(tmp, `rubric-${++n}.yaml`)
  fs.writeFileSync(file, YAML.stringify(edit(doc) ?? doc))
  return file
}

const errorOf = (file: string): string => {
  const r = loadAgentConfig(file)
  if (Result.isSuccess(r)) throw new Error("expected a ConfigError")
  const e = r.failure
  assert.instanceOf(e, ConfigError)
  assert.strictEqual(e.setting, "rubric.agent_config")
  assert.notInclude(e.message, "\n")
  return e.message
}

describe("loadAgentConfig", () => {
  it("decodes the shipped rubric: every sub-factor and scored KPI, weights summing to 1", () => {
    const { rubric, weights } = Result.getOrThrow(loadAgentConfig(SHIPPED, REPO_ROOT))
    assert.deepStrictEqual(Object.keys(rubric.empathy_subfactors), [...EMPATHY_SUBFACTORS])
    assert.deepStrictEqual(Object.keys(rubric.clarity_subfactors), [...CLARITY_SUBFACTORS])
    assert.deepStrictEqual(Object.keys(rubric.kpis).sort(), [...SCORED_KPIS].sort())
    assert.strictEqual(SCORED_KPIS.length, 12)
    const sum = (o: Record<string, number>) => Object.values(o).reduce((x, y) => x + y, 0)
    assert.closeTo(sum(weights.empathy), 1, 1e-9)
    assert.closeTo(sum(weights.clarity), 1, 1e-9)
    assert.strictEqual(weights.empathy.emotion_recognition, 0.2)
    assert.strictEqual(rubric.kpis.first_response_accuracy.high, "90-100: the first reply addresses the issue correctly.")
  })

  it("rejects an unknown key and suggests the closest known one", () => {
    const file = rubricFile((d) => {
      d.empathy_subfactors.emotion_recognition.descripton = "typo"
    })
    assert.strictEqual(
      errorOf(file),
      `rubric.agent_config: ${file}: empathy_subfactors.emotion_recognition.descripton: unknown key (did you mean description?)`
    )
  })

  it("lists the known keys when nothing is close", () => {
    const file = rubricFile((d) => {
      d.kpis.csat_resolution.notes = "x"
    })
    assert.strictEqual(
      errorOf(file),
      `rubric.agent_config: ${file}: kpis.csat_resolution.notes: unknown key (expected one of description, low, middle, high)`
    )
  })

  it("rejects a missing key", () => {
    const file = rubricFile((d) => {
      delete d.kpis.first_response_accuracy.high
    })
    assert.strictEqual(errorOf(file), `rubric.agent_config: ${file}: kpis.first_response_accuracy.high: missing`)
  })

  it("rejects a missing KPI", () => {
    const file = rubricFile((d) => {
      delete d.kpis.escalation_rate
    })
    assert.strictEqual(errorOf(file), `rubric.agent_config: ${file}: kpis.escalation_rate: missing`)
  })

  it("rejects a misspelt section", () => {
    const file = rubricFile(({ empathy_subfactors, ...rest }) => ({ empathy_subfactor: empathy_subfactors, ...rest }))
    assert.strictEqual(
      errorOf(file),
      `rubric.agent_config: ${file}: empathy_subfactor: unknown key (did you mean empathy_subfactors?)`
    )
  })

  it("rejects a weight out of [0, 1]", () => {
    const file = rubricFile((d) => {
      d.clarity_subfactors.coherence.weight = 1.5
    })
    assert.strictEqual(
      errorOf(file),
      `rubric.agent_config: ${file}: clarity_subfactors.coherence.weight: expected a value between 0 and 1, got 1.5`
    )
  })

  it("rejects weights that do not sum to 1", () => {
    const file = rubricFile((d) => {
      d.empathy_subfactors.emotion_recognition.weight = 0.3
    })
    assert.strictEqual(errorOf(file), `rubric.agent_config: ${file}: empathy_subfactors: the weights must sum to 1, they sum to 1.1`)
  })

  it("rejects an empty or non-text anchor, which would leave a hole in the prompt", () => {
    const empty = rubricFile((d) => {
      d.kpis.sentiment_shift.low = "  "
    })
    assert.strictEqual(
      errorOf(empty),
      `rubric.agent_config: ${empty}: kpis.sentiment_shift.low: expected a non-blank text, got ""`
    )
    const number = rubricFile((d) => {
      d.kpis.sentiment_shift.low = 5
    })
    assert.strictEqual(errorOf(number), `rubric.agent_config: ${number}: kpis.sentiment_shift.low: expected string, got 5`)
  })

  it("rejects a YAML syntax error, naming the file and the line", () => {
    const file = path.join(tmp, "broken.yaml")
    fs.writeFileSync(file, "kpis:\n  csat_resolution: [1, 2\n")
    const message = errorOf(file)
    assert.match(message, /^rubric\.agent_config: .*broken\.yaml is not valid YAML at line 2: .+: "csat_resolution: \[1, 2"$/)
  })
})

describe("CLI", () => {
  it("a bad rubric exits 2 with one line on stderr and nothing on stdout", async () => {
    const file = rubricFile((d) => {
      d.kpis.csat_resolution.hihg = d.kpis.csat_resolution.high
    })
    const r = await runCli(["--mongo-uri", "memory", "--llm", "heuristic", "--log-dir", tmp, "--single-batch"], {
      env: cleanEnv({ CPA_AGENT_CONFIG: file })
    })
    assert.strictEqual(r.code, 2, r.stderr)
    assert.strictEqual(r.stdout, "")
    const lines = r.stderr.split("\n").filter((l) => l.trim() !== "")
    assert.deepStrictEqual(lines, [`error: rubric.agent_config: ${file}: kpis.csat_resolution.hihg: unknown key (did you mean high?)`])
  })
})
