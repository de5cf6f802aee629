// The instance secret: checked at every start against a check value in the database, and
// rotated online (`gatehouse secret rotate`). Everything sealed under it is listed in
// storage/sealed.ts; the procedure is in docs/operations.md, the promises in docs/security.md.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pino from 'pino';
import { NEXT_SECRET_FILE, type Sealer, generateSecret, secretCheckValue, type ResolvedSecrets } from '../shared/crypto.ts';
import { StartupRefusal, conflict } from '../shared/errors.ts';
import type { InstanceStore } from '../storage/instance.ts';
import { SEALED_COLUMNS, type SealedStore } from '../storage/sealed.ts';
import type { Bus } from '../ops/bus.ts';

export const CHECK_SETTING = 'secret_check';
/** The root of MACs and derived keys (CSRF, cookie signing, recovery codes), sealed: kept across rotations. */
export const MAC_ROOT_SETTING = 'mac_root';
/** Set while a rotation runs (to the new secret's check value), empty once it finished. */
export const ROTATION_SETTING = 'secret_rotation_unfinished';
const TOPIC = 'instance-secret';

export interface RotationResult {
  /** Values re-sealed, by `table.column`. */
  resealed: Record<string, number>;
  /** Values no secret held could open (left as they were; each is logged by table and key). */
  unreadable: number;
  source: 'env' | 'file';
  next: string;
}

export class InstanceSecret {
  readonly #sealer: Sealer;
  readonly #instance: InstanceStore;
  readonly #sealed: SealedStore;
  readonly #secrets: ResolvedSecrets;
  readonly #logger: pino.Logger;
  #rotating = false;

  constructor(deps: { sealer: Sealer; instance: InstanceStore; sealed: SealedStore; secrets: ResolvedSecrets; logger: pino.Logger }) {
    this.#sealer = deps.sealer;
    this.#instance = deps.instance;
    this.#sealed = deps.sealed;
    this.#secrets = deps.secrets;
    this.#logger = deps.logger;
  }

