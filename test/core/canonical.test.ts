/**
 * Canonical values: unit tests plus fast-check properties. A failing property
 * prints its seed and counterexample (fast-check's default); re-run one with
 * `fc.assert(..., { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  coerce,
  floatText,
  normalizeDate,
  normalizeDecimal,
  normalizeTime,
  normalizeTimestamp,
} from '../../src/core/canonical.js';
import { type Canonical, COLUMN_KINDS, type ColumnKind } from '../../src/core/types.js';

/** Exact value of decimal text as mantissa × 10^exp, mantissa without trailing zeros (0 is 0×10^0). */
function exact(text: string): { m: bigint; e: number } {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (!m) throw new Error(`not decimal text: ${text}`);
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let mant = BigInt(`${int}${frac}` || '0');
  let e = Number.parseInt(exp, 10) - frac.length;
  if (mant === 0n) return { m: 0n, e: 0 };
  while (mant % 10n === 0n) {
    mant /= 10n;
    e++;
  }
  return { m: sign === '-' ? -mant : mant, e };
}

/** Decimal text in every spelling a database or a user might produce. */
const decimalText = fc
  .record({
    sign: fc.constantFrom('', '+', '-'),
    int: fc.stringMatching(/^[0-9]{0,12}$/),
    frac: fc.option(fc.stringMatching(/^[0-9]{0,12}$/), { nil: undefined }),
    exp: fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined }),
    expSign: fc.boolean(),
    expUpper: fc.boolean(),
    pad: fc.constantFrom('', ' '),
  })
  .filter((r) => r.int !== '' || (r.frac !== undefined && r.frac !== ''))
  .map((r) => {
    const exp =
      r.exp === undefined ? '' : `${r.expUpper ? 'E' : 'e'}${r.exp >= 0 && r.expSign ? '+' : ''}${r.exp}`;
    return `${r.pad}${r.sign}${r.int}${r.frac === undefined ? '' : `.${r.frac}`}${exp}${r.pad}`;
  });

const CANONICAL_DECIMAL = /^(0|-?(0|[1-9]\d*)(\.\d*[1-9])?)$/;

describe('normalizeDecimal', () => {
  it.each([
    ['0', '0'],
    ['-0', '0'],
    ['-0.000', '0'],
    ['+1', '1'],
    ['007', '7'],
    ['1.500', '1.5'],
    ['.5', '0.5'],
    ['-.5', '-0.5'],
    ['5.', '5'],
    ['1e3', '1000'],
    ['1.25E+2', '125'],
    ['125e-5', '0.00125'],
    ['-12.3400e1', '-123.4'],
    [' 42 ', '42'],
    ['123456789012345678901234567890', '123456789012345678901234567890'],
    ['0.1000000000000000055511151231257827', '0.1000000000000000055511151231257827'],
  ])('%j → %j', (input, out) => {
    expect(normalizeDecimal(input)).toBe(out);
  });

  it.each(['', '.', '-', 'e5', '1e', 'abc', '1.2.3', '0x10', 'NaN', 'Infinity', '1,5'])(
    'rejects %j',
    (input) => {
      expect(normalizeDecimal(input)).toBeUndefined();
    },
  );

  it('property: output is canonical and idempotent', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const once = normalizeDecimal(text);
        expect(once, text).toBeDefined();
        expect(once).toMatch(CANONICAL_DECIMAL);
        expect(normalizeDecimal(once!)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: value preserving (exact, never through a JS number)', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        expect(exact(normalizeDecimal(text)!)).toEqual(exact(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: big integers survive digit for digit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (n) => {
        expect(normalizeDecimal(n.toString())).toBe(n.toString());
      }),
    );
  });

  it('property: two spellings of one value normalize alike', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.integer({ min: 0, max: 15 }),
        (m, shift) => {
          // m × 10^-shift written plainly and in exponent form.
          const digits = (m < 0n ? -m : m).toString().padStart(shift + 1, '0');
          const plain = `${m < 0n ? '-' : ''}${digits.slice(0, digits.length - shift)}${shift ? `.${digits.slice(-shift)}` : ''}`;
          const sci = `${m.toString()}e-${shift}`;
          expect(normalizeDecimal(plain)).toBe(normalizeDecimal(sci));
        },
      ),
    );
  });
});

