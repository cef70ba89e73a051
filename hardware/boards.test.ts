/** Every board profile loads, and its agent defaults make a valid agent configuration. */
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentFileConfigSchema } from '../edge-agent/config.ts';
import { BOARDS_DIR, listBoards, loadBoard, mergeConfig, usesGpioUart } from './boards.ts';

const DEVICE = {
  device_id: 'agent-test', site: 'waco', mqtt_url: 'mqtts://gateway.example:8883', mqtt_password_file: '/etc/wacoflow/mqtt-password',
  data_dir: '/var/lib/wacoflow', inputs: [{ driver: 'ss125-serial', name: 'hd', line: { path: '/dev/serial0' }, drops: [{ drop: 1, station_id: 's1' }] }],
};

describe('board profiles', () => {
  it('lists the four supported boards', () => {
    expect(listBoards()).toEqual(['cm4', 'rpi-zero2w', 'rpi4', 'rpi5']);
  });

  it.each(listBoards())('%s loads, is arm64, and its defaults merge into a valid agent config', (name) => {
    const b = loadBoard(name);
    expect(b.name).toBe(name);
    expect(b.arch).toBe('arm64');
    expect(b.thermal.path).toBe('/sys/class/thermal/thermal_zone0/temp');
    expect(b.status_led.path).toMatch(/^\/sys\/class\/leds\//);
    const r = AgentFileConfigSchema.safeParse(mergeConfig(b.agent_defaults, DEVICE));
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
  });

  it('gives the Zero 2 W (512 MB) a smaller outbox than the Pi 4', () => {
    const max = (n: string) => AgentFileConfigSchema.parse(mergeConfig(loadBoard(n).agent_defaults, DEVICE)).outbox.max_bytes;
    expect(loadBoard('rpi-zero2w').memory_mb).toEqual([512]);
    expect(max('rpi-zero2w')).toBeLessThan(max('rpi4'));
  });

  it('knows which serial paths are the GPIO UART, and that a Pi 5 header UART is not serial0', () => {
    expect(usesGpioUart(loadBoard('rpi4'), '/dev/serial0')).toBe(true);
    expect(usesGpioUart(loadBoard('rpi4'), '/dev/ttyUSB0')).toBe(false);
    expect(loadBoard('rpi4').serial.gpio_uart.config_txt).toContain('enable_uart=1');
    const pi5 = loadBoard('rpi5');
    expect(usesGpioUart(pi5, '/dev/ttyAMA0')).toBe(true);
    expect(usesGpioUart(pi5, '/dev/serial0')).toBe(false);
  });

  it('names the known boards when asked for an unknown one', () => {
    expect(() => loadBoard('rpi3')).toThrow(/--board "rpi3": no such board profile; known boards: cm4, rpi-zero2w, rpi4, rpi5/);
  });

  it('reports every bad field with the file it is in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-boards-'));
    const file = join(dir, 'bad.yaml');
    const text = [
      'name: bad', 'model: x', 'arch: armhf', 'memory_mb: [512]',
      'serial: { gpio_uart: { path: serial0 }, usb: { by_id: /dev/serial/by-id/x } }',
      'thermal: { path: /sys/class/thermal/thermal_zone0/temp, unit: millidegree_celsius, throttle_c: 80 }',
      'status_led: { path: /sys/class/leds/ACT, notes: x }', 'storage: sd',
    ].join('\n');
    writeFileSync(file, text);
    expect(() => loadBoard('bad', dir)).toThrow(new RegExp(`${file}: arch: .*\\n${file}: serial\\.gpio_uart\\.path: must be a device path`));
    writeFileSync(join(dir, 'b.yaml'), `${text.replace('armhf', 'arm64').replace('path: serial0', 'path: /dev/serial0')}\nagent_defaults: { device_id: x, outbox: { max_bytes: 10 } }`);
    expect(() => loadBoard('b', dir)).toThrow(/b\.yaml: agent_defaults\.device_id: is set per device/);
    writeFileSync(file, `${text.replace('armhf', 'arm64').replace('path: serial0', 'path: /dev/serial0')}\nagent_defaults: { outbox: { max_bytes: 10 } }`);
    expect(() => loadBoard('bad', dir)).toThrow(/bad\.yaml: agent_defaults\.outbox\.max_bytes: .*\(checked as agent configuration\)/);
  });

  it('checks default inputs against the input drivers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-boards-'));
    copyFileSync(join(BOARDS_DIR, 'rpi4.yaml'), join(dir, 'rpi4.yaml'));
    writeFileSync(join(dir, 'rpi4.yaml'), `${'default_inputs:\n  - { driver: ss125-serial, name: hd, line: { path: /dev/serial0, baud_rate: 9601 }, drops: [{ drop: 1, station_id: s }] }\n'}`, { flag: 'a' });
    expect(() => loadBoard('rpi4', dir)).toThrow(/rpi4\.yaml: default_inputs\.0\.line\.baud_rate: must be a standard rate/);
  });
});
