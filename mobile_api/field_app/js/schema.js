// The documents' JSON Schemas as the server holds them (/app/schemas.json), checked on the phone
// before a record is saved, so the phone refuses what the server would. A small checker for the
// keywords Paicha's schemas use (draft 2020-12 subset); each problem is {path, key, params}, the key
// one of i18n's `v_*` words.
let SCHEMAS = {};

export async function loadSchemas() {
  SCHEMAS = await (await fetch('schemas.json')).json();
}

function resolve(ref, base) {
  const [file, pointer] = ref.split('#');
  const doc = file ? SCHEMAS[file.replace('.schema.json', '')] : base;
  let node = doc;
  for (const part of (pointer || '').split('/').filter(Boolean)) node = node[part];
  return [node, doc];
}

function typeOk(type, value) {
  const types = Array.isArray(type) ? type : [type];
  return types.some((t) => (t === 'integer' ? Number.isInteger(value)
    : t === 'number' ? typeof value === 'number' && Number.isFinite(value)
      : t === 'array' ? Array.isArray(value)
        : t === 'object' ? value !== null && typeof value === 'object' && !Array.isArray(value)
          : t === 'null' ? value === null : typeof value === t));
}

// The formats as the server checks them (schemas/_formats.py): a real calendar day, a date-time
// with seconds and its offset, in the years 1900 to 2100.
function realDay(y, m, d) {
  const day = new Date(Date.UTC(y, m - 1, d));
  return y >= 1900 && y <= 2100 && day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

const FORMATS = {
  date: (v) => {
    const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(v);
    return Boolean(m) && realDay(+m[1], +m[2], +m[3]);
  },
  'date-time': (v) => {
    const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?(?:Z|[+-]([0-9]{2}):([0-9]{2}))$/.exec(v);
    return Boolean(m) && realDay(+m[1], +m[2], +m[3]) && +m[4] < 24 && +m[5] < 60 && +m[6] < 60
      && (m[7] === undefined || +m[7] * 60 + +m[8] < 24 * 60); // as Python reads an offset
  },
};

function check(schema, value, path, base, out) {
  if (schema === true || schema === undefined) return;
  if (schema.$ref) {
    const [target, doc] = resolve(schema.$ref, base);
    check(target, value, path, doc, out);
  }
  const add = (key, params) => out.push({ path, key, params });
  if (schema.type && !typeOk(schema.type, value)) { add('v_type'); return; }
  if ('const' in schema && value !== schema.const) add('v_enum');
  if (schema.enum && !schema.enum.includes(value)) add('v_enum');
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) add(value ? 'v_too_short' : 'v_required', { n: schema.minLength });
    if (schema.maxLength !== undefined && length > schema.maxLength) add('v_too_long', { n: schema.maxLength });
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) add('v_pattern');
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format](value)) add('v_pattern');
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) add('v_minimum', { n: schema.minimum });
    if (schema.maximum !== undefined && value > schema.maximum) add('v_maximum', { n: schema.maximum });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) add('v_min_items', { n: schema.minItems });
    if (schema.maxItems !== undefined && value.length > schema.maxItems) add('v_max_items', { n: schema.maxItems });
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) add('v_unique');
    if (schema.items) value.forEach((item, i) => check(schema.items, item, [...path, i], base, out));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const name of schema.required || []) {
      if (value[name] === undefined || value[name] === '') out.push({ path: [...path, name], key: 'v_required' });
    }
    const props = schema.properties || {};
    for (const [name, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (props[name] !== undefined) { check(props[name], v, [...path, name], base, out); continue; }
      const patterned = Object.keys(schema.patternProperties || {}).some((p) => new RegExp(p, 'u').test(name));
      if (!patterned && schema.additionalProperties === false) out.push({ path: [...path, name], key: 'v_not_allowed' });
    }
  }
  for (const sub of schema.allOf || []) check(sub, value, path, base, out);
  if (schema.anyOf && !schema.anyOf.some((sub) => !problems(sub, value, base).length)) add('v_type');
  if (schema.oneOf && schema.oneOf.filter((sub) => !problems(sub, value, base).length).length !== 1) add('v_type');
  if (schema.if) {
    const branch = problems(schema.if, value, base).length ? schema.else : schema.then;
    if (branch) check(branch, value, path, base, out);
  }
}

function problems(schema, value, base) {
  const out = [];
  check(schema, value, [], base, out);
  return out;
}

// The problems of a document of `type`, deduplicated by field (the first problem of each).
export function validate(type, doc) {
  const schema = SCHEMAS[type];
  if (!schema) return [];
  const clean = JSON.parse(JSON.stringify(doc)); // as it would travel: no undefined members
  const seen = new Set();
  return problems(schema, clean, schema).filter((p) => {
    const where = p.path.join('.');
    if (seen.has(where)) return false;
    seen.add(where);
    return true;
  });
}

// The values a field may take, from its schema (`path` through properties, items and $defs), so the
// forms offer exactly the server's choices: enumOf('dispute', 'category').
export function enumOf(type, ...path) {
  let [node, base] = [SCHEMAS[type], SCHEMAS[type]];
  for (const part of path) {
    while (node.$ref) [node, base] = resolve(node.$ref, base);
    node = node.properties && node.properties[part] !== undefined ? node.properties[part] : node[part];
  }
  while (node.$ref) [node, base] = resolve(node.$ref, base);
  return node.enum || [];
}
