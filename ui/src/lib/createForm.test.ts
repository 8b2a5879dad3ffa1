import { describe, expect, it } from 'vitest';
import { appendNodeForm, emptyCreateForm, parseDriverOpts, parsePlatforms, toCreateRequest } from './createForm';
import type { Builder } from './types';

describe('driver options textarea', () => {
  it('takes one key=value per line, skipping blanks and comments', () => {
    expect(parseDriverOpts('image=moby/buildkit:v0.17.0\n\n  network=host  \r\n# memory=2g\n')).toEqual([
      'image=moby/buildkit:v0.17.0',
      'network=host',
    ]);
    expect(parseDriverOpts('')).toEqual([]);
  });

  it('passes malformed lines on for the core to reject', () => {
    expect(parseDriverOpts('image')).toEqual(['image']);
  });

  it('keeps values with = and spaces intact', () => {
    expect(parseDriverOpts('env.FOO=a=b c')).toEqual(['env.FOO=a=b c']);
  });
});

describe('platforms', () => {
  it('puts checked ones first, then free text, without duplicates', () => {
    expect(parsePlatforms(['linux/amd64', 'linux/arm64'], 'linux/riscv64, linux/amd64  windows/amd64\nlinux/arm/v7')).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/riscv64',
      'windows/amd64',
      'linux/arm/v7',
    ]);
    expect(parsePlatforms([], ' , ')).toEqual([]);
  });
});

describe('create request', () => {
  it('starts as a docker-container builder that boots', () => {
    expect(toCreateRequest(emptyCreateForm())).toEqual({
      name: '',
      driver: 'docker-container',
      endpoint: '',
      driverOpts: [],
      buildkitdFlags: '',
      buildkitdConfig: null,
      platforms: [],
      useBuilder: false,
      bootstrap: true,
      append: false,
      node: '',
    });
  });

  it('maps every field', () => {
    const form = {
      ...emptyCreateForm(),
      name: '  multi ',
      driverOpts: 'network=host\nimage=moby/buildkit:master',
      buildkitdFlags: ' --allow-insecure-entitlement network.host ',
      buildkitdConfig: ' /home/me/buildkitd.toml ',
      platformChoices: ['linux/arm64'],
      platformsText: 'linux/ppc64le',
      useBuilder: true,
      bootstrap: false,
    };
    expect(toCreateRequest(form)).toEqual({
      name: 'multi',
      driver: 'docker-container',
      endpoint: '',
      driverOpts: ['network=host', 'image=moby/buildkit:master'],
      buildkitdFlags: '--allow-insecure-entitlement network.host',
      buildkitdConfig: '/home/me/buildkitd.toml',
      platforms: ['linux/arm64', 'linux/ppc64le'],
      useBuilder: true,
      bootstrap: false,
      append: false,
      node: '',
    });
  });

  it('sends the address of a remote builder with its TLS driver options, and only for remote', () => {
    const form = {
      ...emptyCreateForm(),
      name: 'far',
      driver: 'remote',
      endpoint: ' tcp://10.0.0.5:1234 ',
      driverOpts: 'cacert=/certs/ca.pem\ncert=/certs/cert.pem\nkey=/certs/key.pem',
    };
    const request = toCreateRequest(form);
    expect(request.endpoint).toBe('tcp://10.0.0.5:1234');
    expect(request.driverOpts).toEqual(['cacert=/certs/ca.pem', 'cert=/certs/cert.pem', 'key=/certs/key.pem']);
    expect(toCreateRequest({ ...form, driver: 'docker-container' }).endpoint).toBe('');
  });

  it('appends a node to an existing builder with its name and driver', () => {
    const farm = { name: 'farm', driver: 'remote' } as Builder;
    const form = { ...appendNodeForm(farm), node: ' arm ', endpoint: 'tcp://10.0.0.6:1234', platformChoices: ['linux/arm64'] };
    expect(toCreateRequest(form)).toMatchObject({
      name: 'farm',
      driver: 'remote',
      endpoint: 'tcp://10.0.0.6:1234',
      platforms: ['linux/arm64'],
      append: true,
      node: 'arm',
      bootstrap: false,
    });
  });
});
