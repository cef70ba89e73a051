/** The store's behaviour, run against PGlite always and against a real PostgreSQL when one is configured. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, expecting, type Bin } from '../../protocol/index.ts';
import { MIGRATIONS } from './migrations.ts';
import { maintainPartitions } from './partitions.ts';
import { CombinedWrites, type SqlDriver, type SqlExecutor } from './sql.ts';
import { Store } from './store.ts';
import { windowRefKey, type WindowRef, type WindowRow } from './rows.ts';

const T0 = 1_764_230_400_000;

function bin(seq: number, volume: number): Bin {
  return decode('bin', {
    device_id: 'agent-1', seq, detector_id: 'd1', station_id: 's1', bin_start_ms: T0, bin_ms: 60_000,
    clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume, samples_seen: 3 },
  });
}

/**
 * Two writers meeting on the same rows: `first` runs in a transaction until it calls `pause`, `meanwhile` starts
 * (on PostgreSQL it must wait on what `first` holds), and 200 ms later `first` is let go to finish. Returns what
 * `meanwhile` returned. On PGlite the transactions take turns, so `meanwhile` simply runs after `first`.
 */
async function meet<T>(store: Store, first: (tx: SqlExecutor, pause: () => Promise<void>) => Promise<void>, meanwhile: () => Promise<T>): Promise<T> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let paused!: () => void;
  const pausing = new Promise<void>((r) => (paused = r));
  const firstDone = store.transaction((tx) => first(tx, () => (paused(), released)));
  await Promise.race([pausing, firstDone]);
  const other = meanwhile();
  await new Promise((r) => setTimeout(r, 200));
  release();
  const [, out] = await Promise.all([firstDone, other]);
  return out;
}

/** Writes these rows as they are, through the one write path ingest uses. */
function put(store: Store, tx: SqlExecutor, rows: WindowRow[]): Promise<WindowRow[]> {
  return store.updateWindows(tx, rows, () => rows);
}

