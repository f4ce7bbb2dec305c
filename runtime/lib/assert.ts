/**
 * Invariant checks. A failed assertion means the program's own state is broken, so nothing
 * catches it except the process top level (consensus halts rather than sign on broken state).
 */
export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new AssertionError(why);
}
