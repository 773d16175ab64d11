// A small map of a place, drawn as SVG from the registry's own geometry (no tiles, works offline):
// the node's neighbours under the same parent, the node itself highlighted, and a pin.
import { get } from '/shared/api.js';
import { esc, rememberRegion } from './common.js';

const childrenCache = new Map();

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return [geometry.coordinates[0]];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.map((p) => p[0]);
  return [];
}

async function children(code) {
  if (!childrenCache.has(code)) {
    childrenCache.set(code, get(`/regions?parent=${encodeURIComponent(code)}&limit=200`).then((p) => {
      p.items.forEach(rememberRegion);
      return p.items;
    }).catch(() => []));
  }
  return childrenCache.get(code);
}

/**
 * Draws into `el` the place `code` given its `ancestors` (top-down, with geometry, as
 * `GET /regions/{code}/ancestors` returns them) and an optional `point` {lon, lat}.
 */
export async function drawPlace(el, { ancestors, point }) {
  if (!ancestors || !ancestors.length) { el.innerHTML = ''; el.hidden = true; return; }
  // The deepest node with a polygon is the focus; its parent frames the view.
  const withShape = ancestors.filter((r) => rings(r.geometry).length);
  const focus = withShape[withShape.length - 1];
  if (!focus) { el.hidden = true; return; }
  const frame = withShape.length > 1 ? withShape[withShape.length - 2] : focus;
  const siblings = frame !== focus ? (await children(frame.code)).filter((r) => r.code !== focus.code && rings(r.geometry).length) : [];
  const pin = point || focus.position || null;

  const framePts = rings(frame.geometry).flat();
  let minLon = Math.min(...framePts.map((p) => p[0])), maxLon = Math.max(...framePts.map((p) => p[0]));
  let minLat = Math.min(...framePts.map((p) => p[1])), maxLat = Math.max(...framePts.map((p) => p[1]));
  if (pin) {
    minLon = Math.min(minLon, pin.lon); maxLon = Math.max(maxLon, pin.lon);
    minLat = Math.min(minLat, pin.lat); maxLat = Math.max(maxLat, pin.lat);
  }
  const W = 400, H = 240, pad = 18;
  const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const spanX = Math.max((maxLon - minLon) * k, 1e-6), spanY = Math.max(maxLat - minLat, 1e-6);
  const scale = Math.min((W - 2 * pad) / spanX, (H - 2 * pad) / spanY);
  const ox = (W - spanX * scale) / 2, oy = (H - spanY * scale) / 2;
  const xy = ([lon, lat]) => [ox + (lon - minLon) * k * scale, oy + (maxLat - lat) * scale];
  const path = (r) => rings(r.geometry).map((ring) => `M${ring.map((p) => xy(p).map((v) => v.toFixed(1)).join(',')).join('L')}Z`).join('');
  const centre = (r) => {
    const pts = rings(r.geometry)[0];
    const c = pts.reduce((a, p) => [a[0] + p[0], a[1] + p[1]], [0, 0]).map((v) => v / pts.length);
    return xy(c);
  };

  const parts = [];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" class="m-bg"/>`);
  // The ancestors above the frame, faintly, for context.
  for (const r of withShape.slice(0, -2)) parts.push(`<path d="${path(r)}" class="m-outer"/>`);
  if (frame !== focus) parts.push(`<path d="${path(frame)}" class="m-frame"/>`);
  const width = (r) => {
    const xs = rings(r.geometry).flat().map((p) => xy(p)[0]);
    return Math.max(...xs) - Math.min(...xs);
  };
  for (const s of siblings) {
    const [cx, cy] = centre(s);
    const name = fit(shortName(s.name, frame.name), width(s), 11);
    parts.push(`<path d="${path(s)}" class="m-sibling"><title>${esc(s.name)}</title></path>${name ? `<text x="${cx.toFixed(1)}" y="${cy.toFixed(1)}" class="m-label">${esc(name)}</text>` : ''}`);
  }
  const [fx, fy] = centre(focus);
  parts.push(`<path d="${path(focus)}" class="m-focus"><title>${esc(focus.name)}</title></path>`);
  parts.push(`<text x="${fx.toFixed(1)}" y="${(fy + 14).toFixed(1)}" class="m-label m-label-focus">${esc(shortName(focus.name, frame.name))}</text>`);
  if (pin) {
    const [px, py] = xy([pin.lon, pin.lat]);
    parts.push(`<g class="m-pin" transform="translate(${px.toFixed(1)},${py.toFixed(1)})"><circle r="11" class="m-pulse"/><path d="M0,0 C-6,-8 -7,-11 -7,-14 A7,7 0 1,1 7,-14 C7,-11 6,-8 0,0Z"/><circle cy="-14" r="2.6" fill="#fff"/></g>`);
  }
  parts.push(`<text x="${W - 8}" y="${H - 8}" class="m-caption" text-anchor="end">${esc(frame.name)}</text>`);
  el.hidden = false;
  el.innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(focus.name)}">${parts.join('')}</svg>`;
}

/** The name cut to what fits `px` wide at about `size` px a character (CJK). */
function fit(name, px, size) {
  const max = Math.floor((px - 6) / size);
  if (max < 2) return '';
  const plain = name.replace(/(社区|网格)$/, '');
  const text = name.length <= max ? name : plain;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function shortName(name, parentName) {
  return name && parentName && name.startsWith(parentName) && name.length > parentName.length ? name.slice(parentName.length) : name;
}
