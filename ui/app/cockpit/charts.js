// The cockpit's ECharts: the map drawn from the registry's own geometry (no tile server), the
// three rate rings, categories, device health, the 14-day trend and the areas below.
/* global echarts */
import { t, label } from '/shared/i18n.js';
import { esc } from '/shared/api.js';

export const COLORS = {
  cyan: '#00e4ff', gold: '#ffc53d', bad: '#ff4d4f', ok: '#22e3a4', blue: '#2f8cff', text: '#cfe6ff', muted: '#7fa3c8',
  status: { online: '#22e3a4', offline: '#7b8aa0', fault: '#ff4d4f', maintenance: '#ffc53d', decommissioned: '#3d4a5c' },
  severity: { info: '#5ab1ef', minor: '#36cfc9', major: '#ffb020', critical: '#ff4d4f' },
  series: ['#00e4ff', '#ffc53d', '#3e8bff', '#22e3a4', '#ff7a45', '#b37feb', '#f759ab'],
};
const AXIS = { axisLine: { lineStyle: { color: 'rgba(120,180,255,.35)' } }, axisTick: { show: false }, axisLabel: { color: COLORS.text, fontSize: 13 }, splitLine: { lineStyle: { color: 'rgba(120,180,255,.1)' } } };
const TOOLTIP = { backgroundColor: 'rgba(3,20,50,.94)', borderColor: 'rgba(0,200,255,.5)', textStyle: { color: '#e6f4ff', fontSize: 14 }, confine: true };
const NUM_FONT = '"DIN Alternate", "Bahnschrift", "Roboto Condensed", "Arial Narrow", "Liberation Sans Narrow", sans-serif';
const STATUS_ORDER = ['online', 'offline', 'fault', 'maintenance', 'decommissioned'];

const vertical = (from, to) => new echarts.graphic.LinearGradient(0, 0, 0, 1, [{ offset: 0, color: from }, { offset: 1, color: to }]);
const horizontal = (from, to) => new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: from }, { offset: 1, color: to }]);

/** Starts a chart in `el`, sharp on walls whose scale makes the stage bigger than 1:1. */
export function chart(el, scale = 1) {
  return echarts.init(el, null, { renderer: 'canvas', devicePixelRatio: Math.max(1, (window.devicePixelRatio || 1) * scale) });
}

// --- Map ---------------------------------------------------------------------------------------

const OUTLINE = '__outline';

function polygonal(geometry) {
  return geometry && (geometry.type === 'Polygon' || geometry.type === 'MultiPolygon');
}

function bboxOf(points) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]); minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(walk);
  };
  points.forEach(walk);
  return Number.isFinite(minX) ? [minX, minY, maxX, maxY] : null;
}

/**
 * Registers the map of a place: its areas' polygons, then its own outline (drawn last, silent).
 * When nothing has a polygon (a grid of point buildings without its own shape), a box around the
 * points stands in. Returns `{ name, extent }` (extent in degrees, for jittering markers).
 */
export function registerPlace(region, areas, points = []) {
  const features = areas.filter((a) => polygonal(a.geometry)).map((a) => ({ type: 'Feature', properties: { name: a.code }, geometry: a.geometry }));
  if (region && polygonal(region.geometry)) {
    features.push({ type: 'Feature', properties: { name: OUTLINE }, geometry: region.geometry });
  }
  if (!features.length) {
    const box = bboxOf([...points, ...areas.filter((a) => a.position).map((a) => [a.position.lon, a.position.lat])]) || [116.3, 40.05, 116.4, 40.1];
    const pad = Math.max(box[2] - box[0], box[3] - box[1], 0.002) * 0.15;
    const [x0, y0, x1, y1] = [box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad];
    features.push({ type: 'Feature', properties: { name: OUTLINE }, geometry: { type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] } });
  }
  const box = bboxOf(features.map((f) => f.geometry.coordinates));
  const name = `linli-${region?.code || 'all'}`;
  echarts.registerMap(name, { type: 'FeatureCollection', features });
  return { name, extent: box ? Math.max(box[2] - box[0], box[3] - box[1]) : 0.05 };
}

