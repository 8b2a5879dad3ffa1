// The Build form's fields and their translation to a BuildRequest (and back, to re-run a past
// build). Only parsing happens here: the hints are cosmetic, the core validates and its
// invalidInput message is what counts.
import { COMMON_PLATFORMS } from '../platforms';
import type { BuildOutput, BuildRequest, DockerfileOutline, NodePlatform, ProvenanceAttest } from '../types';

/**
 * The form's provenance: buildx's default, min or max asked for (an attestation beside every
 * output, as `--provenance mode=…` asks), none, or the attestation a re-run asked for as it was.
 */
export type ProvenanceChoice = 'default' | 'min' | 'max' | 'off' | 'given';

export const PROVENANCE_CHOICES: ReadonlyArray<{ choice: Exclude<ProvenanceChoice, 'given'>; label: string }> = [
  { choice: 'default', label: 'min, on images only (buildx’s default)' },
  { choice: 'min', label: 'min, with every output' },
  { choice: 'max', label: 'max, with every output' },
  { choice: 'off', label: 'off' },
];

/** The form's one output choice: one of the core's outputs, or push and load together. */
export type OutputKind = BuildOutput['type'] | 'pushAndLoad';
/** The outputs that write to a file or folder (`dest`). */
type DestKind = Extract<BuildOutput, { dest: string }>['type'];
// A Record, so a new file output in the core's BuildOutput fails the type check until listed here.
const DEST_KINDS: Record<DestKind, true> = { oci: true, docker: true, tar: true, local: true };

export const OUTPUT_KINDS: ReadonlyArray<{ kind: OutputKind; label: string; note: string }> = [
  { kind: 'cacheOnly', label: 'Build only', note: 'result stays in the build cache' },
  { kind: 'push', label: 'Push', note: 'to the registry of each tag' },
  { kind: 'load', label: 'Load', note: 'into the engine’s images' },
  { kind: 'image', label: 'Keep in builder', note: 'the image stays in the builder’s own store (the engine’s images on the docker driver)' },
  { kind: 'pushAndLoad', label: 'Push and load', note: 'to the registry and into the engine’s images' },
  { kind: 'oci', label: 'OCI tarball', note: 'to a file' },
  { kind: 'docker', label: 'Docker tarball', note: 'to a file' },
  { kind: 'tar', label: 'Filesystem tar', note: 'the image’s files, to a file' },
  { kind: 'local', label: 'Folder', note: 'the image’s files, into a folder' },
];

export interface BuildForm {
  context: string;
  dockerfile: string;
  /** Empty: the current builder. */
  builder: string;
  platforms: string[];
  /** Textareas: one item per line. */
  tags: string;
  buildArgs: string;
  labels: string;
  /** One `[TYPE[PLATFORM]:]KEY=VALUE` per line (`--annotation`). */
  annotations: string;
  /** One `id=NAME,src=FILE` or `id=NAME,env=VARIABLE` per line. */
  secrets: string;
  /** One `default`, `ID=SOCKET` or `ID=KEYFILE[,KEYFILE]` per line (`--ssh`): ssh-agents or key files RUN steps may use. */
  ssh: string;
  /** One `NAME=PATH` or `NAME=docker-image://REF` (…) per line. */
  buildContexts: string;
  /** Kept from a re-run request (`--network`, `--add-host`); the form has no box for them. */
  network: string;
  addHosts: string[];
  /** One `type=registry,ref=REF` or `type=local,src=DIR` per line. */
  cacheFrom: string;
  /** One `type=registry,ref=REF[,mode=max]`, `type=local,dest=DIR[,mode=max]` or `type=inline` per line. */
  cacheTo: string;
  target: string;
  output: OutputKind;
  /** The file of an oci/docker output. */
  dest: string;
  /**
   * Outputs of a re-run request that the one choice above does not hold (a CLI build of several
   * `-o`): built again as they were, after it.
   */
  moreOutputs: BuildOutput[];
  /**
   * The exporter attributes a re-run request gave its first output (`--output` fields such as
   * `compression=zstd`), kept on the choice while it is still that output's kind.
   */
  chosenAttrs: { kind: OutputKind; attrs: Record<string, string> } | null;
  noCache: boolean;
  /** Always pull referenced images (`--pull`). */
  pull: boolean;
  provenance: ProvenanceChoice;
  /** The attestation a re-run asked for (`type=provenance,builder-id=…`) when no other choice says it. */
  provenanceGiven: string;
  sbom: boolean;
  /** The scanner image; blank: BuildKit's default. */
  sbomGenerator: string;
  /** Each platform solved on its own, so one that fails does not stop the others. */
  keepGoing: boolean;
  /** With keep-going and push: the platforms that succeeded go under the tags even when others fail. */
  pushPartial: boolean;
}

