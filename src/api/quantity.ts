// Kubernetes resource quantities ("250m", "64Mi", "1.5", "2e3"), parsed by the grammar of
// k8s.io/apimachinery/pkg/api/resource:
//
//   <quantity>        ::= <signedNumber><suffix>
//   <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//   <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//   <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//   <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//   <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>
//
// Parsing keeps the digits as a BigInt so that millis come out exact ("0.1" is 100m, not 101m).

/** value = sign * digits * 10^exp10 * 2^exp2 */
interface Decimal {
  negative: boolean;
  digits: bigint;
  exp10: number;
  exp2: number;
}

const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

const suffixHelp =
  'use a number with an optional suffix: m, k, M, G, T, P, E (powers of 1000), Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024) ' +
  'or an exponent such as e3; for example "250m", "64Mi", "1.5"';

const numberRe = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/s;

/** Why `q` is not a quantity, or undefined when it is one. */
export function quantityProblem(q: unknown): string | undefined {
  const r = decompose(q);
  return typeof r === 'string' ? r : undefined;
}

function decompose(q: unknown): Decimal | string {
  if (typeof q === 'number') {
    if (!Number.isFinite(q)) return 'must be a finite number';
    q = String(q); // "1e+21", "1e-7" and "0.25" all fit the grammar
  }
  if (typeof q !== 'string') return 'must be a string or a number';
  const text = q as string;
  if (text === '') return 'must not be empty; ' + suffixHelp;
  const m = numberRe.exec(text);
  if (!m) return suffixHelp;
  const [, sign, whole, frac = '', suffix] = m;
  if (whole === '' && frac === '') return `must start with a number; ${suffixHelp}`;
  let exp10 = -frac.length;
  let exp2 = 0;
  if (suffix in decimalSuffixes) exp10 += decimalSuffixes[suffix];
  else if (suffix in binarySuffixes) exp2 = binarySuffixes[suffix];
  else if (/^[eE][+-]?[0-9]+$/.test(suffix)) {
    const e = Number(suffix.slice(1));
    if (!Number.isSafeInteger(e) || Math.abs(e) > 1000) return `exponent ${suffix} is out of range`;
    exp10 += e;
  } else return `unknown suffix ${JSON.stringify(suffix)}${suffixHint(suffix)}; ${suffixHelp}`;
  return { negative: sign === '-', digits: BigInt(whole + frac || '0'), exp10, exp2 };
}

/** The usual slips: "K" for "k", "MB" for "M" or "Mi". */
function suffixHint(suffix: string): string {
  const m = /^([kKMGTPE])i?[bB]?$/.exec(suffix);
  if (!m) return '';
  const decimal = m[1] === 'K' ? 'k' : m[1];
  return ` (did you mean "${decimal}" or "${m[1].toUpperCase()}i"?)`;
}

function mustDecompose(q: string | number): Decimal {
  const r = decompose(q);
  if (typeof r === 'string') throw new Error(`invalid quantity ${JSON.stringify(q)}: ${r}`);
  return r;
}

/** The quantity in base units: "250m" → 0.25, "64Mi" → 67108864, "1G" → 1e9. Throws on bad input. */
export function parseQuantity(q: string | number): number {
  const d = mustDecompose(q);
  const value = Number(`${d.digits}e${d.exp10}`) * 2 ** d.exp2;
  if (!Number.isFinite(value)) throw new Error(`invalid quantity ${JSON.stringify(q)}: too large`);
  return d.negative && value !== 0 ? -value : value;
}

export function isQuantity(q: unknown): boolean {
  return typeof decompose(q) !== 'string';
}

/** Integer thousandths, rounded away from zero as Kubernetes' MilliValue does: "0.1" → 100, "1.0001" → 1001. */
export function toMilli(q: string | number): number {
  const d = mustDecompose(q);
  const e = d.exp10 + 3;
  let num = d.digits * 2n ** BigInt(d.exp2);
  let den = 1n;
  if (e >= 0) num *= 10n ** BigInt(e);
  else den = 10n ** BigInt(-e);
  const milli = (num + den - 1n) / den;
  const n = Number(milli);
  if (!Number.isFinite(n)) throw new Error(`invalid quantity ${JSON.stringify(q)}: too large`);
  return d.negative && n !== 0 ? -n : n;
}

/** kubectl's CPU form: 250 → "250m", 2000 → "2". */
export function formatCpuMilli(m: number): string {
  return formatMilli(Math.ceil(m));
}

const binaryUnits: [string, number][] = [
  ['Ei', 2 ** 60],
  ['Pi', 2 ** 50],
  ['Ti', 2 ** 40],
  ['Gi', 2 ** 30],
  ['Mi', 2 ** 20],
  ['Ki', 2 ** 10],
];
const decimalUnits: [string, number][] = [
  ['E', 1e18],
  ['P', 1e15],
  ['T', 1e12],
  ['G', 1e9],
  ['M', 1e6],
  ['k', 1e3],
];

/** Bytes in the largest suffix that divides them exactly: 67108864 → "64Mi", 1e9 → "1G", 1500 → "1500". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (!Number.isInteger(n)) return formatMilli(toMilli(n));
  if (n === 0) return '0';
  for (const [suffix, size] of binaryUnits) if (n % size === 0) return `${n / size}${suffix}`;
  for (const [suffix, size] of decimalUnits) if (n % size === 0) return `${n / size}${suffix}`;
  return String(n);
}

function formatMilli(m: number): string {
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}
