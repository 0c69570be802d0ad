/**
 * Bad input in SOR mode: config faults (exit 2 with the dotted path), schema
 * faults (exit 3 naming the table/column), and values a target refuses
 * (quarantined `write_failed` with SQLite's own message; the batch goes on).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ORIENTATIONS,
  QUIET,
  runClean,
  type SorWorkspace,
  sorWorkspace,
  sorYaml,
  txt,
} from './sor-helpers.js';

describe.each(ORIENTATIONS)('SOR mode, system_of_record: %s — bad input', (sor) => {
  let sw: SorWorkspace;
  afterEach(() => sw?.cleanup());
  const out = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

  /** A workspace with one S record waiting, so we can see nothing was synced. */
  const pending = () => {
    sw = sorWorkspace({ sor });
    sw.insertS({ email: 'a@x', name: 'Ann', status: 'active' });
  };
  const nothingSynced = () => {
    expect(sw.N()).toEqual([]);
    expect(sw.S()).toHaveLength(1);
  };

  describe('config faults → exit 2', () => {
    it('malformed YAML: run and validate exit 2 and point at the line', () => {
      pending();
      const yaml = sorYaml({ sor }).replace('    mode: system-of-record', '    mode: [system-of-record');
      sw.ws.writeConfig(yaml);
      for (const args of [['run', '--once'], ['validate']]) {
        const r = sw.ws.tandem(...args);
        expect(r.code, out(r)).toBe(2);
        expect(r.stderr).toMatch(/line \d+/);
        expect(r.stderr).not.toMatch(/INTERNAL|at .*\.js:\d+/); // a message, not a stack trace
      }
      nothingSynced();
    });

    it('an unknown key: exit 2 with its dotted path in stderr', () => {
      pending();
      const yaml = sorYaml({ sor }).replace('external_id: app_id', 'external_id: app_id, extrnal: x');
      sw.ws.writeConfig(yaml);
      for (const args of [['run', '--once'], ['run', '--once', '--json'], ['validate']]) {
        const r = sw.ws.tandem(...args);
        expect(r.code, out(r)).toBe(2);
        expect(r.stderr).toContain(`syncs.customers.${sw.nSide}.extrnal`);
      }
      nothingSynced();
    });

    it('an unknown key inside a field mapping: exit 2 with its dotted path', () => {
      pending();
      const yaml = sorYaml({ sor }).replace(/values: \{/, 'valuez: {');
      sw.ws.writeConfig(yaml);
      const r = sw.ws.tandem('run', '--once');
      expect(r.code, out(r)).toBe(2);
      expect(r.stderr).toContain('syncs.customers.fields.2.valuez');
      nothingSynced();
    });

    it('N side without external_id in SOR mode: exit 2 naming syncs.customers.<N>.external_id', () => {
      pending();
      const yaml = sorYaml({ sor }).replace(', external_id: app_id', '');
      sw.ws.writeConfig(yaml);
      const r = sw.ws.tandem('validate');
      expect(r.code, out(r)).toBe(2);
      expect(r.stderr).toContain(`syncs.customers.${sw.nSide}.external_id`);
      nothingSynced();
    });

    it('the external-ID column mapped as an ordinary field: exit 2', () => {
      pending();
      const yaml = sorYaml({ sor }).replace('    fields:\n', '    fields:\n      - app_id\n');
      sw.ws.writeConfig(yaml);
      const r = sw.ws.tandem('validate');
      expect(r.code, out(r)).toBe(2);
      expect(r.stderr).toContain('syncs.customers.fields.0');
    });
  });

  describe('schema faults → exit 3', () => {
    it('a missing table: run and validate exit 3 naming it', () => {
      pending();
      sw.ws.writeConfig(sorYaml({ sor }).replace('table: contacts', 'table: contactz'));
      for (const args of [['run', '--once'], ['validate']]) {
        const r = sw.ws.tandem(...args);
        expect(r.code, out(r)).toBe(3);
        expect(out(r)).toContain('contactz');
      }
      nothingSynced();
    });

    it('a missing mapped column: run and validate exit 3 naming it', () => {
      pending();
      const yaml = sorYaml({
        sor,
        fields: [
          { s: 'email', n: 'email' },
          { s: 'name', n: 'fullname' },
        ],
      });
      sw.ws.writeConfig(yaml);
      for (const args of [['run', '--once'], ['validate']]) {
        const r = sw.ws.tandem(...args);
        expect(r.code, out(r)).toBe(3);
        expect(out(r)).toContain('fullname');
      }
      nothingSynced();
    });

    it('a missing external_id column: exit 3 naming it', () => {
      pending();
      sw.ws.writeConfig(sorYaml({ sor }).replace('external_id: app_id', 'external_id: app_key'));
      const r = sw.ws.tandem('run', '--once');
      expect(r.code, out(r)).toBe(3);
      expect(out(r)).toContain('app_key');
      nothingSynced();
    });

    it('run --once --json reports the schema fault as JSON and exits 3', () => {
      pending();
      sw.ws.writeConfig(sorYaml({ sor }).replace('table: customers', 'table: customerz'));
      const r = sw.ws.tandem('run', '--once', '--json');
      expect(r.code, out(r)).toBe(3);
      expect(JSON.stringify(r.json())).toContain('customerz');
    });
  });

  describe('a value the target refuses → write_failed, the rest of the batch lands', () => {
    it('CHECK and NOT NULL on N refuse two S-born records: both quarantined with SQLite\u2019s message, exit 4', () => {
      sw = sorWorkspace({ sor, nTableExtra: 'CHECK (length(full_name) <= 10)', nNameType: 'TEXT NOT NULL' });
      const ok1 = sw.insertS({ email: 'a@x', name: 'Ann', status: 'active' });
      const long = sw.insertS({ email: 'l@x', name: 'A name far too long', status: 'active' });
      const nul = sw.insertS({ email: 'z@x', name: null, status: 'active' });
      const ok2 = sw.insertS({ email: 'b@x', name: 'Bob', status: 'inactive' });
      const r = sw.run();
      expect(r.code, r.res.stderr).toBe(4);
      expect(sw.N().map((x) => [x.app_id, x.full_name])).toEqual([
        [ok1, 'Ann'],
        [ok2, 'Bob'],
      ]);
      const errs = sw.errors();
      expect(errs).toHaveLength(2);
      const byId = new Map(errs.map((e) => [txt(e.identity), e]));
      expect(byId.get(String(long))).toMatchObject({ reason: 'write_failed', side: sw.nSide });
      expect(byId.get(String(long))!.message).toMatch(/CHECK constraint failed/);
      expect(byId.get(String(nul))).toMatchObject({ reason: 'write_failed', side: sw.nSide });
      expect(byId.get(String(nul))!.message).toMatch(/NOT NULL constraint failed: contacts\.full_name/);
      expect(sw.status().quarantined).toBe(2);
      // Fixing the source values puts them through, and lifts the quarantine.
      sw.updateS(long, { name: 'Short' });
      sw.updateS(nul, { name: 'Zed' });
      runClean(sw);
      expect(sw.errors()).toEqual([]);
      expect(
        sw
          .N()
          .map((x) => x.app_id)
          .sort(),
      ).toEqual([ok1, long, nul, ok2].sort());
      const again = runClean(sw);
      expect([again.created, again.updated, again.deleted]).toEqual([QUIET, QUIET, QUIET]);
    });

    it('an update N refuses: quarantined write_failed with the N key; the other update lands', () => {
      sw = sorWorkspace({ sor, nTableExtra: 'CHECK (length(full_name) <= 10)' });
      const a = sw.insertS({ email: 'a@x', name: 'Ann', status: 'active' });
      const b = sw.insertS({ email: 'b@x', name: 'Bob', status: 'active' });
      runClean(sw);
      const na = sw.N().find((x) => x.app_id === a)!.id;
      sw.updateS(a, { name: 'A name far too long' });
      sw.updateS(b, { name: 'Bobby' });
      const r = sw.run();
      expect(r.code).toBe(4);
      expect(sw.N().find((x) => x.app_id === b)!.full_name).toBe('Bobby');
      expect(sw.N().find((x) => x.app_id === a)!.full_name).toBe('Ann');
      const errs = sw.errors();
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ reason: 'write_failed', side: sw.nSide });
      expect(txt(errs[0]!.key)).toBe(String(na));
      expect(txt(errs[0]!.identity)).toBe(String(a));
      expect(errs[0]!.message).toMatch(/CHECK constraint failed/);
      sw.updateS(a, { name: 'Annie' });
      runClean(sw);
      expect(sw.N().find((x) => x.app_id === a)!.full_name).toBe('Annie');
      expect(sw.errors()).toEqual([]);
    });

    it('a create from N that S refuses: quarantined on S, N keeps an empty external_id, the others land', () => {
      sw = sorWorkspace({ sor, sTableExtra: "CHECK (email LIKE '%@%')" });
      runClean(sw);
      const good = sw.insertN({ email: 'g@x', full_name: 'Good', state: 'A' });
      const bad = sw.insertN({ email: 'not-an-email', full_name: 'Bad', state: 'A' });
      const r = sw.run();
      expect(r.code, r.res.stderr).toBe(4);
      expect(sw.S().map((x) => x.email)).toEqual(['g@x']);
      const n = sw.N();
      expect(n.find((x) => x.id === good)!.app_id).toBe(sw.S()[0]!.id);
      expect(n.find((x) => x.id === bad)!.app_id).toBeNull();
      const errs = sw.errors();
      expect(errs).toHaveLength(1);
      expect(errs[0]).toMatchObject({ reason: 'write_failed', side: sw.sSide });
      expect(errs[0]!.message).toMatch(/CHECK constraint failed/);
      // Still held on the next pass, with no second attempt creating anything.
      expect(sw.run().code).toBe(4);
      expect(sw.S()).toHaveLength(1);
      sw.updateN(bad, { email: 'fixed@x' });
      runClean(sw);
      expect(sw.errors()).toEqual([]);
      expect(sw.S().map((x) => x.email)).toEqual(['g@x', 'fixed@x']);
      expect(sw.N().find((x) => x.id === bad)!.app_id).toBe(sw.S()[1]!.id);
    });
  });
});
