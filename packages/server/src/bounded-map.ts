import { LRUCache } from "lru-cache";

/**
 * How a `BoundedMap` is bounded: by a number of entries, or by the bytes its entries take
 * (`sizeOf(value, key)`, an estimate in bytes that must be a positive integer), or both.
 */
export type Bound<K, V> =
  | number
  | { maxEntries?: number; maxBytes: number; sizeOf: (value: V, key: K) => number }
  | { maxEntries: number; maxBytes?: undefined };

/**
 * What one entry of a byte-bounded map costs the heap besides its value, by estimate: lru-cache's
 * bookkeeping (the Map's hash-table slot and the key, value and link arrays' cells, ≈ 80 bytes) and a
 * string key (a key built as `${tenant}\u0000${id}` holds the concatenation and its parts: ≈ 40 bytes
 * and 2 a character). Every per-device structure adds it to its value's size, so that what its budget
 * counts is what the heap holds (measured side by side in bench/children/structure-sizes.ts).
 */
export function entryOverhead(key: string): number {
  return 120 + 2 * key.length;
}

/**
 * A map that holds at most so many entries, or so many bytes of them, and drops the least recently used
 * ones to make room (lru-cache underneath). Every per-key cache and limiter of the service keeps its
 * entries in one, so that its memory stays bounded whatever keys clients send; the per-device ones are
 * bounded in bytes (`FIREBRICK_CACHE_MEMORY_MIB`, docs/design/fleet.md).
 *
 * A value whose size changes in place must be `set` again for its new size to count.
 *
 * @example
 * const devices = new BoundedMap<string, Device>(10_000);
 * const points = new BoundedMap<string, Entry>({ maxBytes: 48 * 2 ** 20, sizeOf: (entry) => entry.bytes });
 * devices.set(key, device);
 * devices.get(key); // marks it as recently used
 */
export class BoundedMap<K extends {}, V extends {}> {
  readonly #lru: LRUCache<K, V>;
  /** The most entries held (the entry bound; with a byte bound only, the bytes over the smallest entry). */
  readonly max: number;

  constructor(bound: Bound<K, V>) {
    const options = typeof bound === "number" ? { maxEntries: bound } : bound;
    const { maxEntries, maxBytes } = options;
    if (maxEntries !== undefined && (!Number.isInteger(maxEntries) || maxEntries < 1)) {
      throw new RangeError("a BoundedMap holds at least one entry");
    }
    if (maxBytes !== undefined && (!Number.isInteger(maxBytes) || maxBytes < 1)) {
      throw new RangeError("a BoundedMap holds at least one byte");
    }
    this.max = maxEntries ?? maxBytes!;
    const sizeOf = "sizeOf" in options ? options.sizeOf : undefined;
    this.#lru =
      sizeOf && maxBytes !== undefined
        ? new LRUCache<K, V>({
            ...(maxEntries !== undefined && { max: maxEntries }),
            maxSize: maxBytes,
            // lru-cache wants a positive integer; an estimate below one byte still takes room.
            sizeCalculation: (value, key) => Math.max(1, Math.ceil(sizeOf(value, key))),
          })
        : new LRUCache<K, V>({ max: maxEntries! });
  }

  get size(): number {
    return this.#lru.size;
  }

  /** The bytes the entries take, by `sizeOf` (0 for a map bounded by entries only). */
  get bytes(): number {
    return this.#lru.calculatedSize ?? 0;
  }

  /** The value of `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    return this.#lru.get(key);
  }

  /** The value of `key`, without counting this as a use. */
  peek(key: K): V | undefined {
    return this.#lru.peek(key);
  }

  /**
   * Sets `key`, which becomes the most recently used; drops the least recently used ones if full. A
   * value larger than the whole byte bound is not kept (and an older value of `key` is dropped).
   */
  set(key: K, value: V): this {
    // lru-cache measures a value again only when it is another object: the same one, grown, is
    // measured anew by setting it afresh.
    if (this.#lru.maxSize && this.#lru.peek(key) === value) this.#lru.delete(key);
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
    yield* this.#lru.entries();
  }
}
