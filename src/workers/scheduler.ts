import type { Logger } from '../lib/logger.js';
import type { Store } from '../repositories/repositories.js';

export interface PeriodicWorker {
  name: string;
  intervalMs: number;
  /** Exclusive workers have one runner across all instances (a PostgreSQL advisory lock per name). */
  exclusive: boolean;
  /** Does one unit of work; returns how much it did. Work found means "run again now", none means "sleep". */
  tick(): Promise<number>;
}

/**
 * Runs periodic workers until stopped. A worker that found work runs again at once (draining a backlog);
 * one that found none sleeps its interval. Errors are logged and the loop goes on.
 */
export class Scheduler {
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    readonly workers: readonly PeriodicWorker[],
  ) {}

  start(): void {
    if (this.loops.length > 0) return;
    for (const worker of this.workers) this.loops.push(this.loop(worker));
    if (this.workers.length > 0) this.logger.info({ workers: this.workers.map((w) => w.name) }, 'workers started');
  }

  /** Lets the current ticks finish, then resolves; no new tick starts. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    await Promise.all(this.loops);
  }

  private async loop(worker: PeriodicWorker): Promise<void> {
    while (!this.stopping) {
      let done = 0;
      try {
        if (worker.exclusive) {
          const run = await this.store.tryExclusive(`worker:${worker.name}`, () => worker.tick());
          done = run.ran ? run.result : 0;
        } else {
          done = await worker.tick();
        }
      } catch (error) {
        this.logger.error({ err: error, worker: worker.name }, 'worker tick failed');
      }
      if (done === 0 && !this.stopping) await this.sleep(worker.intervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
