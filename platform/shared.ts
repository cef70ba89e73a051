/**
 * A loader whose answer is shared: every call within `ttl_ms` of the load that answered it gets the same promise.
 * For metrics collected at one scrape from one snapshot, so a scrape costs one read however many gauges ask.
 */
export function shared<T>(load: () => Promise<T>, ttl_ms: number): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (!cached || Date.now() - cached.at > ttl_ms) cached = { at: Date.now(), value: load() };
    return cached.value;
  };
}
