import { describe, expect, it } from 'vitest';
import { isLoopbackHost, plainHttpChoice, registryRows, sourceLabel, tagReference } from './registries';

describe('registries', () => {
  it('knows loopback hosts, with or without a port', () => {
    expect(isLoopbackHost('127.0.0.1:5055')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('ghcr.io')).toBe(false);
    expect(isLoopbackHost('127.example.com')).toBe(false);
  });
  it('shows the core default until the switch is touched, then sends the choice', () => {
    expect(plainHttpChoice('127.0.0.1:5055', null)).toEqual({ checked: true, send: null });
    expect(plainHttpChoice('ghcr.io', null)).toEqual({ checked: false, send: null });
    expect(plainHttpChoice('127.0.0.1:5055', false)).toEqual({ checked: false, send: false });
    expect(plainHttpChoice('10.0.0.2:5000', true)).toEqual({ checked: true, send: true });
  });
  it('labels sources and keeps the core order', () => {
    expect(sourceLabel('dockerConfig')).toBe('docker config');
    expect(sourceLabel('user')).toBe('added');
    const list = {
      registries: [
        { name: 'b', plainHttp: false, source: 'user' as const },
        { name: 'a', plainHttp: false, source: 'dockerConfig' as const },
      ],
      problem: null,
    };
    expect(registryRows(list).map((r) => r.name)).toEqual(['b', 'a']);
    expect(registryRows(null)).toEqual([]);
  });
  it('builds the reference a tag opens', () => {
    expect(tagReference('127.0.0.1:5055', 'e2e/images-view', '42')).toBe('127.0.0.1:5055/e2e/images-view:42');
  });
});