describe('floatText', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [1.5, '1.5'],
    [1e21, '1000000000000000000000'],
    [1e-7, '0.0000001'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
  ])('%d → %j', (n, out) => {
    expect(floatText(n)).toBe(out);
  });

  it('property: reads back as the same double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const t = floatText(n);
        expect(Number(t)).toBe(Object.is(n, -0) ? 0 : n);
        expect(t).toMatch(CANONICAL_DECIMAL);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('normalizeTimestamp', () => {
  it.each([
    ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05Z'],
    ['2024-01-02 03:04:05', '2024-01-02T03:04:05Z'],
    ['2024-01-02T03:04:05.250000Z', '2024-01-02T03:04:05.25Z'],
    ['2024-01-02T03:04:05.1234567Z', '2024-01-02T03:04:05.123456Z'],
    ['2024-01-02T03:04:05+02:00', '2024-01-02T01:04:05Z'],
    ['2024-01-02T03:04:05-0130', '2024-01-02T04:34:05Z'],
    ['2024-01-02T00:30:00+01', '2024-01-01T23:30:00Z'],
    ['2024-01-02', '2024-01-02T00:00:00Z'],
    ['2024-01-02T03:04', '2024-01-02T03:04:00Z'],
  ])('%j → %j', (input, out) => {
    expect(normalizeTimestamp(input)).toBe(out);
  });

  it('reads zone-less text in the stated zone', () => {
    expect(normalizeTimestamp('2024-01-02 03:04:05', '+05:00')).toBe('2024-01-01T22:04:05Z');
    expect(normalizeTimestamp('2024-01-02 03:04:05Z', '+05:00')).toBe('2024-01-02T03:04:05Z');
  });

  it('takes Dates and epoch milliseconds', () => {
    expect(normalizeTimestamp(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 600)))).toBe('2024-01-02T03:04:05.6Z');
    expect(normalizeTimestamp(0)).toBe('1970-01-01T00:00:00Z');
    expect(normalizeTimestamp(new Date(Number.NaN))).toBeUndefined();
  });

  it.each(['', 'yesterday', '2024/01/02', '2024-01-02T03:04:05 Europe/Paris'])('rejects %j', (input) => {
    expect(normalizeTimestamp(input)).toBeUndefined();
  });

  const instant = fc.record({
    // Kept a day inside 1000–9999 so the local spelling at any offset still has four year digits.
    ms: fc.integer({ min: Date.UTC(1000, 0, 2), max: Date.UTC(9999, 11, 30) }),
    micro: fc.integer({ min: 0, max: 999 }),
    offset: fc.integer({ min: -14 * 60, max: 14 * 60 }),
  });
  const offsetText = (min: number) => {
    const a = Math.abs(min);
    return `${min < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  };
  /** The instant written in local time at `offset`, with a zone. */
  const spelled = (i: { ms: number; micro: number; offset: number }) => {
    const local = new Date(i.ms + i.offset * 60_000).toISOString().slice(0, 23);
    return `${local}${String(i.micro).padStart(3, '0')}${offsetText(i.offset)}`;
  };

  it('property: idempotent, and one instant in any zone is one value', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: -14 * 60, max: 14 * 60 }), (i, other) => {
        const a = normalizeTimestamp(spelled(i));
        expect(a).toBeDefined();
        expect(normalizeTimestamp(a!)).toBe(a);
        expect(normalizeTimestamp(spelled({ ...i, offset: other }))).toBe(a);
        // And it is the instant it was made from.
        expect(Date.parse(a!)).toBe(i.ms);
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects a calendar date that does not exist instead of rolling it over', () => {
    // Date.UTC turns Feb 30 into Mar 1: a silent value change instead of an invalid_value.
    expect(normalizeTimestamp('2024-02-30T00:00:00Z')).toBeUndefined();
  });

  /**
   * The Date-based reading this function had before its shortcuts for text already
   * in UTC: every wall time goes through a Date, so the calendar is Date's.
   */
  function viaDate(input: string): string | undefined {
    const m =
      /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
        input.trim(),
      );
    if (!m) return undefined;
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz = 'Z'] = m;
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(tz);
    const offset = z ? (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3] ?? '0')) : 0;
    const [Y, M, D, H, I, S] = [y, mo, d, h, mi, s].map(Number) as number[];
    if (M! < 1 || M! > 12 || D! < 1 || H! > 23 || I! > 59 || S! > 60) return undefined;
    const date = new Date(0);
    date.setUTCFullYear(Y!, M! - 1, D!);
    date.setUTCHours(H!, I!, S!, 0);
    if (date.getUTCFullYear() !== Y || date.getUTCMonth() !== M! - 1 || date.getUTCDate() !== D)
      return undefined;
    const iso = new Date(date.getTime() - offset * 60_000).toISOString();
    const micro = `${frac}000000`.slice(0, 6).replace(/0+$/, '');
    const year = iso.startsWith('-') || iso.startsWith('+') ? iso.slice(3, 7) : iso.slice(0, 4);
    return `${year}${iso.slice(iso.indexOf('-', 1), 19)}${micro ? `.${micro}` : ''}Z`;
  }

  it('property: the same answer as reading every wall time through a Date, valid or not', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const text = fc
      .record({
        // Leap-year rules are tested where they differ: centuries, 400s, and plain years.
        y: fc
          .oneof(
            fc.constantFrom(1900, 2000, 2100, 2023, 2024, 400, 100, 4, 1),
            fc.integer({ min: 1, max: 9998 }),
          )
          .map((n) => String(n).padStart(4, '0')),
        mo: fc.oneof(fc.constant('02'), two(13)),
        d: fc.oneof(fc.constantFrom('28', '29', '30', '31'), two(32)),
        h: two(24),
        mi: two(60),
        s: two(61),
        frac: fc.constantFrom('', '.5', '.250000', '.123456789', '.000001', '.'),
        sep: fc.constantFrom('T', ' '),
        zone: fc.constantFrom('Z', 'z', '', '+00', '+00:00', '-0000', '+02:00', '-05:30', ' Z', '+14:00'),
        cut: fc.constantFrom('full', 'minutes', 'date'),
      })
      .map(({ y, mo, d, h, mi, s, frac, sep, zone, cut }) => {
        if (cut === 'date') return `${y}-${mo}-${d}`;
        if (cut === 'minutes') return `${y}-${mo}-${d}${sep}${h}:${mi}${zone}`;
        return `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${frac}${zone}`;
      });
    fc.assert(
      fc.property(text, (t) => {
        expect(normalizeTimestamp(t)).toBe(viaDate(t));
      }),
      { numRuns: 20_000 },
    );
  });

  it('keeps years before 100 (Date.UTC maps 0–99 to 1900–1999)', () => {
    // An instant a database can hold (PostgreSQL, MySQL DATETIME from year 1000, SQLite text).
    expect(normalizeTimestamp('0050-06-01T00:00:00Z')).toBe('0050-06-01T00:00:00Z');
  });
});

describe('normalizeDate / normalizeTime / canonicalJson', () => {
  it('dates', () => {
    expect(normalizeDate('2024-01-02')).toBe('2024-01-02');
    expect(normalizeDate('2024-01-02T10:00:00Z')).toBe('2024-01-02');
    expect(normalizeDate(new Date(Date.UTC(2024, 0, 2)))).toBe('2024-01-02');
    expect(normalizeDate('02/01/2024')).toBeUndefined();
  });

  it('times', () => {
    expect(normalizeTime('3:04')).toBe('03:04:00');
    expect(normalizeTime('03:04:05.500')).toBe('03:04:05.5');
    expect(normalizeTime('03:04:05.000')).toBe('03:04:05');
    expect(normalizeTime('noon')).toBeUndefined();
  });

  it('json: key order does not matter, arrays keep theirs', () => {
    expect(canonicalJson('{"b":1,"a":{"d":2,"c":3}}')).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(canonicalJson('[3,1,2]')).toBe('[3,1,2]');
    expect(canonicalJson('{bad')).toBeUndefined();
  });

  it('property: json is idempotent and order-blind', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(JSON.stringify(v))!;
        expect(canonicalJson(text)).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });
});

describe('coerce', () => {
  it('booleans', () => {
    expect(coerce(true, 'integer')).toBe('1');
    expect(coerce(false, 'text')).toBe('false');
    expect(coerce('Yes', 'boolean')).toBe(true);
    expect(coerce(' off ', 'boolean')).toBe(false);
    expect(coerce('maybe', 'boolean')).toBeUndefined();
    expect(coerce(true, 'date')).toBeUndefined();
  });

  it('numbers', () => {
    expect(coerce('1.0', 'integer')).toBe('1');
    expect(coerce('1.5', 'integer')).toBeUndefined();
    expect(coerce('1.50', 'decimal')).toBe('1.5');
    expect(coerce('0.1', 'float')).toBe('0.1');
    expect(coerce('NaN', 'float')).toBe('NaN');
    expect(coerce('abc', 'decimal')).toBeUndefined();
  });

  it('null stays null in every kind', () => {
    for (const kind of COLUMN_KINDS) {
      expect(coerce(null, kind)).toBeNull();
    }
  });

  it('bytes', () => {
    expect(coerce('\\xDEAD', 'bytes')).toBe('\\xdead');
    expect(coerce('hi', 'bytes')).toBe('\\x6869');
  });

  /** [kind, arbitrary of canonical values of that kind]. */
  const canonicalOf: [ColumnKind, fc.Arbitrary<Canonical>][] = [
    ['text', fc.string()],
    ['integer', fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String)],
    ['decimal', decimalText.map((t) => normalizeDecimal(t)!)],
    ['float', fc.double({ noNaN: true, noDefaultInfinity: true }).map(floatText)],
    ['boolean', fc.boolean()],
    [
      'date',
      fc
        .date({ min: new Date('1000-01-01'), max: new Date('9999-12-31'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10)),
    ],
    [
      'timestamp',
      fc
        .date({ min: new Date('1000-01-01'), max: new Date('9999-12-31'), noInvalidDate: true })
        .map((d) => normalizeTimestamp(d)!),
    ],
    [
      'time',
      fc
        .tuple(
          fc.integer({ min: 0, max: 23 }),
          fc.integer({ min: 0, max: 59 }),
          fc.integer({ min: 0, max: 59 }),
        )
        .map(
          ([h, m, s]) => normalizeTime(`${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`)!,
        ),
    ],
    ['json', fc.jsonValue().map((v) => canonicalJson(JSON.stringify(v))!)],
    ['bytes', fc.uint8Array({ maxLength: 16 }).map((b) => `\\x${Buffer.from(b).toString('hex')}`)],
  ];

  it.each(canonicalOf)('property: a canonical %s value is a fixed point of coerce', (kind, arb) => {
    fc.assert(
      fc.property(arb, (v) => {
        expect(coerce(v, kind)).toBe(v);
      }),
    );
  });

  it.each(canonicalOf)('property: %s → text → back round-trips', (kind, arb) => {
    fc.assert(
      fc.property(arb, (v) => {
        const text = coerce(v, 'text');
        expect(text).toBeDefined();
        expect(coerce(text!, kind)).toBe(v);
      }),
    );
  });

  const numeric: [ColumnKind, ColumnKind, fc.Arbitrary<Canonical>][] = [
    ['integer', 'decimal', fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String)],
    ['decimal', 'text', decimalText.map((t) => normalizeDecimal(t)!)],
    ['integer', 'float', fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }).map(String)],
    ['boolean', 'integer', fc.boolean()],
    ['boolean', 'json', fc.boolean()],
    [
      'timestamp',
      'text',
      fc
        .date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => normalizeTimestamp(d)!),
    ],
  ];

  it.each(numeric)('property: %s → %s → back round-trips', (kind, via, arb) => {
    fc.assert(
      fc.property(arb, (v) => {
        const there = coerce(v, via);
        expect(there).toBeDefined();
        expect(coerce(there!, kind)).toBe(v);
      }),
    );
  });

  it('property: coerce is idempotent for any text in any kind', () => {
    const kinds = canonicalOf.map(([k]) => k);
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), decimalText, fc.constantFrom('true', 'no', '2024-01-02', '{"a":1}')),
        fc.constantFrom(...kinds),
        (text, kind) => {
          const once = coerce(text, kind);
          if (once === undefined) return;
          expect(coerce(once, kind)).toBe(once);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
