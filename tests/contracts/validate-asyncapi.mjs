#!/usr/bin/env node
// Validates contracts/asyncapi.yaml with the AsyncAPI project's own parser, then checks that
// it describes exactly what the generated catalogue contracts/topics.json says, so the
// hand-written document cannot drift from the Rust contract.
//
//   cd tests/contracts && npm ci --no-audit --no-fund && node validate-asyncapi.mjs [asyncapi.yaml]
//
// The catalogue is read from topics.json beside the AsyncAPI file. Exit status: 0 when the
// parser reports no error and every check passes, 1 otherwise, 2 on a usage or I/O error.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DiagnosticSeverity, Parser, fromFile } from '@asyncapi/parser';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = path.dirname(fileURLToPath(import.meta.url));
const asyncapiPath = path.resolve(process.argv[2] ?? path.join(here, '../../contracts/asyncapi.yaml'));
const topicsPath = path.join(path.dirname(asyncapiPath), 'topics.json');
const shown = (file) => path.relative(process.cwd(), file) || file;

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

// ---------------------------------------------------------------------------------------------
// 1. The parser: structure, $refs (resolved from disk, relative to the document), schemas,
//    bindings and the AsyncAPI 3 rules.
// ---------------------------------------------------------------------------------------------

let catalogue;
try {
  catalogue = JSON.parse(await readFile(topicsPath, 'utf8'));
} catch (err) {
  console.error(`cannot read the topic catalogue ${shown(topicsPath)}: ${err.message}`);
  process.exit(2);
}

let parsed;
try {
  parsed = await fromFile(new Parser(), asyncapiPath).parse();
} catch (err) {
  console.error(`cannot read ${shown(asyncapiPath)}: ${err.message}`);
  process.exit(2);
}
const { document, diagnostics } = parsed;

const counts = { error: 0, warning: 0, info: 0, hint: 0 };
for (const d of diagnostics) {
  const severity = SEVERITY[d.severity] ?? `severity ${d.severity}`;
  counts[severity] = (counts[severity] ?? 0) + 1;
  const file = d.source ? shown(d.source) : shown(asyncapiPath);
  const where = d.range ? `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}` : file;
  const at = d.path?.length ? ` (at ${d.path.join('.')})` : '';
  console.log(`${severity} ${d.code}: ${d.message}${at}\n  ${where}`);
}

// ---------------------------------------------------------------------------------------------
// 2. The catalogue cross-check.
// ---------------------------------------------------------------------------------------------

const problems = [];
const problem = (message) => problems.push(message);

if (document) {
  crossCheck(document, catalogue);
} else if (counts.error === 0) {
  problem('the parser returned no document');
}

function crossCheck(doc, cat) {
  const channels = new Map(doc.channels().all().map((c) => [c.address(), c]));
  const eventTopics = new Map(cat.topics.map((t) => [t.name, t]));
  const dlqTopics = new Map(cat.dead_letter_topics.map((t) => [t.name, t]));

  // Every channel is a catalogue topic, and every catalogue topic has a channel.
  for (const address of channels.keys()) {
    if (!eventTopics.has(address) && !dlqTopics.has(address)) {
      problem(`channel "${address}" is not a topic in topics.json`);
    }
  }
  for (const topic of [...cat.topics, ...cat.dead_letter_topics]) {
    const channel = channels.get(topic.name);
    if (!channel) {
      problem(`topic "${topic.name}" has no channel (a channel whose address is "${topic.name}")`);
      continue;
    }
    checkTopicBinding(channel, topic);
  }

  // Every event type is a message of its topic's channel, with the right schema; nothing else
  // is on an event topic.
  for (const event of cat.events) {
    const channel = channels.get(event.topic);
    if (!channel) continue; // already reported
    // While a v2 is introduced, a channel may carry both versions of a type under one name;
    // the catalogue lists the current one, which is identified by its schema's $id.
    const named = channel.messages().all().filter((m) => m.name() === event.type);
    if (named.length === 0) {
      problem(`event type "${event.type}" has no message named "${event.type}" on channel "${event.topic}"`);
      continue;
    }
    const message = named.find((m) => m.payload()?.id() === event.dataschema) ?? named[0];
    checkEventMessage(message, event, cat.content_type);
  }
  for (const topic of cat.topics) {
    for (const message of channels.get(topic.name)?.messages().all() ?? []) {
      if (!cat.events.some((e) => e.topic === topic.name && e.type === message.name())) {
        problem(`channel "${topic.name}" has message "${message.name() ?? message.id()}" that topics.json does not list for that topic`);
      }
    }
  }

  // Dead letters carry every dlq.* header.
  for (const topic of cat.dead_letter_topics) {
    const messages = channels.get(topic.name)?.messages().all() ?? [];
    if (channels.has(topic.name) && messages.length === 0) problem(`dead-letter channel "${topic.name}" has no message`);
    for (const message of messages) {
      const headers = message.headers()?.json() ?? {};
      for (const header of cat.dead_letter_headers) {
        if (!headers.properties?.[header]) problem(`dead-letter message on "${topic.name}" does not document header "${header}"`);
        else if (!headers.required?.includes(header)) problem(`dead-letter message on "${topic.name}": header "${header}" is not required`);
      }
    }
  }

  checkOperations(doc, cat);
  checkExamples(doc);
}

