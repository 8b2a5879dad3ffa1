// Installed by window-frames before a measured interval; STOP_PROBE collects and removes it.
(() => {
  const p = { frames: [], render: [], updates: [], updateBytes: 0, ticks: [], added: 0, removed: 0, text: 0, attrs: 0, changed: 0, dirty: false, started: performance.now(), stop: false, undo: [] };
  window.__probe = p;
  // Frame intervals, and per frame the time from its animation callbacks to the next task (style, layout, paint).
  const mc = new MessageChannel();
  let rafAt = 0;
  mc.port1.onmessage = () => p.render.push(performance.now() - rafAt);
  let last = performance.now();
  const tick = (t) => {
    // A frame that follows DOM changes is one the page had to lay out and paint again.
    if (p.dirty) { p.changed++; p.dirty = false; }
    p.frames.push(t - last);
    last = t;
    rafAt = performance.now();
    mc.port2.postMessage(0);
    if (!p.stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  // DOM mutations.
  const count = (records) => {
    if (records.length) p.dirty = true;
    for (const r of records) {
      if (r.type === 'childList') { p.added += r.addedNodes.length; p.removed += r.removedNodes.length; }
      else if (r.type === 'characterData') p.text++;
      else p.attrs++;
    }
  };
  const mo = new MutationObserver(count);
  mo.observe(document.documentElement, { subtree: true, childList: true, characterData: true, attributes: true });
  p.undo.push(() => { count(mo.takeRecords()); mo.disconnect(); });
  // Script time (handler plus the UI's update that follows in microtasks) per progress update or removed record.
  const timed = (fn, into) => function (...args) {
    const t0 = performance.now();
    try { return fn.apply(this, args); }
    finally { queueMicrotask(() => into.push(performance.now() - t0)); }
  };
  const callbacks = window.__TAURI_INTERNALS__.callbacks;
  const set = callbacks.set;
  callbacks.set = function (id, fn) {
    // A build's progress update, or a prune's removed record.
    const progress = (data) => data && typeof data === 'object' && 'index' in data && data.message && typeof data.message === 'object' && ('logs' in data.message || 'freed' in data.message);
    return set.call(this, id, function (data) {
      if (!progress(data)) return fn(data);
      const t0 = performance.now();
      try { return fn(data); }
      finally {
        queueMicrotask(() => {
          p.updates.push(performance.now() - t0);
          p.updateBytes += JSON.stringify(data.message).length;
        });
      }
    });
  };
  p.undo.push(() => { delete callbacks.set; });
  // The UI's interval timers (the build clock).
  const si = window.setInterval;
  window.setInterval = function (fn, ms, ...rest) {
    return si.call(window, typeof fn === 'function' ? timed(fn, p.ticks) : fn, ms, ...rest);
  };
  p.undo.push(() => { window.setInterval = si; });
})();
