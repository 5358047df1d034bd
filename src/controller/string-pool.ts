// Thousands of cached objects repeat the same strings: kinds, API versions,
// condition types and messages, tenant IDs, timestamps of one second. JSON.parse
// gives every occurrence its own copy; at 5000 integrations the copies were a
// sixth of the heap. Interning makes the cache hold one of each.
//
// The pool is bounded by two generations: a string not seen again within one
// generation is forgotten (the objects holding it keep it), so values that churn,
// such as resourceVersions, cannot grow it. What repeats (kinds, tenants, reasons,
// the timestamps of one second) is seen again within a few thousand strings; a
// generation of 20,000 held mostly names seen once, 1 MB of map at 5000 integrations.

export class StringPool {
  readonly #maxEntries: number;
  readonly #maxLength: number;
  #current = new Map<string, string>();
  #previous = new Map<string, string>();

  constructor({ maxEntries = 4_096, maxLength = 256 } = {}) {
    this.#maxEntries = maxEntries;
    this.#maxLength = maxLength;
  }

  intern(value: string): string {
    if (value.length > this.#maxLength) return value;
    const current = this.#current.get(value);
    if (current !== undefined) return current;
    const kept = this.#previous.get(value) ?? value;
    if (this.#current.size >= this.#maxEntries) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    this.#current.set(kept, kept);
    return kept;
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}

// Unique per object or per write: interning them would only churn the pool.
const uniqueFields = new Set(['uid', 'resourceVersion']);

/** Replaces, in place, every string in a parsed JSON tree by its pooled copy. */
export function internStrings(tree: unknown, pool: StringPool): void {
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) {
      const item = tree[i];
      if (typeof item === 'string') tree[i] = pool.intern(item);
      else if (item !== null && typeof item === 'object') internStrings(item, pool);
    }
    return;
  }
  if (tree === null || typeof tree !== 'object') return;
  const record = tree as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    if (typeof value === 'string') {
      if (!uniqueFields.has(key)) record[key] = pool.intern(value);
    } else if (value !== null && typeof value === 'object') internStrings(value, pool);
  }
}
