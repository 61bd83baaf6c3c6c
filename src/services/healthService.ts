export interface DependencyCheck {
  name: string;
  /** Resolves when the dependency is usable; `critical` failures make the service not ready. */
  check: () => Promise<Record<string, unknown> | void>;
  critical: boolean;
}

export interface CheckResult {
  status: 'up' | 'down';
  latencyMs: number;
  critical: boolean;
  error?: string;
  details?: Record<string, unknown>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

/** Runs every dependency check in parallel, each bounded by the same timeout. */
export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly checks: DependencyCheck[],
    private readonly timeoutMs: number,
    private readonly details: () => Record<string, unknown> = () => ({}),
  ) {}

  liveness() {
    return { status: 'ok' as const, uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000) };
  }

  async readiness(): Promise<ReadinessReport & { details: Record<string, unknown> }> {
    const results = await Promise.all(this.checks.map(async (dep) => [dep.name, await this.run(dep)] as const));
    const checks = Object.fromEntries(results);
    return { ready: results.every(([, result]) => result.status === 'up' || !result.critical), checks, details: this.details() };
  }

  private async run(dep: DependencyCheck): Promise<CheckResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const details = await Promise.race([
        dep.check(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      return { status: 'up', latencyMs: elapsed(started), critical: dep.critical, ...(details ? { details } : {}) };
    } catch (error) {
      return { status: 'down', latencyMs: elapsed(started), critical: dep.critical, error: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;
