import type { Db, Queryable } from '../../db/db.js';
import type { Repositories, Store } from '../repositories.js';
import { PostgresAuditLogRepository } from './auditLogRepository.js';
import { PostgresChainRepository } from './chainRepository.js';
import { PostgresCreditLineRepository } from './creditLineRepository.js';
import { PostgresIncomingPaymentRepository } from './incomingPaymentRepository.js';
import { PostgresReconciliationRepository } from './reconciliationRepository.js';
import { PostgresDomainEventRepository } from './domainEventRepository.js';
import { PostgresIdempotencyRepository } from './idempotencyRepository.js';
import { PostgresJobRepository } from './jobRepository.js';
import { PostgresLedgerRepository } from './ledgerRepository.js';
import { PostgresWebhookRepository } from './webhookRepository.js';
import { PostgresWalletAuthRepository } from './walletAuthRepository.js';
import { PostgresRiskEvaluationRepository } from './riskEvaluationRepository.js';
import { PostgresCreditHistoryRepository } from './creditHistoryRepository.js';
import { PostgresCollateralAssetRepository } from './collateralAssetRepository.js';
import { PostgresCollateralPositionRepository } from './collateralPositionRepository.js';
import { PostgresRiskExecutionRepository } from './riskExecutionRepository.js';
import { PostgresStatementNoticeRepository } from './statementNoticeRepository.js';
import { PostgresChainTransactionRepository } from './chainTransactionRepository.js';
import { PostgresRepaymentRepository } from './repaymentRepository.js';

const repositoriesOver = (db: Queryable): Repositories => ({
  creditLines: new PostgresCreditLineRepository(db),
  ledger: new PostgresLedgerRepository(db),
  events: new PostgresDomainEventRepository(db),
  audit: new PostgresAuditLogRepository(db),
  idempotency: new PostgresIdempotencyRepository(db),
  walletAuth: new PostgresWalletAuthRepository(db),
  jobs: new PostgresJobRepository(db),
  webhooks: new PostgresWebhookRepository(db),
  chain: new PostgresChainRepository(db),
  reconciliation: new PostgresReconciliationRepository(db),
  incomingPayments: new PostgresIncomingPaymentRepository(db),
  riskEvaluations: new PostgresRiskEvaluationRepository(db),
  creditHistory: new PostgresCreditHistoryRepository(db),
  collateralAssets: new PostgresCollateralAssetRepository(db),
  collateralPositions: new PostgresCollateralPositionRepository(db),
  riskExecutions: new PostgresRiskExecutionRepository(db),
  statementNotices: new PostgresStatementNoticeRepository(db),
  repayments: new PostgresRepaymentRepository(db),
  chainTransactions: new PostgresChainTransactionRepository(db),
});

/** The same SQL serves PostgreSQL (pg.Pool) and embedded PGlite. */
export function createSqlStore(db: Db): Store {
  return {
    kind: db.kind,
    repos: repositoriesOver(db),
    transaction: (work) => db.transaction((tx) => work(repositoriesOver(tx))),
    tryExclusive: (name, work) => db.tryExclusive(name, work),
    ping: async () => {
      await db.query('SELECT 1');
    },
    close: () => db.close(),
  };
}
