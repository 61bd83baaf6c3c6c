import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAccount {
  signers: Array<{ key: string; weight: number }>;
  thresholds: { low: number; med: number; high: number };
}

/**
 * A loopback stand-in for Horizon's `GET /accounts/:id`, in Horizon's wire format, so the real SDK client
 * runs against it. Unknown accounts answer Horizon's 404 problem document. `down()` makes it answer 503.
 */
export class FakeHorizon {
  readonly accounts = new Map<string, FakeAccount>();
  private server?: Server;
  private unavailable = false;
  requests = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests++;
      const match = /^\/accounts\/([A-Z2-7]{56})$/.exec(req.url ?? '');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': status === 200 ? 'application/hal+json' : 'application/problem+json' });
        res.end(JSON.stringify(body));
      };
      if (this.unavailable) return send(503, { type: 'https://stellar.org/horizon-errors/service_unavailable', title: 'Service Unavailable', status: 503 });
      const account = match ? this.accounts.get(match[1]!) : undefined;
      if (!match || !account) {
        return send(404, {
          type: 'https://stellar.org/horizon-errors/not_found',
          title: 'Resource Missing',
          status: 404,
          detail: 'The resource at the url requested was not found.',
        });
      }
      const id = match[1]!;
      send(200, {
        _links: { self: { href: `/accounts/${id}` }, transactions: { href: `/accounts/${id}/transactions{?cursor,limit,order}`, templated: true } },
        id,
        account_id: id,
        sequence: '4294967296',
        subentry_count: 0,
        last_modified_ledger: 7,
        thresholds: { low_threshold: account.thresholds.low, med_threshold: account.thresholds.med, high_threshold: account.thresholds.high },
        flags: { auth_required: false, auth_revocable: false, auth_immutable: false, auth_clawback_enabled: false },
        balances: [{ balance: '100.0000000', asset_type: 'native', buying_liabilities: '0.0000000', selling_liabilities: '0.0000000' }],
        signers: account.signers.map((s) => ({ key: s.key, weight: s.weight, type: 'ed25519_public_key' })),
        data: {},
        num_sponsoring: 0,
        num_sponsored: 0,
        paging_token: id,
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  down(): void {
    this.unavailable = true;
  }

  up(): void {
    this.unavailable = false;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
