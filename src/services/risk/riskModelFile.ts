import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRiskModel, type RiskModel } from '../../domain/risk/model.js';
import { PROJECT_ROOT } from '../../lib/paths.js';

export const RISK_MODELS_DIR = join(PROJECT_ROOT, 'risk-models');

/** Reads and validates `risk-models/<name>.json`; a broken model file stops the boot with the rule it breaks. */
export function loadRiskModel(name: string, dir = RISK_MODELS_DIR): RiskModel {
  const model = parseRiskModel(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')));
  if (model.version !== name) throw new Error(`Invalid risk model: risk-models/${name}.json declares version "${model.version}"; the file name and version must match`);
  return model;
}
