/**
 * First boot from a Raspberry Pi OS boot partition (FAT, /boot/firmware on the running board). Trixie-based
 * images read cloud-init NoCloud files from it; we add to them so the first boot installs the agent offline:
 *
 * - user-data (`#cloud-config`): the image's own content (users, hostname, ssh keys, …) is kept as it is,
 *   comments included; one `runcmd` entry is appended (or the list created) that runs the payload's install.sh
 *   and, if it succeeded, deletes the payload from the FAT partition, which cannot protect the secrets in it (a
 *   failed install leaves it there, secret included, to be looked at). A user-data
 *   that is not #cloud-config (a script, MIME multipart, #include) is refused rather than guessed at.
 * - meta-data: written with an instance-id (the key cloud-init's NoCloud reads) only if missing; an existing
 *   instance-id is kept, because changing it makes cloud-init redo every per-instance module.
 * - network-config: never touched.
 * - config.txt / cmdline.txt: only when an input uses the board's GPIO UART, the profile's config.txt lines are
 *   added (under an [all] filter, once) and its console is taken off the UART in cmdline.txt.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { usesGpioUart, type BoardProfile } from '../boards.ts';

/** Where the boot partition is mounted on a running Raspberry Pi OS (Bookworm and later). */
export const BOARD_BOOT_MOUNT = '/boot/firmware';
export const BOOT_PAYLOAD = 'wacoflow';
export const FIRST_BOOT_COMMAND = `sh ${BOARD_BOOT_MOUNT}/${BOOT_PAYLOAD}/install.sh && rm -rf ${BOARD_BOOT_MOUNT}/${BOOT_PAYLOAD}`;

export function checkBootPartition(path: string): void {
  const what = `--boot ${path}`;
  if (!existsSync(path)) throw new WacoflowError(ERR.CONFIG, `${what}: no such folder; mount the image's boot partition (bootfs) and give its mount point`);
  const missing = ['config.txt', 'cmdline.txt'].filter((f) => !existsSync(join(path, f)));
  if (missing.length > 0) throw new WacoflowError(ERR.CONFIG, `${what}: no ${missing.join(' or ')} here: this is not a Raspberry Pi OS boot partition; give the mount point of the image's first (FAT) partition`);
}

/** user-data with our runcmd entry added; `notes` says what was kept. */
export function mergeUserData(existing: string | null, file: string): { text: string; notes: string[] } {
  const text = existing ?? '';
  const first = text.split('\n', 1)[0]!.trim();
  if (text.trim() !== '' && first !== '#cloud-config') {
    throw new WacoflowError(ERR.CONFIG, `--boot: ${file} is not a #cloud-config document (it starts with "${first.slice(0, 40)}"); flash can only add to #cloud-config user-data: convert it or remove it`);
  }
  if (text.trim() === '') return { text: `#cloud-config\nruncmd:\n  - ${FIRST_BOOT_COMMAND}\n`, notes: ['new', 'runcmd added'] };
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new WacoflowError(ERR.CONFIG, `--boot: ${file}: YAML: ${doc.errors[0]!.message.split('\n')[0]}; fix the image's user-data first`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents; // a header and nothing else
  if (!isMap(doc.contents)) throw new WacoflowError(ERR.CONFIG, `--boot: ${file}: user-data must be a mapping of cloud-config modules`);
  const kept = doc.contents.items.map((p) => String((p.key as { value?: unknown })?.value ?? p.key)).filter((k) => k !== 'runcmd');
  const notes = [kept.length ? `kept ${kept.join(', ')}` : 'new'];
  const runcmd = doc.get('runcmd', true);
  if (runcmd === undefined) {
    doc.set('runcmd', doc.createNode([FIRST_BOOT_COMMAND]));
    notes.push('runcmd added');
  } else if (isSeq(runcmd)) {
    if (JSON.stringify(runcmd.toJSON()).includes(`${BOARD_BOOT_MOUNT}/${BOOT_PAYLOAD}/install.sh`)) notes.push('runcmd already installs the agent');
    else {
      runcmd.add(doc.createNode(FIRST_BOOT_COMMAND));
      notes.push('runcmd entry appended');
    }
  } else throw new WacoflowError(ERR.CONFIG, `--boot: ${file}: runcmd must be a list`);
  let out = doc.toString({ lineWidth: 0 });
  if (!out.startsWith('#cloud-config')) out = `#cloud-config\n${out}`;
  return { text: out, notes };
}

/** Updates the boot partition's files; returns one line per file saying what changed. */
export function prepareBoot(path: string, o: { device_id: string; board: BoardProfile; serial_paths: string[] }): string[] {
  const report: string[] = [];
  const userData = join(path, 'user-data');
  const merged = mergeUserData(existsSync(userData) ? readFileSync(userData, 'utf8') : null, userData);
  writeFileSync(userData, merged.text);
  report.push(`user-data: ${merged.notes.join('; ')}`);

  const metaData = join(path, 'meta-data');
  const meta = existsSync(metaData) ? readFileSync(metaData, 'utf8') : null;
  if (meta === null || !/^instance[-_]id\s*:/m.test(meta)) {
    writeFileSync(metaData, `${meta ? `${meta.replace(/\n?$/, '\n')}` : ''}instance-id: wacoflow-${o.device_id}\n`);
    report.push(`meta-data: instance-id wacoflow-${o.device_id} ${meta === null ? 'written' : 'added'}`);
  } else report.push('meta-data: kept');
  if (existsSync(join(path, 'network-config'))) report.push('network-config: kept');

  const uart = o.board.serial.gpio_uart;
  if (o.serial_paths.some((p) => usesGpioUart(o.board, p))) {
    const configTxt = join(path, 'config.txt');
    const lines = readFileSync(configTxt, 'utf8');
    const have = new Set(lines.split('\n').map((l) => l.trim()));
    const add = uart.config_txt.filter((l) => !have.has(l));
    if (add.length > 0) {
      writeFileSync(configTxt, `${lines.replace(/\n?$/, '\n')}\n[all]\n# wacoflow flash: a detector is on the GPIO UART (${uart.path})\n${add.join('\n')}\n`);
      report.push(`config.txt: added ${add.join(', ')}`);
    } else report.push('config.txt: already set');
    const cmdlineTxt = join(path, 'cmdline.txt');
    const words = readFileSync(cmdlineTxt, 'utf8').trim().split(/\s+/);
    const keep = words.filter((w) => !uart.cmdline_remove.includes(w));
    if (keep.length !== words.length) {
      writeFileSync(cmdlineTxt, `${keep.join(' ')}\n`); // one line: the firmware reads only the first
      report.push(`cmdline.txt: removed ${words.filter((w) => uart.cmdline_remove.includes(w)).join(' ')} (the console leaves the UART)`);
    }
  }
  return report;
}
