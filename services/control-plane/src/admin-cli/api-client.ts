/** A small client of the control plane's public API, for the `causeway` admin CLI. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ApiError(
        0,
        'unreachable',
        `Cannot reach the control plane at ${this.baseUrl}: ${(error as Error).message}`,
        undefined,
      );
    }
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const e = (parsed ?? {}) as { code?: string; message?: string; requestId?: string };
      throw new ApiError(
        res.status,
        e.code ?? 'http_error',
        e.message ?? `HTTP ${res.status}`,
        e.requestId,
      );
    }
    return parsed as T;
  }
}
