// Exercises node-postgres (`pg`) against an endpoint (direct or through pgwarden) and exits 0
// only if every check passed.
//
//   node client.js postgresql://user:password@host:port/db
//
// Named queries ({name, text}) make `pg` parse once per connection under that name and reuse
// it in every later transaction: what a transaction-mode pooler must keep working.
'use strict';

const { Client } = require('pg');

let failures = 0;

function check(name, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail !== undefined ? ': ' + detail : ''}`);
  if (!ok) {
    failures += 1;
  }
}

async function main() {
  const url = process.argv[2];
  if (!url) {
    console.error('usage: node client.js URL');
    process.exit(2);
  }
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10000 });
  await client.connect();

  let ok = true;
  for (let i = 0; i < 200; i += 1) {
    await client.query('BEGIN');
    const res = await client.query({ name: 'q1', text: 'SELECT $1::int + 1 AS v', values: [i] });
    await client.query('COMMIT');
    ok = ok && res.rows[0].v === i + 1;
  }
  check('200 transactions reusing named query q1', ok);

  ok = true;
  for (let i = 0; i < 50; i += 1) {
    const a = await client.query({ name: 'qa', text: 'SELECT $1::text AS t', values: [`a${i}`] });
    const b = await client.query({ name: 'qb', text: 'SELECT $1::int * 3 AS t', values: [i] });
    ok = ok && a.rows[0].t === `a${i}` && b.rows[0].t === 3 * i;
  }
  check('50 autocommit rounds alternating named queries qa/qb', ok);

  await client.query('DROP TABLE IF EXISTS node_items');
  await client.query('CREATE TABLE node_items (id int PRIMARY KEY, name text)');
  await client.query('BEGIN');
  for (let i = 0; i < 100; i += 1) {
    await client.query({
      name: 'ins',
      text: 'INSERT INTO node_items VALUES ($1, $2)',
      values: [i, `n${i}`],
    });
  }
  await client.query('COMMIT');
  const count = await client.query('SELECT count(*)::int AS c FROM node_items');
  check('100 inserts with a named statement in one transaction', count.rows[0].c === 100);

  try {
    await client.query('INSERT INTO node_items VALUES (1, $1)', ['dup']);
    check('duplicate key raises', false);
  } catch (e) {
    check('duplicate key gives SQLSTATE 23505', e.code === '23505', e.code);
  }
  await client.query('BEGIN');
  try {
    await client.query('SELECT 1/0');
    check('division by zero raises', false);
  } catch (e) {
    check('error inside a transaction gives 22012', e.code === '22012', e.code);
  }
  await client.query('ROLLBACK');
  const again = await client.query({ name: 'q1', text: 'SELECT $1::int + 1 AS v', values: [41] });
  check('named query works after rollback', again.rows[0].v === 42);
  await client.query('DROP TABLE node_items');
  await client.end();
}

const timer = setTimeout(() => {
  console.log('FAIL timed out after 90 s');
  process.exit(1);
}, 90000);

main()
  .then(() => {
    clearTimeout(timer);
    console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
    process.exit(failures === 0 ? 0 : 1);
  })
  .catch((e) => {
    clearTimeout(timer);
    console.log(`FAIL unexpected error: ${e.stack || e}`);
    process.exit(1);
  });
