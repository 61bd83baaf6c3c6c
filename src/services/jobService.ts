import { ConflictError, NotFoundError } from '../domain/errors.js';
import { pageBySeq, type PageRequest, type PageResult } from '../lib/cursor.js';
import type { Job, JobStatus, Store } from '../repositories/repositories.js';

/** Operators' view of the durable job queue: what died, and a way to run it again. */
export class JobService {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  list(filter: { queue?: string; status?: JobStatus }, page: PageRequest): Promise<PageResult<Job>> {
    return pageBySeq(page, (p) => this.store.repos.jobs.list(filter, p));
  }

  async retry(id: string): Promise<Job> {
    const job = await this.store.repos.jobs.findById(id);
    if (!job) throw new NotFoundError('Job', id);
    const requeued = await this.store.repos.jobs.requeue(id, this.clock());
    if (!requeued) throw new ConflictError('job_not_finished', `Job ${id} is ${job.status}; only dead or finished jobs can be retried`, { currentStatus: job.status });
    return requeued;
  }
}
