// The offline queue: every report and order action goes through it. Items persist in IndexedDB
// (photos as Blobs) and are sent in order, each with its own Idempotency-Key, on start, when the
// connection returns and after each new item. An action carries the order version the worker saw,
// so a retry whose first attempt did land is refused as stale rather than applied twice; the
// order's history then tells whether it landed (it did: done) or not (it is sent once more with
// the current version, if the order's state still allows it).
import { api, upload, errorText } from '/shared/api.js';

const DB_NAME = 'linli-mobile';
const STORE = 'queue';
let dbPromise = null;

function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return dbPromise;
}

async function tx(mode, work) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const t = database.transaction(STORE, mode);
    const store = t.objectStore(STORE);
    let result;
    const request = work(store);
    if (request) request.onsuccess = () => { result = request.result; };
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

const listeners = new Set();
/** `fn({type, item, outcome, error})` hears `changed`, `done` and `failed`. */
export function subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function emit(message) { listeners.forEach((fn) => { try { fn(message); } catch (e) { console.error(e); } }); }

/** A fresh idempotency key (randomUUID needs a secure context; getRandomValues does not). */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Every item of `user` (pending and failed), oldest first. */
export async function items(user) {
  const all = (await tx('readonly', (s) => s.getAll())) || [];
  return all.filter((i) => i.user === user).sort((a, b) => a.seq - b.seq);
}

export async function pendingCount(user) {
  return (await items(user)).filter((i) => i.state === 'pending').length;
}

async function put(item) { await tx('readwrite', (s) => s.put(item)); }
export async function remove(seq) { await tx('readwrite', (s) => s.delete(seq)); emit({ type: 'changed' }); }

/**
 * Adds an item: `{user, kind: 'action'|'event', orderId, action, body, photos: [Blob], version,
 * label}`. An action on an order that already has pending actions takes its version when sent.
 * Returns the stored item (with `seq` and `key`).
 */
export async function enqueue(item) {
  const existing = await items(item.user);
  const chained = item.kind === 'action' && existing.some((i) => i.state === 'pending' && i.kind === 'action' && i.orderId === item.orderId);
  const stored = {
    key: newKey(), createdAt: Date.now(), state: 'pending', attempts: 0, media: [], photos: [],
    ...item,
    version: chained ? null : (item.version ?? null),
  };
  stored.seq = await tx('readwrite', (s) => s.add(stored));
  emit({ type: 'changed' });
  return stored;
}

/** An error worth waiting out (the item stays queued): no network, or the server unavailable. */
export function transient(error) {
  return error?.status === 0 || error?.status === 401 || error?.status === 408 || error?.status === 429 || error?.status >= 500;
}

/** The history entry by this user for `item`, written after the version it was based on. */
function landed(order, item, userId) {
  const since = item.version ?? 0;
  return (order.history || []).find((e) => e.seq > since && e.action === item.action && e.actor?.user_id === userId
    && (item.body?.note ?? null) === (e.note ?? null)
    && Date.parse(e.at) >= item.createdAt - 10 * 60 * 1000);
}

async function send(item, userId) {
  for (let i = item.media.length; i < item.photos.length; i++) {
    item.media.push(await upload(item.photos[i]));
    await put(item);
  }
  if (item.kind === 'event') {
    return api('POST', '/events', { ...item.body, evidence: item.media }, { idempotencyKey: item.key });
  }
  const path = `/orders/${item.orderId}/actions`;
  if (item.version == null) {
    item.version = (await api('GET', `/orders/${item.orderId}`)).version;
    await put(item);
  }
  const body = { ...item.body, action: item.action, version: item.version };
  if (item.media.length) body.attachments = item.media;
  try {
    return await api('POST', path, body, { idempotencyKey: item.key });
  } catch (error) {
    if (error.status !== 409) throw error;
    const order = await api('GET', `/orders/${item.orderId}`);
    const entry = landed(order, item, userId);
    if (entry) return { order, entry, already: true };
    if (error.code === 'stale_version' && order.allowed_actions.includes(item.action)) {
      item.version = order.version;
      await put(item);
      return api('POST', path, { ...body, version: order.version }, { idempotencyKey: item.key });
    }
    throw error;
  }
}

let running = null;

/**
 * Sends `user`'s pending items in order, stopping at the first that meets no network (it stays
 * queued). Items refused by the API are marked failed with a readable reason. Single-flight (and
 * across tabs where Web Locks exist).
 */
export function flush(user) {
  if (running) return running.then(() => flush(user));
  const work = async () => {
    for (const item of await items(user)) {
      if (item.state !== 'pending') continue;
      item.attempts += 1;
      try {
        const outcome = await send(item, user);
        await tx('readwrite', (s) => s.delete(item.seq));
        emit({ type: 'done', item, outcome });
      } catch (error) {
        if (transient(error)) { await put(item); break; }
        item.state = 'failed';
        item.error = errorText(error);
        await put(item);
        emit({ type: 'failed', item, error });
      }
    }
    emit({ type: 'changed' });
  };
  running = (navigator.locks ? navigator.locks.request('linli-mobile-queue', work) : work())
    .catch((e) => console.error('queue flush failed', e))
    .finally(() => { running = null; });
  return running;
}

/** Puts a failed item back in line. */
export async function retry(seq, user) {
  const item = (await items(user)).find((i) => i.seq === seq);
  if (!item) return;
  item.state = 'pending';
  item.error = null;
  await put(item);
  emit({ type: 'changed' });
}
