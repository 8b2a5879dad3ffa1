// Errors nothing else caught: a view that throws while drawing shows them in its own place (see
// ViewBoundary); an event handler or promise that fails outside any view reaches the window, and
// is shown there rather than only in a console nobody reads.
import { toAppError } from './errors';
import type { AppError } from './types';

/**
 * Reports the window's uncaught errors and unhandled rejections to `report`; returns the function
 * that stops listening.
 */
export function listenForUncaught(target: EventTarget, report: (error: AppError) => void): () => void {
  const onError = (event: Event) => {
    const e = event as ErrorEvent;
    report(toAppError(e.error ?? e.message));
  };
  const onRejection = (event: Event) => {
    report(toAppError((event as PromiseRejectionEvent).reason));
  };
  target.addEventListener('error', onError);
  target.addEventListener('unhandledrejection', onRejection);
  return () => {
    target.removeEventListener('error', onError);
    target.removeEventListener('unhandledrejection', onRejection);
  };
}