function kafkaBinding(model) {
  return model.bindings().get('kafka')?.value() ?? null;
}

function checkTopicBinding(channel, topic) {
  const binding = kafkaBinding(channel);
  if (!binding) {
    problem(`channel "${topic.name}" has no kafka binding`);
    return;
  }
  if (binding.topic !== undefined && binding.topic !== topic.name) {
    problem(`channel "${topic.name}": kafka binding names topic "${binding.topic}"`);
  }
  if (binding.partitions !== topic.partitions) {
    problem(`channel "${topic.name}": partitions ${binding.partitions}, topics.json says ${topic.partitions}`);
  }
  const retention = binding.topicConfiguration?.['retention.ms'];
  if (retention !== topic.retention_ms) {
    problem(`channel "${topic.name}": retention.ms ${retention}, topics.json says ${topic.retention_ms}`);
  }
}

function checkEventMessage(message, event, contentType) {
  const where = `message "${event.type}" on "${event.topic}"`;
  const payload = message.payload();
  if (!payload) {
    problem(`${where} has no payload`);
    return;
  }
  if (!/^application\/schema\+(json|yaml);version=draft-07$/.test(payload.schemaFormat())) {
    problem(`${where}: payload schemaFormat is "${payload.schemaFormat()}", expected JSON Schema`);
  }
  // The generated schema's $id is the event's dataschema URN, so this proves the payload is
  // the generated file of this type and version.
  if (payload.id() !== event.dataschema) {
    problem(`${where}: payload schema $id is "${payload.id()}", expected "${event.dataschema}" (${event.schema})`);
  }
  if (message.contentType() !== contentType) {
    problem(`${where}: contentType is "${message.contentType()}", expected "${contentType}"`);
  }
  const header = message.headers()?.json()?.properties?.['content-type'];
  if (header?.const !== contentType) {
    problem(`${where}: headers do not fix content-type to "${contentType}"`);
  }
  const key = kafkaBinding(message)?.key;
  if (key?.type !== 'string' || key?.format !== 'uuid') {
    problem(`${where}: kafka binding key must be a string of format uuid (the task id)`);
  }
}

function groupIdOf(operation) {
  const groupId = kafkaBinding(operation)?.groupId;
  if (groupId?.const !== undefined) return groupId.const;
  if (Array.isArray(groupId?.enum) && groupId.enum.length === 1) return groupId.enum[0];
  return undefined;
}

