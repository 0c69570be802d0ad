/**
 * What every decision of one batch looks things up in: the snapshot indexed
 * (records by the identity they carry, links by identity and by key), which
 * records are already settled, and the helpers that record a hold or a note.
 */
import { normalizeTimestamp } from '../../core/canonical.js';
import { identityOf } from '../../core/identity.js';
import type { Base } from '../../core/merge.js';
import { type SyncModel, sideOf } from '../../core/model.js';
import type { Side, SourceRecord } from '../../core/types.js';
import type { Link, QuarantineEntry, QuarantineReason } from '../../state/store.js';
import type { DecideInput } from '../decide.js';
import { NEW_IDENTITY, type Outcome } from '../outcome.js';
import type { Snapshot } from '../snapshot.js';

export const SIDES: Side[] = ['left', 'right'];

export class DecideContext {
  readonly model: SyncModel;
  readonly snap: Snapshot;
  readonly input: DecideInput;
  /** Records a decision has already covered (so no other decision touches them). */
  readonly handled: Record<Side, Set<string>> = { left: new Set(), right: new Set() };
  readonly linkByIdentity = new Map<string, Link>();
  /** Which link each linked record belongs to. */
  readonly linkOfKey: Record<Side, Map<string, Link>> = { left: new Map(), right: new Map() };
  /** In-scope records by the identity they carry (built once: looked up per link). */
  private readonly byCarried: Record<Side, Map<string, SourceRecord[]>> = {
    left: new Map(),
    right: new Map(),
  };

  constructor(input: DecideInput) {
    this.input = input;
    this.model = input.model;
    this.snap = input.snap;
    for (const l of this.snap.links.values()) {
      this.linkByIdentity.set(l.identity, l);
      if (l.leftKey !== null) this.linkOfKey.left.set(l.leftKey, l);
      if (l.rightKey !== null) this.linkOfKey.right.set(l.rightKey, l);
    }
    for (const side of SIDES) {
      for (const r of this.snap.records[side].values()) {
        if (!r.inScope) continue;
        const id = identityOf(this.model, side, r);
        if (id === null) continue;
        const list = this.byCarried[side].get(id);
        if (list) list.push(r);
        else this.byCarried[side].set(id, [r]);
      }
    }
  }

  /** In-scope records on `side` carrying `identity`. */
  carriers(side: Side, identity: string): SourceRecord[] {
    return this.byCarried[side].get(identity) ?? [];
  }

  /**
   * Carriers of `identity` on `side` not bound to a link other than `link`: a record linked
   * elsewhere is that link's business (a rename or an edited external ID), never a duplicate here.
   */
  freeCarriers(side: Side, identity: string, link: Link | null): SourceRecord[] {
    return this.carriers(side, identity).filter((r) => {
      const bound = this.linkOfKey[side].get(r.key);
      return !bound || bound === link;
    });
  }

  /** The manual-conflict hold on a record, unless `retry` asked to look at it again. */
  heldConflict(side: Side, key: string): QuarantineEntry | undefined {
    const q = this.snap.held[side].get(key);
    return q?.reason === 'conflict' && !this.input.retry[side].has(key) ? q : undefined;
  }

  /** For a retried manual conflict: fingerprints as held, so the side edited since then wins. */
  heldBase(q: QuarantineEntry | undefined): Base {
    if (q?.reason !== 'conflict') return {};
    return (q.detail?.heldBase as Base | undefined) ?? {};
  }

  /** When a record last changed: its `updated_at`, else capture's time, else what the link recorded. */
  timeOf(side: Side, rec: SourceRecord | undefined, stored: string | null): string | null {
    const s = sideOf(this.model, side);
    if (rec && s.updatedAt) {
      const v = rec.values[s.updatedAt];
      if (typeof v === 'string') return normalizeTimestamp(v) ?? stored;
    }
    if (rec) return this.input.changedAt[side].get(rec.key) ?? stored;
    return stored;
  }

  quarantine(
    o: Outcome,
    side: Side,
    key: string,
    identity: string | null,
    reason: QuarantineReason,
    message: string,
    detail?: Record<string, unknown>,
  ): void {
    const q: QuarantineEntry = {
      sync: this.model.name,
      side,
      key,
      identity,
      reason,
      message,
      recordSide: side,
      recordKey: key,
    };
    if (detail) q.detail = detail;
    o.quarantine.push(q);
    o.history.push({
      sync: this.model.name,
      identity: identity ?? `${side}:${key}`,
      at: this.input.now,
      side,
      action: `quarantined ${reason}`,
      detail: { key, message },
    });
  }

  /**
   * A line of history. An outcome whose identity is not known yet (a create in the SOR) notes
   * under NEW_IDENTITY; apply.ts puts the new key there once the SOR has assigned it.
   */
  note(o: Outcome, side: Side | 'engine', action: string, detail?: Record<string, unknown>): void {
    o.history.push({
      sync: this.model.name,
      identity: o.identity ?? NEW_IDENTITY,
      at: this.input.now,
      side,
      action,
      ...(detail ? { detail } : {}),
    });
  }
}