/** The whole map option of a place: a shadow layer, the areas coloured by today's events, layers. */
export function mapOption({ mapName, areas, shortName, layers }) {
  const maxEvents = Math.max(1, ...areas.map((a) => a.events_today || 0)) * 1.2; // the busiest is bright, never glaring
  const box = { left: 40, right: 40, top: 64, bottom: 54 };
  return {
    backgroundColor: 'transparent',
    tooltip: { ...TOOLTIP, trigger: 'item' },
    geo: [
      { // the raised "3D" base: the same map, a little lower, glowing
        map: mapName, silent: true, ...box, top: box.top + 12, bottom: box.bottom - 12, z: 1,
        itemStyle: { areaColor: '#03214f', borderColor: 'rgba(0,160,255,.5)', borderWidth: 1, shadowColor: 'rgba(0,150,255,.85)', shadowBlur: 30, shadowOffsetY: 6 },
        label: { show: false }, emphasis: { disabled: true },
      },
      {
        map: mapName, ...box, z: 2, selectedMode: false,
        itemStyle: { areaColor: '#0a3470', borderColor: 'rgba(90,210,255,.9)', borderWidth: 1.2 },
        emphasis: { itemStyle: { areaColor: '#1f7ae0' }, label: { color: '#fff' } },
        label: { show: false },
        regions: [{ name: OUTLINE, silent: true, itemStyle: { areaColor: 'rgba(0,0,0,0)', borderColor: COLORS.cyan, borderWidth: 3, shadowColor: COLORS.cyan, shadowBlur: 14 }, label: { show: false }, emphasis: { disabled: true } }],
      },
    ],
    visualMap: {
      type: 'continuous', min: 0, max: maxEvents, seriesIndex: 0, calculable: false, orient: 'horizontal', right: 20, bottom: 14, itemWidth: 10, itemHeight: 110,
      text: [t('map.scale_high'), t('map.scale_low')], textStyle: { color: COLORS.muted, fontSize: 12 },
      inRange: { color: ['#0a2d62', '#0e4588', '#145aa8', '#1a6cc4'] },
    },
    series: [
      {
        id: 'areas', type: 'map', geoIndex: 1, data: areaData(areas),
        tooltip: { formatter: (p) => areaTooltip(p.data) },
      },
      ...areaLabels(areas, shortName),
      ...layers,
    ],
  };
}

/** A pin with today's events over each area, its name under it. */
export function areaLabels(areas, shortName) {
  const shown = areas.filter((a) => polygonal(a.geometry) && a.position);
  const at = (a) => [a.position.lon, a.position.lat];
  return [
    {
      id: 'areaNames', type: 'scatter', coordinateSystem: 'geo', geoIndex: 1, z: 5, symbolSize: 6, animation: false, cursor: 'pointer',
      itemStyle: { color: COLORS.gold, shadowColor: COLORS.gold, shadowBlur: 8 },
      label: { show: true, position: 'bottom', distance: 6, color: '#eaf6ff', fontSize: 16, fontWeight: 600, textShadowColor: 'rgba(0,0,0,.9)', textShadowBlur: 5, formatter: (p) => p.data.name },
      data: shown.map((a) => ({ value: at(a), name: shortName(a.code), code: a.code, area: a })),
      tooltip: { formatter: (p) => areaTooltip(p.data) },
    },
    {
      id: 'pins', type: 'scatter', coordinateSystem: 'geo', geoIndex: 1, z: 6, symbol: 'pin', symbolSize: 46, symbolOffset: [0, '-48%'], animation: false, cursor: 'pointer',
      itemStyle: { color: vertical('#ffd666', '#d48806'), shadowColor: 'rgba(255,197,61,.7)', shadowBlur: 12 },
      label: { show: true, position: 'inside', offset: [0, -4], color: '#1b1300', fontSize: 15, fontWeight: 700, fontFamily: NUM_FONT, formatter: (p) => String(p.data.area.events_today) },
      data: shown.map((a) => ({ value: at(a), name: shortName(a.code), code: a.code, area: a })),
      tooltip: { formatter: (p) => areaTooltip(p.data) },
    },
  ];
}

export function areaData(areas) {
  return areas.filter((a) => polygonal(a.geometry)).map((a) => ({ name: a.code, value: a.events_today || 0, area: a }));
}

