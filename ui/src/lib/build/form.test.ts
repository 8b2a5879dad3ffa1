import { describe, expect, it } from 'vitest';
import type { DockerfileOutline, NodePlatform } from '../types';
import {
  addLine,
  argSuggestions,
  emptyBuildForm,
  fromBuildRequest,
  hints,
  lines,
  missingSecrets,
  outlineOrigin,
  platformChoices,
  targets,
  toBuildRequest,
} from './form';

describe('build form', () => {
  it('turns one-per-line boxes into lists, skipping blanks and comments', () => {
    expect(lines(' a \n\n# note\nb=1\r\n')).toEqual(['a', 'b=1']);
  });

  it('makes a BuildRequest with the output the radio names', () => {
    const form = {
      ...emptyBuildForm(),
      context: ' /src/app ',
      platforms: ['linux/amd64', 'linux/arm64'],
      tags: 'r/app:1\nr/app:latest\n',
      buildArgs: 'A=1\nB',
      labels: 'team=x',
      annotations: 'index:org.opencontainers.image.description=app\n',
      secrets: 'id=npmrc,src=/home/me/.npmrc\n\nid=token,env=TOKEN',
      ssh: 'default\n',
      cacheTo: 'type=inline',
      target: ' final ',
      output: 'push' as const,
    };
    expect(toBuildRequest(form)).toEqual({
      context: '/src/app',
      dockerfile: '',
      platforms: ['linux/amd64', 'linux/arm64'],
      tags: ['r/app:1', 'r/app:latest'],
      buildArgs: ['A=1', 'B'],
      labels: ['team=x'],
      annotations: ['index:org.opencontainers.image.description=app'],
      secrets: ['id=npmrc,src=/home/me/.npmrc', 'id=token,env=TOKEN'],
      ssh: ['default'],
      cacheFrom: [],
      cacheTo: ['type=inline'],
      target: 'final',
      noCache: false,
      pull: false,
      buildContexts: [],
      network: '',
      addHosts: [],
      outputs: [{ type: 'push' }],
      provenance: 'default',
      sbom: false,
      sbomGenerator: '',
      builder: '',
      keepGoing: false,
      pushPartial: false,
    });
    expect(toBuildRequest({ ...form, sbomGenerator: 'ignored/while/off' }).sbomGenerator).toBe('');
    expect(toBuildRequest({ ...form, output: 'oci', dest: ' /tmp/a.tar ' }).outputs).toEqual([{ type: 'oci', dest: '/tmp/a.tar' }]);
    expect(toBuildRequest({ ...form, output: 'tar', dest: '/tmp/fs.tar' }).outputs).toEqual([{ type: 'tar', dest: '/tmp/fs.tar' }]);
    expect(toBuildRequest({ ...form, output: 'load', dest: '/ignored' }).outputs).toEqual([{ type: 'load' }]);
    expect(toBuildRequest({ ...form, output: 'pushAndLoad' }).outputs).toEqual([{ type: 'push' }, { type: 'load' }]);
  });

  it('keeps the outputs of a re-run CLI build the one choice does not hold, and builds them all again', () => {
    const request = toBuildRequest({ ...emptyBuildForm(), context: '/c', output: 'local', dest: '/tmp/out' });
    request.outputs.push({ type: 'tar', dest: '/tmp/fs.tar' }, { type: 'push' });
    const form = fromBuildRequest(request);
    expect(form).toMatchObject({ output: 'local', dest: '/tmp/out', moreOutputs: [{ type: 'tar', dest: '/tmp/fs.tar' }, { type: 'push' }] });
    expect(toBuildRequest(form)).toEqual(request);
    // Push and load are the form's one choice; what follows them is kept.
    const both = fromBuildRequest({ ...request, outputs: [{ type: 'push' }, { type: 'load' }, { type: 'local', dest: '/o' }] });
    expect(both).toMatchObject({ output: 'pushAndLoad', moreOutputs: [{ type: 'local', dest: '/o' }] });
    expect(fromBuildRequest({ ...request, outputs: [] })).toMatchObject({ output: 'cacheOnly', moreOutputs: [] });
  });

  it('keeps the attributes a re-run gave its outputs while the choice stays that output', () => {
    const zstd = { name: '127.0.0.1:5055/app:1', compression: 'zstd' };
    const request = toBuildRequest({ ...emptyBuildForm(), context: '/c', output: 'push' });
    request.outputs = [{ type: 'push', attrs: zstd }, { type: 'oci', dest: '/o', attrs: { tar: 'false' } }];
    const form = fromBuildRequest(request);
    expect(form).toMatchObject({ output: 'push', chosenAttrs: { kind: 'push', attrs: zstd } });
    expect(toBuildRequest(form)).toEqual(request);
    // Another choice is another exporter: the attributes were the first one's.
    expect(toBuildRequest({ ...form, output: 'load' }).outputs[0]).toEqual({ type: 'load' });
    expect(toBuildRequest({ ...form, chosenAttrs: null }).outputs[0]).toEqual({ type: 'push' });
    // A load with attributes of its own is not folded into push-and-load.
    const loadAttrs = fromBuildRequest({ ...request, outputs: [{ type: 'push' }, { type: 'load', attrs: { context: 'other' } }] });
    expect(loadAttrs).toMatchObject({ output: 'push', chosenAttrs: null, moreOutputs: [{ type: 'load', attrs: { context: 'other' } }] });
  });

  it('asks to push what succeeded only of a build that keeps going and pushes', () => {
    const form = { ...emptyBuildForm(), context: '/c', output: 'push' as const, keepGoing: true, pushPartial: true };
    expect(toBuildRequest(form)).toMatchObject({ keepGoing: true, pushPartial: true });
    expect(toBuildRequest({ ...form, keepGoing: false })).toMatchObject({ keepGoing: false, pushPartial: false });
    expect(toBuildRequest({ ...form, output: 'cacheOnly' })).toMatchObject({ keepGoing: true, pushPartial: false });
    expect(fromBuildRequest(toBuildRequest(form))).toMatchObject({ keepGoing: true, pushPartial: true });
  });

  it('round-trips a recorded request back into the form (re-run)', () => {
    const request = toBuildRequest({
      ...emptyBuildForm(),
      context: '/c',
      dockerfile: 'build/Dockerfile',
      builder: 'multi',
      platforms: ['linux/arm/v7'],
      tags: 'a\nb',
      buildArgs: 'X=1',
      output: 'docker',
      dest: '/tmp/x.tar',
      noCache: true,
      pull: true,
      buildContexts: 'extra=/shared\nbase=docker-image://127.0.0.1:5055/busybox:latest',
      provenance: 'off',
      sbom: true,
      sbomGenerator: ' 127.0.0.1:5055/scanner:1 ',
    });
    expect(request.sbomGenerator).toBe('127.0.0.1:5055/scanner:1');
    expect(toBuildRequest(fromBuildRequest(request))).toEqual(request);
  });

  it('asks for buildx’s default provenance, min or max beside every output, none, or what a re-run asked for', () => {
    const form = { ...emptyBuildForm(), context: '/c' };
    expect(toBuildRequest(form).provenance).toBe('default');
    expect(toBuildRequest({ ...form, provenance: 'off' }).provenance).toBe('off');
    expect(toBuildRequest({ ...form, provenance: 'max' }).provenance).toEqual({ attrs: 'type=provenance,mode=max' });
    expect(fromBuildRequest(toBuildRequest({ ...form, provenance: 'min' }))).toMatchObject({ provenance: 'min', provenanceGiven: '' });
    // A CLI build's attestation that no choice says is kept whole, and asked for again.
    const given = { ...toBuildRequest(form), provenance: { attrs: 'type=provenance,mode=max,builder-id=ci' } };
    expect(fromBuildRequest(given)).toMatchObject({ provenance: 'given', provenanceGiven: 'type=provenance,mode=max,builder-id=ci' });
    expect(toBuildRequest(fromBuildRequest(given))).toEqual(given);
  });

  it('hints without refusing anything', () => {
    expect(hints({ ...emptyBuildForm(), context: '/c' })).toEqual([]);
    const h = hints({ ...emptyBuildForm(), buildArgs: 'A\nB=2', output: 'push' });
    expect(h).toEqual(['Pick a context folder.', 'Build args need KEY=VALUE: A', 'Pushing needs at least one tag.']);
    expect(hints({ ...emptyBuildForm(), context: '/c', output: 'pushAndLoad' })).toEqual(['Pushing needs at least one tag.']);
    expect(hints({ ...emptyBuildForm(), context: '/c', output: 'oci' })).toEqual(['Name the file to write.']);
  });

  it('hints no tag for a push its output names, and one image for a docker tarball', () => {
    const named = { kind: 'push' as const, attrs: { name: '127.0.0.1:5055/app:1' } };
    expect(hints({ ...emptyBuildForm(), context: '/c', output: 'push', chosenAttrs: named })).toEqual([]);
    const docker = { ...emptyBuildForm(), context: '/c', output: 'docker' as const, dest: 'image.tar' };
    expect(hints(docker)).toEqual([]);
    const oneImage = [
      'A docker tarball holds one image: write an OCI tarball for several platforms or attestations asked for (SBOM, provenance).',
    ];
    expect(hints({ ...docker, platforms: ['linux/amd64', 'linux/arm64'] })).toEqual(oneImage);
    expect(hints({ ...docker, sbom: true })).toEqual(oneImage);
    expect(hints({ ...docker, provenance: 'min' })).toEqual(oneImage);
    expect(hints({ ...docker, provenance: 'off' })).toEqual([]);
  });

  it('offers the outline’s ARGs not set yet, once each, and its named stages as targets', () => {
    const outline: DockerfileOutline = {
      ...OUTLINE,
      args: [
        { name: 'VERSION', default: '1.0', line: 2, description: 'the release' },
        { name: 'TARGETARCH', default: null, line: 3, description: null },
        { name: 'VERSION', default: '1.0', line: 6, description: null },
      ],
    };
    expect(argSuggestions(outline, 'TARGETARCH=arm64')).toEqual([
      { name: 'VERSION', line: 'VERSION=1.0', description: 'the release' },
    ]);
    expect(argSuggestions(null, '')).toEqual([]);
    expect(targets(outline)).toEqual(['builder']);
    expect(addLine('A=1\n', 'B=2')).toBe('A=1\nB=2');
    expect(addLine('', 'B=2')).toBe('B=2');
  });

  it('names the required secrets the form does not give yet', () => {
    const outline: DockerfileOutline = {
      ...OUTLINE,
      secrets: [
        { name: 'token', required: true, line: 4 },
        { name: 'npmrc', required: true, line: 5 },
        { name: 'maybe', required: false, line: 6 },
      ],
    };
    expect(missingSecrets(outline, '')).toEqual(['token', 'npmrc']);
    expect(missingSecrets(outline, 'src=/t, id=token\n# id=npmrc')).toEqual(['npmrc']);
    expect(missingSecrets(null, '')).toEqual([]);
  });

  it('says whether the builder or the local parse outlined the Dockerfile', () => {
    expect(outlineOrigin(OUTLINE).text).toBe('from builder default');
    const local = outlineOrigin({ ...OUTLINE, origin: { kind: 'local', reason: 'engine at unix:///x unreachable' } });
    expect(local.text).toBe('read locally');
    expect(local.title).toContain('engine at unix:///x unreachable');
  });
});

