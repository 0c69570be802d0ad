/**
 * The stored forms the SQLite state store writes for every batch, made by hand
 * rather than by JSON.stringify of objects: a batch of a thousand creates is a
 * thousand links and a thousand intent entries, and these encodings are what
 * keeps saving them cheap. They are also what WorkerStateStore sends to its
 * thread (strings and flat arrays cross far faster than nested objects).
 */
import type { Side } from '../core/types.js';
import { baseFromJson, encodeBase, encodeBaseAligned } from './base-text.js';
import type { Intent, IntentCreate, IntentLink, Link } from './store.js';

/** Links as one flat array, LINK_STRIDE values per link: id, identity, keys, encoded base, change times. */
export type LinkRows = (string | number | null)[];
export const LINK_STRIDE = 7;

export function linksToRows(links: Link[]): LinkRows {
  const rows: LinkRows = new Array(links.length * LINK_STRIDE);
  let i = 0;
  for (const l of links) {
    rows[i++] = l.id ?? null;
    rows[i++] = l.identity;
    rows[i++] = l.leftKey;
    rows[i++] = l.rightKey;
    rows[i++] = encodeBase(l.base);
    rows[i++] = l.leftAt;
    rows[i++] = l.rightAt;
  }
  return rows;
}

const str = (s: string | null) => (s === null ? 'null' : JSON.stringify(s));
/** ISO times need no escaping. */
const time = (s: string | null) => (s === null ? 'null' : `"${s}"`);

/**
 * An intent's body: the field list once, creates as arrays
 * `[ref, target, source, sourceKey, identity, base, leftAt, rightAt, replacesLinkId?]`
 * with the base in the order of that list (or keyed, if a create's fields differ),
 * links (updates, fewer and smaller) as objects.
 */
export function encodeIntentBody(intent: Pick<Intent, 'creates' | 'links'>): string {
  const first = intent.creates[0];
  const fields = first ? Object.keys(first.base) : [];
  // Parts joined once: a string grown by += is a deep rope that costs more to flatten than to build.
  const parts: string[] = [];
  for (const c of intent.creates) {
    parts.push(
      `[${c.ref},"${c.target}","${c.source}",${str(c.sourceKey)},${str(c.identity)},` +
        `${encodeBaseAligned(c.base, fields) ?? encodeBase(c.base)},${time(c.leftAt)},${time(c.rightAt)}` +
        `${c.replacesLinkId === undefined ? '' : `,${c.replacesLinkId}`}]`,
    );
  }
  return `{"fields":${JSON.stringify(fields)},"creates":[${parts.join(',')}],"links":${JSON.stringify(intent.links)}}`;
}

type CreateRow = [
  number,
  Side,
  Side,
  string,
  string | null,
  Record<string, string | [string, string]> | (string | [string, string])[],
  string | null,
  string | null,
  number?,
];

export function decodeIntentBody(body: string): Pick<Intent, 'creates' | 'links'> {
  const raw = JSON.parse(body) as {
    fields?: string[];
    creates: (CreateRow | IntentCreate)[];
    links: IntentLink[];
  };
  const creates = raw.creates.map((c): IntentCreate => {
    // Objects: intents saved by earlier versions.
    if (!Array.isArray(c)) return c;
    const [ref, target, source, sourceKey, identity, base, leftAt, rightAt, replacesLinkId] = c;
    return {
      ref,
      target,
      source,
      sourceKey,
      identity,
      base: baseFromJson(base, raw.fields),
      leftAt,
      rightAt,
      ...(replacesLinkId === undefined ? {} : { replacesLinkId }),
    };
  });
  return { creates, links: raw.links };
}
