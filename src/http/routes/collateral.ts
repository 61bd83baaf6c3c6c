import type { Request, Response } from 'express';
import { z } from 'zod';
import { parsePrice } from '../../domain/collateral/quantity.js';
import { StrKey } from '@stellar/stellar-sdk';
import type { CollateralAssetService } from '../../services/collateral/assetService.js';
import type { CollateralService, MovementOutcome } from '../../services/collateral/collateralService.js';
import type { PriceService } from '../../services/collateral/priceService.js';
import type { RequestMeta } from '../../services/creditLineService.js';
import { storeResponseWithin } from '../atomicResponse.js';
import { sendData } from '../envelope.js';
import { parse, stellarAddressSchema, uuidParam } from '../middleware/validate.js';
import type { RouteDefinition } from '../route.js';
import { assetDetailsToJson, collateralViewToJson, positionToJson, priceObservationToJson } from './collateralJson.js';

const assetCode = z.string().regex(/^[A-Z0-9]{1,12}$/, { error: 'must be an asset code of 1 to 12 capital letters or digits' });
const bps = z.number({ error: 'must be an integer number of basis points' }).int({ error: 'must be an integer' }).min(0, { error: 'must be at least 0' });
const decimalString = z.string({ error: 'must be a decimal string such as "125.5"' }).regex(/^\d{1,30}(\.\d+)?$/, { error: 'must be a decimal string such as "125.5"' });
const contractId = z.string().refine((v) => StrKey.isValidContract(v), { message: 'must be a contract address (C...)' });
const accountId = z.string().refine((v) => StrKey.isValidEd25519PublicKey(v), { message: 'must be a Stellar account (G...)' });

const paramsSchema = z.strictObject({
  baseLtvBps: bps.max(10_000).optional(),
  liquidationThresholdBps: bps.min(1).max(10_000).optional(),
  liquidationBonusBps: bps.max(10_000).optional(),
  kBps: bps.max(100_000).optional(),
  horizonDays: z.number().int().min(1).max(365).optional(),
  minLtvBps: bps.max(10_000).optional(),
  closeFactorBps: bps.min(1).max(10_000).optional(),
  stopLossTriggerHfBps: bps.min(10_000).max(100_000).optional(),
  targetHfBps: bps.max(100_000).optional(),
  maxSlippageBps: bps.max(5_000).optional(),
  maxPriceAgeSeconds: z.number().int().min(1).max(86_400 * 7).optional(),
  yieldAprBps: bps.max(100_000).optional(),
  protocolFeeShareBps: bps.max(10_000).optional(),
  fallbackVolatilityBps: bps.max(100_000).optional(),
});

const priceSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('manual') }),
  z.strictObject({ kind: z.literal('static'), price: decimalString }),
  z.strictObject({
    kind: z.literal('reflector'),
    contractId,
    asset: z.union([z.strictObject({ stellar: contractId }), z.strictObject({ other: z.string().regex(/^[A-Za-z0-9_]{1,32}$/) })]),
  }),
  z.strictObject({
    kind: z.literal('horizon'),
    base: z.union([z.literal('native'), z.strictObject({ code: assetCode, issuer: accountId })]),
    counter: z.strictObject({ code: assetCode, issuer: accountId }),
  }),
]);

const createAssetBody = z.strictObject({
  code: assetCode,
  decimals: z.number().int().min(0).max(18),
  priceSource: priceSourceSchema,
  params: paramsSchema.optional(),
});
const postPriceBody = z.strictObject({ price: decimalString, observedAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional() });
const movementBody = z.strictObject({ walletAddress: stellarAddressSchema, asset: assetCode, amount: decimalString });
const codeParam = z.strictObject({ code: assetCode });
const walletParam = z.strictObject({ walletAddress: stellarAddressSchema });

const meta = (res: Response): RequestMeta => ({ actor: res.locals.actor!, requestId: res.locals.requestId, wallet: res.locals.wallet });
const code = (req: Request) => parse(codeParam, req.params, 'params').code;
const movementToJson = (o: MovementOutcome) => ({ position: positionToJson(o.position, o.view), collateral: collateralViewToJson(o.view) });

export function collateralRoutes(assets: CollateralAssetService, prices: PriceService, collateral: CollateralService): RouteDefinition[] {
  return [
    {
      method: 'post',
      path: '/api/collateral/assets',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const body = parse(createAssetBody, req.body, 'body');
        sendData(res, 201, assetDetailsToJson(await assets.create({ ...body, params: body.params ?? {} }, meta(res))));
      },
    },
    {
      method: 'get',
      path: '/api/collateral/assets',
      access: 'client',
      async handler(_req, res) {
        sendData(res, 200, { items: (await assets.list()).map(assetDetailsToJson) });
      },
    },
    {
      method: 'get',
      path: '/api/collateral/assets/:code',
      access: 'client',
      async handler(req, res) {
        sendData(res, 200, assetDetailsToJson(await assets.get(code(req))));
      },
    },
    {
      method: 'patch',
      path: '/api/collateral/assets/:code/params',
      access: 'admin',
      async handler(req, res) {
        const assetCodeValue = code(req);
        const changes = parse(paramsSchema.refine((p) => Object.keys(p).length > 0, { message: 'must change at least one parameter', params: { rule: 'at_least_one' } }), req.body, 'body');
        sendData(res, 200, assetDetailsToJson(await assets.updateParams(assetCodeValue, changes, meta(res))));
      },
    },
    {
      method: 'post',
      path: '/api/collateral/assets/:code/prices',
      access: 'admin',
      idempotent: true,
      async handler(req, res) {
        const assetCodeValue = code(req);
        const body = parse(postPriceBody, req.body, 'body');
        const observation = await prices.post(assetCodeValue, parsePrice(body.price), body.observedAt ? new Date(body.observedAt) : undefined, meta(res));
        sendData(res, 201, priceObservationToJson(observation));
      },
    },
    {
      method: 'post',
      path: '/api/collateral/deposit',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const body = parse(movementBody, req.body, 'body');
        const outcome = await collateral.deposit(body.walletAddress, body.asset, body.amount, meta(res), storeResponseWithin(res, 200, movementToJson));
        sendData(res, 200, movementToJson(outcome));
      },
    },
    {
      method: 'post',
      path: '/api/collateral/withdraw',
      access: 'client',
      idempotent: true,
      async handler(req, res) {
        const body = parse(movementBody, req.body, 'body');
        const outcome = await collateral.withdraw(body.walletAddress, body.asset, body.amount, meta(res), storeResponseWithin(res, 200, movementToJson));
        sendData(res, 200, movementToJson(outcome));
      },
    },
    {
      method: 'get',
      path: '/api/collateral/wallet/:walletAddress',
      access: 'client',
      async handler(req, res) {
        const { walletAddress } = parse(walletParam, req.params, 'params');
        sendData(res, 200, collateralViewToJson(await collateral.wallet(walletAddress, meta(res))));
      },
    },
    {
      method: 'get',
      path: '/api/collateral/:id',
      access: 'client',
      async handler(req, res) {
        const { position, view } = await collateral.position(parse(uuidParam, req.params, 'params').id, meta(res));
        sendData(res, 200, { position: positionToJson(position, view), collateral: collateralViewToJson(view) });
      },
    },
  ];
}
