interface Entry {
  token: string;
  expiresAt: number;
}

/** Bearer tokens by realm, service, scopes and account, kept until shortly before they expire. */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #marginMs: number;

  constructor(marginMs = 10_000) {
    this.#marginMs = marginMs;
  }

  static key(
    realm: string,
    service: string | undefined,
    scopes: readonly string[],
    account?: string,
  ): string {
    return JSON.stringify([realm, service ?? '', [...scopes].sort(), account ?? '']);
  }

  get(key: string, now = Date.now()): string | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt - this.#marginMs <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.token;
  }

  set(key: string, token: string, expiresInSeconds: number, issuedAt = Date.now()): void {
    this.#entries.set(key, { token, expiresAt: issuedAt + expiresInSeconds * 1000 });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
