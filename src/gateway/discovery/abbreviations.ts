/**
 * Home Assistant's discovery key abbreviations, for the keys this gateway sends (full key → abbreviation), as in
 * homeassistant/components/mqtt/abbreviations.py (ABBREVIATIONS, DEVICE_ABBREVIATIONS, ORIGIN_ABBREVIATIONS).
 * HA expands the top level, `device`, `origin` and each `availability` item; everything else is left as is.
 */
import type { DiscoveryPayload } from './types.js';

export const ENTITY_ABBREVIATIONS: Readonly<Record<string, string>> = {
  availability: 'avty',
  availability_mode: 'avty_mode',
  availability_topic: 'avty_t',
  command_topic: 'cmd_t',
  default_entity_id: 'def_ent_id',
  device: 'dev',
  device_class: 'dev_cla',
  enabled_by_default: 'en',
  entity_category: 'ent_cat',
  expire_after: 'exp_aft',
  force_update: 'frc_upd',
  icon: 'ic',
  object_id: 'obj_id',
  optimistic: 'opt',
  origin: 'o',
  payload_available: 'pl_avail',
  payload_not_available: 'pl_not_avail',
  payload_off: 'pl_off',
  payload_on: 'pl_on',
  retain: 'ret',
  state_class: 'stat_cla',
  state_off: 'stat_off',
  state_on: 'stat_on',
  state_topic: 'stat_t',
  state_value_template: 'stat_val_tpl',
  suggested_display_precision: 'sug_dsp_prc',
  topic: 't',
  unique_id: 'uniq_id',
  unit_of_measurement: 'unit_of_meas',
  value_template: 'val_tpl',
};

export const DEVICE_ABBREVIATIONS: Readonly<Record<string, string>> = {
  configuration_url: 'cu',
  connections: 'cns',
  hw_version: 'hw',
  identifiers: 'ids',
  manufacturer: 'mf',
  model: 'mdl',
  model_id: 'mdl_id',
  serial_number: 'sn',
  suggested_area: 'sa',
  sw_version: 'sw',
};

export const ORIGIN_ABBREVIATIONS: Readonly<Record<string, string>> = {
  support_url: 'url',
  sw_version: 'sw',
};

function renameKeys(object: Record<string, unknown>, table: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) out[Object.hasOwn(table, key) ? table[key]! : key] = value;
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Shorten a full-key discovery payload the way HA expands it. Returns a new object. */
export function abbreviate(payload: DiscoveryPayload): DiscoveryPayload {
  const out = renameKeys(payload, ENTITY_ABBREVIATIONS);
  const device = payload.device;
  if (isRecord(device)) out[ENTITY_ABBREVIATIONS.device!] = renameKeys(device, DEVICE_ABBREVIATIONS);
  const origin = payload.origin;
  if (isRecord(origin)) out[ENTITY_ABBREVIATIONS.origin!] = renameKeys(origin, ORIGIN_ABBREVIATIONS);
  const availability = payload.availability;
  if (Array.isArray(availability)) {
    out[ENTITY_ABBREVIATIONS.availability!] = availability.map((item: unknown) => (isRecord(item) ? renameKeys(item, ENTITY_ABBREVIATIONS) : item));
  }
  return out;
}

/** The MQTT payload of a discovery message: JSON, abbreviated on request (smaller retained messages). */
export function encodeDiscoveryPayload(payload: DiscoveryPayload, options: { abbreviate?: boolean } = {}): string {
  return JSON.stringify(options.abbreviate ? abbreviate(payload) : payload);
}
