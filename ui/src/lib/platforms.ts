// One stable colour per platform, used wherever a platform appears. Known platforms have fixed,
// well-separated hues; any other platform gets a hue hashed from its name, so it is stable too.

export interface PlatformColour {
  /** 0–359 */
  hue: number;
  /** 0–100: how saturated the chip's accent is */
  saturation: number;
}

const KNOWN: Record<string, PlatformColour> = {
  'linux/amd64': { hue: 212, saturation: 80 },
  'linux/arm64': { hue: 145, saturation: 60 },
  'linux/arm/v7': { hue: 28, saturation: 88 },
  'linux/arm/v6': { hue: 48, saturation: 85 },
  'linux/386': { hue: 268, saturation: 65 },
  'linux/riscv64': { hue: 322, saturation: 70 },
  'linux/ppc64le': { hue: 186, saturation: 75 },
  'linux/s390x': { hue: 78, saturation: 45 },
};

/** The platforms offered as checkboxes on the create form, in this order. */
export const COMMON_PLATFORMS: readonly string[] = Object.keys(KNOWN);

/**
 * The key a platform's colour is looked up by: lower case, with variants that name the same
 * architecture folded together (`linux/arm64/v8` is `linux/arm64`, `linux/amd64/v3` is `linux/amd64`).
 */
export function platformKey(platform: string): string {
  const p = platform.trim().toLowerCase();
  const parts = p.split('/');
  if (parts.length === 3 && parts[1] === 'arm64' && parts[2] === 'v8') return `${parts[0]}/arm64`;
  if (parts.length === 3 && parts[1] === 'amd64' && /^v[1-4]$/.test(parts[2])) return `${parts[0]}/amd64`;
  return p;
}

/** FNV-1a, 32 bit: small, stable across sessions and machines. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function platformColour(platform: string): PlatformColour {
  const key = platformKey(platform);
  const known = KNOWN[key];
  if (known) return known;
  const h = fnv1a(key);
  return { hue: h % 360, saturation: 35 + ((h >>> 9) % 30) };
}

/** Inline CSS custom properties for a chip; the theme (app.css) turns them into colours. */
export function platformStyle(platform: string): string {
  const { hue, saturation } = platformColour(platform);
  return `--platform-h: ${hue}; --platform-s: ${saturation}%`;
}

/** Tooltip text for a chip. */
export function platformTitle(platform: string, emulated: boolean, pinned: boolean): string {
  const notes: string[] = [];
  if (pinned) notes.push('pinned with --platform');
  if (emulated) notes.push('emulated (QEMU)');
  return notes.length ? `${platform} — ${notes.join(', ')}` : platform;
}
