/**
 * Config resolution shared by services: defaults < config file (JSON) < flags, validated by one TypeBox schema
 * that is also the type, the defaults and the documentation of every key. Errors name the key.
 */
import { readFileSync } from "node:fs";
import type { Static, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

export class ConfigInvalidError extends Error {
  override readonly name = "ConfigInvalidError";
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`invalid config: ${key}: ${reason}`);
  }
}

/** Deep-merges `over` onto `base` (plain objects only; `undefined` in `over` keeps `base`; arrays replace). */
export function mergeDefined(base: Record<string, unknown>, over: object): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      v !== null &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      b !== null &&
      typeof b === "object" &&
      !Array.isArray(b)
        ? mergeDefined(b as Record<string, unknown>, v)
        : v;
  }
  return out;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new ConfigInvalidError(file, (e as Error).message);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new ConfigInvalidError(file, "not a JSON object");
  return json as Record<string, unknown>;
}

/** Defaults < file < flags, the schema's defaults filled in; not yet validated (the inputs are not mutated). */
export function mergeConfig<S extends TSchema>(schema: S, file: object | undefined, flags: object): unknown {
  return Value.Default(schema, Value.Clone(mergeDefined(mergeDefined({}, file ?? {}), flags)));
}

/** Every way `value` breaks `schema`, each as "<JSON pointer>: <reason>" ("/" for the root). */
export function configErrors(schema: TSchema, value: unknown): string[] {
  return [...Value.Errors(schema, value)].map((e) => `${e.path || "/"}: ${e.message}`);
}

/** Merges and validates; throws ConfigInvalidError naming the first bad key (dotted, e.g. `http.port`). */
export function resolveTypedConfig<S extends TSchema>(schema: S, file: object | undefined, flags: object): Static<S> {
  const withDefaults = mergeConfig(schema, file, flags);
  const first = Value.Errors(schema, withDefaults).First();
  if (first !== undefined) {
    const key = first.path.replace(/^\//, "").replaceAll("/", ".") || "(root)";
    throw new ConfigInvalidError(key, first.message);
  }
  return withDefaults as Static<S>;
}