function areaTooltip(data) {
  if (!data?.area) return '';
  const a = data.area;
  return `<b>${esc(a.name)}</b> <span style="color:${COLORS.muted}">${esc(label('level', a.level))}</span><br>`
    + `${esc(t('areas.events'))}：${a.events_today}<br>${esc(t('areas.open'))}：${a.orders_open}<br>${esc(t('areas.overdue'))}：<span style="color:${a.orders_overdue ? COLORS.bad : 'inherit'}">${a.orders_overdue}</span>`
    + `<br><span style="color:${COLORS.muted}">${esc(t('map.hint'))}</span>`;
}

const BUILDING = 'path://M2,22 L2,6 L9,2 L16,6 L16,22 Z M4,9 h3 v3 h-3 Z M11,9 h3 v3 h-3 Z M4,15 h3 v3 h-3 Z M11,15 h3 v3 h-3 Z';

export function deviceLayer(devices, size = 6) {
  return {
    id: 'devices', type: 'scatter', coordinateSystem: 'geo', geoIndex: 1, z: 3, symbolSize: size, animation: false,
    data: devices.filter((d) => d.position).map((d) => ({
      value: [d.position.lon, d.position.lat], name: d.name, kind: d.kind, status: d.status,
      itemStyle: { color: COLORS.status[d.status] || COLORS.muted, opacity: d.status === 'online' ? 0.8 : 1 },
    })),
    tooltip: { formatter: (p) => `<b>${esc(p.data.name)}</b><br>${esc(label('device_kind', p.data.kind))} · <span style="color:${COLORS.status[p.data.status]}">${esc(label('device_status', p.data.status))}</span>` },
  };
}

export function buildingLayer(buildings, showLabels) {
  return {
    id: 'buildings', type: 'scatter', coordinateSystem: 'geo', geoIndex: 1, z: 7, symbol: BUILDING, symbolSize: [16, 22], animation: false, cursor: 'pointer',
    itemStyle: { color: COLORS.gold, shadowColor: COLORS.gold, shadowBlur: 8 },
    label: { show: showLabels, position: 'bottom', color: '#ffe7a3', fontSize: 13, formatter: (p) => p.data.name },
    data: buildings.filter((b) => b.position).map((b) => ({ value: [b.position.lon, b.position.lat], name: b.name, code: b.code })),
    tooltip: { formatter: (p) => `<b>${esc(p.data.name)}</b><br><span style="color:${COLORS.muted}">${esc(t('building.pick'))}</span>` },
  };
}

/** Event markers: every kept one as a dot, the newest few rippling (on their own canvas layer). */
export function eventLayers(points) {
  const data = points.map((p) => ({ value: p.value, name: p.title, severity: p.severity, id: p.id, itemStyle: { color: COLORS.severity[p.severity] || COLORS.cyan } }));
  const tooltip = { formatter: (p) => `<b>${esc(p.data.name)}</b><br><span style="color:${COLORS.severity[p.data.severity]}">${esc(label('severity', p.data.severity))}</span>` };
  return [
    { id: 'events', type: 'scatter', coordinateSystem: 'geo', geoIndex: 1, zlevel: 1, symbolSize: 8, animation: false, data, tooltip },
    {
      id: 'recent', type: 'effectScatter', coordinateSystem: 'geo', geoIndex: 1, zlevel: 2, symbolSize: 11, data: data.slice(-8),
      rippleEffect: { brushType: 'stroke', scale: 4.5, period: 2.5 }, showEffectOn: 'render', tooltip,
    },
  ];
}

// --- Panels ------------------------------------------------------------------------------------

export function rateOption(value, color) {
  const v = value == null ? 0 : Math.round(value * 1000) / 10;
  return {
    series: [{
      type: 'gauge', startAngle: 225, endAngle: -45, min: 0, max: 100, radius: '88%', center: ['50%', '52%'],
      progress: { show: value != null, width: 12, roundCap: true, itemStyle: { color: horizontal(color, '#ffffff'), shadowColor: color, shadowBlur: 10 } },
      axisLine: { roundCap: true, lineStyle: { width: 12, color: [[1, 'rgba(120,180,255,.14)']] } },
      axisTick: { distance: -24, length: 4, splitNumber: 2, lineStyle: { color: 'rgba(120,200,255,.4)', width: 1 } },
      splitLine: { show: false }, axisLabel: { show: false }, pointer: { show: false }, anchor: { show: false }, title: { show: false }, detail: { show: false },
      data: [{ value: v }],
    }],
  };
}