export function emptyBuildForm(): BuildForm {
  return {
    context: '',
    dockerfile: '',
    builder: '',
    platforms: [],
    tags: '',
    buildArgs: '',
    labels: '',
    annotations: '',
    secrets: '',
    ssh: '',
    buildContexts: '',
    network: '',
    addHosts: [],
    cacheFrom: '',
    cacheTo: '',
    target: '',
    output: 'cacheOnly',
    dest: '',
    moreOutputs: [],
    chosenAttrs: null,
    noCache: false,
    pull: false,
    provenance: 'default',
    provenanceGiven: '',
    sbom: false,
    sbomGenerator: '',
    keepGoing: false,
    pushPartial: false,
  };
}

/** One item per non-blank line, trimmed; lines starting with `#` are comments. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** An output's exporter attributes; none for build only. */
function attrsOf(output: BuildOutput): Record<string, string> {
  return ('attrs' in output && output.attrs) || {};
}

/** The outputs the form asks for: its choice (with a re-run's attributes), then the ones a re-run brought. */
export function outputsOf(form: BuildForm): BuildOutput[] {
  const kind = form.output;
  const given = form.chosenAttrs?.kind === kind ? form.chosenAttrs.attrs : {};
  const attrs = Object.keys(given).length ? { attrs: { ...given } } : {};
  const chosen: BuildOutput[] = needsDest(kind)
    ? [{ type: kind, dest: form.dest.trim(), ...attrs }]
    : kind === 'pushAndLoad'
      ? [{ type: 'push', ...attrs }, { type: 'load' }]
      : kind === 'cacheOnly'
        ? [{ type: kind }]
        : [{ type: kind, ...attrs }];
  return [...chosen, ...form.moreOutputs];
}

type OutputChoice = Pick<BuildForm, 'output' | 'dest' | 'moreOutputs' | 'chosenAttrs'>;

/** The form's choice for a request's outputs (push and load together are one), and the rest. */
function outputChoice(outputs: BuildOutput[]): OutputChoice {
  const [first, second, ...rest] = outputs;
  if (!first) return { output: 'cacheOnly', dest: '', moreOutputs: [], chosenAttrs: null };
  const bothOnce = first.type === 'push' && second?.type === 'load' && Object.keys(attrsOf(second)).length === 0;
  const output: OutputKind = bothOnce ? 'pushAndLoad' : first.type;
  const attrs = attrsOf(first);
  return {
    output,
    dest: 'dest' in first ? first.dest : '',
    moreOutputs: bothOnce ? rest : outputs.slice(1),
    chosenAttrs: Object.keys(attrs).length ? { kind: output, attrs: { ...attrs } } : null,
  };
}

export function toBuildRequest(form: BuildForm): BuildRequest {
  return {
    context: form.context.trim(),
    dockerfile: form.dockerfile.trim(),
    platforms: [...form.platforms],
    tags: lines(form.tags),
    buildArgs: lines(form.buildArgs),
    labels: lines(form.labels),
    annotations: lines(form.annotations),
    secrets: lines(form.secrets),
    ssh: lines(form.ssh),
    buildContexts: lines(form.buildContexts),
    network: form.network,
    addHosts: form.addHosts,
    cacheFrom: lines(form.cacheFrom),
    cacheTo: lines(form.cacheTo),
    target: form.target.trim(),
    noCache: form.noCache,
    pull: form.pull,
    outputs: outputsOf(form),
    provenance: provenanceAttest(form),
    sbom: form.sbom,
    sbomGenerator: form.sbom ? form.sbomGenerator.trim() : '',
    builder: form.builder,
    keepGoing: form.keepGoing,
    pushPartial: form.keepGoing && form.output === 'push' && form.pushPartial,
  };
}

/** The form that makes `request` again (re-run). */
export function fromBuildRequest(request: BuildRequest): BuildForm {
  return {
    context: request.context,
    dockerfile: request.dockerfile,
    builder: request.builder,
    platforms: [...request.platforms],
    tags: request.tags.join('\n'),
    buildArgs: request.buildArgs.join('\n'),
    labels: request.labels.join('\n'),
    annotations: request.annotations.join('\n'),
    secrets: request.secrets.join('\n'),
    ssh: request.ssh.join('\n'),
    buildContexts: request.buildContexts.join('\n'),
    network: request.network,
    addHosts: [...request.addHosts],
    cacheFrom: request.cacheFrom.join('\n'),
    cacheTo: request.cacheTo.join('\n'),
    target: request.target,
    ...outputChoice(request.outputs),
    noCache: request.noCache,
    pull: request.pull,
    ...provenanceChoice(request.provenance),
    sbom: request.sbom,
    sbomGenerator: request.sbomGenerator,
    keepGoing: request.keepGoing,
    pushPartial: request.pushPartial,
  };
}

/** The attestation the form's provenance choice asks for. */
function provenanceAttest(form: BuildForm): ProvenanceAttest {
  switch (form.provenance) {
    case 'default':
    case 'off':
      return form.provenance;
    case 'min':
    case 'max':
      return { attrs: `type=provenance,mode=${form.provenance}` };
    case 'given':
      return { attrs: form.provenanceGiven };
  }
}

