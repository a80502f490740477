import { LruMap } from "toad-cache";

/**
 * A map that holds at most `max` entries and drops the least recently used one to make room
 * (toad-cache's LRU underneath). Every per-key cache and limiter of the service keeps its entries in
 * one, so that its memory stays bounded whatever keys clients send.
 *
 * @example
 * const devices = new BoundedMap<string, Device>(10_000);
 * devices.set(key, device);
 * devices.get(key); // marks it as recently used
 */
export class BoundedMap<K, V> {
  readonly #lru: LruMap<V>;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError("a BoundedMap holds at least one entry");
    this.#lru = new LruMap<V>(max);
  }

  get size(): number {
    return this.#lru.size;
  }

  /** The value of `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    return this.#lru.get(key);
  }

  /** The value of `key`, without counting this as a use. */
  peek(key: K): V | undefined {
    return this.#lru.items.get(key)?.value;
  }

  /** Sets `key`, which becomes the most recently used; drops the least recently used one if full. */
  set(key: K, value: V): this {
    this.#lru.set(key, value);
    return this;
  }

  delete(key: K): void {
    this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
  }

  /** Every entry (in no particular order); reading them counts as no use. */
  *entries(): IterableIterator<[K, V]> {
    for (const [key, item] of this.#lru.items) yield [key as K, item.value];
  }
}
