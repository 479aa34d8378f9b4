import { EngramError } from '@engram/tensor';

/** One command-line option: the parser and the usage text both read it, so neither restates the other. */
export interface OptionSpec {
  /** The flag without `--`. */
  name: string;
  /** `flag` takes no value; `integer` and `number` are range-checked; `choice` must be one of `choices`. */
  type: 'flag' | 'string' | 'integer' | 'number' | 'choice';
  /** What the value is called in the usage text (`DIR`, `N`). */
  value?: string;
  /** For `choice`. */
  choices?: readonly string[];
  /** Shown in the usage text; applied when the flag is absent. */
  default?: string | number | boolean;
  /** Inclusive bounds for numbers. */
  min?: number;
  /** Inclusive upper bound for numbers. */
  max?: number;
  /** One line of help. */
  help: string;
}

/** Parsed values by option name (only those given or defaulted). */
export type OptionValues = Map<string, string | number | boolean>;

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function closest(name: string, specs: readonly OptionSpec[]): string {
  const best = specs.map((s) => ({ s, d: distance(name, s.name) })).sort((x, y) => x.d - y.d)[0];
  return best !== undefined && best.d <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean --${best.s.name}?)` : '';
}

function convert(spec: OptionSpec, raw: string): string | number {
  if (spec.type === 'string') {
    if (raw === '') throw new EngramError(`--${spec.name}: expected ${spec.value ?? 'a value'}, got an empty string`);
    return raw;
  }
  if (spec.type === 'choice') {
    if (!(spec.choices ?? []).includes(raw)) throw new EngramError(`--${spec.name}: expected one of ${(spec.choices ?? []).join(', ')}, got '${raw}'`);
    return raw;
  }
  const n = Number(raw);
  const what = spec.type === 'integer' ? 'an integer' : 'a number';
  if (raw.trim() === '' || !Number.isFinite(n) || (spec.type === 'integer' && !Number.isInteger(n)))
    throw new EngramError(`--${spec.name}: expected ${what}, got '${raw}'`);
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    throw new EngramError(`--${spec.name}: ${raw} is out of range (${spec.min ?? '−∞'} to ${spec.max ?? '∞'})`);
  }
  return n;
}

/**
 * Parses `argv` against a table: `--name value`, `--name=value`, flags without a value. Unknown
 * flags (with the closest known one), missing values, bad numbers and choices are an
 * {@link EngramError} naming the flag. Returns null when `--help` or `-h` was given.
 */
export function parseOptions(specs: readonly OptionSpec[], argv: readonly string[]): OptionValues | null {
  const values: OptionValues = new Map();
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return null;
    if (!arg.startsWith('--')) throw new EngramError(`unexpected argument '${arg}' (options start with --)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (spec === undefined) throw new EngramError(`unknown option --${name}${closest(name, specs)}`);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new EngramError(`--${name} takes no value`);
      values.set(name, true);
      continue;
    }
    let raw: string | undefined;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      // A value may start with '-' (a negative number is then range-checked), but not with '--'.
      if (raw === undefined || raw.startsWith('--')) throw new EngramError(`--${name} needs a value (${spec.value ?? spec.type})`);
      i++;
    }
    values.set(name, convert(spec, raw));
  }
  givenNames.set(values, new Set(values.keys()));
  for (const spec of specs) if (!values.has(spec.name) && spec.default !== undefined) values.set(spec.name, spec.default);
  return values;
}

/** The names given on the command line (not filled in from defaults), per parsed value map. */
const givenNames = new WeakMap<OptionValues, ReadonlySet<string>>();

/**
 * True when the option was given on the command line rather than filled in from its default.
 * @param values - a map returned by {@link parseOptions}
 * @param name - the option's name, without `--`
 */
export function given(values: OptionValues, name: string): boolean {
  return givenNames.get(values)?.has(name) ?? values.has(name);
}

/** The usage text of a command: its synopsis, then one line per option from the table. */
export function usageText(synopsis: string, specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => {
    const value = s.type === 'flag' ? '' : ` ${s.type === 'choice' ? (s.choices ?? []).join('|') : (s.value ?? 'X')}`;
    return `  --${s.name}${value}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = specs.map(
    (s, i) => `${(left[i] as string).padEnd(width)}${s.help}${s.default !== undefined && s.type !== 'flag' ? ` (default ${s.default})` : ''}`,
  );
  return `${synopsis}\n\noptions:\n${lines.join('\n')}\n  --help${' '.repeat(Math.max(1, width - 8))}this text`;
}

/** A parsed value, typed by the caller (the table guarantees the type). */
export function get<T extends string | number | boolean>(values: OptionValues, name: string): T | undefined {
  return values.get(name) as T | undefined;
}
