/**
 * The Ethereum execution-apis OpenRPC specification, as test fixtures (test/fixtures/execution-apis/,
 * sources and versions in its SOURCE.md): the npm-published assembled spec plus the newer changes and
 * the methods it leaves out. `resultValidator(method)` checks an answer against the method's result
 * schema (JSON Schema 2019-09, as the spec's `unevaluatedProperties` needs).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2019, type ErrorObject, type ValidateFunction } from "ajv/dist/2019.js";
import { parse } from "yaml";

const DIR = fileURLToPath(new URL("../fixtures/execution-apis/", import.meta.url));

interface OpenRPCMethod {
  name: string;
  params: { name: string; required?: boolean; schema: unknown }[];
  result: { name: string; schema: unknown };
}

interface Spec {
  methods: Map<string, OpenRPCMethod>;
  schemas: Record<string, unknown>;
}

/**
 * Azora's block headers carry its BFT fields beside Ethereum's (README "Architecture"); the spec's
 * Block allows no extra member, so these — and only these — are declared as extensions.
 */
const AZORA_BLOCK_EXTENSIONS = ["proposer", "validatorsHash", "lastCommitHash", "evidenceHash"];

let cached: Spec | undefined;

export function loadSpec(): Spec {
  if (cached !== undefined) return cached;
  const base = JSON.parse(readFileSync(`${DIR}metamask-api-specs-0.15.0.openrpc.json`, "utf8")) as {
    methods: OpenRPCMethod[];
    components: { schemas: Record<string, unknown> };
  };
  const overlay = parse(readFileSync(`${DIR}current.yaml`, "utf8")) as {
    schemas: Record<string, unknown>;
    methods: OpenRPCMethod[];
  };
  const schemas = { ...base.components.schemas, ...overlay.schemas };
  const block = structuredClone(schemas.Block) as { properties: Record<string, unknown>; required: string[] };
  for (const k of AZORA_BLOCK_EXTENSIONS) block.properties[k] = { $ref: "#/components/schemas/hash32" };
  block.properties.proposer = { $ref: "#/components/schemas/address" };
  schemas.Block = block;
  // eth_simulateV1's block: the spec writes allOf [Block, {calls}], which cannot hold while Block forbids
  // additional properties; the same thing as one schema.
  const simulated = structuredClone(block) as { properties: Record<string, unknown>; required: string[] };
  simulated.properties.calls = { $ref: "#/components/schemas/CallResults" };
  simulated.required = [...simulated.required, "calls"];
  schemas.EthSimulateBlockResult = simulated;
  const methods = new Map<string, OpenRPCMethod>();
  for (const m of [...base.methods, ...overlay.methods]) {
    if (m.name.startsWith("eth_") || m.name.startsWith("debug_") || m.name === "web3_clientVersion")
      methods.set(m.name, m);
  }
  cached = { methods, schemas };
  return cached;
}

const validators = new Map<string, ValidateFunction>();
let ajv: Ajv2019 | undefined;

function compiler(spec: Spec): Ajv2019 {
  if (ajv !== undefined) return ajv;
  ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addSchema({ $id: "spec", components: { schemas: spec.schemas } });
  return ajv;
}

/** Rewrites `#/components/...` refs to the registered spec document. */
function rebase(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"spec#/components/'));
}

export function resultValidator(method: string): ValidateFunction {
  let v = validators.get(method);
  if (v === undefined) {
    const spec = loadSpec();
    const m = spec.methods.get(method);
    if (m === undefined) throw new Error(`${method} is not in the execution-apis snapshot`);
    v = compiler(spec).compile(rebase(m.result.schema) as object);
    validators.set(method, v);
  }
  return v;
}

/** The schema errors of `value` as `method`'s result, readable; empty when it conforms. */
export function resultErrors(method: string, value: unknown): string[] {
  const v = resultValidator(method);
  if (v(value)) return [];
  return (v.errors ?? [])
    .slice(0, 8)
    .map((e: ErrorObject) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
}