export function storeContract(name: string, open: () => Promise<SqlDriver>): void {
  describe(`Store: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = new Store(await open());
    });
    afterAll(async () => {
      await store.close();
    });

    it('applies migrations once, however often it starts', async () => {
      expect(await store.migrate()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await store.migrate()).toEqual([]);
    });

    it('returns only bins it has not seen, by (device_id, seq)', async () => {
      const first = await store.transaction((tx) => store.claimBins(tx, [bin(1, 5), bin(2, 6)]));
      expect(first.map((b) => b.seq)).toEqual([1, 2]);
      const again = await store.transaction((tx) => store.claimBins(tx, [bin(2, 6), bin(3, 7), bin(1, 5)]));
      expect(again.map((b) => b.seq)).toEqual([3]);
    });

    it('counts a bin once when two transactions bring it at the same time', async () => {
      // Two consumers of one partition overlap for a moment during a rebalance: the second must wait for the
      // first's runs and then see them. Reading them in the statement that waits for the lock would miss them.
      const other = (seq: number): Bin => ({ ...bin(seq, 1), device_id: 'agent-twice' });
      const second = await meet(
        store,
        async (tx, pause) => {
          expect((await store.claimBins(tx, [other(1), other(2)])).map((b) => b.seq)).toEqual([1, 2]);
          await pause();
        },
        () => store.transaction((tx) => store.claimBins(tx, [other(2), other(3)])),
      );
      expect(second.map((b) => b.seq)).toEqual([3]);
      const { rows } = await store.db.query<{ first_seq: number; last_seq: number }>("SELECT first_seq, last_seq FROM ingested_seqs WHERE device_id = 'agent-twice'");
      expect(rows).toEqual([{ first_seq: 1, last_seq: 3 }]);
    });

    it('lets transactions of one device’s different stations count its bins side by side', async () => {
      // One agent reads stations on different partitions: their transactions must not wait for each other.
      const of = (seq: number, station_id: string): Bin => ({ ...bin(seq, 1), device_id: 'agent-wide', station_id });
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let paused!: () => void;
      const pausing = new Promise<void>((r) => (paused = r));
      const first = store.transaction(async (tx) => {
        const got = await store.claimBins(tx, [of(1, 's1'), of(2, 's1'), of(5, 's1')]);
        paused();
        await released;
        return got;
      });
      await Promise.race([pausing, first]);
      const second = store.transaction((tx) => store.claimBins(tx, [of(3, 's2'), of(4, 's2'), of(6, 's2')]));
      if (name.startsWith('PGlite')) release(); // one connection: transactions take turns
      else {
        const outcome = await Promise.race([second.then(() => 'done'), new Promise((r) => setTimeout(() => r('waiting'), 3_000))]);
        expect(outcome).toBe('done');
        release();
      }
      expect((await first).map((b) => b.seq)).toEqual([1, 2, 5]);
      expect((await second).map((b) => b.seq)).toEqual([3, 4, 6]);
      // Every one of them is counted, whatever runs the two left side by side.
      const again = await store.transaction((tx) => store.claimBins(tx, [1, 2, 3, 4, 5, 6, 7].map((q) => of(q, q % 2 ? 's1' : 's2'))));
      expect(again.map((b) => b.seq)).toEqual([7]);
    });

    it('lets them extend the same stored run side by side, and counts every bin once', async () => {
      // A device's seqs run across its stations, whose batches come on different partitions: a stored run (here
      // 5–9) is met from below and from above by two of them at once, and both replace it.
      const of = (seq: number, station_id: string): Bin => ({ ...bin(seq, 1), device_id: 'agent-extend', station_id });
      const counted = await store.countedBins();
      await store.transaction((tx) => store.claimBins(tx, [5, 6, 7, 8, 9].map((q) => of(q, 's0'))));
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let paused!: () => void;
      const pausing = new Promise<void>((r) => (paused = r));
      const first = store.transaction(async (tx) => {
        const got = await store.claimBins(tx, [of(4, 's1')]);
        paused();
        await released;
        return got;
      });
      await Promise.race([pausing, first]);
      const second = store.transaction((tx) => store.claimBins(tx, [of(10, 's2')]));
      if (name.startsWith('PGlite')) release(); // one connection: transactions take turns
      else {
        const outcome = await Promise.race([second.then(() => 'done'), new Promise((r) => setTimeout(() => r('waiting'), 3_000))]);
        expect(outcome).toBe('done');
        release();
      }
      expect((await first).map((b) => b.seq)).toEqual([4]);
      expect((await second).map((b) => b.seq)).toEqual([10]);
      expect(await store.countedBins()).toBe(counted + 7);
      const again = await store.transaction((tx) => store.claimBins(tx, [3, 4, 5, 6, 7, 8, 9, 10, 11].map((q) => of(q, 's1'))));
      expect(again.map((b) => b.seq)).toEqual([3, 11]);
      // The runs the two left overlapping are one again after that change.
      const { rows } = await store.db.query<{ first_seq: number; last_seq: number }>("SELECT first_seq, last_seq FROM ingested_seqs WHERE device_id = 'agent-extend'");
      expect(rows).toEqual([{ first_seq: 3, last_seq: 11 }]);
    });

    it('counts the bins its runs cover once, where runs overlap', async () => {
      const before = await store.countedBins();
      // As two side-by-side writers can leave them: [1, 8] and [3, 12] nested around [5, 6]; and a run apart.
      await store.db.query(
        `INSERT INTO ingested_seqs (device_id, first_seq, last_seq, last_bin_start_ms)
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])`,
        [['agent-ov', 'agent-ov', 'agent-ov', 'agent-ov', 'agent-ov2'], [1, 3, 5, 20, 1], [8, 12, 6, 21, 4], [T0, T0, T0, T0, T0]],
      );
      expect((await store.countedBins()) - before).toBe(12 + 2 + 4);
      expect(await store.pruneDedupe(T0 + 1)).toBeGreaterThanOrEqual(18);
    });

    it('forgets runs whose newest bin is past the dedupe horizon, and keeps growing ones', async () => {
      const at = (device_id: string, seq: number, bin_start_ms: number): Bin => ({ ...bin(seq, 1), device_id, bin_start_ms });
      await store.transaction((tx) => store.claimBins(tx, [at('agent-old', 1, T0 - 7_200_000), at('agent-old', 2, T0 - 7_140_000), at('agent-live', 1, T0 - 7_200_000), at('agent-live', 2, T0)]));
      expect(await store.pruneDedupe(T0 - 3_600_000)).toBe(2);
      // The forgotten pair is new again (ingest then records it as a late event); the growing run still dedupes.
      const again = await store.transaction((tx) => store.claimBins(tx, [at('agent-old', 1, T0 - 7_200_000), at('agent-live', 1, T0 - 7_200_000)]));
      expect(again.map((b) => b.device_id)).toEqual(['agent-old']);
    });

    it('rolls back everything in a failed transaction', async () => {
      await expect(
        store.transaction(async (tx) => {
          await store.claimBins(tx, [bin(10, 1)]);
          await store.saveOffset(tx, 'g', 't', 0, 99, T0);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.loadOffset('g', 't', 0)).toBeNull();
      const retry = await store.transaction((tx) => store.claimBins(tx, [bin(10, 1)]));
      expect(retry).toHaveLength(1);
    });

    it('writes, locks, finalises and reads windows', async () => {
      const row: WindowRow = {
        level: 'station', key: 's1', window_start_ms: T0, window_end_ms: T0 + 300_000, revision: 0, state: 'provisional',
        clock_untrusted: false, measures: { ...expecting(15), volume: 40, samples_seen: 15 }, updated_ms: T0,
      };
      await store.transaction((tx) => put(store, tx, [row, { ...row, window_start_ms: T0 - 300_000, window_end_ms: T0 }]));
      // The fold is given the stored windows as they are, and nothing for a key not stored; what it returns is
      // written, an update for the one and an insert for the other.
      const nope: WindowRef = { level: 'station', key: 'nope', window_start_ms: T0 };
      let given = new Map<string, WindowRow>();
      const written = await store.transaction((tx) =>
        store.updateWindows(tx, [row, nope], (stored) => {
          given = new Map(stored);
          const was = stored.get(windowRefKey(row))!;
          return [{ ...was, measures: { ...was.measures, volume: 41 } }, { ...row, ...nope, measures: { ...row.measures, volume: 2 } }];
        }),
      );
      expect([...given.keys()]).toEqual([windowRefKey(row)]);
      expect(given.get(windowRefKey(row))!.measures.volume).toBe(40);
      expect(written.map((w) => [w.key, w.measures.volume])).toEqual([['nope', 2], ['s1', 41]]);
      expect((await store.windowsOf('station', 'nope', T0, T0 + 1)).map((w) => w.measures.volume)).toEqual([2]);
      expect((await store.windowsOf('station', 's1', T0, T0 + 1)).map((w) => w.measures.volume)).toEqual([41]);
      // Rolled back, nothing of it stays.
      await expect(
        store.transaction(async (tx) => {
          await put(store, tx, [{ ...row, key: 'gone' }]);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await store.windowsOf('station', 'gone', T0, T0 + 1)).toEqual([]);

      expect(await store.finalizeDue(T0 + 300_000 + 59_999, 60_000)).toHaveLength(1); // only the earlier one
      const final = await store.finalizeDue(T0 + 360_000, 60_000);
      expect(final.map((w) => [w.key, w.window_start_ms, w.state]).sort()).toEqual([['nope', T0, 'final'], ['s1', T0, 'final']]);
      expect((await store.latestWindows('station'))[0]!.window_start_ms).toBe(T0);
      expect(await store.windowsOf('station', 's1', T0 - 300_000, T0 + 1)).toHaveLength(2);
    });

    it('makes a second writer of a new window wait for the first and build on its row', async () => {
      // Two batches bringing the first bins of one window at once (a partition's batches overlapping after a
      // consumer restart): the second must see the first's row, not start from nothing and overwrite it.
      const ref: WindowRef = { level: 'detector', key: 'race', window_start_ms: T0 };
      const empty: WindowRow = { ...ref, window_end_ms: T0 + 300_000, revision: 0, state: 'provisional', clock_untrusted: false, measures: expecting(0), updated_ms: T0 };
      const plus = (stored: ReadonlyMap<string, WindowRow>, volume: number): WindowRow[] => {
        const row = stored.get(windowRefKey(ref)) ?? empty;
        return [{ ...row, measures: { ...row.measures, volume: (row.measures.volume ?? 0) + volume } }];
      };
      const secondSaw: (number | null)[] = [];
      await meet(
        store,
        async (tx, pause) => {
          await store.updateWindows(tx, [ref], (stored) => plus(stored, 5));
          await pause();
        },
        () =>
          store.transaction((tx) =>
            store.updateWindows(tx, [ref], (stored) => {
              secondSaw.push(stored.get(windowRefKey(ref))?.measures.volume ?? null);
              return plus(stored, 7);
            }),
          ),
      );
      // On PostgreSQL the second found nothing, met the first's insert, and folded again on its row; on PGlite,
      // where transactions take turns, it found that row at once.
      expect(secondSaw).toEqual(name.startsWith('PGlite') ? [5] : [null, 5]);
      expect((await store.windowsOf('detector', 'race', T0, T0 + 1)).map((w) => w.measures.volume)).toEqual([12]);
    });

    it('finalises windows in the order ingest claims them, so the two never wait on each other in a circle', async () => {
      // Ingest claims detector and station windows in key order (corridors last). Two due windows stored the other
      // way round: a finaliser locking in table order would take the station's row, then wait for the detector's,
      // which an ingest transaction holds while it waits for the station's: a deadlock, and one of them aborted.
      const at = T0 - 3_600_000;
      const due = (level: 'detector' | 'station', key: string): WindowRow => ({
        level, key, window_start_ms: at, window_end_ms: at + 300_000, revision: 0, state: 'provisional',
        clock_untrusted: false, measures: { ...expecting(15), volume: 1, samples_seen: 15 }, updated_ms: at,
      });
      const [detector, station] = [due('detector', 'order-d'), due('station', 'order-s')];
      await store.transaction((tx) => put(store, tx, [station]));
      await store.transaction((tx) => put(store, tx, [detector]));
      const rows = await meet(
        store,
        async (tx, pause) => {
          await put(store, tx, [detector]);
          await pause();
          await put(store, tx, [station]);
        },
        () => store.finalizeDue(at + 400_000, 60_000, 0),
      );
      expect(rows.filter((w) => w.key.startsWith('order-')).map((w) => [w.key, w.state]).sort()).toEqual([['order-d', 'final'], ['order-s', 'final']]);
    });

    it('registers detectors in key order, so an instance starting beside an ingesting one never deadlocks', async () => {
      // An ingest transaction has registered one detector it saw and will register another; meanwhile a starting
      // instance writes its inventory, listed the other way round. Written in list order, each would wait on the
      // other's new row: PostgreSQL aborts one (the fault harness saw a starting central exit of it).
      const seen = (detector_id: string): Bin => ({ ...bin(1, 1), detector_id });
      await meet(
        store,
        async (tx, pause) => {
          await store.observeDetectors(tx, [seen('order-det-a')], T0);
          await pause();
          await store.observeDetectors(tx, [seen('order-det-b')], T0);
        },
        () => store.upsertDetectors([{ detector_id: 'order-det-b', station_id: 's1' }, { detector_id: 'order-det-a', station_id: 's1' }], T0),
      );
      const rows = (await store.detectors()).filter((d) => d.detector_id.startsWith('order-det-'));
      expect(rows.map((d) => [d.detector_id, d.source, d.last_event_ms])).toEqual([['order-det-a', 'inventory', T0 + 60_000], ['order-det-b', 'inventory', T0 + 60_000]]);
    });

    it("moves a detector's progress once per window, and remembers only a committed write", async () => {
      const at = (detector_id: string, minute: number, device_id = 'agent-1'): Bin => ({ ...bin(1, 1), detector_id, device_id, bin_start_ms: T0 + minute * 60_000 });
      const progress = async (id: string) => (await store.detectors()).find((d) => d.detector_id === id);
      const observe = async (bins: Bin[]) => (await store.transaction((tx) => store.observeDetectors(tx, bins, T0)))();

      await observe([at('prog-d', 0)]);
      expect(await progress('prog-d')).toMatchObject({ last_event_ms: T0 + 60_000, device_id: 'agent-1' });
      // Later bins of the same window: nothing written.
      await observe([at('prog-d', 1), at('prog-d', 2)]);
      expect((await progress('prog-d'))!.last_event_ms).toBe(T0 + 60_000);
      // A bin of the next window moves it; so does another device, at once.
      await observe([at('prog-d', 5)]);
      expect((await progress('prog-d'))!.last_event_ms).toBe(T0 + 6 * 60_000);
      await observe([at('prog-d', 6, 'agent-2')]);
      expect(await progress('prog-d')).toMatchObject({ last_event_ms: T0 + 7 * 60_000, device_id: 'agent-2' });

      // A write whose transaction rolled back is not taken as written: the next observation writes it.
      await expect(store.transaction(async (tx) => {
        await store.observeDetectors(tx, [at('prog-e', 0)], T0);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
      expect(await progress('prog-e')).toBeUndefined();
      await observe([at('prog-e', 1)]);
      expect((await progress('prog-e'))!.last_event_ms).toBe(T0 + 2 * 60_000);
    });

    it('sends combined writes as one statement, each with its own parameters', async () => {
      const sent: string[] = [];
      const counted = await store.transaction(async (tx) => {
        const spy: SqlExecutor = { query: (text, params) => (sent.push(text), tx.query(text, params)), exec: (t) => tx.exec(t) };
        const side = new CombinedWrites(spy);
        await side.flush(); // nothing collected: nothing sent
        await store.saveOffsets(side, 'combined', [{ topic: 't', partition: 0, next_offset: 7, reset: false }], T0);
        await store.observeDetectors(side, [{ ...bin(1, 1), detector_id: 'combined-d', bin_start_ms: T0 + 60_000 }], T0);
        await store.saveOffsets(side, 'combined', [{ topic: 't', partition: 1, next_offset: 9, reset: true }], T0);
        expect(sent).toEqual([]);
        await side.flush();
        return sent.length;
      });
      expect(counted).toBe(1);
      expect([await store.loadOffset('combined', 't', 0), await store.loadOffset('combined', 't', 1)]).toEqual([7, 9]);
      expect((await store.detectors()).find((d) => d.detector_id === 'combined-d')).toMatchObject({ last_event_ms: T0 + 120_000, device_id: 'agent-1' });
    });

    it('sends the dedupe record and the side rows with the window write, in one statement', async () => {
      const sent: string[] = [];
      const of = (seq: number) => ({ ...bin(seq, 1), device_id: 'ride-agent', detector_id: 'ride-d', station_id: 'ride-s' });
      const row: WindowRow = {
        level: 'detector', key: 'ride-d', window_start_ms: T0, window_end_ms: T0 + 300_000, revision: 0, state: 'provisional',
        clock_untrusted: false, measures: { ...expecting(3), volume: 2, samples_seen: 3 }, updated_ms: T0,
      };
      await store.transaction(async (tx) => {
        const spy: SqlExecutor = { query: (text, params) => (sent.push(text), tx.query(text, params)), exec: (t) => tx.exec(t) };
        const side = new CombinedWrites(spy);
        expect((await store.claimBins(spy, [of(1), of(2)], side)).map((b) => b.seq)).toEqual([1, 2]);
        const claiming = sent.length; // the lock and the read: the new run waits in `side`
        await store.saveOffsets(side, 'ride', [{ topic: 't', partition: 0, next_offset: 3, reset: false }], T0);
        await store.updateWindows(spy, [row], () => [row], side);
        // The window lock, then the write carrying the rest.
        expect(sent.length - claiming).toBe(2);
        expect(sent.at(-1)).toMatch(/INSERT INTO ingested_seqs[\s\S]*INSERT INTO consumer_offsets[\s\S]*UPDATE windows/);
        await side.flush();
        expect(sent.length - claiming).toBe(2); // nothing was left to send
      });
      // All three landed: the bins count as seen, the offset is saved, the window is written.
      expect(await store.transaction((tx) => store.claimBins(tx, [of(1), of(2), of(3)]))).toEqual([of(3)]);
      expect(await store.loadOffset('ride', 't', 0)).toBe(3);
      expect((await store.windowsOf('detector', 'ride-d', T0, T0 + 1)).map((w) => w.measures.volume)).toEqual([2]);
      // A run replaced goes the same way: seqs 1–3 become one run, and 1–4 the next time.
      await store.transaction(async (tx) => {
        const side = new CombinedWrites(tx);
        expect((await store.claimBins(tx, [of(4)], side)).map((b) => b.seq)).toEqual([4]);
        await side.flush();
      });
      const runs = await store.db.query<{ first_seq: number; last_seq: number }>("SELECT first_seq, last_seq FROM ingested_seqs WHERE device_id = 'ride-agent'");
      expect(runs.rows).toEqual([{ first_seq: 1, last_seq: 4 }]);
      expect(await store.transaction((tx) => store.claimBins(tx, [1, 2, 3, 4, 5].map(of)))).toEqual([of(5)]);
    });

    it('finalises under a lease only while the lease is held', async () => {
      const row: WindowRow = {
        level: 'station', key: 'fenced', window_start_ms: T0, window_end_ms: T0 + 300_000, revision: 0, state: 'provisional',
        clock_untrusted: false, measures: { ...expecting(15), volume: 4, samples_seen: 15 }, updated_ms: T0,
      };
      await store.transaction((tx) => put(store, tx, [row]));
      const now = T0 + 400_000;
      expect(await store.analytics.lease('fence-test', 'a', now - 10_000, 30_000)).toBe(true);
      // B does not hold it, and A's has expired by now + 30 s: neither may finalise.
      expect(await store.finalizeDue(now, 60_000, 1, { name: 'fence-test', holder: 'b' })).toEqual([]);
      expect(await store.finalizeDue(now + 30_000, 60_000, 1, { name: 'fence-test', holder: 'a' })).toEqual([]);
      expect((await store.windowsOf('station', 'fenced', T0, T0 + 1))[0]!.state).toBe('provisional');
      const done = await store.finalizeDue(now, 60_000, 1, { name: 'fence-test', holder: 'a' });
      expect(done.filter((w) => w.key === 'fenced').map((w) => w.state)).toEqual(['final']);
    });

    it('keeps windows in day partitions: made ahead, filled from the default partition, dropped when old', async () => {
      const DAY = 86_400_000;
      const day = Math.floor(T0 / DAY) * DAY;
      const row = (start: number): WindowRow => ({
        level: 'detector', key: 'part-d1', window_start_ms: start, window_end_ms: start + 300_000, revision: 0, state: 'final',
        clock_untrusted: false, measures: { ...expecting(15), volume: 7, samples_seen: 15 }, updated_ms: T0,
      });
      // Written before any partition exists: it lands in the default partition…
      await store.transaction((tx) => put(store, tx, [row(day + 600_000), row(day - 500 * DAY)]));
      const inDefault = async () => (await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM windows_default WHERE key = 'part-d1'")).rows[0]!.n;
      expect(await inDefault()).toBe(2);
      // …and moves into its day's partition when maintenance creates it; the 500-day-old one ages out.
      const plan = { back_days: 1, ahead_days: 1, retention_days: 400 };
      const first = await maintainPartitions(store.db, T0, plan);
      const name = (d: number) => `windows_d${new Date(d).toISOString().slice(0, 10).replaceAll('-', '')}`;
      expect(first.created).toEqual([name(day - DAY), name(day), name(day + DAY)]);
      expect(await inDefault()).toBe(0);
      const { rows } = await store.db.query<{ part: string }>("SELECT tableoid::regclass::text AS part FROM windows WHERE key = 'part-d1'");
      expect(rows.map((r) => r.part.split('.').pop())).toEqual([name(day)]);
      // Writes and upserts go through the parent as before.
      await store.transaction((tx) => put(store, tx, [{ ...row(day + 600_000), revision: 1, state: 'revised' }]));
      expect((await store.windowsOf('detector', 'part-d1', day, day + DAY)).map((w) => w.revision)).toEqual([1]);
      // Idempotent; and 400 days on, the old day partitions are dropped whole.
      expect(await maintainPartitions(store.db, T0, plan)).toEqual({ created: [], dropped: [] });
      const later = await maintainPartitions(store.db, T0 + 402 * DAY, plan);
      expect(later.dropped).toEqual([name(day - DAY), name(day), name(day + DAY)]); // all ended 400 days before that day
      expect(await store.windowsOf('detector', 'part-d1', day, day + DAY)).toEqual([]);
    });

    it('makes a day partition while an ingest transaction that read the table writes into the default partition', async () => {
      // Ingest scans every partition (weak locks), then writes a window whose day has no partition yet, as on
      // a first start with a backlog. Maintenance used to lock the default partition, then need more of it:
      // the two waited on each other and PostgreSQL killed one as a deadlock.
      const DAY = 86_400_000;
      const day = Math.floor(T0 / DAY) * DAY + 40 * DAY;
      const row: WindowRow = {
        level: 'detector', key: 'dl-d1', window_start_ms: day + 600_000, window_end_ms: day + 900_000, revision: 0, state: 'provisional',
        clock_untrusted: false, measures: { ...expecting(15), volume: 3, samples_seen: 15 }, updated_ms: day,
      };
      const made = await meet(
        store,
        async (tx, pause) => {
          await tx.query("SELECT level FROM windows WHERE key = 'dl-d1' FOR UPDATE");
          await pause();
          await put(store, tx, [row]);
        },
        () => maintainPartitions(store.db, day, { back_days: 0, ahead_days: 0, retention_days: 400 }),
      );
      const name = `windows_d${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
      expect(made.created).toEqual([name]);
      const { rows } = await store.db.query<{ part: string }>("SELECT tableoid::regclass::text AS part FROM windows WHERE key = 'dl-d1'");
      expect(rows.map((r) => r.part.split('.').pop())).toEqual([name]);
    });

    it('stores an alert opened and closed in one batch as one row in its latest state', async () => {
      const open = {
        v: 1 as const, alert_id: 'traffic:speed_kmh_low:s9:1', kind: 'traffic' as const, rule: 'speed_kmh_low', key: 's9', state: 'open' as const,
        severity: 'warning' as const, opened_ms: T0, closed_ms: null, window_start_ms: T0, window_revision: 0, detail: 'slow',
      };
      await store.analytics.saveAlerts([open, { ...open, state: 'closed', opened_ms: T0 + 900_000, closed_ms: T0 + 900_000, window_start_ms: T0 + 600_000, detail: 'cleared' }], T0 + 900_000);
      expect(await store.analytics.alerts()).toEqual([{ ...open, state: 'closed', closed_ms: T0 + 900_000, window_start_ms: T0 + 600_000, detail: 'cleared' }]);
    });

    it('takes corridor window locks inside a transaction', async () => {
      const refs = [{ level: 'corridor' as const, key: 'i35-nb', window_start_ms: T0 }, { level: 'corridor' as const, key: 'valley-mills-nb', window_start_ms: T0 }];
      await store.transaction((tx) => store.lockCorridors(tx, refs));
      await store.transaction((tx) => store.lockCorridors(tx, refs)); // released at commit: taken again at once
    });

    it('keeps consumer offsets per group, topic and partition', async () => {
      await store.transaction((tx) => store.saveOffset(tx, 'central', 'wacoflow.bins.v1', 2, 41, T0));
      await store.transaction((tx) => store.saveOffset(tx, 'central', 'wacoflow.bins.v1', 2, 57, T0));
      expect(await store.loadOffset('central', 'wacoflow.bins.v1', 2)).toBe(57);
      expect(await store.loadOffset('central', 'wacoflow.bins.v1', 1)).toBeNull();
      // A consumer finishing late must not rewind the partition's new owner…
      await store.transaction((tx) => store.saveOffset(tx, 'central', 'wacoflow.bins.v1', 2, 50, T0));
      expect(await store.loadOffset('central', 'wacoflow.bins.v1', 2)).toBe(57);
      // …but a replaced log starts again from its own offsets.
      await store.transaction((tx) => store.saveOffset(tx, 'central', 'wacoflow.bins.v1', 2, 3, T0, true));
      expect(await store.loadOffset('central', 'wacoflow.bins.v1', 2)).toBe(3);
    });

    it('saves a group of partitions\' offsets at once, each by the same rule', async () => {
      const bins = 'wacoflow.bins.v1';
      await store.transaction((tx) => store.saveOffsets(tx, 'central', [0, 1, 2].map((partition) => ({ topic: bins, partition, next_offset: 100, reset: false })), T0));
      await store.transaction((tx) =>
        store.saveOffsets(tx, 'central', [
          { topic: bins, partition: 0, next_offset: 120, reset: false }, // forwards
          { topic: bins, partition: 1, next_offset: 90, reset: false }, // a late finisher: kept at 100
          { topic: bins, partition: 2, next_offset: 7, reset: true }, // a replaced log
          { topic: bins, partition: 3, next_offset: 5, reset: false }, // new
        ], T0),
      );
      expect(await Promise.all([0, 1, 2, 3].map((p) => store.loadOffset('central', bins, p)))).toEqual([120, 100, 7, 5]);
    });

    it('keeps the newest device status even when statuses arrive out of order', async () => {
      await store.transaction((tx) => store.recordStatuses(tx, [{ v: 1, device_id: 'agent-1', state: 'offline', ts_ms: T0 + 10 }]));
      await store.transaction((tx) => store.recordStatuses(tx, [{ v: 1, device_id: 'agent-1', state: 'online', ts_ms: T0 }]));
      const [device] = await store.devices();
      expect(device).toMatchObject({ device_id: 'agent-1', status: 'offline', status_ms: T0 + 10 });
    });

    it('keeps the newest heartbeat by its own time, even one a little older than the status before it', async () => {
      const hb = (ts_ms: number, version: string) => ({ ...(decode('heartbeat', HEARTBEAT) as object), device_id: 'agent-2', ts_ms, version }) as Parameters<Store['recordHeartbeats']>[1][number];
      // The gateway stamps `online` as it receives it; the heartbeat the agent sends on connecting was stamped 2 ms earlier.
      await store.transaction((tx) => store.recordStatuses(tx, [{ v: 1, device_id: 'agent-2', state: 'online', ts_ms: T0 + 2 }]));
      await store.transaction((tx) => store.recordHeartbeats(tx, [hb(T0, '0.2.0')]));
      expect((await store.devices()).find((d) => d.device_id === 'agent-2')?.last_heartbeat?.version).toBe('0.2.0');
      await store.transaction((tx) => store.recordHeartbeats(tx, [hb(T0 + 60_000, '0.3.0')]));
      await store.transaction((tx) => store.recordHeartbeats(tx, [hb(T0 + 30_000, '0.2.9')])); // a late redelivery
      expect((await store.devices()).find((d) => d.device_id === 'agent-2')?.last_heartbeat?.version).toBe('0.3.0');
    });
  });
}

const HEARTBEAT = readFileSync(join(import.meta.dirname, '..', '..', 'protocol', 'fixtures', 'valid', 'heartbeat.json'));
