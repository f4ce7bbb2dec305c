/**
 * Waiting items by client, served round-robin: one client's backlog never delays another client's
 * next item by more than one turn per client, however long that backlog is.
 */
export class FairQueue<T> {
  private readonly byClient = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  sizeOf(client: string): number {
    return this.byClient.get(client)?.length ?? 0;
  }

  push(client: string, item: T): void {
    const items = this.byClient.get(client);
    if (items === undefined) this.byClient.set(client, [item]);
    else items.push(item);
    this.count++;
  }

  /** The next client's oldest item; that client then goes to the back of the turn order. */
  shift(): T | undefined {
    for (const [client, items] of this.byClient) {
      const item = items.shift() as T;
      this.count--;
      this.byClient.delete(client);
      if (items.length > 0) this.byClient.set(client, items);
      return item;
    }
    return undefined;
  }

  remove(client: string, item: T): boolean {
    const items = this.byClient.get(client);
    const i = items?.indexOf(item) ?? -1;
    if (items === undefined || i < 0) return false;
    items.splice(i, 1);
    this.count--;
    if (items.length === 0) this.byClient.delete(client);
    return true;
  }

  drain(): T[] {
    const all = [...this.byClient.values()].flat();
    this.byClient.clear();
    this.count = 0;
    return all;
  }
}
