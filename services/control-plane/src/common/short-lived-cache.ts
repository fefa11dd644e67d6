/**
 * Per-tenant settings read on every request (allow-list, sign-in policy), kept for a short
 * while: a change made through any control-plane instance applies everywhere within `ttlMs`,
 * and the instance that made it applies it at once (`forget`).
 */
export class ShortLivedCache<T> {
  private readonly entries = new Map<string, { value: T; readAt: number }>();

  constructor(private readonly ttlMs = 2000) {}

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const cached = this.entries.get(key);
    if (cached && Date.now() - cached.readAt < this.ttlMs) return cached.value;
    const value = await load();
    this.entries.set(key, { value, readAt: Date.now() });
    return value;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
