import { describe, expect, it } from 'vitest';
import { compareView, counterpart, defaultPair } from './compare';
import { layer, threePlatforms } from './fixtures';

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
