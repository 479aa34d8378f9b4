import { existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendText, removeLeftoverTemporaries, writeText } from './files.js';

describe('run-folder files', () => {
  it('never write through a symbolic link, and clean up what a killed save left', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'engram-files-'));
    const victim = join(folder, 'victim.txt');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(folder, 'curve.csv'));
    await expect(appendText(join(folder, 'curve.csv'), 'row\n')).rejects.toThrow(/ELOOP|symbolic/);
    symlinkSync(victim, join(folder, 'curve.svg'));
    await writeText(join(folder, 'curve.svg'), '<svg/>');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(join(folder, 'curve.svg'), 'utf8')).toBe('<svg/>');
    await appendText(join(folder, 'log.csv'), 'a\n');
    await appendText(join(folder, 'log.csv'), 'b\n');
    expect(readFileSync(join(folder, 'log.csv'), 'utf8')).toBe('a\nb\n');
    writeFileSync(join(folder, 'checkpoint.safetensors.0123456789abcdef.tmp'), 'half');
    expect(removeLeftoverTemporaries(folder)).toBe(1);
    expect(readdirSync(folder).some((n) => n.endsWith('.tmp'))).toBe(false);
    expect(existsSync(victim)).toBe(true);
  });
});