function checkOperations(doc, cat) {
  const operations = doc.operations().all().map((op) => ({
    op,
    id: op.id(),
    action: op.action(),
    addresses: op.channels().all().map((c) => c.address()),
    groupId: op.action() === 'receive' ? groupIdOf(op) : undefined,
  }));

  // Every consumer group receives each of its topics, with its group id, and receives every
  // message there (a consumer sees the whole topic); every group sends its dead letters.
  for (const group of cat.consumer_groups) {
    for (const topic of group.topics) {
      const found = operations.filter((o) => o.action === 'receive' && o.groupId === group.group_id && o.addresses.includes(topic));
      if (found.length === 0) {
        problem(`consumer group "${group.group_id}" has no receive operation on "${topic}" with kafka groupId const "${group.group_id}"`);
      }
      for (const { op, id } of found) {
        const onChannel = op.channels().all().flatMap((c) => c.messages().all().map((m) => m.name()));
        const received = new Set(op.messages().all().map((m) => m.name()));
        for (const name of onChannel) {
          if (!received.has(name)) problem(`operation "${id}" (group "${group.group_id}") does not list message "${name}" of "${topic}"`);
        }
        if (!kafkaBinding(op)?.clientId) problem(`operation "${id}" has no kafka clientId`);
      }
    }
    const dlq = cat.dead_letter_topics.find((t) => t.group_id === group.group_id);
    if (!dlq) {
      problem(`consumer group "${group.group_id}" has no dead-letter topic in topics.json`);
    } else if (!operations.some((o) => o.action === 'send' && o.addresses.includes(dlq.name))) {
      problem(`consumer group "${group.group_id}" has no send operation on its dead-letter channel "${dlq.name}"`);
    }
  }

  // No receive operation for a group or topic the catalogue does not know.
  for (const o of operations.filter((o) => o.action === 'receive')) {
    const group = cat.consumer_groups.find((g) => g.group_id === o.groupId);
    if (!group) {
      problem(`receive operation "${o.id}" has kafka groupId ${JSON.stringify(o.groupId)}, not a consumer group in topics.json`);
    } else {
      for (const address of o.addresses) {
        if (!group.topics.includes(address)) problem(`receive operation "${o.id}": group "${group.group_id}" does not consume "${address}" in topics.json`);
      }
    }
  }

  // Every event type has a producer.
  for (const event of cat.events) {
    const produced = operations.some(
      (o) => o.action === 'send' && o.addresses.includes(event.topic) && o.op.messages().all().some((m) => m.name() === event.type),
    );
    if (!produced) problem(`event type "${event.type}" has no send operation`);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. The examples in the document validate against their message's headers and payload.
//    (The AsyncAPI 3 ruleset of the parser does not check message examples.)
// ---------------------------------------------------------------------------------------------

function withoutParserExtensions(value) {
  if (Array.isArray(value)) return value.map(withoutParserExtensions);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith('x-parser-'))
      .map(([key, v]) => [key, withoutParserExtensions(v)]),
  );
}

function validator(schema) {
  // The generated payload schemas declare draft 2020-12; AsyncAPI schemas are draft-07.
  const is2020 = typeof schema.$schema === 'string' && schema.$schema.includes('2020-12');
  const ajv = is2020 ? new Ajv2020({ strict: false, allErrors: true }) : new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('int64', { type: 'number', validate: (n) => Number.isInteger(n) });
  return ajv.compile(schema);
}

function checkExamples(doc) {
  const seen = new Set();
  for (const message of doc.messages().all()) {
    const name = message.name() ?? message.id();
    if (seen.has(name)) continue; // a channel's message and its component are the same object
    seen.add(name);
    const payload = message.payload()?.json();
    const payloadSchema = payload?.schemaFormat !== undefined && payload?.schema !== undefined ? payload.schema : payload;
    const checks = [
      ['payload', payloadSchema && validator(withoutParserExtensions(payloadSchema))],
      ['headers', message.headers() && validator(withoutParserExtensions(message.headers().json()))],
    ];
    for (const example of message.examples().all()) {
      const label = `example "${example.name() ?? '?'}" of message "${name}"`;
      for (const [part, validate] of checks) {
        const value = part === 'payload' ? example.payload() : example.headers();
        if (!validate || value === undefined) continue;
        if (!validate(value)) {
          for (const e of validate.errors) problem(`${label}: ${part}${e.instancePath} ${e.message}`);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

for (const p of problems) console.log(`error catalogue: ${p}`);

const failed = counts.error > 0 || problems.length > 0;
const summary = [
  `${counts.error} error(s)`,
  `${counts.warning} warning(s)`,
  `${counts.info + counts.hint} info`,
  `${problems.length} catalogue problem(s)`,
];
const scope = document
  ? `${document.channels().length} channels, ${document.operations().length} operations, ${document.messages().length} messages`
  : 'no document';
console.log(
  `${failed ? 'FAIL' : 'OK'}: ${shown(asyncapiPath)} (${scope}) against ${shown(topicsPath)}: ${summary.join(', ')}`,
);
process.exit(failed ? 1 : 0);