/** Today's events by category, the top eight as ranked bars: name above, count at the end. */
export function categoriesOption(rows) {
  const top = rows.slice(0, 8);
  const max = Math.max(1, ...top.map((r) => r.count));
  return {
    tooltip: { ...TOOLTIP, trigger: 'item', formatter: (p) => `${esc(top[p.dataIndex]?.name || '')}：${top[p.dataIndex]?.count ?? ''}` },
    grid: { left: 10, right: 10, top: 22, height: Math.max(1, top.length) * 36 - 22 },
    xAxis: { type: 'value', show: false, max },
    yAxis: { type: 'category', inverse: true, show: false, data: top.map((r) => r.name) },
    series: [
      {
        type: 'bar', barWidth: 8, z: 1, silent: true, barGap: '-100%', animation: false,
        data: top.map(() => max), itemStyle: { color: 'rgba(120,180,255,.1)', borderRadius: 4 },
        label: {
          show: true, position: 'insideTopRight', offset: [0, -20], color: '#fff', fontSize: 16, fontFamily: NUM_FONT,
          formatter: (p) => `${top[p.dataIndex]?.count ?? ''}`,
        },
      },
      {
        type: 'bar', barWidth: 8, z: 2, data: top.map((r) => r.count), itemStyle: { color: horizontal('rgba(0,120,255,.5)', COLORS.cyan), borderRadius: 4 },
        label: {
          show: true, position: 'insideTopLeft', offset: [-5, -21], formatter: (p) => `{${p.dataIndex < 3 ? 'top' : 'n'}|${p.dataIndex + 1}}  {name|${top[p.dataIndex].name}}`,
          rich: {
            n: { color: '#9fc6ea', backgroundColor: 'rgba(0,120,255,.28)', width: 18, align: 'center', padding: [2, 0], fontSize: 12 },
            top: { color: '#1b1300', backgroundColor: COLORS.gold, width: 18, align: 'center', padding: [2, 0], fontSize: 12, fontWeight: 700 },
            name: { color: COLORS.text, fontSize: 15 },
          },
        },
      },
    ],
  };
}

export function devicesOption(counts) {
  const byStatus = new Map();
  const kinds = new Map();
  for (const c of counts) {
    byStatus.set(c.status, (byStatus.get(c.status) || 0) + c.count);
    if (!kinds.has(c.kind)) kinds.set(c.kind, {});
    kinds.get(c.kind)[c.status] = (kinds.get(c.kind)[c.status] || 0) + c.count;
  }
  const total = counts.reduce((n, c) => n + c.count, 0);
  const online = byStatus.get('online') || 0;
  const rate = total ? `${((online / total) * 100).toFixed(1)}%` : '—';
  const kindList = [...kinds.keys()].sort((a, b) => sum(kinds.get(b)) - sum(kinds.get(a)));
  const statuses = STATUS_ORDER.filter((s) => byStatus.has(s));
  return {
    option: {
      tooltip: { ...TOOLTIP },
      title: {
        text: rate, subtext: t('devices.online_rate'), left: '21%', top: '41%', textAlign: 'center',
        textStyle: { color: '#fff', fontSize: 22, fontFamily: NUM_FONT }, subtextStyle: { color: COLORS.muted, fontSize: 13 }, itemGap: 2,
      },
      legend: { bottom: 0, left: 0, itemWidth: 10, itemHeight: 10, textStyle: { color: COLORS.text, fontSize: 13 }, data: statuses.map((s) => label('device_status', s)) },
      grid: { left: '44%', right: 30, top: 4, bottom: 28, containLabel: true },
      xAxis: { type: 'value', show: false },
      yAxis: { type: 'category', inverse: true, data: kindList.map((k) => label('device_kind', k)), ...AXIS, axisLine: { show: false }, axisLabel: { color: COLORS.text, fontSize: 12 } },
      series: [
        {
          type: 'pie', radius: ['46%', '62%'], center: ['21%', '46%'], avoidLabelOverlap: false, label: { show: false }, padAngle: 2,
          itemStyle: { borderColor: '#041634', borderWidth: 2 },
          data: statuses.map((s) => ({ name: label('device_status', s), value: byStatus.get(s), itemStyle: { color: COLORS.status[s] } })),
          tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
        },
        ...statuses.map((s) => ({
          type: 'bar', stack: 'kinds', name: label('device_status', s), barWidth: 9, itemStyle: { color: COLORS.status[s] },
          data: kindList.map((k) => kinds.get(k)[s] || 0), tooltip: { trigger: 'item', formatter: (p) => `${esc(p.name)}<br>${esc(p.seriesName)}：${p.value}` },
        })),
      ],
    },
    total, rate,
  };
}