const OUTLINE: DockerfileOutline = {
  source: '',
  stages: [
    { name: 'builder', base: 'golang', line: 1, platform: '$BUILDPLATFORM', default: false, description: null },
    { name: null, base: 'busybox', line: 5, platform: null, default: true, description: null },
  ],
  target: null,
  args: [],
  secrets: [],
  ssh: [],
  origin: { kind: 'builder', builder: 'default' },
};

describe('platform choices', () => {
  const on = (platform: string, emulated = false): NodePlatform => ({ platform, emulated, pinned: false });
  const names = (list: NodePlatform[]) => list.map((p) => p.platform);
  const listed = [on('linux/amd64'), on('linux/arm64', true), on('linux/riscv64', true), on('linux/arm/v7', true)];

  it('offers what the builder list carried while the builder is read, and the same once it is', () => {
    const reading = platformChoices(null, listed, []);
    const read = platformChoices(listed, listed, []);
    expect(names(reading)).toEqual(names(read));
    expect(reading[1].emulated).toBe(true);
  });

  it('offers the common three when nothing is known of the builder, and what was read when it differs', () => {
    expect(names(platformChoices(null, [], []))).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
    expect(names(platformChoices([on('linux/s390x')], listed, []))).toEqual(['linux/s390x']);
  });

  it('keeps a ticked platform the builder does not list, so it can be unticked', () => {
    expect(names(platformChoices(listed, listed, ['linux/ppc64le', 'linux/amd64']))).toEqual([...names(listed), 'linux/ppc64le']);
  });
});
