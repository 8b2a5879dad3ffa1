// How a rejected command is presented: the core's message, a hint for what to do, and whether a
// Retry button makes sense. Every IPC rejection passes through toAppError first.
import type { AppError, ErrorCode } from './types';

// One entry per code of the generated union: a Record literal must name every code and no other, so
// its keys are the codes at run time too, with no list kept by hand.
const PRESENTATION: Record<ErrorCode, Pick<ErrorPresentation, 'hint' | 'retry'>> = {
  invalidInput: { hint: null, retry: false },
  notFound: { hint: 'It may have been changed outside Buildlane.', retry: false },
  alreadyExists: { hint: 'Pick another name, or use the existing builder.', retry: false },
  engineUnreachable: { hint: 'Start Docker, or pick another context.', retry: true },
  storeLocked: { hint: 'Another buildx command holds the builder store; try again when it finishes.', retry: true },
  storeCorrupt: { hint: 'Fix or remove the damaged file in the buildx store, then retry.', retry: true },
  imageUnavailable: { hint: 'Check the network or the registry credentials for the BuildKit image.', retry: true },
  bootFailed: { hint: null, retry: true },
  cancelled: { hint: null, retry: true },
  internal: { hint: null, retry: true },
  authRequired: { hint: null, retry: true },
  forbidden: { hint: 'Log in with an account that may read this repository.', retry: false },
  rateLimited: { hint: null, retry: true },
  digestMismatch: { hint: 'The registry served other bytes than the digest names: do not trust this copy.', retry: false },
  malformed: { hint: null, retry: false },
  registryUnreachable: {
    hint: 'Check the registry address, the network, and the insecure (plain http) switch.',
    retry: true,
  },
};

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(PRESENTATION, value);
}

/** Normalises whatever a rejected invoke produced (an AppError, a bare string, an Error) into an AppError. */
export function toAppError(reason: unknown): AppError {
  if (reason && typeof reason === 'object') {
    const r = reason as { code?: unknown; message?: unknown };
    if (isErrorCode(r.code) && typeof r.message === 'string') {
      return { code: r.code, message: r.message };
    }
    if (typeof r.message === 'string' && r.message !== '') {
      return { code: 'internal', message: r.message };
    }
  }
  if (typeof reason === 'string' && reason !== '') {
    return { code: 'internal', message: reason };
  }
  return { code: 'internal', message: 'unexpected error' + (reason === undefined ? '' : `: ${String(reason)}`) };
}

export function isCancelled(error: AppError): boolean {
  return error.code === 'cancelled';
}

export interface ErrorPresentation {
  /** 'info' for a cancellation the user asked for; 'error' for everything else. */
  tone: 'info' | 'error';
  message: string;
  /** What the user can do about it, or null when the message says it all. */
  hint: string | null;
  /** Whether trying the same thing again can help without changing anything. */
  retry: boolean;
}

export function presentError(error: AppError): ErrorPresentation {
  return {
    tone: error.code === 'cancelled' ? 'info' : 'error',
    message: error.message,
    hint: PRESENTATION[error.code].hint,
    retry: PRESENTATION[error.code].retry,
  };
}