function sum(o) { return Object.values(o).reduce((a, b) => a + b, 0); }

/** Events per day for 14 days: all events, and the three biggest categories. */
export function trendOption(days, trend, nameOf) {
  const totals = new Map(days.map((d) => [d, 0]));
  const byCat = new Map();
  for (const row of trend) {
    if (!totals.has(row.day)) continue;
    totals.set(row.day, totals.get(row.day) + row.count);
    if (!byCat.has(row.category)) byCat.set(row.category, new Map());
    byCat.get(row.category).set(row.day, (byCat.get(row.category).get(row.day) || 0) + row.count);
  }
  const top = [...byCat.entries()].map(([c, m]) => [c, [...m.values()].reduce((a, b) => a + b, 0)]).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([c]) => c);
  const line = (name, data, color, area) => ({
    type: 'line', name, data, smooth: true, symbol: 'circle', symbolSize: 5, showSymbol: false, lineStyle: { width: area ? 2.5 : 1.5, color }, itemStyle: { color },
    areaStyle: area ? { color: vertical('rgba(0,228,255,.45)', 'rgba(0,228,255,0)') } : undefined,
  });
  return {
    tooltip: { ...TOOLTIP, trigger: 'axis' },
    legend: { top: 0, right: 0, itemWidth: 12, itemHeight: 8, textStyle: { color: COLORS.text, fontSize: 12 } },
    grid: { left: 8, right: 14, top: 30, bottom: 4, containLabel: true },
    xAxis: { type: 'category', boundaryGap: false, data: days.map((d) => d.slice(5)), ...AXIS, axisLabel: { color: COLORS.text, fontSize: 12 } },
    yAxis: { type: 'value', minInterval: 1, ...AXIS, axisLine: { show: false } },
    series: [
      line(t('trend.total'), days.map((d) => totals.get(d)), COLORS.cyan, true),
      ...top.map((c, i) => line(nameOf(c), days.map((d) => byCat.get(c).get(d) || 0), COLORS.series[i + 1], false)),
    ],
  };
}

/** The areas below the place: today's events, open and overdue orders; a bar drills down. */
export function areasOption(areas, shortName) {
  const rows = [...areas].sort((a, b) => b.events_today - a.events_today || b.orders_open - a.orders_open).slice(0, 10);
  const bar = (name, key, from, to) => ({
    type: 'bar', name, barWidth: 6, barGap: '40%', data: rows.map((a) => ({ value: a[key], code: a.code })),
    itemStyle: { color: horizontal(from, to), borderRadius: 3 }, cursor: 'pointer',
  });
  const option = {
    tooltip: { ...TOOLTIP, trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, right: 0, itemWidth: 12, itemHeight: 8, textStyle: { color: COLORS.text, fontSize: 12 } },
    grid: { left: 8, right: 18, top: 26, bottom: 2, containLabel: true },
    xAxis: { type: 'value', minInterval: 1, ...AXIS, axisLabel: { color: COLORS.muted, fontSize: 11 } },
    yAxis: { type: 'category', inverse: true, data: rows.map((a) => shortName(a.code)), ...AXIS, axisLabel: { color: COLORS.text, fontSize: 13, width: 110, overflow: 'truncate', interval: 0 }, triggerEvent: true },
    series: [
      bar(t('areas.events'), 'events_today', 'rgba(0,160,255,.3)', COLORS.cyan),
      bar(t('areas.open'), 'orders_open', 'rgba(255,197,61,.3)', COLORS.gold),
      bar(t('areas.overdue'), 'orders_overdue', 'rgba(255,77,79,.3)', COLORS.bad),
    ],
  };
  return { option, codes: rows.map((a) => a.code) };
}
