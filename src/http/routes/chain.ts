import { z } from 'zod';
import { ConflictError, ServiceUnavailableError } from '../../domain/errors.js';
import type { Drift, ReconciliationRun } from '../../repositories/repositories.js';
import type { ChainIndexer } from '../../services/chainIndexer.js';
import { driftToJson, type ReconciliationService } from '../../services/reconciliationService.js';
import { sendData } from '../envelope.js';
import { paginationSchema, parse, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';

const notConfigured = () =>
  new ServiceUnavailableError('chain_not_configured', 'Chain following is not configured: set STELLAR_RPC_URL and CREDIT_CONTRACT_IDS');

const runToJson = (run: ReconciliationRun) => ({
  id: run.id,
  trigger: run.trigger,
  status: run.status,
  contractId: run.contractId,
  linesChecked: run.linesChecked,
  driftCount: run.driftCount,
  error: run.error,
  startedAt: run.startedAt.toISOString(),
  finishedAt: run.finishedAt?.toISOString() ?? null,
});

const runWithDrifts = (run: ReconciliationRun, drifts: Drift[]) => ({ ...runToJson(run), drifts: drifts.map((d) => ({ id: d.id, ...driftToJson(d) })) });

/** Admin: where the contract-event indexer is, and reconciliation of bound lines against the chain. */
export function chainRoutes(indexer: ChainIndexer | undefined, reconciliation: ReconciliationService | undefined): RouteDefinition[] {
  return [
    {
      method: 'get',
      path: '/api/indexer/status',
      access: 'admin',
      async handler(req, res) {
        parse(z.strictObject({}), req.query, 'query');
        if (!indexer) throw notConfigured();
        sendData(res, 200, await indexer.status());
      },
    },
    {
      method: 'post',
      path: '/api/reconciliation/run',
      access: 'admin',
      async handler(req, res) {
        parse(z.strictObject({}), req.body, 'body');
        if (!reconciliation) throw notConfigured();
        const run = await reconciliation.run('admin');
        if (!run) throw new ConflictError('reconciliation_running', 'A reconciliation run is already in progress');
        const { drifts } = await reconciliation.getRun(run.id);
        sendData(res, 200, runWithDrifts(run, drifts));
      },
    },
    {
      method: 'get',
      path: '/api/reconciliation/runs',
      access: 'admin',
      async handler(req, res) {
        const page = parse(paginationSchema, req.query, 'query');
        if (!reconciliation) throw notConfigured();
        const runs = await reconciliation.listRuns(page);
        sendData(res, 200, { items: runs.items.map(runToJson), nextCursor: runs.nextCursor });
      },
    },
    {
      method: 'get',
      path: '/api/reconciliation/runs/:id',
      access: 'admin',
      async handler(req, res) {
        const { id } = parse(uuidParam, req.params, 'params');
        if (!reconciliation) throw notConfigured();
        const { run, drifts } = await reconciliation.getRun(id);
        sendData(res, 200, runWithDrifts(run, drifts));
      },
    },
  ];
}
