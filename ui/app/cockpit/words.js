// The cockpit's own words (Chinese first, English switchable) and English names of the default
// taxonomy's categories (the API gives only `name_zh`).
import { extend, lang } from '/shared/i18n.js';

extend({
  zh: {
    'cockpit.title': '{name} · 基层治理综合态势', 'cockpit.title_loading': '基层治理综合态势', 'cockpit.everywhere': '全域',
    'cockpit.subtitle': '接诉即办 · 未诉先办 · 一网统管',
    'live.connecting': '正在连接…',
    'panel.rates': '本月三率', 'rate.response': '响应率', 'rate.resolution': '解决率', 'rate.satisfaction': '满意率',
    'rate.note': '本月工单 {orders} · 应响应 {due} · 已回访 {called_back} · 已评价 {rated}',
    'rate.none': '暂无可计算数据',
    'panel.categories': '今日事件分类 TOP8', 'panel.devices': '设备运行状态', 'devices.total': '共 {n} 台 · 在线率 {rate}',
    'devices.online_rate': '在线率',
    'kpi.events_today': '今日事件', 'kpi.orders_today': '今日工单', 'kpi.open': '在办工单', 'kpi.overdue': '超期工单', 'kpi.closed_today': '今日办结',
    'panel.scenes': '智能感知场景 · 今日', 'panel.feed': '实时事件', 'feed.note': '最新 {n} 条', 'feed.empty': '暂无事件',
    'panel.trend': '近14日事件趋势', 'trend.total': '事件总数',
    'panel.areas': '各{level}态势', 'areas.events': '今日事件', 'areas.open': '在办工单', 'areas.overdue': '超期工单',
    'map.up': '返回上级', 'map.events': '实时事件', 'map.buildings': '楼栋', 'map.hint': '点击区域下钻',
    'map.scale_low': '少', 'map.scale_high': '多',
    'updated': '数据更新于 {time}', 'units.people': '人', 'units.count': '件', 'units.devices': '台',
    'building.title': '{name} · 楼盘表', 'building.floors': '{n}层', 'building.dwellings': '房屋', 'building.occupied': '已入住',
    'building.occupancy': '入住率', 'building.residents': '居民', 'building.care': '关爱对象', 'building.close': '关闭',
    'building.unit': '单元', 'building.vacant': '空置', 'building.legend': '图例', 'building.care_list': '关爱对象名单',
    'building.pick': '点击房屋查看住户', 'building.nobody': '该房屋暂无登记住户',
    'building.masked': '个人信息已按当前角色权限脱敏显示', 'building.unmasked': '当前角色可查看完整个人信息，查看行为将被记录',
    'building.loading': '正在加载楼栋信息…',
    'residence.registered': '户籍', 'residence.permanent': '常住', 'residence.floating': '流动',
    'relation.owner': '业主', 'relation.tenant': '租户', 'relation.member': '家庭成员',
    'gender.male': '男', 'gender.female': '女',
  },
  en: {
    'cockpit.title': '{name} · Governance situation', 'cockpit.title_loading': 'Governance situation', 'cockpit.everywhere': 'Everywhere',
    'cockpit.subtitle': 'Respond on call · act before the call · one network',
    'live.connecting': 'Connecting…',
    'panel.rates': 'Three rates this month', 'rate.response': 'Response', 'rate.resolution': 'Resolution', 'rate.satisfaction': 'Satisfaction',
    'rate.note': 'Orders {orders} · due {due} · called back {called_back} · rated {rated}',
    'rate.none': 'none to rate yet',
    'panel.categories': 'Today’s events, top 8 categories', 'panel.devices': 'Device health', 'devices.total': '{n} devices · {rate} online',
    'devices.online_rate': 'Online',
    'kpi.events_today': 'Events today', 'kpi.orders_today': 'Orders today', 'kpi.open': 'Open orders', 'kpi.overdue': 'Overdue', 'kpi.closed_today': 'Closed today',
    'panel.scenes': 'Scenes detected today', 'panel.feed': 'Live events', 'feed.note': 'latest {n}', 'feed.empty': 'No events yet',
    'panel.trend': 'Events, last 14 days', 'trend.total': 'All events',
    'panel.areas': 'By {level}', 'areas.events': 'Events today', 'areas.open': 'Open orders', 'areas.overdue': 'Overdue',
    'map.up': 'Up one level', 'map.events': 'Live events', 'map.buildings': 'Buildings', 'map.hint': 'Click an area to drill down',
    'map.scale_low': 'few', 'map.scale_high': 'many',
    'updated': 'Data as of {time}', 'units.people': '', 'units.count': '', 'units.devices': '',
    'building.title': '{name} · dwellings', 'building.floors': '{n} floors', 'building.dwellings': 'Dwellings', 'building.occupied': 'Occupied',
    'building.occupancy': 'Occupancy', 'building.residents': 'Residents', 'building.care': 'Care', 'building.close': 'Close',
    'building.unit': 'Unit', 'building.vacant': 'Vacant', 'building.legend': 'Legend', 'building.care_list': 'Residents needing care',
    'building.pick': 'Click a dwelling to see who lives there', 'building.nobody': 'Nobody registered here',
    'building.masked': 'Personal data masked for your role', 'building.unmasked': 'Your role sees personal data in full; reading it is logged',
    'building.loading': 'Loading the building…',
    'residence.registered': 'Registered', 'residence.permanent': 'Permanent', 'residence.floating': 'Floating',
    'relation.owner': 'Owner', 'relation.tenant': 'Tenant', 'relation.member': 'Member',
    'gender.male': 'M', 'gender.female': 'F',
  },
});

const CATEGORY_EN = {
  'env.sanitation': 'Sanitation', 'env.garbage_sorting': 'Garbage sorting', 'env.noise': 'Noise', 'env.pollution': 'Pollution',
  'env.greening': 'Greening', 'build.illegal_construction': 'Illegal construction', 'build.group_rental': 'Group rental',
  'prop.service': 'Property service', 'prop.elevator': 'Elevators', 'util.heating': 'Heating', 'util.water': 'Water',
  'util.power': 'Power', 'util.gas': 'Gas', 'traffic.parking': 'Parking', 'traffic.signal': 'Signals & congestion',
  'traffic.bike': 'Shared bikes', 'traffic.road': 'Roads', 'safety.throwing': 'Thrown from height', 'safety.fire': 'Fire safety',
  'safety.public_order': 'Public order', 'health.epidemic': 'Public health', animal: 'Animals', other: 'Other',
};

/** The name of a taxonomy category in the current language. */
export function categoryName(code, taxonomy) {
  if (lang() === 'en') {
    if (CATEGORY_EN[code]) return CATEGORY_EN[code];
    const last = String(code || '').split('.').pop().replace(/_/g, ' ');
    return last.charAt(0).toUpperCase() + last.slice(1);
  }
  return taxonomy.get(code)?.name_zh || code;
}
