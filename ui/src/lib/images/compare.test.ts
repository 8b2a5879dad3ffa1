import { describe, expect, it } from 'vitest';
import type { HistoryStep } from '../types';
import { compareView, counterpart, defaultPair, historyPairRows } from './compare';
import { layer, threePlatforms } from './fixtures';

const step = (createdBy: string, layerDigest: string | null): HistoryStep => ({
  created: null,
  createdBy,
  comment: null,
  emptyLayer: layerDigest === null,
  layerDigest,
});

describe('compareView', () => {
  it('marks fields and layers as same, changed, added or removed', () => {
    const v = compareView({
      fields: [
        { field: 'platform', left: 'linux/amd64', right: 'linux/arm64', same: false },
        { field: 'cmd', left: '["sh"]', right: '["sh"]', same: true },
        { field: 'user', left: '', right: 'app', same: false },
      ],
      layers: [
        { left: layer('sha256:aaaaaaaaaaaaaaaa', 10, 2), right: layer('sha256:aaaaaaaaaaaaaaaa', 10, 2), same: true },
        { left: layer('sha256:bbbbbbbbbbbbbbbb', 10, 1), right: layer('sha256:cccccccccccccccc', 2000, 1), same: false },
        { left: layer('sha256:dddddddddddddddd', 5, 1), right: null, same: false },
      ],
      history: [],
      sizeDifference: 1990,
    });
    expect(v.fields.map((f) => f.mark)).toEqual(['changed', 'same', 'added']);
    expect(v.layers.map((l) => l.mark)).toEqual(['same', 'changed', 'removed']);
    expect(v.layers[1]).toMatchObject({ left: 'sha256:bbbbbbbbbbbb', right: 'sha256:cccccccccccc', rightSize: '2.0 kB' });
    expect(v.layers[2].right).toBeNull();
    expect(v.changedFields).toBe(2);
    expect(v.changedLayers).toBe(2);
    expect(v.sizeDifference).toBe('+2.0 kB');
  });
});

describe('history in compare', () => {
  const base = step('ADD rootfs.tar /', 'sha256:base');
  const cmd = step('/bin/sh -c #(nop)  CMD ["sh"]', null);

  it('reads each aligned step as same, changed, only left or only right, with its layer size', () => {
    const rows = historyPairRows([
      { left: base, right: base, leftSize: 2_000_000, rightSize: 2_000_000, mark: 'same' },
      { left: step('RUN make a', 'sha256:a'), right: step('RUN make b', 'sha256:b'), leftSize: 10, rightSize: 2000, mark: 'changed' },
      { left: step('RUN apk add curl', 'sha256:c'), right: null, leftSize: 3000, rightSize: null, mark: 'onlyLeft' },
      { left: null, right: cmd, leftSize: null, rightSize: null, mark: 'onlyRight' },
    ]);
    expect(rows.map((r) => [r.mark, r.label])).toEqual([
      ['same', 'same'],
      ['changed', 'changed'],
      ['removed', 'only left'],
      ['added', 'only right'],
    ]);
    expect(rows[0]).toMatchObject({ left: 'ADD rootfs.tar /', leftSize: '2.0 MB', rightSize: '2.0 MB', layerChanged: false });
    expect(rows[1]).toMatchObject({ left: 'RUN make a', right: 'RUN make b', leftSize: '10 B', rightSize: '2.0 kB' });
    // No step on one side: no command and no size there; an empty step says it made no layer.
    expect(rows[2]).toMatchObject({ right: null, rightSize: '' });
    expect(rows[3]).toMatchObject({ left: null, leftSize: '', right: 'CMD ["sh"]', rightSize: 'no layer' });
  });

  it('tells a rerun command with another layer from another command', () => {
    const [rerun] = historyPairRows([
      { left: step('COPY . /app', 'sha256:1'), right: step('COPY . /app', 'sha256:2'), leftSize: 5, rightSize: 6, mark: 'changed' },
    ]);
    expect(rerun.layerChanged).toBe(true);
  });

  it('counts the differing steps in the summary', () => {
    const v = compareView({
      fields: [],
      layers: [],
      history: [
        { left: base, right: base, leftSize: 1, rightSize: 1, mark: 'same' },
        { left: null, right: cmd, leftSize: null, rightSize: null, mark: 'onlyRight' },
      ],
      sizeDifference: 0,
    });
    expect(v.history).toHaveLength(2);
    expect(v.changedSteps).toBe(1);
  });
});

describe('pairs', () => {
  it('puts the same platform of another tag beside, else its first', () => {
    const other = threePlatforms();
    expect(counterpart(other, 'linux/arm64')?.platform).toBe('linux/arm64');
    expect(counterpart(other, 'windows/amd64')?.platform).toBe('linux/amd64');
    expect(counterpart(null, 'linux/amd64')).toBeNull();
  });
  it('compares the selected platform with the next one', () => {
    const i = threePlatforms();
    expect(defaultPair(i, i.platforms[2].digest)).toEqual([i.platforms[2].digest, i.platforms[0].digest]);
    expect(defaultPair(i, null)).toEqual([i.platforms[0].digest, i.platforms[1].digest]);
    expect(defaultPair({ ...i, platforms: [i.platforms[0]] }, null)).toBeNull();
  });
});
