//! The Lua scripts the hub runs in Redis: each is one atomic step, so what several processes
//! do at once cannot interleave inside it.

/// Appends an entry and trims the history.
///
/// `KEYS`: stream, origin, the topic's finished marker. `ARGV`: max length, `=` or `~` (exact
/// or approximate trimming), maximum age in ms (0: none), topic, frame template, `1` for the
/// topic's final entry (else `0`), how long the finished marker lasts in ms (0: as long as
/// Redis keeps it). Returns the entry id, or `finished` (and appends nothing) when the topic
/// has finished already.
///
/// The origin key remembers the first id of this incarnation of the stream (set only when
/// absent): a Redis that restarts without persistence loses both, so an id older than the
/// origin is known to come from a stream that no longer exists.
pub(super) const PUBLISH: &str = r"
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 'finished'
end
local id
if ARGV[6] == '1' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], ARGV[1], '*', 't', ARGV[4], 'f', ARGV[5], 'e', '1')
  local ttl = tonumber(ARGV[7])
  if ttl > 0 then
    redis.call('SET', KEYS[3], id, 'PX', ttl)
  else
    redis.call('SET', KEYS[3], id)
  end
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], ARGV[1], '*', 't', ARGV[4], 'f', ARGV[5])
end
redis.call('SET', KEYS[2], id, 'NX')
local age = tonumber(ARGV[3])
if age > 0 then
  local ms = tonumber(string.match(id, '^(%d+)'))
  if ms > age then
    redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f', ms - age))
  end
end
return id
";

/// What a subscriber needs to resume, read atomically.
///
/// `KEYS`: stream, origin, then each topic's finished marker. `ARGV`: start (`-` or `(<id>`,
/// exclusive), the most entries to return, then the topics (as many as markers). Returns
/// `{origin, last-generated-id, trimmed (0/1), first id, overflow (0/1), {id, template,
/// topic, id, template, topic, ...}, {final id or '' per topic}}` with `''` for what is unknown, the entries
/// newest first and only those of the topics.
///
/// `trimmed` says whether any entry ever left this stream (Redis 7 counts the entries ever
/// added; before that, the first entry is compared with the origin). Redis does not report
/// the newest id trimmed away (`max-deleted-entry-id` only follows `XDEL`), so the caller
/// knows only that every entry older than the first may be gone.
pub(super) const SNAPSHOT: &str = r"
local origin = redis.call('GET', KEYS[2]) or ''
local finished = {}
for i = 3, #KEYS do finished[#finished + 1] = redis.call('GET', KEYS[i]) or '' end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {origin, '', '', '', 0, {}, finished}
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, first, length, added = '', '', 0, nil
for i = 1, #info, 2 do
  local name = info[i]
  if name == 'last-generated-id' then last = info[i + 1]
  elseif name == 'length' then length = info[i + 1]
  elseif name == 'entries-added' then added = info[i + 1]
  elseif name == 'first-entry' and type(info[i + 1]) == 'table' then first = info[i + 1][1]
  end
end
local trimmed = 1
if added ~= nil then
  if added == length then trimmed = 0 end
elseif first ~= '' and first == origin then
  trimmed = 0
end
local limit = tonumber(ARGV[2])
local raw = redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', limit + 1)
local overflow = 0
if #raw > limit then overflow = 1 end
local wanted = {}
for i = 3, #ARGV do wanted[ARGV[i]] = true end
local out = {}
for i = 1, math.min(#raw, limit) do
  local fields = raw[i][2]
  local topic, frame
  for j = 1, #fields, 2 do
    if fields[j] == 't' then topic = fields[j + 1]
    elseif fields[j] == 'f' then frame = fields[j + 1]
    end
  end
  if topic and frame and wanted[topic] then
    out[#out + 1] = raw[i][1]
    out[#out + 1] = frame
    out[#out + 1] = topic
  end
end
return {origin, last, trimmed, first, overflow, out, finished}
";

/// Announces or withdraws this process's subscribers of topics.
///
/// `KEYS`: the index of topics, then one presence key per topic. `ARGV`: this process's
/// member name, the time to live in ms, then per topic `1` (announce) or `0` (withdraw), then
/// the topic names. A presence key is a sorted set of processes scored by when their
/// announcement expires, by the Redis clock; the index lists the topics the same way.
pub(super) const PRESENCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local n = #KEYS - 1
for i = 1, n do
  local key = KEYS[i + 1]
  local topic = ARGV[2 + n + i]
  if ARGV[2 + i] == '1' then
    redis.call('ZADD', key, now + ttl, ARGV[1])
    redis.call('PEXPIRE', key, ttl)
    redis.call('ZADD', KEYS[1], 'GT', now + ttl, topic)
  else
    redis.call('ZREM', key, ARGV[1])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if redis.call('ZCARD', key) == 0 then
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[1], topic)
    end
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return n
";

/// How many processes announced subscribers of a topic and have not expired.
///
/// `KEYS`: the topic's presence key.
pub(super) const PRESENCE_COUNT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
";

/// The topics some process announced, unexpired, at most `ARGV[1]`.
///
/// `KEYS`: the index of topics.
pub(super) const PRESENCE_LIST: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'LIMIT', 0, tonumber(ARGV[1]))
";