/** The choice that asks for `provenance` again. */
function provenanceChoice(provenance: ProvenanceAttest): Pick<BuildForm, 'provenance' | 'provenanceGiven'> {
  if (provenance === 'default' || provenance === 'off') return { provenance, provenanceGiven: '' };
  const mode = /^type=provenance,mode=(min|max)$/.exec(provenance.attrs)?.[1] as 'min' | 'max' | undefined;
  return mode ? { provenance: mode, provenanceGiven: '' } : { provenance: 'given', provenanceGiven: provenance.attrs };
}

/** Whether the output writes a file and so needs `dest`. */
export function needsDest(kind: OutputKind): kind is DestKind {
  return kind in DEST_KINDS;
}

/** Gentle notes shown beside the form while typing; never a reason to refuse a build. */
export function hints(form: BuildForm): string[] {
  const out: string[] = [];
  if (form.context.trim() === '') out.push('Pick a context folder.');
  const bad = lines(form.buildArgs).filter((a) => !a.includes('='));
  if (bad.length) out.push(`Build args need KEY=VALUE: ${bad.join(', ')}`);
  const badLabels = lines(form.labels).filter((a) => !a.includes('='));
  if (badLabels.length) out.push(`Labels need KEY=VALUE: ${badLabels.join(', ')}`);
  // A re-run's push may be named by its output's own `name` (`-o type=image,name=…,push=true`).
  const named = form.chosenAttrs?.kind === form.output && (form.chosenAttrs.attrs.name ?? '').trim() !== '';
  if ((form.output === 'push' || form.output === 'pushAndLoad') && lines(form.tags).length === 0 && !named)
    out.push('Pushing needs at least one tag.');
  if (needsDest(form.output) && form.dest.trim() === '') out.push('Name the file to write.');
  const attested = form.sbom || !['default', 'off'].includes(form.provenance);
  if (form.output === 'docker' && (form.platforms.length > 1 || attested))
    out.push('A docker tarball holds one image: write an OCI tarball for several platforms or attestations asked for (SBOM, provenance).');
  if ((form.output === 'load' || form.output === 'pushAndLoad') && form.platforms.length > 1)
    out.push('The engine may not load a multi-platform result; push or write a tarball instead.');
  return out;
}

/**
 * The ARGs an outline declares that the build-arg box does not set yet, as `NAME=default` lines to
 * add, each with its description (from a `# NAME description` comment) when it has one.
 */
export function argSuggestions(
  outline: DockerfileOutline | null,
  buildArgs: string,
): Array<{ name: string; line: string; description: string | null }> {
  if (!outline) return [];
  const set = new Set(lines(buildArgs).map((a) => a.split('=')[0]));
  const seen = new Set<string>();
  const out: Array<{ name: string; line: string; description: string | null }> = [];
  for (const a of outline.args) {
    if (set.has(a.name) || seen.has(a.name)) continue;
    seen.add(a.name);
    out.push({ name: a.name, line: `${a.name}=${a.default ?? ''}`, description: a.description });
  }
  return out;
}

/** The secrets the target mounts as required that the secrets box does not give (by `id=`). */
export function missingSecrets(outline: DockerfileOutline | null, secrets: string): string[] {
  if (!outline) return [];
  const given = new Set(
    lines(secrets).flatMap((l) =>
      l
        .split(',')
        .map((f) => f.trim())
        .filter((f) => f.startsWith('id='))
        .map((f) => f.slice(3)),
    ),
  );
  return outline.secrets.filter((s) => s.required && !given.has(s.name)).map((s) => s.name);
}

/** Where the outline came from, to show beside it. */
export function outlineOrigin(outline: DockerfileOutline): { text: string; title: string } {
  const o = outline.origin;
  return o.kind === 'builder'
    ? { text: `from builder ${o.builder}`, title: 'As the builder’s Dockerfile frontend reports it' }
    : { text: 'read locally', title: `The builder could not be asked: ${o.reason}` };
}

/** Adds a line to a one-per-line textarea's text. */
export function addLine(text: string, line: string): string {
  const t = text.replace(/\s+$/, '');
  return t === '' ? line : `${t}\n${line}`;
}

/** The named stages an outline offers as targets, in file order. */
export function targets(outline: DockerfileOutline | null): string[] {
  return (outline?.stages ?? []).map((s) => s.name).filter((n): n is string => n !== null && n !== '');
}

/**
 * The platform checkboxes for the form's builder: what the core read for it (`read`, null while it
 * reads), else what the builder list already carried for it, so the choices do not change length
 * (and move what is below) when the answer comes; the common three when neither is known.
 * Platforms ticked earlier (a re-run) that the builder does not list stay, so they can be unticked.
 */
export function platformChoices(read: NodePlatform[] | null, listed: NodePlatform[], ticked: string[]): NodePlatform[] {
  const unknown = (platform: string): NodePlatform => ({ platform, emulated: false, pinned: false });
  const offered = read?.length ? read : listed.length ? listed : COMMON_PLATFORMS.slice(0, 3).map(unknown);
  const extra = ticked.filter((p) => !offered.some((o) => o.platform === p)).map(unknown);
  return [...offered, ...extra];
}
