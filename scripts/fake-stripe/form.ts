import { malformedRequest } from './errors.js';

/**
 * Stripe's v1 wire format for parameters: `application/x-www-form-urlencoded` bodies (and query strings for
 * GET) with bracket notation for nesting — `metadata[line_id]=l_1`, `created[gte]=1700000000`,
 * `expand[0]=latest_charge` (indexed, as stripe-node sends arrays) or `expand[]=latest_charge`.
 *
 * Indexed keys parse to objects (`{ '0': 'latest_charge' }`); `stringArray` in params.ts accepts both shapes,
 * because only the endpoint knows whether `x[0]` is an array element or a metadata key named "0".
 * Objects have no prototype, so a key like `__proto__` is just a key.
 */

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const KEY = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

export const emptyForm = (): FormObject => Object.create(null) as FormObject;

export function splitKey(key: string): string[] {
  const match = KEY.exec(key);
  if (!match) return [key];
  const rest = match[2] ? [...match[2].matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!) : [];
  return [match[1]!, ...rest];
}

export function parseForm(source: string | URLSearchParams): FormObject {
  const params = typeof source === 'string' ? new URLSearchParams(source) : source;
  const root = emptyForm();
  for (const [key, value] of params) assign(root, splitKey(key), value, key);
  return root;
}

function assign(root: FormObject, path: string[], value: string, key: string): void {
  const conflict = () => malformedRequest(`Invalid request: the parameter ${key} conflicts with another parameter of the same name.`);
  let node: FormObject | FormValue[] = root;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    if (Array.isArray(node)) {
      // Only `a[]=v` appends; `a[][b]=v` (arrays of hashes without indices) is ambiguous, Stripe rejects it too.
      if (segment !== '' || !last) throw malformedRequest(`Invalid array: ${key}. Use indexed keys (${path[0]}[0]…) for arrays of hashes.`);
      node.push(value);
      return;
    }
    if (segment === '') throw conflict();
    if (last) {
      if (segment in node && typeof node[segment] !== 'string') throw conflict();
      node[segment] = value;
      return;
    }
    const wantsArray = path[i + 1] === '';
    let child: FormValue | undefined = node[segment];
    if (child === undefined) {
      child = wantsArray ? [] : emptyForm();
      node[segment] = child;
    } else if (typeof child === 'string' || Array.isArray(child) !== wantsArray) {
      throw conflict();
    }
    node = child;
  }
}

/** The inverse, for tests that talk to the fake without the SDK: nested values to `a[b][0]=c` pairs, as stripe-node encodes them. */
export function encodeForm(value: Record<string, unknown>): string {
  const pairs: string[] = [];
  const walk = (key: string, v: unknown): void => {
    if (v === undefined) return;
    if (v === null || typeof v !== 'object') {
      pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(v === null ? '' : String(v))}`);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(`${key}[${i}]`, item));
    } else {
      for (const [k, item] of Object.entries(v)) walk(`${key}[${k}]`, item);
    }
  };
  for (const [k, v] of Object.entries(value)) walk(k, v);
  return pairs.join('&');
}
