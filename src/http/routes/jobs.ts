import { z } from 'zod';
import { JOB_STATUSES, type Job } from '../../repositories/repositories.js';
import type { JobService } from '../../services/jobService.js';
import { sendData } from '../envelope.js';
import { paginationSchema, parse, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const listQuery = paginationSchema.extend({
  queue: z.string().max(64).optional(),
  status: z.enum(JOB_STATUSES, { error: `must be one of ${JOB_STATUSES.join(', ')}` }).default('dead'),
});

const jobToJson = (job: Job) => ({
  id: job.id,
  queue: job.queue,
  subject: job.subject,
  status: job.status,
  attempts: job.attempts,
  maxAttempts: job.maxAttempts,
  lastError: job.lastError,
  runAt: job.runAt.toISOString(),
  createdAt: job.createdAt.toISOString(),
  updatedAt: job.updatedAt.toISOString(),
  finishedAt: job.finishedAt?.toISOString() ?? null,
});

/** Admin: the dead-letter list of the durable job queue, and retrying a job. */
export function jobRoutes(jobs: JobService): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/jobs',
      access: 'admin',
      async handler(req, res) {
        const { limit, cursor, ...filter } = parse(listQuery, req.query, 'query');
        const page = await jobs.list(filter, { limit, cursor });
        sendData(res, 200, { items: page.items.map(jobToJson), nextCursor: page.nextCursor });
      },
    },
    {
      method: 'post',
      path: '/api/jobs/:id/retry',
      access: 'admin',
      async handler(req, res) {
        sendData(res, 202, jobToJson(await jobs.retry(parse(uuidParam, req.params, 'params').id)));
      },
    },
  ];
}