  #refusal(why: string): StartupRefusal {
    const s = this.#secrets;
    return new StartupRefusal(
      s.source === 'env'
        ? `GATEHOUSE_SECRET${s.others.length ? ' (and GATEHOUSE_SECRET_PREVIOUS)' : ''} does not match this instance's secret (${why}). ` +
            'Set GATEHOUSE_SECRET to the secret this instance runs with (the one it was first started with, or the last one `gatehouse secret rotate` switched to; ' +
            'during a rotation give the old one in GATEHOUSE_SECRET_PREVIOUS) and start again. Nothing was changed.'
        : `The instance secret in ${s.file} does not match this instance's data (${why}). ` +
            `Restore ${s.file} from the backup of this data directory, or set GATEHOUSE_SECRET to the instance's secret, and start again. Nothing was changed.`,
    );
  }

  /**
   * At start, before anything is sealed or listened for: the secret (or, during a rotation,
   * one of the secrets) must be the instance's. Refuses start-up otherwise. Answers notes for
   * the start log.
   */
  async verify(): Promise<string[]> {
    const notes: string[] = [];
    const sealer = this.#sealer;
    let fresh = false;
    let stored = await this.#instance.get(CHECK_SETTING);
    if (stored === undefined) {
      // First start, or an installation from before the check value: an existing sealed value
      // tells which secret is right.
      const sample = await this.#sealed.any();
      if (sample !== undefined) {
        if (!sealer.opens(sample)) throw this.#refusal('a stored sealed value, such as a signing key, cannot be decrypted with it');
        // The secret it opens under without re-sealing is the one the data is under.
        const held = sealer.checks;
        const under = held.find((c) => {
          sealer.activate(c);
          return sealer.reseal(sample) === undefined;
        })!;
        sealer.activate(under);
      } else {
        fresh = true;
        sealer.activate(sealer.checks[0]!);
      }
      // Nodes starting together: the first check value written holds, and every node checks against it.
      stored = await this.#instance.setIfAbsent(CHECK_SETTING, sealer.activeCheck);
      notes.push("stored the instance secret's check value");
    }
    if (!sealer.activate(stored)) throw this.#refusal('the check value stored in its database at first start disagrees');
    // A rotation that stopped half-way left values under the old secret: without it they would
    // not open (a 500 on every use), so start-up needs the old secret until it is finished.
    const unfinished = await this.#instance.get(ROTATION_SETTING);
    if (unfinished && this.#secrets.source === 'env' && this.#secrets.others.length === 0) {
      throw new StartupRefusal(
        'A rotation of the instance secret did not finish: some stored values are still sealed under the previous secret. ' +
          'Start with GATEHOUSE_SECRET_PREVIOUS set to the previous secret (and GATEHOUSE_SECRET to the new one), run `gatehouse secret rotate` again, then restart without GATEHOUSE_SECRET_PREVIOUS.',
      );
    }
    if (this.#secrets.others.length) {
      notes.push(
        sealer.activeCheck === secretCheckValue(this.#secrets.secret)
          ? 'sealing under the new instance secret; the previous one opens values not yet re-sealed'
          : 'holding a second instance secret: run `gatehouse secret rotate` to re-seal everything under the new one',
      );
    }
    let root = await this.#instance.get(MAC_ROOT_SETTING);
    if (root === undefined) {
      // A new installation gets a random root; one with data keeps the one it has always used
      // (derived from its secret), so its stored recovery codes and signed cookies stay valid.
      const value = fresh ? crypto.randomBytes(32) : sealer.legacyMacRoot();
      root = await this.#instance.setIfAbsent(MAC_ROOT_SETTING, sealer.seal(value.toString('base64url')));
    }
    let opened: string;
    try {
      opened = sealer.open(root);
    } catch {
      throw this.#refusal('the stored MAC root cannot be decrypted with it');
    }
    sealer.setMacRoot(Buffer.from(opened, 'base64url'));
    return notes;
  }

  /** Follow the other nodes' rotations: seal under the secret the instance switched to. */
  listen(bus: Bus): void {
    bus.subscribe(
      TOPIC,
      (check) => {
        if (this.#sealer.activate(check)) this.#logger.info('the instance secret was rotated: sealing under the new one');
        else
          this.#logger.error(
            'the instance secret was rotated to one this node does not hold: values sealed from now on cannot be opened here. Restart this node with GATEHOUSE_SECRET set to the new secret.',
          );
      },
      () => {
        void this.#instance.get(CHECK_SETTING).then(
          (c) => {
            if (c) this.#sealer.activate(c);
          },
          () => {},
        );
      },
    );
  }

  /**
   * Re-seal every stored sealed value under the new secret and make it the instance's: the
   * configured GATEHOUSE_SECRET (GATEHOUSE_SECRET_PREVIOUS holding the old), or, for a
   * generated key file, a new key written beside it and renamed over it once all is re-sealed.
   * Running it again finishes an interrupted rotation.
   */
  async rotate(bus: Bus): Promise<RotationResult> {
    if (this.#rotating) throw conflict('A rotation of the instance secret is already running on this node. Wait for it to finish.');
    this.#rotating = true;
    try {
      const s = this.#secrets;
      const nextFile = path.join(path.dirname(s.file), NEXT_SECRET_FILE);
      let target: string;
      if (s.source === 'env') {
        target = s.secret;
        if (this.#sealer.activeCheck === secretCheckValue(target) && s.others.length === 0) {
          throw conflict(
            'This instance already seals under GATEHOUSE_SECRET and GATEHOUSE_SECRET_PREVIOUS is not set: there is nothing to rotate. ' +
              'To rotate the instance secret, set GATEHOUSE_SECRET to a new secret and GATEHOUSE_SECRET_PREVIOUS to the current one on every node, restart them, then run this again (see docs/operations.md).',
          );
        }
      } else {
        // The new key is on disk (0600, synced) before anything is sealed under it: a crash
        // from here on leaves both files, and the next start opens with both.
        let existing: string | undefined;
        try {
          existing = fs.readFileSync(nextFile, 'utf8').trim();
        } catch {
          /* none yet */
        }
        target = existing || generateSecret();
        if (!existing) writeSynced(nextFile, target + '\n');
      }
      const check = this.#sealer.addSecret(target);
      await this.#instance.set(ROTATION_SETTING, check);
      await this.#instance.set(CHECK_SETTING, check);
      this.#sealer.activate(check);
      await bus.publish(TOPIC, check);
      const resealed: Record<string, number> = {};
      let unreadable = 0;
      // Another node may seal under the old secret until the notice reaches it: pass again
      // until a pass finds nothing left.
      for (let pass = 0; pass < 5; pass++) {
        let changed = 0;
        unreadable = 0;
        for (const c of SEALED_COLUMNS) {
          const name = `${c.table}.${c.column}`;
          let after: string | null = null;
          for (;;) {
            const rows = await this.#sealed.batch(c, after);
            if (!rows.length) break;
            for (const r of rows) {
              let next: string | undefined;
              try {
                next = this.#sealer.reseal(r.value);
              } catch {
                unreadable++;
                if (pass === 0)
                  this.#logger.error({ table: c.table, key: r.key }, 'a sealed value cannot be opened with any instance secret held: left as it is');
                continue;
              }
              if (next !== undefined && (await this.#sealed.replace(c, r.key, r.value, next))) {
                resealed[name] = (resealed[name] ?? 0) + 1;
                changed++;
              }
            }
            after = rows.at(-1)!.key;
          }
        }
        if (changed === 0) break;
      }
      await this.#instance.set(ROTATION_SETTING, '');
      if (s.source === 'file') {
        // Everything is under the new key: it replaces the old one in one step (rename is atomic).
        // A crash before the rename leaves both files, which the next start reads: nothing is lost.
        fs.renameSync(nextFile, s.file);
        syncDir(path.dirname(s.file));
      }
      return {
        resealed,
        unreadable,
        source: s.source,
        next:
          s.source === 'env'
            ? 'Every stored secret is now sealed under GATEHOUSE_SECRET. Restart every node without GATEHOUSE_SECRET_PREVIOUS; the old secret is refused from now on.'
            : `The new secret is in ${s.file} and the old one is gone: back up the data directory again (a backup of the database needs the secret.key of the same time).`,
      };
    } finally {
      this.#rotating = false;
    }
  }
}

function writeSynced(file: string, text: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  syncDir(path.dirname(file));
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not every system syncs directories */
  }
}
