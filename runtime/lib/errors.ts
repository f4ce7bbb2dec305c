/**
 * Base class for every typed error in Azora: a bounded `code` plus structured data,
 * after Lodestar's `LodestarError`. Consumers switch on `err.type.code`, never on messages.
 */
export class AzoraError<T extends { code: string }> extends Error {
  readonly type: T;

  constructor(type: T, message?: string) {
    super(message ?? type.code);
    this.type = type;
    this.name = new.target.name;
  }

  get code(): T["code"] {
    return this.type.code;
  }
}
