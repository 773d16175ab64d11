// The live link between the screens (三屏联动): the API's WebSocket of committed changes. It
// reconnects with backoff and, passing the last message id it saw, replays what it missed, so a
// dropped connection loses nothing; `stream.lagged` means too much was missed: reload the view.
import { session, toLogin } from './api.js';

/**
 * Follows `/api/v1/stream`. `onMessage(message)` gets each `{id, at, topic, payload}` once;
 * `onLagged()` is asked to reload the view; `onState(state)` hears `online`, `offline` and
 * `catching_up`. Returns `{ close() }`.
 */
export function follow({ topics = [], onMessage, onLagged = () => {}, onState = () => {} }) {
  let lastId = null;
  let socket = null;
  let closed = false;
  let delay = 500;
  let timer = null;

  const open = () => {
    const s = session();
    if (!s) { toLogin(true); return; }
    const params = new URLSearchParams({ access_token: s.token });
    if (topics.length) params.set('topics', topics.join(','));
    if (lastId !== null) params.set('after', String(lastId));
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream?${params}`);
    let opened = false;
    socket.onopen = () => {
      opened = true;
      delay = 500;
      onState(lastId !== null ? 'catching_up' : 'online');
      if (lastId !== null) setTimeout(() => socket && socket.readyState === WebSocket.OPEN && onState('online'), 300);
    };
    socket.onmessage = (frame) => {
      let message;
      try { message = JSON.parse(frame.data); } catch (_) { return; }
      if (message.topic === 'stream.lagged') { onLagged(); return; }
      if (message.topic === 'stream.hello') {
        if (lastId === null) lastId = message.payload.head;
        return;
      }
      if (typeof message.id === 'number') {
        if (lastId !== null && message.id <= lastId) return;
        lastId = message.id;
      }
      try { onMessage(message); } catch (e) { console.error('live message handler failed', e); }
    };
    socket.onclose = () => {
      socket = null;
      if (closed) return;
      onState('offline');
      // A refused upgrade before opening is most likely an expired session.
      if (!opened && !session()) { toLogin(true); return; }
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
    socket.onerror = () => { /* onclose follows */ };
  };

  // Screens follow first and load their data second, so nothing committed in between is missed
  // (a change seen twice is applied idempotently, by id).
  open();
  return {
    close() { closed = true; clearTimeout(timer); if (socket) socket.close(); },
    /** Drops the connection (as a network cut would); it reconnects and catches up. */
    drop() { if (socket) socket.close(); },
    get lastId() { return lastId; },
  };
}
