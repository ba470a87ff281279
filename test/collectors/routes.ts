import t from 'tap'
import { ID_PLACEHOLDER, OTHER_ROUTE, makeRouter, normalizePath, patternProblem } from '../../src/collectors/routes.js'

const ID = ID_PLACEHOLDER

// raw path → route, with the patterns below.
const PATTERNS = ['/orders/*/item/*', '/static/*', '/users/me']
const TABLE: readonly (readonly [raw: string, route: string, why: string])[] = [
  ['/', '/', 'the root stays'],
  ['', '/', 'an empty path is the root'],
  ['/healthz', '/healthz', 'a fixed path stays'],
  ['/api/v1/users', '/api/v1/users', 'a version segment is not an id'],
  ['/orders/123/item/abc', '/orders/*/item/*', 'a user pattern wins and is the route'],
  ['/orders/123/item/abc?x=1', '/orders/*/item/*', 'the query string is ignored before matching'],
  ['/orders/123/item', `/orders/${ID}/item`, 'a pattern needs the same number of segments'],
  ['/static/app.js', '/static/*', 'a pattern star matches any segment'],
  ['/users/me', '/users/me', 'a literal pattern matches itself'],
  ['/users/42', `/users/${ID}`, 'digits become the placeholder'],
  ['/users/42/', `/users/${ID}`, 'a trailing slash is dropped'],
  ['//users//42', `/users/${ID}`, 'repeated slashes collapse'],
  ['/users/42?token=secret#frag', `/users/${ID}`, 'query string and fragment are never exported'],
  ['/carts/3fa85f64-5717-4562-b3fc-2c963f66afa6', `/carts/${ID}`, 'a UUID becomes the placeholder'],
  ['/carts/3FA85F64-5717-4562-B3FC-2C963F66AFA6/items', `/carts/${ID}/items`, 'an upper-case UUID too, with the rest kept'],
  ['/carts/3fa85f6457174562b3fc2c963f66afa6', `/carts/${ID}`, 'a UUID without dashes too'],
  ['/commits/9fceb02d0ae598e95dc970b74767f19372d61af8', `/commits/${ID}`, 'a long hex string (git sha) becomes the placeholder'],
  ['/obj/0x00ff00ff00ff00ff', `/obj/${ID}`, 'a 0x-prefixed hex string too'],
  ['/deadbeef', '/deadbeef', 'a short hex-looking word stays'],
  ['/s/aGVsbG8gd29ybGQhIDEyMzQ1Njc4OQ==', `/s/${ID}`, 'a base64 token becomes the placeholder'],
  ['/t/eyJhbGciOiJIUzI1NiJ9_abc-123_XYZ', `/t/${ID}`, 'a base64url token becomes the placeholder'],
  ['/users/jane.doe@example.com/orders', `/users/${ID}/orders`, 'an e-mail address becomes the placeholder'],
  ['/users/jane%40example.com', `/users/${ID}`, 'a percent-encoded e-mail address too'],
  ['/reports/2024-01-31', `/reports/${ID}`, 'a date becomes the placeholder'],
  ['/pkg/1.2.3/download', `/pkg/${ID}/download`, 'a dotted version number becomes the placeholder'],
  ['/very/long/fixed/path/component/names', '/very/long/fixed/path/component/names', 'long words without digits stay'],
  ['/blog/an-article-title-without-numbers', '/blog/an-article-title-without-numbers', 'a slug without digits stays'],
  ['http://shop.example.com/users/7?q=1', `/users/${ID}`, 'an absolute-form target loses scheme and host'],
  ['users/7', `/users/${ID}`, 'a missing leading slash is added'],
]

t.test('raw paths become routes', async (t) => {
  t.ok(TABLE.length >= 20, 'the table has at least 20 rows')
  const route = makeRouter({ patterns: PATTERNS, maxRoutes: 1000 })
  for (const [raw, want, why] of TABLE) t.equal(route(raw), want, `${JSON.stringify(raw)} → ${want}: ${why}`)
})

t.test('the first matching pattern wins', async (t) => {
  const route = makeRouter({ patterns: ['/a/*', '/a/b'], maxRoutes: 10 })
  t.equal(route('/a/b'), '/a/*', 'the earlier pattern is used even when a later one is exact')
})

t.test('after maxRoutes distinct routes, new ones become other', async (t) => {
  const route = makeRouter({ patterns: ['/fixed/*'], maxRoutes: 3 })
  t.equal(route('/a'), '/a', 'first route')
  t.equal(route('/b/1'), `/b/${ID}`, 'second route')
  t.equal(route('/b/2'), `/b/${ID}`, 'a path with a known route is not a new route')
  t.equal(route('/c'), '/c', 'third route reaches the cap')
  t.equal(route('/d'), OTHER_ROUTE, 'a fourth distinct route becomes other')
  t.equal(route('/e?x=1'), OTHER_ROUTE, 'and so does any later one')
  t.equal(route('/a?y=2'), '/a', 'routes seen before the cap keep their name')
  t.equal(route('/fixed/anything'), '/fixed/*', 'patterns are never capped')
})

t.test('maxRoutes 0 sends every unmatched path to other', async (t) => {
  const route = makeRouter({ patterns: ['/ok'], maxRoutes: 0 })
  t.equal(route('/ok'), '/ok', 'a pattern still matches')
  t.equal(route('/users/1'), OTHER_ROUTE, 'anything else is other')
})

t.test('each router keeps its own cap', async (t) => {
  const a = makeRouter({ patterns: [], maxRoutes: 1 })
  const b = makeRouter({ patterns: [], maxRoutes: 1 })
  t.equal(a('/x'), '/x', 'router a takes /x')
  t.equal(b('/y'), '/y', 'router b is not affected by router a')
  t.equal(a('/y'), OTHER_ROUTE, 'router a is full')
})

t.test('bad patterns are rejected', async (t) => {
  t.equal(patternProblem('orders/*'), 'must start with "/"', 'no leading slash')
  t.equal(patternProblem('/orders?x=*'), 'must not hold "?", "#" or spaces', 'a query string')
  t.equal(patternProblem('/orders//*'), 'must not hold empty segments or end with "/"', 'an empty segment')
  t.equal(patternProblem('/orders/'), 'must not hold empty segments or end with "/"', 'a trailing slash')
  t.equal(patternProblem('/orders/*/item/*'), undefined, 'a good pattern')
  t.throws(() => makeRouter({ patterns: ['x'], maxRoutes: 1 }), new TypeError('route pattern "x" must start with "/"'), 'makeRouter refuses it')
  t.throws(() => makeRouter({ patterns: [], maxRoutes: -1 }), TypeError, 'a negative cap is refused')
})

t.test('normalizePath', async (t) => {
  t.equal(normalizePath('/a/b/?c'), '/a/b', 'query and trailing slash go')
  t.equal(normalizePath('https://h:8080'), '/', 'an absolute target without a path is the root')
})
